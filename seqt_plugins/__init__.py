"""seqt-plugins: EQTransformer picking and S-EqT re-picking as SeisComP-style modules.

The package follows the data: ``io.records`` (waveforms in) → ``picker`` (preparation,
windows, triggers) → ``eqt`` (the Keras 3 model) → ``picks`` (pick objects) →
``io.xml`` (SCML / QuakeML out); ``repicker`` re-uses EqT's latent features;
``modules`` holds the command-line applications around these cores.
"""

__version__ = "0.1.0"

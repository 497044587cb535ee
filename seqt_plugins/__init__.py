"""seqt-plugins: EQTransformer picking and S-EqT re-picking as SeisComP-style modules.

The package follows the data: ``io.records`` (waveforms in) → ``picker`` (preparation,
windows, triggers) → ``eqt`` (the Keras 3 model) → ``picks`` (pick objects) →
``io.xml`` (SCML / QuakeML out); ``repicker`` re-uses EqT's latent features;
``modules`` holds the command-line applications around these cores.
"""

import os as _os

# TensorFlow's C++ start-up chatter (CPU feature notes, absent CUDA) is not for module users;
# set TF_CPP_MIN_LOG_LEVEL yourself to see it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

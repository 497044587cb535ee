"""EQTransformer (Mousavi et al. 2020) in Keras 3, loading the published weights exactly."""

from .lean_import import import_keras_lean

import_keras_lean()  # before graph and layers import Keras

from .graph import WINDOW, GraphSpec, build_graph  # noqa: F401
from .model import EqTModel, load_eqt, normalize_windows  # noqa: F401
from .weights import PACKAGED_WEIGHTS, WeightError, packaged_weights_path  # noqa: F401

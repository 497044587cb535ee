"""``load_eqt`` and ``EqTModel``: the published EqT graphs behind one small, stable API.

``det, p, s = load_eqt("conservative").predict(x)`` with ``x`` float32 (n, 6000, 3), channels
E, N, Z, each window normalised per channel (see ``normalize_windows``). Inference runs through
one compiled ``tf.function`` with a fixed signature (batch dimension free), so the graph is
traced once and reused for every batch of a long run; with ``xla=True`` the tail batch is
padded so that XLA compiles one shape only.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ..memory import release_freed_memory
from .graph import WINDOW, GraphSpec, build_graph, check_input, freeze_folded
from .weights import PACKAGED_WEIGHTS, WeightError, assign_weights, packaged_weights_path, read_graph_spec, verify_packaged

log = logging.getLogger("seqt_plugins.eqt")

Outputs = Tuple[np.ndarray, np.ndarray, np.ndarray]
PRECISIONS = ("float32",)  # the Keras graph; "int8" and "int8-full" go through TFLite (lite.py)
DEFAULT_BATCH = 64


def normalize_windows(x: np.ndarray, mode: str = "std") -> np.ndarray:
    """EqT's per-window, per-channel normalisation, as the original predictors feed the model
    (the weights expect it): demean, then divide.

    ``std`` divides by the population standard deviation, ``max`` by the signed maximum; a
    divisor of 0 becomes 1 so an all-zero (dead or missing) channel stays zero.
    """
    x = np.asarray(x, dtype=np.float32)
    x = x - x.mean(axis=1, keepdims=True)
    divisor = x.std(axis=1, keepdims=True) if mode == "std" else x.max(axis=1, keepdims=True)
    divisor[divisor == 0] = 1.0
    return (x / divisor).astype(np.float32)


class EqTModel:
    """A loaded EqT graph: deterministic ``predict``, Monte-Carlo ``predict_mc``, S-EqT ``taps``."""

    def __init__(self, spec: GraphSpec, weights_path: Path, name: str, precision: str = "float32", xla: bool = False):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        self.spec = spec
        self.weights_path = Path(weights_path)
        self.name = name
        self.precision = precision
        self.xla = xla
        self.keras_model = build_graph(spec)
        self.n_tensors = assign_weights(self.keras_model, self.weights_path)
        freeze_folded(self.keras_model)
        self._compiled: Dict[tuple, object] = {}
        self._mc_model = None

    @property
    def identity(self) -> tuple:
        """What makes two loaded float32 graphs compute the same outputs: the weights file and
        XLA, so a picker and a re-picker can tell they share one (the int8 ``LiteEqTModel`` has
        none)."""
        return (str(self.weights_path.resolve()), self.precision, bool(self.xla))

    # -- inference -------------------------------------------------------------------------
    def _function(self, key: tuple, keras_model):
        """One compiled graph per (purpose, model): fixed signature, optional XLA."""
        if key not in self._compiled:
            import tensorflow as tf

            def run(x):
                return keras_model(x, training=False)

            self._compiled[key] = tf.function(
                run,
                input_signature=[tf.TensorSpec((None, WINDOW, 3), tf.float32)],
                jit_compile=self.xla,
                reduce_retracing=True,
            )
        return self._compiled[key]

    def _run(self, function, x: np.ndarray, batch_size: Optional[int], n_out: int):
        x = check_input(x)
        batch = int(batch_size or DEFAULT_BATCH)
        outputs = [[] for _ in range(n_out)]
        for start in range(0, len(x), batch):
            chunk = x[start : start + batch]
            n = len(chunk)
            if self.xla and n < batch and len(x) > batch:
                # Keep one compiled shape per run: pad the tail batch instead of recompiling.
                chunk = np.concatenate([chunk, np.zeros((batch - n, WINDOW, 3), np.float32)])
            result = function(chunk)
            for i in range(n_out):
                outputs[i].append(np.asarray(result[i])[:n].astype(np.float32, copy=False))
        return [np.concatenate(o) if o else np.zeros((0,) + (WINDOW,), np.float32) for o in outputs]

    def predict(self, x: np.ndarray, batch_size: Optional[int] = None) -> Outputs:
        """Deterministic detection, P and S probabilities, each float32 (n, 6000)."""
        det, p, s = self._run(self._function(("predict",), self.keras_model), x, batch_size, 3)
        return _squeeze(det), _squeeze(p), _squeeze(s)

    def predict_mc(self, x: np.ndarray, passes: int = 5, batch_size: Optional[int] = None) -> Tuple[Outputs, Outputs]:
        """Monte-Carlo dropout as the original predictor offers: (means, standard deviations).

        Runs ``passes`` stochastic passes with the published graph's always-on spatial dropout
        and returns the mean and population std (ddof 0) of detection, P and S.
        """
        if passes < 1:
            raise ValueError("passes must be at least 1")
        if self._mc_model is None:
            self._mc_model = build_graph(self.spec, mc_dropout=True)
            assign_weights(self._mc_model, self.weights_path)
            freeze_folded(self._mc_model)
        function = self._function(("mc",), self._mc_model)
        runs = np.stack([np.stack(self._run(function, x, batch_size, 3)) for _ in range(passes)])[..., 0]
        mean, std = runs.mean(axis=0), runs.std(axis=0)
        return (mean[0], mean[1], mean[2]), (std[0], std[1], std[2])

    def _taps_function(self, names: Tuple[str, ...]):
        key = ("taps",) + names
        if key not in self._compiled:
            missing = [n for n in names if n not in {layer.name for layer in self.keras_model.layers}]
            if missing:
                raise ValueError(f"EqT graph {self.name!r} has no layer(s) {missing}")
            self._compiled[key + ("model",)] = build_graph(self.spec, extra_outputs=names)
            # Share the already-loaded weights instead of reading the file again.
            self._compiled[key + ("model",)].set_weights(self.keras_model.get_weights())
            freeze_folded(self._compiled[key + ("model",)])
        return self._function(key, self._compiled[key + ("model",)])

    def taps(self, names: Sequence[str], x: np.ndarray, batch_size: Optional[int] = None) -> Tuple[Outputs, Dict[str, np.ndarray]]:
        """Outputs plus the named inner layers' outputs (S-EqT's latent features), in one pass."""
        names = tuple(names)
        results = self._run(self._taps_function(names), x, batch_size, 3 + len(names))
        outputs = (_squeeze(results[0]), _squeeze(results[1]), _squeeze(results[2]))
        return outputs, dict(zip(names, results[3:]))

    def taps_batch(self, names: Sequence[str], x: np.ndarray) -> Tuple[Outputs, Dict[str, np.ndarray]]:
        """``taps`` of one batch, the maps left as read-only views of TensorFlow's outputs.

        For a caller that keeps the maps of a few rows only (the picker handing features to the
        re-picker): the outputs equal ``predict``'s for the same batch bit for bit (same layers,
        more outputs), and no copy of the ~1.4 MB per window of maps is made here.
        """
        names = tuple(names)
        results = self._taps_function(names)(check_input(x))
        outputs = tuple(_squeeze(np.asarray(r).astype(np.float32, copy=False)) for r in results[:3])
        return outputs, {n: np.asarray(r) for n, r in zip(names, results[3:])}

    def __repr__(self) -> str:
        return f"EqTModel({self.name!r}, {self.spec.n_bilstm} BiLSTM, {self.precision}, weights={self.weights_path})"


def _squeeze(a: np.ndarray) -> np.ndarray:
    return a[..., 0] if a.ndim == 3 else a


_LOADED: Dict[tuple, EqTModel] = {}
_RUNTIME_CONFIGURED = False


def configure_runtime() -> None:
    """Run TensorFlow's graph ops one at a time (inter-op parallelism 1), once per process.

    EqT's graph is a chain whose ops already use every core (intra-op threads); running its
    three decoders side by side on top of that only holds their activations in memory at
    once: measured on 2 cores, one inter-op thread was as fast or faster and cut the peak
    RSS of a station-day by ~35 MB. ``TF_NUM_INTEROP_THREADS`` in the environment wins; once
    TensorFlow has started its runtime the setting can no longer change and is left alone.
    """
    global _RUNTIME_CONFIGURED
    if _RUNTIME_CONFIGURED:
        return
    _RUNTIME_CONFIGURED = True
    if os.environ.get("TF_NUM_INTEROP_THREADS"):
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log.debug("TensorFlow runtime already started: inter-op parallelism left at %d",
                  tf.config.threading.get_inter_op_parallelism_threads())


def load_eqt(
    model: Union[str, os.PathLike] = "conservative", precision: str = "float32", xla: bool = False, cache: bool = True
) -> EqTModel:
    """Load a published EqT ("original" or "conservative", sha256-verified) or any EqT .h5 by path.

    ``xla=False`` by default: on the 2-core CPU we measured, the plain compiled graph is as fast
    as XLA at the picker's batch of 64 (507 vs 511 windows/s, best of 6 alternating runs of
    benchmarks/eqt_throughput.py's kind) and uses less memory; XLA wins at small batches (1–16).

    The file is verified on every call; with ``cache`` the built graph is then shared within
    the process (a model holds no per-call state), so modules and workers that ask for the same
    weights twice do not rebuild and recompile it.

    ``precision="int8"`` (or ``"int8-full"``) returns a ``LiteEqTModel``: the float32 graph
    converted to a quantized TFLite model once per process (see ``seqt_plugins.eqt.lite``);
    it offers ``predict`` only.
    """
    configure_runtime()
    from .lite import LITE_PRECISIONS

    if precision not in PRECISIONS + LITE_PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS + LITE_PRECISIONS}, not {precision!r}")
    if isinstance(model, str) and model in PACKAGED_WEIGHTS:
        path = packaged_weights_path(model)
        verify_packaged(model, path)
        name = model
    else:
        path = Path(model)
        if not path.is_file():
            raise WeightError(f"{path}: EqT weight file not found (use 'original', 'conservative' or an .h5 path)")
        name = path.name
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, precision, xla)
    if cache and key in _LOADED:
        return _LOADED[key]
    if precision in LITE_PRECISIONS:
        from .lite import LiteEqTModel

        loaded = LiteEqTModel(load_eqt(model, "float32", cache=cache), precision, DEFAULT_BATCH)
        if cache:
            _LOADED[key] = loaded
        return loaded
    spec = read_graph_spec(path)
    log.debug("loading EqT %s from %s (%s)", name, path, spec)
    loaded = EqTModel(spec, path, name, precision=precision, xla=xla)
    release_freed_memory(collect=True)  # building the graph leaves much freed memory behind
    if cache:
        _LOADED[key] = loaded
    return loaded

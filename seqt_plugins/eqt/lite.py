"""EqT through TensorFlow Lite, quantized to int8: an opt-in fast path (``precision="int8"``).

The float32 graph that ``EqTModel`` runs is frozen (weights become constants) and converted once
per process with ``tf.lite.TFLiteConverter``; the converted model runs in TFLite's interpreter
(XNNPACK for the float parts). Two quantizations:

- ``int8`` (what ``picker.precision = int8`` selects): dynamic-range quantization
  (``Optimize.DEFAULT``, no calibration): weights stored as int8, convolutions and matmuls take
  int8 weights with activations quantized on the fly; the LSTMs stay float loops.
- ``int8-full``: full-integer quantization with a representative dataset, activations int8
  too. Calibration windows are made at run time from real records that ship with ObsPy,
  prepared and normalised as the picker does (``calibration_windows``). The LSTMs are unrolled
  for it (TFLite's calibrator cannot run their while loops) and divisions stay float (a
  quantized divisor can round to zero). Only ``load_eqt(..., precision="int8-full")`` and the
  benchmark use it.

A converted model has a fixed batch (``DEFAULT_BATCH``, 64); ``predict`` runs a short tail
through a second conversion at ``SMALL_BATCH`` rather than padding it to 64.
Accuracy and speed against float32: ``benchmarks/int8.py`` and ``benchmarks/RESULTS.md`` ("Speed").
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path
from typing import List, Optional

import numpy as np

from .graph import WINDOW, check_input

log = logging.getLogger("seqt_plugins.eqt")

LITE_PRECISIONS = ("int8", "int8-full")
SMALL_BATCH = 4  # short tail batches (short records, real time) run at this batch, not padded to 64

# Real event records shipped with ObsPy (paths below obspy's package folder).
CALIBRATION_RECORDS = (
    "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed",
    "io/seisan/tests/data/9701-30-1048-54S.MVO_21_1",
)


def calibration_windows(n: int = 128, seed: int = 0) -> np.ndarray:
    """``n`` normalised (6000, 3) windows of real records that ship with ObsPy.

    The records (obspy's example stream, a regional event at CER, a volcano-tectonic event on
    Montserrat's MVO stations) are prepared as the picker prepares a stream (merge, 100 Hz,
    1-45 Hz bandpass), cut into windows every 2 s, zero-filled beyond a record's end as the
    picker's edge padding does, and normalised per window and channel. Windows are repeated in
    a seeded order to reach ``n``. Nothing here reads the project's shared test data.
    """
    import obspy

    from ..picker.prepare import prepare_stream
    from ..picker.windows import batches, plan_windows

    root = Path(obspy.__file__).parent
    streams = [obspy.read()]
    streams += [obspy.read(str(root / rel)) for rel in CALIBRATION_RECORDS if (root / rel).is_file()]
    windows: List[np.ndarray] = []
    quiet = logging.getLogger("seqt_plugins.picker")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # resampling and missing-component notes about these records
    try:
        stations = [s for st in streams for s in prepare_stream(st, min_length=1000)]
    finally:
        quiet.setLevel(level)
    segments = [s.segments for s in stations]
    refs = plan_windows(segments, 200, pad=WINDOW // 2)
    for x, chunk in batches(segments, refs, 64):
        windows.extend(np.array(x[: len(chunk)]))
    if not windows:
        raise RuntimeError("no calibration windows: ObsPy's example records were not found")
    order = np.random.default_rng(seed).permutation(np.resize(np.arange(len(windows)), max(n, len(windows))))[:n]
    return np.stack([windows[i] for i in order]).astype(np.float32)


def _set_unroll(keras_model, unroll: bool) -> None:
    import keras

    for layer in keras_model.layers:
        subs = [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
        for sub in subs:
            if isinstance(sub, keras.layers.LSTM):
                sub.unroll = unroll


def convert(keras_model, precision: str = "int8", batch: int = 64, calibration: Optional[np.ndarray] = None) -> bytes:
    """The TFLite flatbuffer of ``keras_model`` (float32 EqT) at a fixed ``batch``."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    if precision not in LITE_PRECISIONS:
        raise ValueError(f"TFLite precision must be one of {LITE_PRECISIONS}, not {precision!r}")
    full = precision == "int8-full"
    t0 = time.perf_counter()
    _set_unroll(keras_model, full)
    try:
        fn = tf.function(lambda x: keras_model(x, training=False),
                         input_signature=[tf.TensorSpec((batch, WINDOW, 3), tf.float32)])
        frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    finally:
        _set_unroll(keras_model, False)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not full:
            flat = converter.convert()
        else:
            data = calibration_windows(2 * batch) if calibration is None else np.asarray(calibration, np.float32)
            n_batches = max(1, len(data) // batch)

            def representative():
                for i in range(n_batches):
                    yield [np.resize(data[i * batch : (i + 1) * batch], (batch, WINDOW, 3))]

            converter.representative_dataset = representative
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter, debug_dataset=representative,
                debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=["DIV"]))
            flat = debugger.get_nondebug_quantized_model()
    log.debug("EqT converted to TFLite %s (batch %d) in %.1f s, %d bytes", precision, batch, time.perf_counter() - t0, len(flat))
    return flat


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class LiteEqTModel:
    """``EqTModel``'s ``predict`` through a quantized TFLite model (deterministic only)."""

    xla = False  # the picker need not pad batches: ``predict`` pads to the converted batch itself

    def __init__(self, float_model, precision: str = "int8", batch: int = 64, calibration: Optional[np.ndarray] = None):
        self.spec = float_model.spec
        self.weights_path = float_model.weights_path
        self.name = float_model.name
        self.precision = precision
        self.batch = int(batch)
        self._keras_model = float_model.keras_model
        self._calibration = calibration
        self._runners = {}
        self.flatbuffer = self._runner(self.batch)[0]

    def _runner(self, batch: int):
        """(flatbuffer, interpreter, input index, output indices) of the model converted at ``batch``."""
        if batch not in self._runners:
            import tensorflow as tf

            flat = convert(self._keras_model, self.precision, batch, self._calibration)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice (LiteRT)
                it = tf.lite.Interpreter(model_content=flat, num_threads=_threads())
            it.allocate_tensors()
            # outputs Identity, Identity_1, Identity_2: detection, P, S in the graph's order
            outs = sorted(it.get_output_details(), key=lambda d: (len(d["name"]), d["name"]))
            self._runners[batch] = (flat, it, it.get_input_details()[0]["index"], [d["index"] for d in outs])
        return self._runners[batch]

    def predict(self, x: np.ndarray, batch_size: Optional[int] = None):
        """Detection, P and S probabilities, each float32 (n, 6000); ``batch_size`` is ignored."""
        x = check_input(x)
        det, p, s = (np.empty((len(x), WINDOW), np.float32) for _ in range(3))
        start = 0
        while start < len(x):
            rest = len(x) - start
            # full batches through the main model; a short tail through one converted for
            # SMALL_BATCH (once, on first need) instead of padding it to the full batch
            b = self.batch if rest > self.batch // 2 or self.batch <= SMALL_BATCH else SMALL_BATCH
            _, it, index_in, index_out = self._runner(b)
            n = min(b, rest)
            chunk = x[start : start + n]
            if n < b:
                chunk = np.concatenate([chunk, np.zeros((b - n, WINDOW, 3), np.float32)])
            it.set_tensor(index_in, chunk)
            it.invoke()
            for out, index in zip((det, p, s), index_out):
                out[start : start + n] = it.get_tensor(index)[:n, :, 0]
            start += n
        return det, p, s

    def predict_mc(self, *args, **kwargs):
        raise NotImplementedError("Monte-Carlo dropout needs precision float32, not int8")

    def taps(self, *args, **kwargs):
        raise NotImplementedError("S-EqT taps need precision float32, not int8")

    taps_batch = taps

    def __repr__(self) -> str:
        return f"LiteEqTModel({self.name!r}, {self.spec.n_bilstm} BiLSTM, {self.precision}, batch {self.batch})"

"""EqT inference throughput on this machine: windows/s by batch size, against eager calls.

Prints, in one run: windows/s of ``EqTModel.predict`` (compiled graph, fixed signature,
no XLA, the default) and with XLA at batch sizes 1, 16, 64 and 256; plain eager
``keras_model(x)`` calls at the same batch sizes (the baseline). Then the arithmetic ceiling:
the model's multiply-adds per window (counted from the layers' shapes), the rate they run at,
this machine's dense float32 matmul rate (the most its cores deliver), and the station-days
per hour that rate would allow at 50 % overlap. Last, side by side in alternating rounds, the
default picker's models alone (``both``) and its whole pipeline (``Picker.pick`` on ``--hours``
of ``--stations`` copies of a tiled Hengill station, see throughput.py), and the ratio.
Usage: python benchmarks/eqt_throughput.py [--model conservative] [--hours 2] [--stations 1]
[--rounds 3] [--pipeline-only]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from seqt_plugins.eqt import load_eqt, normalize_windows  # noqa: E402


def flops_per_window(keras_model) -> int:
    """Floating-point operations (2 per multiply-add) of one window, from the layer shapes."""
    import keras

    from seqt_plugins.eqt.layers import FeedForward, SeqSelfAttention, UpsampledConv1D

    total = 0
    for layer in keras_model.layers:
        if isinstance(layer, UpsampledConv1D):  # folded: a D-tap conv on the coarse signal, 2x filters
            k, c_in, c_out = layer.kernel.shape
            taps = 2 * (((k - 1) // 2 + 1) // 2) + 1
            total += 2 * layer.input.shape[1] * taps * c_in * 2 * c_out
        elif isinstance(layer, keras.layers.Conv1D):
            k, c_in, c_out = layer.kernel.shape
            total += 2 * layer.output.shape[1] * k * c_in * c_out
        elif isinstance(layer, (keras.layers.Bidirectional, keras.layers.LSTM)):
            steps, d = layer.input.shape[1], layer.input.shape[2]
            directions = 2 if isinstance(layer, keras.layers.Bidirectional) else 1
            total += directions * steps * 2 * 4 * 16 * (d + 16)
        elif isinstance(layer, SeqSelfAttention):
            steps, d = layer.input.shape[1], layer.input.shape[2]
            total += 2 * 2 * steps * d * 32 + 4 * steps * steps * 32 + 2 * steps * steps * d
        elif isinstance(layer, FeedForward):
            steps, d = layer.input.shape[1], layer.input.shape[2]
            total += 2 * 2 * steps * d * 128
    return total


def matmul_gflops(repeats: int = 5) -> float:
    """Dense float32 matmul rate of this machine through TensorFlow (best of ``repeats``)."""
    import tensorflow as tf

    a = tf.random.normal((2048, 2048))
    f = tf.function(lambda u, v: tf.matmul(u, v))
    f(a, a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        f(a, a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


def windows_per_second(call, x, batch, repeats):
    call(x[:batch])  # warm-up: tracing / compilation is not throughput
    n = 0
    start = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(x), batch):
            call(x[i : i + batch])
            n += len(x[i : i + batch])
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="conservative")
    parser.add_argument("--windows", type=int, default=256, help="windows per measurement")
    parser.add_argument("--batches", default="1,16,64,256")
    parser.add_argument("--hours", type=float, default=2.0, help="data of the pipeline comparison")
    parser.add_argument("--stations", type=int, default=1, help="stations of the pipeline comparison")
    parser.add_argument("--rounds", type=int, default=3, help="alternating model-only / pipeline rounds")
    parser.add_argument("--pipeline-only", action="store_true", help="only the model-only vs pipeline comparison")
    args = parser.parse_args()
    if args.pipeline_only:
        return pipeline_vs_model(args)

    rng = np.random.default_rng(0)
    x = normalize_windows(rng.standard_normal((args.windows, 6000, 3)).astype(np.float32))
    batches = [int(b) for b in args.batches.split(",")]
    fast = load_eqt(args.model)  # the default: compiled graph without XLA
    with_xla = load_eqt(args.model, xla=True, cache=False)
    print(f"EqT {args.model}: {os.cpu_count()} CPUs, {args.windows} windows per figure (batch 1: 32)")
    print(f"{'batch':>6} {'eager model(x)':>15} {'predict':>14} {'predict, XLA':>14} {'predict/eager':>14}")
    for batch in batches:
        n_small = min(len(x), 32) if batch == 1 else len(x)
        eager = windows_per_second(lambda c: fast.keras_model(c, training=False), x[:n_small], batch, 1)
        compiled = windows_per_second(lambda c: fast.predict(c, batch_size=batch), x[:n_small], batch, 1)
        xla = windows_per_second(lambda c: with_xla.predict(c, batch_size=batch), x[:n_small], batch, 1)
        print(f"{batch:>6} {eager:>11.1f} w/s {compiled:>10.1f} w/s {xla:>10.1f} w/s {compiled / eager:>13.2f}x")

    batch = 64
    f32_rate = windows_per_second(lambda c: fast.predict(c, batch_size=batch), x, batch, 1)

    flops = flops_per_window(fast.keras_model)
    peak = matmul_gflops()
    windows_per_day = 86400 * 100 / 3000  # 60 s windows at 50 % overlap
    print(f"arithmetic: {flops / 1e6:.0f} MFLOP per window; predict at batch {batch} runs them at "
          f"{flops * f32_rate / 1e9:.0f} GFLOP/s; dense float32 matmul on this machine: {peak:.0f} GFLOP/s")
    print(f"ceiling at 50 % overlap if EqT ran at the matmul rate: {peak * 1e9 / flops / windows_per_day * 3600:.0f} "
          f"station-days/hour for one model (now {f32_rate / windows_per_day * 3600:.0f} for the model alone)")
    pipeline_vs_model(args)


def pipeline_vs_model(args):
    """The default picker (both models): its models alone vs its whole pipeline, side by side."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from throughput import make_stream, model_and_pipeline_rates, print_rates

    shared = Path(os.environ.get("SEQT_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    rounds, n = model_and_pipeline_rates(make_stream(shared, args.hours, args.stations), "both", args.rounds)
    print_rates(rounds, n, f"default picker (both models), {args.stations} station(s) x {args.hours:g} h")


if __name__ == "__main__":
    main()

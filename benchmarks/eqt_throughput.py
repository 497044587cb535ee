"""EqT inference throughput on this machine: windows/s by batch size, against eager calls.

Prints, in one run: windows/s of ``EqTModel.predict`` (compiled graph, fixed signature,
no XLA, the default) and with XLA at batch sizes 1, 16, 64 and 256; plain eager
``keras_model(x)`` calls at the same batch sizes (the baseline); and the opt-in bfloat16 mode with its largest output
difference from float32. Usage: python benchmarks/eqt_throughput.py [--model conservative]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from seqt_plugins.eqt import load_eqt, normalize_windows  # noqa: E402


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
    args = parser.parse_args()

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

    bf16 = load_eqt(args.model, precision="bfloat16")
    batch = 64
    f32_rate = windows_per_second(lambda c: fast.predict(c, batch_size=batch), x, batch, 1)
    bf_rate = windows_per_second(lambda c: bf16.predict(c, batch_size=batch), x, batch, 1)
    ref = fast.predict(x[:64])
    out = bf16.predict(x[:64])
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, out))
    print(f"bfloat16 (batch {batch}): {bf_rate:.1f} w/s vs float32 {f32_rate:.1f} w/s = {bf_rate / f32_rate:.2f}x; "
          f"max |output difference| {diff:.3g}")


if __name__ == "__main__":
    main()

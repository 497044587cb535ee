"""int8 (TensorFlow Lite) against float32 Keras EqT: speed, golden outputs, picker accuracy.

    PYTHONPATH=. python benchmarks/int8.py [--shared ../shared] [--repeats 3] [--noise 1]
                                           [--sets arrays,single,window] [--variants ...]

Variants: ``float32`` (Keras ``predict``, the published model, the baseline), ``int8``
(TFLite dynamic-range quantization, what
``picker.precision = int8`` selects) and ``int8-full`` (TFLite full-integer quantization,
calibrated on windows of real records that ship with ObsPy: ``seqt_plugins.eqt.lite``).

1. Speed: the conservative model at the picker's batch of 64 on real windows, variants
   alternated within each repeat; windows/s and the ratio to float32 of the same repeat.
2. Golden windows (../shared/golden): max abs difference of detection, P and S to the
   reference outputs of the original graphs, per model.
3. The deciding figure: picker recall and precision per phase on the labelled sets, exactly as
   ``benchmarks/accuracy.py`` scores them (``seqt_plugins.evaluation``: ``labelled_arrays``,
   ``single_station``, ``add_noise``, ``score``; picker defaults otherwise), for each published
   model alone and the default ensemble ("both"), float32 vs each variant. The rule (issue 15):
   int8 is worth offering only if recall and precision stay within 0.01 of float32 per phase.

Each model's outputs are computed once per window and reused for the ensemble (the windows of
the "both" picker are the same as those of the single-model pickers).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqt_plugins.eqt import load_eqt  # noqa: E402
from seqt_plugins.eqt.lite import calibration_windows  # noqa: E402
from seqt_plugins.evaluation import add_noise, labelled_sets, score  # noqa: E402
from seqt_plugins.picker import Picker  # noqa: E402

MODELS = ("original", "conservative")
TOLERANCE = 0.01


class Memo:
    """A model whose outputs are kept per window content: the ensemble reuses the single runs."""

    xla = False

    def __init__(self, model):
        self.model, self.name, self.cache = model, model.name, {}

    def predict(self, x, batch_size=None):
        keys = [hashlib.blake2b(w.tobytes(), digest_size=16).digest() for w in x]
        todo = [i for i, key in enumerate(keys) if key not in self.cache]
        if todo:
            res = self.model.predict(x[todo], batch_size=64)
            for j, i in enumerate(todo):
                self.cache[keys[i]] = tuple(r[j].copy() for r in res)
        return tuple(np.stack([self.cache[key][k] for key in keys]) for k in range(3))


def speed(models, x, repeats):
    rates = {v: [] for v in models}
    for _ in range(repeats):
        for v, m in models.items():
            t0 = time.perf_counter()
            m.predict(x, batch_size=64)
            rates[v].append(len(x) / (time.perf_counter() - t0))
    return rates


def scores(picker, records):
    tot = {ph: [0, 0, 0] for ph in "PS"}  # correct, wrong, arrivals
    for r in records:
        s = score(picker.pick(r.stream, r.inventory), r.labels)
        for ph in "PS":
            tot[ph][0] += len(s[ph]["correct"])
            tot[ph][1] += s[ph]["wrong"]
            tot[ph][2] += s[ph]["arrivals"]
    return {ph: (c / a if a else float("nan"), c / (c + w) if c + w else float("nan"), c, w, a) for ph, (c, w, a) in tot.items()}


def print_curve(memo, variants, recs):
    """benchmarks/accuracy.py's threshold curve for the default ensemble, float32 and each variant."""
    from accuracy import picker_curve  # benchmarks/accuracy.py, beside this script

    thresholds = [(d, p, s) for d in (0.1, 0.3, 0.5) for p, s in ((0.05, 0.05), (0.1, 0.1), (0.2, 0.1), (0.3, 0.1), (0.3, 0.3), (0.5, 0.3))]
    curves = {}
    for v in variants:
        picker = Picker(model=[memo[v, n] for n in MODELS])
        probs = [picker.probabilities(r.stream, r.inventory) for r in recs]
        curves[v] = picker_curve(picker, recs, probs, thresholds)
    print("  curve (both): det    P    S | " + " | ".join(f"{v:>9s} P rec prec, S rec prec" for v in variants))
    for i, thr in enumerate(thresholds):
        cells = []
        for v in variants:
            t = curves[v][i][1]
            cells.append(" ".join(f"{t[ph][0] / t[ph][2] if t[ph][2] else float('nan'):5.3f} "
                                  f"{t[ph][0] / (t[ph][0] + t[ph][1]) if t[ph][0] + t[ph][1] else float('nan'):5.3f}"
                                  for ph in "PS").rjust(34))
        print(f"               {thr[0]:4.2f} {thr[1]:4.2f} {thr[2]:4.2f} | " + " | ".join(cells))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("SEQT_SHARED", str(Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--speed-windows", type=int, default=256)
    ap.add_argument("--noise", default="1", help="SNR reduction factors (1: as recorded), as benchmarks/accuracy.py")
    ap.add_argument("--sets", default="arrays,single,window", help="arrays, single (90-s records), window (60-s cuts)")
    ap.add_argument("--variants", default="int8,int8-full")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--curve", action="store_true",
                    help="also recall/precision per threshold of the default ensemble, float32 vs each variant")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    variants = ["float32"] + [v for v in args.variants.split(",") if v and v != "float32"]

    t0 = time.perf_counter()
    models = {}
    for v in variants:
        for name in MODELS:
            t = time.perf_counter()
            models[v, name] = load_eqt(name, precision=v)
            print(f"loaded {name} {v} in {time.perf_counter() - t:.1f} s")
    print(f"models ready in {time.perf_counter() - t0:.0f} s")

    # 1. speed
    x = calibration_windows(args.speed_windows, seed=1)
    cons = {v: models[v, "conservative"] for v in variants}
    speed(cons, x[:64], 1)  # warm-up: traces, allocations
    rates = speed(cons, x, args.repeats)
    print(f"\n== speed: conservative, batch 64, {len(x)} real windows per run, {args.repeats} alternating repeats")
    for v in variants:
        r = np.array(rates[v])
        ratio = r / np.array(rates["float32"])
        print(f"{v:10s} windows/s {' '.join(f'{a:6.1f}' for a in r)}  median {np.median(r):6.1f}  "
              f"ratio to float32 {' '.join(f'{a:.2f}' for a in ratio)} (median {np.median(ratio):.2f}x)")

    # 2. golden windows
    golden = Path(args.shared) / "golden" / "eqt_golden.npz"
    if golden.is_file():
        g = np.load(golden)
        print("\n== golden windows: max abs difference to the reference outputs (detection, P, S)")
        for v in variants:
            for name in MODELS:
                out = models[v, name].predict(g["inputs"])
                d = [float(np.abs(o - g[f"{name}_{k}"]).max()) for o, k in zip(out, ("detection", "p", "s"))]
                print(f"{v:10s} {name:12s} " + " ".join(f"{a:.2e}" for a in d))
    if args.no_accuracy:
        return

    # 3. picker accuracy on the labelled sets
    data = Path(args.shared) / "data"
    sets = labelled_sets(data, args.sets.split(","))
    factors = [float(k) for k in args.noise.split(",")]
    verdict = {v: True for v in variants[1:]}
    print(f"\n== picker accuracy (picker defaults but the model; rule: |delta| <= {TOLERANCE} per phase; "
          "time: picking, the 'both' rows reuse the single models' outputs)")
    for set_name, records in sets.items():
        for k in factors:
            recs = [add_noise(r, k, seed=i + 1) for i, r in enumerate(records)]
            memo = {key: Memo(m) for key, m in models.items()}
            print(f"\n-- {set_name}, SNR / {k:g}: {len(recs)} records")
            print(f"{'model':13s} {'variant':10s} | {'P recall':>8s} {'prec':>6s} {'dR':>6s} {'dP':>6s} | "
                  f"{'S recall':>8s} {'prec':>6s} {'dR':>6s} {'dP':>6s} | time")
            for model in ("conservative", "original", "both"):
                base = None
                for v in variants:
                    ms = [memo[v, n] for n in (MODELS if model == "both" else (model,))]
                    t = time.perf_counter()
                    res = scores(Picker(model=ms), recs)
                    dt = time.perf_counter() - t
                    if base is None:
                        base = res
                    cells = []
                    for ph in "PS":
                        dr, dp = res[ph][0] - base[ph][0], res[ph][1] - base[ph][1]
                        if v != "float32" and not (abs(dr) <= TOLERANCE + 1e-12 and abs(dp) <= TOLERANCE + 1e-12):
                            verdict[v] = False
                        cells.append(f"{res[ph][0]:8.3f} {res[ph][1]:6.3f} {dr:+6.3f} {dp:+6.3f}")
                    print(f"{model:13s} {v:10s} | {cells[0]} | {cells[1]} | {dt:5.1f} s")
            if args.curve:
                print_curve(memo, variants, recs)
    print("\n== rule: recall and precision within 0.01 of float32 per phase, every set, model and noise level")
    for v, ok in verdict.items():
        print(f"{v:10s} {'meets it' if ok else 'does NOT meet it'}")


if __name__ == "__main__":
    main()

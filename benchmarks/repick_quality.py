"""Re-pick quality on Hengill: how many arrivals hidden by a high EqT threshold seqtrepick recovers.

    PYTHONPATH=. python benchmarks/repick_quality.py [--shared ../shared] [--quick]

The case and its scoring (reference picks of EqT conservative, confident picks at a high
threshold, events located from them, the arrivals hidden by the threshold, recovered / wrong
re-picks) are :mod:`seqt_plugins.repick_case`, shared with the re-pick tests.

Prints one row per configuration: template path (correlation), complementary path (EqT maximum
in the geometry window), phase-only templates, thresholds.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqt_plugins.repick_case import (build_events, load_hengill, reference_and_confident,  # noqa: E402
                                      scarce, score)

SCENARIOS = [("all picks", None, 0)] + [(f"S at {k} sta.", "S", k) for k in (0, 1, 2)] + \
    [(f"P at {k} sta.", "P", k) for k in (0, 1, 2)]


CONFIGS = [
    ("correlation", dict(correlation=True, eqt_max=False, phase_only_templates=False)),
    ("correlation+phase-only", dict(correlation=True, eqt_max=False, phase_only_templates=True)),
    ("eqt-max", dict(correlation=False, eqt_max=True)),
    ("both", dict(correlation=True, eqt_max=True, phase_only_templates=False)),
    ("both+phase-only", dict(correlation=True, eqt_max=True, phase_only_templates=True)),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("SEQT_SHARED", Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--quick", action="store_true", help="only the default configuration")
    ap.add_argument("--sweep", action="store_true", help="also sweep zThreshold and eqtThreshold")
    ap.add_argument("--scarce", action="store_true",
                    help="phase-only experiment: S (or P) picks kept at only k = 0, 1, 2 stations per event")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from seqt_plugins.eqt import load_eqt
    from seqt_plugins.repicker import Repicker

    model = load_eqt("conservative")
    stream, inv, coords = load_hengill(args.shared / "data" / "hengill")
    ref, conf = reference_and_confident(stream, model)
    ep, hidden = build_events(conf, ref, coords)
    print(f"reference picks {len(ref)}, confident picks {len(conf)}, events {len(ep.origins)}, "
          f"hidden arrivals {sum(h.phase_hint == 'P' for _, h in hidden)} P / {sum(h.phase_hint == 'S' for _, h in hidden)} S")
    configs = [("default", {})] if args.quick else list(CONFIGS)
    if args.sweep:
        configs += [(f"correlation z>={z}", dict(correlation=True, eqt_max=False, phase_only_templates=True, z_threshold=z)) for z in (3.0, 4.0, 6.0, 8.0)]
        configs += [(f"eqt-max p>={p}", dict(correlation=False, eqt_max=True, eqt_threshold=p)) for p in (0.02, 0.1, 0.2)]
    cache = None
    print(f"{'configuration':28s} {'P rec/hidden':>13s} {'S rec/hidden':>13s} {'wrong/re-picks':>15s} {'s':>6s}")
    for name, kw in configs:
        rp = Repicker(model=model, **kw)
        if cache is not None:
            rp._cache = cache
        t = time.perf_counter()
        rp.repick(ep, stream, inventory=inv)
        dt = time.perf_counter() - t
        cache = rp.cache
        rp_, tp, rs, ts, wrong, n = score(rp.last_results, hidden, ref)
        print(f"{name:28s} {rp_:>6d}/{tp:<6d} {rs:>6d}/{ts:<6d} {wrong:>7d}/{n:<7d} {dt:6.1f}")
    if args.scarce:
        print("\nphase-only experiment: the input keeps one phase at only k stations per event")
        print(f"{'scenario':14s} {'configuration':24s} {'P rec/hidden':>13s} {'S rec/hidden':>13s} {'wrong/re-picks':>15s}")
        for sname, phase, k in SCENARIOS:
            ep_s, hid_s, extra = (ep, hidden, []) if phase is None else scarce(ep, hidden, phase, k)
            for name, kw in CONFIGS:
                rp = Repicker(model=model, **kw)
                rp._cache = cache
                rp.repick(ep_s, stream, inventory=inv)
                rp_, tp, rs, ts, wrong, n = score(rp.last_results, hid_s, list(ref) + extra)
                print(f"{sname:14s} {name:24s} {rp_:>6d}/{tp:<6d} {rs:>6d}/{ts:<6d} {wrong:>7d}/{n:<7d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

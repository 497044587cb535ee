"""seqt-catalog's re-pick stage as a share of its EqT stage, with and without the hand-over.

    PYTHONPATH=. python benchmarks/handover.py [--hours 2] [--repeat 1] [--shared ../shared]

Data, a sparse array record of ``--hours`` hours: every hour starts with the real 5-minute
Hengill recording (20 stations, 57 traces at 200 Hz and 3 at 100 Hz, ~8 located events) and
goes on with 55 minutes of Gaussian noise at each trace's quietest level (no events), so the
events are as many as a busy day of a local network has per hour, the EqT stage covers the
whole span and the re-picker works around the events only.

Each run is ``CatalogPipeline.run`` (picker defaults: both published models; re-picker
defaults; the 1-D velocity model), once without the hand-over (the re-picker prepares and
encodes its windows itself) and once with it, alternating, ``--repeat`` times. Printed per run:
the EqT stage (``Picker.pick``) and re-pick stage (``Repicker.repick``) wall times, the share,
and the windows the re-picker encoded; then the medians of the shares and of the EqT stage's
time with the hand-over over that without (its cost: the multi-output graph, the time order and
copying the taps of the windows handed over). Only ratios within one run are comparable on a
shared machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from obspy import Stream, Trace, read, read_inventory

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECORD = 300.0  # s


def make_stream(root: Path, hours: int, seed: int = 0) -> Stream:
    """``hours`` hours: each begins with the 5-minute record, then noise (see the module doc)."""
    rng = np.random.default_rng(seed)
    src = read(str(root / "mseed" / "*.mseed"))
    out = Stream()
    for tr in src:
        sr = tr.stats.sampling_rate
        n_rec, n_hour = int(round(RECORD * sr)), int(round(3600.0 * sr))
        rec = tr.data[:n_rec].astype(np.float64)
        blocks = rec[: (n_rec // int(5 * sr)) * int(5 * sr)].reshape(-1, int(5 * sr))
        level = float(blocks.std(axis=1).min())  # the quietest 5 s
        parts = []
        for _ in range(hours):
            parts.append(rec)
            parts.append(np.median(rec) + level * rng.standard_normal(n_hour - n_rec))
        out += Trace(np.concatenate(parts).round().astype(np.int32), header={
            **{k: tr.stats[k] for k in ("network", "station", "location", "channel", "sampling_rate")},
            "starttime": tr.stats.starttime})
    return out


def run_once(root, stream, inventory, handover: bool, tmp: str):
    from seqt_plugins.catalog import AssociatorOptions, CatalogPipeline

    pipeline = CatalogPipeline(root / "velocity_model.txt", associator_options=AssociatorOptions(cache_dir=tmp),
                               handover=handover)
    ep = pipeline.run(stream, inventory)
    st = pipeline.stages
    cache = pipeline.repicker.cache
    handed = pipeline.last_handover.stats.accepted if pipeline.last_handover is not None else 0
    return dict(pick=st.seconds["pick"], repick=st.seconds.get("repick", 0.0), events=len(st.first.origins),
                repicks=len(st.repick_results), encoded=cache.encoded, handed=handed, used=cache.handover_used,
                picks=sorted((p.public_id, p.time.ns, p.probability) for p in ep.picks))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("SEQT_SHARED", Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--hours", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    root = args.shared / "data" / "hengill"
    stream, inventory = make_stream(root, args.hours), read_inventory(str(root / "stations.xml"))
    print(f"data: {len(stream)} traces x {args.hours} h (each hour: the 5-min Hengill record, then noise); "
          f"CPU cores {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f}")
    runs = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        run_once(root, stream.slice(stream[0].stats.starttime, stream[0].stats.starttime + 120), inventory, True, tmp)  # warm-up
        for _ in range(args.repeat):
            for handover in (False, True):
                t = time.perf_counter()
                r = run_once(root, stream, inventory, handover, tmp)
                runs[handover].append(r)
                print(f"  hand-over {'on ' if handover else 'off'}: EqT stage {r['pick']:.1f} s, re-pick stage "
                      f"{r['repick']:.1f} s = {100 * r['repick'] / r['pick']:.1f} % of it; {r['events']} events, "
                      f"{r['repicks']} re-picks; the re-picker encoded {r['encoded']} windows"
                      + (f", used {r['used']} of {r['handed']} handed over" if handover else "")
                      + f" ({time.perf_counter() - t:.0f} s in all)")
    same = all(a["picks"] == b["picks"] for a, b in zip(runs[False], runs[True]))
    share = {h: statistics.median(r["repick"] / r["pick"] for r in runs[h]) for h in runs}
    cost = statistics.median(b["pick"] / a["pick"] for a, b in zip(runs[False], runs[True]))
    print(f"re-pick stage / EqT stage (median of {args.repeat}): {100 * share[False]:.1f} % without the hand-over, "
          f"{100 * share[True]:.1f} % with it (target <= 20 %); EqT stage with / without the hand-over: {cost:.3f}; "
          f"all picks and re-picks identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

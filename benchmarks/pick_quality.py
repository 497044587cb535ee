"""Pick quality of the EqT weight sets (and their combination) on the labelled shared data.

    PYTHONPATH=. python benchmarks/pick_quality.py [--shared ../shared] [--quick]

single_station/ (154 labelled events): each record is cut to start 0–20 s later than the file
(seeded), so the labelled P is not at a fixed window position. A P pick within 0.5 s of the
label (S: 1.0 s) is a hit; any other pick of that phase is counted as false. Recall = records
with a hit / records.

hengill/ (20 stations, 5 min, 10 listed events, no labels): an event is "picked" at a station
when it has a P pick between T − 1 s and T + 4 s (T = the listed first-trigger time, ±1 s;
the array spans ~20 km, so moveouts are ≤ ~3 s). Picks outside [T − 3 s, T + 12 s] of every listed
time are "unexplained" (false picks or unlisted small events); an unexplained P is "isolated"
(likely false) unless P picks of ≥ 4 stations fall within ±3 s of it.

Prints one table per data set: model × thresholds → figures. The defaults in
seqt_plugins/picker/options.py were chosen from this output (see the README).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
from obspy import Stream, UTCDateTime, read

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqt_plugins.picker import Picker  # noqa: E402

HENGILL_EVENTS = ["03:00:05", "03:00:15", "03:00:40", "03:01:18", "03:01:43", "03:02:13", "03:03:00", "03:03:19", "03:03:55", "03:04:29"]


def single_station_stream(root: Path, seed: int = 20200807, max_offset: float = 20.0):
    """All records in one Stream (station renamed to a unique code), and the labels."""
    rng = np.random.default_rng(seed)
    st = Stream()
    labels = {}
    with open(root / "picks.csv") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        rec = read(str(root / row["file"]))
        offset = round(float(rng.uniform(0.0, max_offset)), 2)
        start = UTCDateTime(row["starttime"])
        rec.trim(start + offset, None)
        code = f"R{i:03d}"
        for tr in rec:
            tr.stats.network, tr.stats.station = "XX", code
        st += rec
        labels[code] = (UTCDateTime(row["p_time"]), UTCDateTime(row["s_time"]), len(rec))
    return st, labels


def score_single(picks, labels, p_tol=0.5, s_tol=1.0):
    by = {}
    for pk in picks:
        by.setdefault((pk.waveform_id.station, pk.phase_hint), []).append(pk.time)
    res = {"P_hit": 0, "S_hit": 0, "P_false": 0, "S_false": 0, "P_err": [], "S_err": []}
    for code, (tp, ts, _) in labels.items():
        for phase, t_lab, tol in (("P", tp, p_tol), ("S", ts, s_tol)):
            times = by.get((code, phase), [])
            errs = [t - t_lab for t in times]
            good = [e for e in errs if abs(e) <= tol]
            if good:
                res[f"{phase}_hit"] += 1
                res[f"{phase}_err"].append(min(good, key=abs))
            res[f"{phase}_false"] += len(errs) - (1 if good else 0)
    n = len(labels)
    return {
        "P_recall": res["P_hit"] / n, "S_recall": res["S_hit"] / n,
        "P_hit": res["P_hit"], "S_hit": res["S_hit"], "P_false": res["P_false"], "S_false": res["S_false"],
        "P_mae": float(np.mean(np.abs(res["P_err"]))) if res["P_err"] else float("nan"),
        "S_mae": float(np.mean(np.abs(res["S_err"]))) if res["S_err"] else float("nan"),
        "n": n,
    }


def score_hengill(picks, n_stations=20, before=1.0, after=4.0, unexplained=(-3.0, 12.0)):
    events = [UTCDateTime(f"2018-12-30T{t}") for t in HENGILL_EVENTS]
    per_event = []
    for t in events:
        stas = {pk.waveform_id.station for pk in picks if pk.phase_hint == "P" and t - before <= pk.time <= t + after}
        per_event.append(len(stas))
    unexp = [pk for pk in picks if not any(unexplained[0] <= pk.time - t <= unexplained[1] for t in events)]
    # An unexplained P seen within ±3 s at ≥ 4 stations is probably an unlisted event; else isolated.
    p_times = [(pk.time, pk.waveform_id.station) for pk in picks if pk.phase_hint == "P"]
    isolated = sum(
        1 for pk in unexp
        if pk.phase_hint == "P" and len({s for t, s in p_times if abs(t - pk.time) <= 3.0}) < 4
    )
    return {
        "stations_per_event": per_event,
        "events_at_half": sum(1 for c in per_event if c >= n_stations / 2),
        "P": sum(1 for pk in picks if pk.phase_hint == "P"),
        "S": sum(1 for pk in picks if pk.phase_hint == "S"),
        "unexplained": len(unexp),
        "isolated_P": isolated,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("SEQT_SHARED", str(Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--quick", action="store_true", help="only the default thresholds")
    ap.add_argument("--stacking", default="max")
    ap.add_argument("--overlap", type=float, default=0.5)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    shared = Path(args.shared)

    from seqt_plugins.eqt import load_eqt

    cons, orig = load_eqt("conservative"), load_eqt("original")
    models = {
        "conservative": [cons], "original": [orig],
        "both-mean": ([cons, orig], "mean"), "both-max": ([cons, orig], "max"),
    }
    grid = [(0.3, 0.1, 0.1)] if args.quick else [
        (d, p, s) for d in (0.3, 0.5) for p in (0.1, 0.3, 0.5) for s in (0.1, 0.3)
    ]
    ss, labels = single_station_stream(shared / "data" / "single_station")
    hg = read(str(shared / "data" / "hengill" / "mseed" / "*.mseed"))

    print(f"stacking={args.stacking} overlap={args.overlap}; single_station: {len(labels)} records; "
          f"P hit ≤ 0.5 s, S hit ≤ 1.0 s; hengill: stations with P in [T-1, T+4] s per listed event")
    header = (f"{'model':13s} {'det':>4s} {'P':>4s} {'S':>4s} | {'P_rec':>5s} {'P_fal':>5s} {'P_mae':>5s} {'S_rec':>5s} {'S_fal':>5s} "
              f"{'S_mae':>5s} | {'ev>=10':>6s} {'P':>4s} {'S':>4s} {'unexp':>5s} {'isoP':>4s}  stations per event")
    print(header)
    for name, spec in models.items():
        ms, ens = (spec if isinstance(spec, tuple) else (spec, "mean"))
        t = time.perf_counter()
        picker = Picker(model=ms, ensemble=ens, stacking=args.stacking, overlap=args.overlap)
        prob_ss = picker.probabilities(ss)
        prob_hg = picker.probabilities(hg)
        dt = time.perf_counter() - t
        for d, p, s in grid:
            picker.options.detection_threshold, picker.options.p_threshold, picker.options.s_threshold = d, p, s
            a = score_single(picker.picks_from_probabilities(prob_ss)[0], labels)
            b = score_hengill(picker.picks_from_probabilities(prob_hg)[0])
            print(f"{name:13s} {d:4.2f} {p:4.2f} {s:4.2f} | {a['P_recall']:5.3f} {a['P_false']:5d} {a['P_mae']:5.3f} "
                  f"{a['S_recall']:5.3f} {a['S_false']:5d} {a['S_mae']:5.3f} | {b['events_at_half']:6d} {b['P']:4d} "
                  f"{b['S']:4d} {b['unexplained']:5d} {b['isolated_P']:4d}  {b['stations_per_event']}")
        print(f"# {name}: inference and stacking {dt:.1f} s", flush=True)


if __name__ == "__main__":
    main()

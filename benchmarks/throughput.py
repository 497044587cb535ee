"""Throughput of ``Picker.pick`` (and SeisBench's EqT ``classify`` when installed), and peak RSS.

    PYTHONPATH=. python benchmarks/throughput.py [--hours 6] [--stations 1] [--model conservative]
                                                 [--no-rss] [--shared ../shared]

Data: 3-component 100 Hz recordings built by tiling the 5-minute Hengill recording of the
100 Hz station ON.NESJV (real noise and ten local events every 5 minutes), ``--stations``
copies under different station codes. Prints station-days per hour of wall time for
``Picker.pick`` and, when ``seisbench`` is importable (optional, benchmark only), for
SeisBench's ``EQTransformer.classify`` at the same overlap (SeisBench has no local weights
here, so its model is untrained: random weights cost the same time), and the ratio.
Then, in a fresh process, the peak RSS of picking one 24-hour station-day.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from obspy import Stream, Trace, UTCDateTime, read

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T0 = UTCDateTime("2024-03-01T00:00:00")


def make_stream(shared: Path, hours: float, stations: int = 1) -> Stream:
    src = read(str(shared / "data" / "hengill" / "mseed" / "*NESJV*"))
    st = Stream()
    for k in range(stations):
        for tr in src:
            n = int(round(hours * 3600 * tr.stats.sampling_rate))
            data = np.resize(tr.data.astype(np.int32), n)
            st += Trace(data, header={"network": "XX", "station": f"T{k:03d}", "location": "",
                                      "channel": tr.stats.channel, "sampling_rate": tr.stats.sampling_rate,
                                      "starttime": T0})
    return st


def run_picker(st: Stream, model: str, overlap: float, batch_size: int):
    from seqt_plugins.picker import Picker

    picker = Picker(model=model, overlap=overlap, batch_size=batch_size)
    # warm-up: load the model and compile the graph outside the timing
    picker.pick(st.slice(T0, T0 + 70))
    t = time.perf_counter()
    picks = picker.pick(st)
    return time.perf_counter() - t, len(picks)


def run_seisbench(st: Stream, overlap: float, batch_size: int):
    import seisbench.models as sbm
    import torch

    model = sbm.EQTransformer()  # untrained: no hub access; same graph, same cost
    model.eval()
    kw = dict(overlap=int(round(6000 * overlap)), batch_size=batch_size)
    model.classify(st.slice(T0, T0 + 70), **kw)
    t = time.perf_counter()
    with torch.no_grad():
        out = model.classify(st, **kw)
    return time.perf_counter() - t, len(getattr(out, "picks", []))


def rss_child(shared: Path, model: str, overlap: float, batch_size: int) -> None:
    st = make_stream(shared, 24.0, 1)
    elapsed, n = run_picker(st, model, overlap, batch_size)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"RSS {peak_mb:.0f} {elapsed:.1f} {n}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("SEQT_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--stations", type=int, default=1)
    ap.add_argument("--model", default="conservative")
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    if args.rss_child:
        rss_child(shared, args.model, args.overlap, args.batch_size)
        return

    import logging

    logging.basicConfig(level=logging.ERROR)
    st = make_stream(shared, args.hours, args.stations)
    station_days = args.hours / 24.0 * args.stations
    print(f"data: {args.stations} station(s) x {args.hours:g} h, 3 components, 100 Hz; overlap {args.overlap}; "
          f"model {args.model}; batch {args.batch_size}; CPU cores available: {len(os.sched_getaffinity(0))}")
    elapsed, n = run_picker(st, args.model, args.overlap, args.batch_size)
    ours = station_days / (elapsed / 3600.0)
    print(f"seqt_plugins Picker.pick: {elapsed:.1f} s, {n} picks -> {ours:.1f} station-days/hour")
    try:
        import seisbench  # noqa: F401
    except ImportError:
        print("SeisBench: not installed (optional); no comparison")
    else:
        sb_elapsed, sb_n = run_seisbench(st, args.overlap, args.batch_size)
        theirs = station_days / (sb_elapsed / 3600.0)
        print(f"SeisBench EQTransformer.classify (untrained weights, same overlap): {sb_elapsed:.1f} s -> "
              f"{theirs:.1f} station-days/hour")
        print(f"ratio: {ours / theirs:.2f}x")
    if not args.no_rss:
        cmd = [sys.executable, __file__, "--rss-child", "--shared", str(shared), "--model", args.model,
               "--overlap", str(args.overlap), "--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RSS ")]
        if line:
            _, mb, secs, npk = line[0].split()
            print(f"one 24-hour station-day: peak RSS {mb} MB (whole process, incl. TensorFlow), {secs} s, {npk} picks")
        else:
            print("RSS child failed:", out.stderr.strip().splitlines()[-1:] or out.returncode)


if __name__ == "__main__":
    main()

"""Reprocessing throughput: station-days/hour over fdsnws on loopback versus the SDS archive
read directly, in one run (the difference is the transport overhead).

The archive is the 5-minute hengill recording (../shared/data/hengill, 20 stations) as SDS; a
real portable-fdsnws-dataselect serves it on 127.0.0.1. Each task is one station over the
whole 5 minutes (``shard`` = 300 s, requests reach past the data on both sides); station-days
are counted pro rata (a 300 s task = 1/288 station-day), so the figure is the rate for
continuous data at the cost per data-second measured here. The model is loaded before timing.

Usage: PYTHONPATH=. python benchmarks/reprocess.py [--stations 20] [--repeat 1]
"""

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from servers import PortableDataselect, build_sds  # noqa: E402

SHARED = Path(os.environ.get("SEQT_SHARED", HERE.parents[1] / "shared"))
BEGIN, END, SHARD = "2018-12-30T03:00:00", "2018-12-30T03:05:00", 300.0


def stations_of(mseed: Path):
    out = []
    for f in sorted(mseed.glob("*.mseed")):
        net, sta, loc = f.name.split("__")[0].split(".")[:3]
        code = f"{net}.{sta}" + (f".{loc}" if loc else "")
        if code not in out:
            out.append(code)
    return out


def timed_run(url, stations, out, picker):
    from seqt_plugins.scale.reprocess import reprocess

    s = reprocess(url, stations, BEGIN, END, out, picker_factory=lambda: picker, shard=SHARD)
    assert s.failed == 0, s.failures
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--model", default="conservative")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from seqt_plugins.picker import Picker

    mseed = SHARED / "data" / "hengill" / "mseed"
    stations = stations_of(mseed)[: args.stations]
    picker = Picker(model=args.model)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sds = build_sds(mseed, tmp / "sds")
        with PortableDataselect(sds, tmp / "fdsnws") as server:
            timed_run(f"sdsarchive://{sds}", stations[:1], tmp / "warm", picker)  # compile
            rows = []
            for name, url in (("sdsarchive (direct)", f"sdsarchive://{sds}"),
                              ("fdsnws (loopback)", f"fdsnws://{server.address}")):
                s = timed_run(url, stations, tmp / name.split()[0], picker)
                rows.append((name, s))
    print(f"{len(stations)} station tasks of {SHARD:.0f} s each (hengill), model {args.model}, "
          f"1 process, {os.cpu_count()} CPUs")
    print(f"{'source':22s} {'wall s':>8s} {'fetch s':>8s} {'pick s':>8s} {'picks':>6s} "
          f"{'station-days/h':>15s}")
    for name, s in rows:
        print(f"{name:22s} {s.elapsed_s:8.2f} {s.fetch_s:8.2f} {s.pick_s:8.2f} {s.picks:6d} "
              f"{s.station_days_per_hour(SHARD):15.1f}")
    base, fdsn = rows[0][1], rows[1][1]
    print(f"transport overhead of fdsnws: {fdsn.fetch_s - base.fetch_s:+.2f} s fetch, "
          f"{100 * (fdsn.elapsed_s / base.elapsed_s - 1):+.1f} % wall time")


if __name__ == "__main__":
    main()

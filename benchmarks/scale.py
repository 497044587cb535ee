"""Scale-out throughput: station-days/hour with 1 and 2 Ray workers (and 1 plain process) on
this machine, in one run. Same data and accounting as benchmarks/reprocess.py (20 hengill
stations × 300 s from an SDS archive; station-days pro rata); actors load the model before
timing. The per-worker figure feeds the cluster estimate in benchmarks/SCALE.md.

Usage: PYTHONPATH=. python benchmarks/scale.py [--stations 20] [--workers 1,2]
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
sys.path.insert(0, str(HERE))

from reprocess import BEGIN, END, SHARD, SHARED, stations_of  # noqa: E402
from servers import build_sds  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--model", default="conservative")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from seqt_plugins.picker import Picker
    from seqt_plugins.scale.ray_backend import RayBackend, init_ray
    from seqt_plugins.scale.reprocess import reprocess

    counts = [int(w) for w in args.workers.split(",")]
    mseed = SHARED / "data" / "hengill" / "mseed"
    stations = stations_of(mseed)[: args.stations]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = f"sdsarchive://{build_sds(mseed, tmp / 'sds')}"
        picker = Picker(model=args.model)
        kw = dict(shard=SHARD)
        reprocess(url, stations[:1], BEGIN, END, tmp / "warm-local", picker_factory=lambda: picker, **kw)
        s = reprocess(url, stations, BEGIN, END, tmp / "local", picker_factory=lambda: picker, **kw)
        rows.append(("1 process", s))
        ray = init_ray(None, num_cpus=max(counts))
        for n in counts:
            backend = RayBackend(workers=n)
            opts = {"model": args.model}
            reprocess(url, stations[:n], BEGIN, END, tmp / f"warm{n}", backend=backend,
                      picker_options=opts, **kw)  # actors load the model
            s = reprocess(url, stations, BEGIN, END, tmp / f"ray{n}", backend=backend,
                          picker_options=opts, **kw)
            rows.append((f"Ray, {n} worker(s)", s))
            backend.close()
        ray.shutdown()
    print(f"{len(stations)} station tasks of {SHARD:.0f} s (hengill), model {args.model}, "
          f"{os.cpu_count()} CPUs, SDS archive")
    print(f"{'run':20s} {'wall s':>8s} {'picks':>6s} {'station-days/h':>15s} {'per worker':>11s}")
    for name, s in rows:
        n = int(name.split()[1]) if name.startswith("Ray") else 1
        rate = s.station_days_per_hour(SHARD)
        print(f"{name:20s} {s.elapsed_s:8.2f} {s.picks:6d} {rate:15.1f} {rate / n:11.1f}")


if __name__ == "__main__":
    main()

"""Transport cost of archive reprocessing: all hengill station-days fetched through a real
fdsnws-dataselect on loopback (portable-fdsnws-dataselect over an mseedindex index, obspy's
FDSN client, one POST per station-day) versus read straight from the SDS archive.

Run from the repository root:  PYTHONPATH=.:tests python benchmarks/reprocess_transport.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from obspy import UTCDateTime  # noqa: E402

from seqt_plugins.io.records import open_record_stream  # noqa: E402
from seqt_plugins.scale import station_days  # noqa: E402
from servers import PortableDataselect, StationService, build_sds, sds_files  # noqa: E402


def fetch_all(rs, stations, begin, end):
    nsamp = 0
    for net, sta in stations:
        for a, b in station_days(begin, end):
            st = rs.get_waveforms(net, sta, "*", "*", a, b)
            nsamp += sum(tr.stats.npts for tr in st)
    return nsamp


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("SEQT_SHARED", str(ROOT.parent / "shared"))
                   + "/data/hengill")
    p.add_argument("--repeat", type=int, default=3, help="best of N")
    args = p.parse_args()
    data = Path(args.data)
    begin, end = UTCDateTime("2018-12-30"), UTCDateTime("2018-12-31")
    with tempfile.TemporaryDirectory() as tmp:
        sds = build_sds(data / "mseed", Path(tmp) / "sds")
        mbytes = sum(f.stat().st_size for f in sds_files(sds)) / 1e6
        local = open_record_stream(f"sdsarchive://{sds}")
        stations = sorted({(n, s) for n, s, _l, _c in local.available_streams(begin, end)})
        with PortableDataselect(sds, Path(tmp) / "ws") as ws, \
                StationService(data / "stations.xml") as station:
            remote = open_record_stream(f"fdsnws://{ws.address}?station={station.address}")
            results = {}
            for name, rs in (("sds", local), ("fdsnws", remote)):
                best = float("inf")
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    n = fetch_all(rs, stations, begin, end)
                    best = min(best, time.perf_counter() - t)
                results[name] = (best, n)
    assert results["sds"][1] == results["fdsnws"][1], "sources disagree on the sample count"
    print(f"{len(stations)} stations x {len(station_days(begin, end))} day(s), "
          f"{mbytes:.2f} MB miniSEED, {results['sds'][1]} samples; best of {args.repeat}")
    for name, (secs, _n) in results.items():
        print(f"{name:7s} {secs:8.3f} s  {mbytes / secs:8.1f} MB/s")
    print(f"fdsnws/sds time ratio: {results['fdsnws'][0] / results['sds'][0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

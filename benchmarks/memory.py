"""Peak memory of the tools over a long span of a 20-station array (issue: bounded memory).

    PYTHONPATH=. python benchmarks/memory.py [--hours 24] [--tools seqtrepick,seqtpick,seqt-catalog]
                                             [--shared ../shared] [--keep DIR]

Synthesizes ``--hours`` of the Hengill array (20 stations, 3 components, 200 Hz) by repeating
its 5-minute record, as an SDS archive (one file per channel and day), and the event
parameters of those hours by repeating the picks and origins that the picker and the locator
make on the 5-minute record (IDs and times shifted per repetition). Then each tool runs as a
separate process, and its peak resident memory (``ru_maxrss`` of that child) is printed:

- ``seqtrepick --ep`` over every origin of the span (it reads the waveforms in groups of
  origins whose span fits ``repicker.engine.READ_CHUNK``, not the whole span);
- ``seqtpick`` reprocessing one station over the span (``--stations``: station-days, each read
  in chunks; station-day files under the work folder);
- ``seqt-catalog`` over the span (all stations).

The figure that matters is how peak memory grows with the span: run with two ``--hours``
values and compare. Every line also prints the wall time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BLOCK = 300.0  # seconds of the Hengill record


def build_archive(hengill: Path, sds: Path, hours: float):
    """SDS archive of ``hours`` of the record repeated; returns (start, end)."""
    from obspy import Stream, read

    st = read(str(hengill / "mseed" / "*.mseed"))
    st.merge(method=1, fill_value=0)
    n_blocks = int(round(hours * 3600 / BLOCK))
    t0 = min(tr.stats.starttime for tr in st)
    for tr in st:
        rate = tr.stats.sampling_rate
        block = tr.data[: int(round(BLOCK * rate))]
        data = np.tile(block, n_blocks)
        day_start = 0
        while day_start < len(data):  # one file per UTC day, as SDS wants
            start = t0 + day_start / rate
            next_day = (start + 86400).replace(hour=0, minute=0, second=0, microsecond=0)
            n = min(len(data) - day_start, int(round((next_day - start) * rate)))
            piece = tr.copy()
            piece.data = np.ascontiguousarray(data[day_start: day_start + n])
            piece.stats.starttime = start
            s = piece.stats
            d = sds / str(start.year) / s.network / s.station / f"{s.channel}.D"
            d.mkdir(parents=True, exist_ok=True)
            name = f"{s.network}.{s.station}.{s.location}.{s.channel}.D.{start.year}.{start.julday:03d}"
            Stream([piece]).write(str(d / name), format="MSEED")
            day_start += n
    return t0, t0 + n_blocks * BLOCK


def build_events(hengill: Path, out: Path, hours: float) -> int:
    """The 5-minute record's picks and origins, repeated with shifted times and IDs."""
    import copy

    from seqt_plugins.eqt import load_eqt
    from seqt_plugins.io.xml import EventParametersWriter
    from seqt_plugins.repick_case import hengill_case

    _st, _inv, _coords, _ref, _conf, ep, _hidden = hengill_case(hengill, load_eqt("conservative", xla=False))
    n_blocks = int(round(hours * 3600 / BLOCK))
    n = 0
    with EventParametersWriter(out, format="scml") as w:
        for k in range(n_blocks):
            shift = k * BLOCK
            rename = {}
            for p in ep.picks:
                q = copy.copy(p)
                q.public_id = f"{p.public_id}/r{k}"
                q.time = p.time + shift
                rename[p.public_id] = q.public_id
                w.add_pick(q)
            for o in ep.origins:
                oo = copy.deepcopy(o)
                oo.public_id = f"{o.public_id}/r{k}"
                oo.time = o.time + shift
                for a in oo.arrivals:
                    a.pick_id = rename.get(a.pick_id, a.pick_id)
                w.add_origin(oo)
                n += 1
    return n


def run_measured(argv, log: Path):
    """(exit code, peak RSS in MB of that child, wall seconds)."""
    t = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=f, env={**os.environ, "PYTHONPATH": str(ROOT)})
        _pid, status, usage = os.wait4(proc.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    return rc, usage.ru_maxrss / 1024.0, time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("SEQT_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--tools", default="seqtrepick,seqtpick,seqt-catalog")
    ap.add_argument("--keep", help="build the archive here and keep it")
    args = ap.parse_args(argv)
    hengill = Path(args.shared) / "data" / "hengill"
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="seqt-memory-"))
    sds, events = work / "sds", work / "events.xml"
    py = sys.executable
    t = time.perf_counter()
    t0, t1 = build_archive(hengill, sds, args.hours)
    n_origins = build_events(hengill, events, args.hours)
    print(f"{args.hours:g} h of 20 stations x 3 components at 200 Hz ({t0} - {t1}), {n_origins} origins; "
          f"built in {time.perf_counter() - t:.0f} s in {work}")
    common = ["-I", f"sdsarchive://{sds}", "--inventory-xml", str(hengill / "stations.xml")]
    runs = {
        "seqtrepick": [py, "-m", "seqt_plugins.modules.seqtrepick", "--ep", str(events), "-o", str(work / "repicked.xml")] + common,
        "seqtpick": [py, "-m", "seqt_plugins.modules.seqtpick", "--offline", "--stations", "2C.BIT06",
                     "--begin", str(t0), "--end", str(t1), "--output-dir", str(work / "reprocess"),
                     "-o", str(work / "picks.xml")] + common,
        "seqt-catalog": [py, "-m", "seqt_plugins.modules.seqtcatalog", "--begin", str(t0), "--end", str(t1),
                         "-o", str(work / "catalog.xml")] + common,
    }
    for tool in args.tools.split(","):
        rc, rss, wall = run_measured(runs[tool], work / f"{tool}.log")
        print(f"{tool:13s} exit {rc}, peak RSS {rss:7.0f} MB, {wall:6.0f} s  (log {work / (tool + '.log')})")


if __name__ == "__main__":
    main()

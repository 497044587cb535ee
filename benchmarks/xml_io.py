#!/usr/bin/env python
"""XML pick I/O throughput: our streaming SCML/QuakeML reader/writer next to ObsPy's.

    PYTHONPATH=. python benchmarks/xml_io.py [--n 1000000] [--obspy-n 5000] [--formats scml,quakeml]

For each format:

1. ours, N picks (default one million), picks-only file as a picker emits it:
   ``EventParametersWriter.add_pick`` (pick objects made on the fly, included in the time) and
   ``iter_picks`` (streaming read).  The ``generate`` line times making the pick objects alone
   (``make_pick_id`` and UTCDateTime arithmetic, no XML); the write line adds the writer's own
   rate with that subtracted.
2. the same comparison on one smaller event file (``--obspy-n`` picks, an origin whose arrivals
   refer to every pick so ObsPy's SCML reader keeps them): our ``read_event_parameters`` and
   ``write_event_parameters`` against ``obspy.read_events`` and ``Catalog.write`` on that file.
   ObsPy builds the whole catalog in memory and is far slower, hence the smaller file.

Every measurement runs in its own subprocess, so the peak RSS printed (``ru_maxrss``) is that
step's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _picks(n: int):
    from obspy import UTCDateTime

    from seqt_plugins.picks.model import CreationInfo, Pick, WaveformID, make_pick_id

    t0 = UTCDateTime("2024-03-01T00:00:00Z")
    ci = CreationInfo("XX", "seqtpick@host", t0)
    stations = [WaveformID("XX", f"S{k:03d}", "", "HHZ") for k in range(100)]
    for i in range(n):
        wid = stations[i % 100]
        t = t0 + i * 0.01 + (i % 7) * 1e-6
        phase = "P" if i % 2 == 0 else "S"
        yield Pick(make_pick_id(t, wid, phase) + f"-{i}", t, wid, phase, time_uncertainty=0.05,
                   method_id="EQTransformer", creation_info=ci, probability=0.5 + (i % 50) / 100.0)


def _event_parameters(n: int):
    from obspy import UTCDateTime

    from seqt_plugins.picks.model import Arrival, Event, EventParameters, Origin

    picks = list(_picks(n))
    origin = Origin("Origin/bench", UTCDateTime("2024-03-01T00:00:00Z"), 46.5, 8.2, 10000.0,
                    arrivals=[Arrival(p.public_id, p.phase_hint) for p in picks])
    return EventParameters(picks=picks, origins=[origin],
                           events=[Event("Event/bench", origin.public_id, [origin.public_id])])


# --------------------------------------------------------------------------- steps (subprocess)


def step(name: str, fmt: str, path: str, n: int) -> dict:
    from seqt_plugins.io.xml import EventParametersWriter, iter_picks, read_event_parameters, write_event_parameters

    base = _rss_mb()
    obspy_fmt = "QUAKEML" if fmt == "quakeml" else "SCML"
    if name == "generate":  # the pick objects alone, made as in ours-write-stream (no XML)
        t, c = time.perf_counter(), time.process_time()
        count = sum(1 for _ in _picks(n))
        dt, cpu = time.perf_counter() - t, time.process_time() - c
    elif name == "ours-write-stream":
        t, c = time.perf_counter(), time.process_time()
        with EventParametersWriter(path, format=fmt) as w:
            for p in _picks(n):
                w.add_pick(p)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        count = w.counts["pick"]
    elif name == "ours-read-stream":
        t, c = time.perf_counter(), time.process_time()
        count = sum(1 for _ in iter_picks(path))
        dt, cpu = time.perf_counter() - t, time.process_time() - c
    elif name == "ours-write-event":
        ep = _event_parameters(n)
        t, c = time.perf_counter(), time.process_time()
        write_event_parameters(ep, path, format=fmt)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        count = len(ep.picks)
    elif name == "ours-read-event":
        t, c = time.perf_counter(), time.process_time()
        ep = read_event_parameters(path)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        count = len(ep.picks)
    elif name in ("obspy-read", "obspy-write"):
        import warnings

        from obspy import read_events

        warnings.simplefilter("ignore")
        t, c = time.perf_counter(), time.process_time()
        cat = read_events(path, format=obspy_fmt)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        count = sum(len(e.picks) for e in cat)
        if name == "obspy-write":
            out = path + ".obspy.xml"
            kw = {"version": "0.13"} if fmt == "scml" else {}
            t, c = time.perf_counter(), time.process_time()
            cat.write(out, format=obspy_fmt, **kw)
            dt, cpu = time.perf_counter() - t, time.process_time() - c
            os.unlink(out)
    else:
        raise ValueError(name)
    return {"step": name, "picks": count, "seconds": dt, "picks_per_s": count / dt if dt else float("inf"),
            "cpu_seconds": cpu, "picks_per_cpu_s": count / cpu if cpu else float("inf"),
            "peak_rss_mb": _rss_mb(), "base_rss_mb": base}


def _run_step(name, fmt, path, n) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, __file__, "--step", name, "--format", fmt, "--path", path, "--n", str(n)],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _line(fmt, res, size_mb=None, gen=None):
    size = f"  file {size_mb:7.1f} MB" if size_mb is not None else ""
    if gen is not None and res["cpu_seconds"] > gen["cpu_seconds"]:  # the writer alone
        size += f"  [{res['picks'] / (res['cpu_seconds'] - gen['cpu_seconds']):,.0f}/CPU-s without making the picks]"
    print(f"{fmt:8s} {res['step']:18s} {res['picks']:>9d} picks {res['seconds']:8.2f} s "
          f"{res['picks_per_s']:>9,.0f} picks/s ({res['picks_per_cpu_s']:>9,.0f}/CPU-s)  peak RSS {res['peak_rss_mb']:7.1f} MB "
          f"(start {res['base_rss_mb']:.0f} MB){size}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="picks for our streaming read/write")
    ap.add_argument("--obspy-n", type=int, default=5_000,
                    help="picks in the event file compared with obspy (its SCML reader took 205 s for 20,000)")
    ap.add_argument("--formats", default="scml,quakeml")
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--format", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.step:
        print(json.dumps(step(args.step, args.format, args.path, args.n)))
        return 0

    import lxml
    import obspy

    print(f"python {sys.version.split()[0]}, lxml {lxml.__version__}, obspy {obspy.__version__}, "
          f"{os.cpu_count()} CPUs")
    print(f"load average {os.getloadavg()[0]:.1f}: picks/s is wall-clock, /CPU-s is per second of this process's CPU")
    print(f"ours: {args.n:,} picks (picks-only file, streaming); comparison with obspy on one event file of "
          f"{args.obspy_n:,} picks (obspy holds the whole catalog in memory and is too slow for {args.n:,})")
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        gen = _run_step("generate", "scml", os.path.join(tmp, "unused"), args.n)
        _line("-", gen)
        for fmt in args.formats.split(","):
            big = os.path.join(tmp, f"big.{fmt}.xml")
            res = _run_step("ours-write-stream", fmt, big, args.n)
            _line(fmt, res, os.path.getsize(big) / 2**20, gen=gen)
            _line(fmt, _run_step("ours-read-stream", fmt, big, args.n))
            os.unlink(big)
            small = os.path.join(tmp, f"event.{fmt}.xml")
            res = _run_step("ours-write-event", fmt, small, args.obspy_n)
            _line(fmt, res, os.path.getsize(small) / 2**20)
            ours = _run_step("ours-read-event", fmt, small, args.obspy_n)
            _line(fmt, ours)
            theirs = _run_step("obspy-read", fmt, small, args.obspy_n)
            _line(fmt, theirs)
            theirs_w = _run_step("obspy-write", fmt, small, args.obspy_n)
            _line(fmt, theirs_w)
            print(f"{fmt:8s} same file: ours read {ours['picks_per_s'] / theirs['picks_per_s']:.1f}x obspy read_events, "
                  f"ours write {res['picks_per_s'] / theirs_w['picks_per_s']:.1f}x obspy write")
    return 0


if __name__ == "__main__":
    sys.exit(main())

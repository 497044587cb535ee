"""seqtpick dropped into a real SeisComP, beside scautopick, on a playback of the Hengill array.

    python benchmarks/seiscomp_playback.py [--build 8.0dev|7.2.3] [--seconds 300] [--work DIR]

For each picker, in a fresh system: scmaster on 127.0.0.1 (a free port) with a SQLite
database, scautoloc and scevent connected to it, then the picker in messaging mode on the
time-sorted Hengill miniSEED (``--playback -I file://...``), inventory and bindings from
``--inventory-db inv.xml --config-db cfg.xml`` (made by SeisComP's fdsnxml2inv and
bindings2cfg from ../shared/data/hengill/stations.xml and key files binding every station):

* ``seqtpick --playback -I ... -H 127.0.0.1:PORT/production`` (EqT; picks and snr
  amplitudes sent as notifier messages to PICK and AMPLITUDE);
* ``scautopick --playback -I ... -H ...`` (SeisComP's STA/LTA picker, local settings).

scautoloc keeps picks only hours before *now*, so the record times are shifted by whole
seconds to end about now (as a real-time playback), and shifted back for the report.
The picks, origins and events are read back from the database scmaster stored them in, and
each event's preferred origin is matched to the 10 known Hengill events (data/README.md: first
triggers of an STA/LTA coincidence, accurate to ~1 s; an origin within --tolerance s before
or after counts). SeisComP is the real build from ../shared/seiscomp, unpacked once into
$TMPDIR/seqt-seiscomp (tests/seiscomp_host.py); nothing listens beyond loopback.
The system runs, and the settings both pickers share, are in tests/seiscomp_system.py, beside
the SeisComP test harness they use.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from obspy import UTCDateTime  # noqa: E402

from seiscomp_host import seiscomp_build  # noqa: E402
from seiscomp_system import DAY, prepare, run_system  # noqa: E402

KNOWN = ["03:00:05", "03:00:15", "03:00:40", "03:01:18", "03:01:43", "03:02:13", "03:03:00",
         "03:03:19", "03:03:55", "03:04:29"]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def match(events, tolerance: float, seconds: float):
    """Known events (within the played seconds) → the event whose origin time is nearest, if any
    is within ``tolerance`` s."""
    t0 = UTCDateTime(DAY + "03:00:00")
    found = {}
    for k in KNOWN:
        t = UTCDateTime(DAY + k)
        if t - t0 >= seconds:
            continue
        near = [e for e in events if abs(e["time"] - t) <= tolerance]
        found[k] = min(near, key=lambda e: abs(e["time"] - t)) if near else None
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="8.0dev", choices=["8.0dev", "7.2.3"])
    parser.add_argument("--seconds", type=float, default=300.0, help="seconds of the 5-minute record played")
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a new temporary one)")
    parser.add_argument("--model", default="both", help="seqtpick's EqT model (picker.model)")
    parser.add_argument("--tolerance", type=float, default=3.0, help="s between origin time and known event")
    parser.add_argument("--pickers", default="seqtpick,scautopick")
    parser.add_argument("--repick", action="store_true",
                        help="also run seqtrepick listening to the origins in the seqtpick system")
    args = parser.parse_args(argv)
    import tempfile

    work = args.work or Path(tempfile.mkdtemp(prefix="seqt-sc-playback-"))
    work.mkdir(parents=True, exist_ok=True)
    sc = seiscomp_build(args.build)
    root = sc.overlay(work / "seiscomp") if not (work / "seiscomp").exists() else type(sc)(work / "seiscomp", sc.label)
    subprocess.run([str(Path(sys.executable).parent / "seqt-install-seiscomp"), str(root.root)], check=True,
                   capture_output=True)
    log(f"SeisComP {args.build} in {root.root} (seqtpick/seqtrepick installed); work {work}")
    inv, cfg, mseed, stations, shift = prepare(root, work, args.seconds)
    results = {}
    for picker in args.pickers.split(","):
        log(f"{picker}: scmaster + scautoloc + scevent on 127.0.0.1, playback of {len(stations)} stations, "
            f"{args.seconds:.0f} s")
        results[picker] = run_system(root, work, picker, inv, cfg, mseed, args.model,
                                     repick=args.repick and picker == "seqtpick")
    known = [k for k in KNOWN if UTCDateTime(DAY + k) - UTCDateTime(DAY + "03:00:00") < args.seconds]
    print(f"Hengill playback, {len(stations)} stations, {args.seconds:.0f} s, SeisComP {args.build}: "
          f"picks, origins and events in scmaster's database")
    print(f"{'picker':<11} {'picks (P/S)':<16} {'origins':>7} {'events':>6} {'known found':>12} {'picking s':>9}")
    for picker, r in results.items():
        for e in r["events"]:
            e["time"] -= shift  # back to the recording's times
        found = match(r["events"], args.tolerance, args.seconds)
        n = sum(1 for e in found.values() if e is not None)
        ps = f"{r['picks']} ({r['phases'].get('P', 0)}/{r['phases'].get('S', 0)})"
        print(f"{picker:<11} {ps:<16} {r['origins']:>7} {len(r['events']):>6} {f'{n} / {len(known)}':>12} "
              f"{r['pick_s']:>9.1f}")
    print(f"known event (first trigger) → preferred origin time of the matched event (arrivals), "
          f"within {args.tolerance:g} s")
    for k in known:
        cells = []
        for picker, r in results.items():
            e = match(r["events"], args.tolerance, args.seconds)[k]
            cells.append(f"{picker}: " + (f"{e['time'].strftime('%H:%M:%S.%f')[:11]} ({e['arrivals']})" if e else "-"))
        print(f"  {k}  " + "   ".join(cells))
    for picker, r in results.items():
        if r["repicks"]:
            print(f"{picker} + seqtrepick: {r['repicks']} re-picks sent, {r['repicks_used']} used by scautoloc; "
                  f"events: arrivals of the first origin → the preferred one (of them re-picks)")
            for e in r["events"]:
                print(f"  {e['time'].strftime('%H:%M:%S.%f')[:11]}  {e['first_arrivals']} → {e['arrivals']} "
                      f"({e['repicked']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

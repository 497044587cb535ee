"""Fault campaign (issue 13): damaged input, wrong paths, concurrent runs and slow servers
against the installed console scripts (``seqtpick``, ``seqtrepick``, ``seqt-xml``), each fault
beside a good station so that loss shows.

Data: one minute (03:00:10-03:01:10) of two hengill stations from ../shared: KAP01 (good, its
picks must survive every fault) and BIT06 (damaged in the fault cases). A baseline run on
KAP01 alone gives the good picks. Each case runs one console script in a fresh directory where
``-o`` already holds an old file, and is judged on:

- exit code (and whether it is the one documented for the case);
- one-line error?: an error (or, for quiet-acceptance cases, warning) line names the faulty
  input (file, option, origin, stream), and stderr has no Python traceback;
- output kept?: a failed run (exit 1, 2, 5, 255) leaves the old ``-o`` untouched and no
  ``.part`` file; a run that finishes (0, 3) writes a complete file ("written");
- good picks kept?: KAP01's baseline picks are all in the output (re-picking: the re-picks of
  the good origins equal those of a run without the bad ones).

Only loopback servers are used. Picking uses ``--picker.model=conservative`` (one model, to keep
the campaign short). Takes a few minutes on 2 cores (each picking run loads TensorFlow).

Usage: python benchmarks/faults.py [--keep DIR]
"""

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

SHARED = Path(os.environ.get("SEQT_SHARED", HERE.parents[1] / "shared"))
HENGILL = SHARED / "data" / "hengill"
T0, T1 = "2018-12-30T03:00:10", "2018-12-30T03:01:10"
MODEL = "--picker.model=conservative"
OLD = "old output\n"


def script(name: str) -> str:
    """The installed console script (beside this Python, else on PATH)."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed: pip install -e . first")
    return found


def write_station(directory: Path, station: str, t0=T0, t1=T1) -> List[Path]:
    from obspy import UTCDateTime, read

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for f in sorted((HENGILL / "mseed").glob(f"2C.{station}..*.mseed")):
        st = read(str(f)).trim(UTCDateTime(t0), UTCDateTime(t1))
        path = directory / f"2C.{station}.{st[0].stats.channel}.mseed"
        st.write(str(path), format="MSEED", reclen=512, encoding="STEIM1")
        out.append(path)
    return out


def cut_last_record(path: Path, into: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 512 + into])


def pick_set(path: Path, station: str = "KAP01", method: Optional[str] = None):
    from seqt_plugins.io.xml import read_event_parameters

    ep = read_event_parameters(path)
    return {(p.waveform_id.station, p.phase_hint, round(float(p.time.timestamp), 2)) for p in ep.picks
            if (station is None or p.waveform_id.station == station) and (method is None or p.method_id == method)}


@dataclass
class Case:
    name: str
    expect: int  # documented exit code
    token: str  # what the error (or warning) line must name
    setup: Callable[[Path], List[str]]  # builds the inputs, returns the command line
    out: str = "picks.xml"  # -o (relative to the case directory); "" when none
    good: str = "picks"  # "picks": KAP01 picks kept; "repicks": re-picks equal; "": n/a
    warning: bool = False  # quiet-acceptance case: the message is a warning
    during: Optional[Callable[[subprocess.Popen, Path], bytes]] = None  # e.g. SIGTERM; stderr read
    result: dict = field(default_factory=dict)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", help="keep the case directories here")
    args = ap.parse_args()
    if not HENGILL.exists():
        sys.exit(f"needs the shared test data at {HENGILL}")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="seqt-faults-"))
    root.mkdir(parents=True, exist_ok=True)
    seqtpick, seqtrepick, seqtxml = script("seqtpick"), script("seqtrepick"), script("seqt-xml")
    env = dict(os.environ, SEISCOMP_LOCAL_CONFIG=str(root / "local"))
    env.pop("SEISCOMP_ROOT", None)

    # baseline: KAP01 alone
    base = root / "baseline"
    write_station(base / "data", "KAP01")
    subprocess.run([seqtpick, "--ep", "--playback", "-I", str(base / "data"), "-o", str(base / "picks.xml"), MODEL],
                   env=env, check=True, capture_output=True)
    good_picks = pick_set(base / "picks.xml")
    assert good_picks, "baseline: no KAP01 picks"

    def pair(d: Path, damage: Callable[[List[Path], Path], None] = lambda files, d: None) -> Path:
        data = d / "data"
        write_station(data, "KAP01")
        damage(write_station(data, "BIT06"), data)
        return data

    def pick_case(damage):
        return lambda d: [seqtpick, "--ep", "--playback", "-I", str(pair(d, damage)), "-o", str(d / "picks.xml"), MODEL]

    def events(d: Path, lats) -> Path:
        from obspy import UTCDateTime

        from seqt_plugins.io.xml import write_event_parameters
        from seqt_plugins.picks.model import Arrival, EventParameters, Origin, Pick, WaveformID

        picks = [Pick(f"p{i}", UTCDateTime(t), WaveformID("2C", sta, "", ch), phase_hint=ph) for i, (sta, ch, ph, t) in
                 enumerate([("BIT06", "HHZ", "P", "2018-12-30T03:00:40.75"), ("BIT06", "HHN", "S", "2018-12-30T03:00:41.85"),
                            ("GAN02", "HHZ", "P", "2018-12-30T03:00:41.10")])]
        origins = [Origin(f"origin/{i}", UTCDateTime("2018-12-30T03:00:39.5"), lat, -21.33, depth=5000.0,
                          arrivals=[Arrival(p.public_id, p.phase_hint) for p in picks]) for i, lat in enumerate(lats)]
        path = d / "events.xml"
        write_event_parameters(EventParameters(picks=picks, origins=origins), path)
        return path

    def repick_data(d: Path) -> Path:
        data = d / "data"
        for sta in ("BIT06", "KAP01", "GAN02"):
            write_station(data, sta, "2018-12-30T03:00:00", "2018-12-30T03:05:00")
        return data

    def repick_case(lats):
        return lambda d: [seqtrepick, "--ep", str(events(d, lats)), "-I", str(repick_data(d)),
                          "--inventory-xml", str(HENGILL / "stations.xml"), "-o", str(d / "picks.xml")]

    repick_base = root / "repick-baseline"
    repick_base.mkdir()
    subprocess.run(repick_case([64.0])(repick_base), env=env, check=True, capture_output=True)
    good_repicks = pick_set(repick_base / "picks.xml", station=None, method="S-EqT")

    def single_file_out(d: Path):
        data = pair(d)
        return [seqtpick, "--ep", "--playback", "-I", str(data / "2C.BIT06.HHZ.mseed"), "-o", str(data / "2C.BIT06.HHZ.mseed"), MODEL]

    def hardlink_out(d: Path):
        data = pair(d)
        os.link(data / "2C.KAP01.HHZ.mseed", d / "picks.xml")
        return [seqtpick, "--ep", "--playback", "-I", str(data), "-o", str(d / "picks.xml"), MODEL]

    def readonly_out(d: Path):
        ro = d / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(ro / "picks.xml"), MODEL]

    def under_file(d: Path):
        (d / "afile").write_text("x")
        return [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(d / "afile" / "picks.xml"), MODEL]

    def with_option(option):
        return lambda d: [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(d / "picks.xml"), MODEL, option]

    def bad_model(content: Optional[str]):
        def build(d: Path):
            weights = d / "weights.h5"
            if content is not None:
                weights.write_text(content)
            return [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(d / "picks.xml"), f"--picker.model={weights}"]
        return build

    def overlap(files, d):
        from obspy import UTCDateTime, read

        st = read(str(files[2]))
        later = st.copy().trim(UTCDateTime(T0) + 20, UTCDateTime(T1))
        later[0].data = later[0].data * 2
        (st + later).write(str(files[2]), format="MSEED", reclen=512)

    def reprocess_case(url_of: Callable[[Path], str], extra=()):
        return lambda d: [seqtpick, "-I", url_of(d), "--stations", "2C.BIT06,2C.KAP01", "--begin", T0, "--end", T1,
                          "--output-dir", str(d / "out"), "-o", str(d / "picks.xml"), "--reprocess.shardLength=60",
                          "--reprocess.retries=0", MODEL, *extra]

    def truncated_dir(d: Path) -> str:
        return str(pair(d, lambda files, _d: cut_last_record(files[2], 300)))

    servers = []

    def trickling(d: Path) -> str:
        from servers import FaultyDataselect, build_sds

        sds = build_sds(pair(d), d / "sds")
        srv = FaultyDataselect(sds, faults=["trickle"]).start()
        srv.trickle_s = 0.5
        servers.append(srv)
        return f"fdsnws://{srv.address}?timeout=2&retries=0"

    holders = []

    def locked(d: Path):
        out = d / "out"
        out.mkdir()
        (out / ".2C.KAP01.2018-12-30.xml.live.part").write_text("live")
        proc = subprocess.Popen([sys.executable, "-c", "import sys\nfrom seqt_plugins.scale.reprocess import lock_output_dir\n"
                                 "l = lock_output_dir(sys.argv[1]); print('locked', flush=True); sys.stdin.read()", str(out)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "locked"
        holders.append(proc)
        return reprocess_case(lambda d: str(pair(d)))(d)

    def dup_ids(d: Path):
        text = events(d, [64.0]).read_text()
        start, end = text.index("<pick "), text.index("</pick>") + len("</pick>")
        (d / "dup.xml").write_text(text[:end] + text[start:end] + text[end:])
        return [seqtxml, "validate", str(d / "dup.xml")]

    def dup_convert(d: Path):
        dup_ids(d)
        return [seqtxml, "convert", str(d / "dup.xml"), str(d / "picks.xml"), "--format", "quakeml"]

    def sigterm(proc: subprocess.Popen, d: Path) -> bytes:
        """SIGTERM once the module logs its picker options (init: the run is under way)."""
        seen = b""
        for line in proc.stderr:
            seen += line
            if b"picker options" in line:
                proc.send_signal(signal.SIGTERM)
                break
        return seen

    def all_damaged(d: Path):
        for f in write_station(d / "data", "BIT06"):
            cut_last_record(f, 300)
        return [seqtpick, "--ep", "--playback", "-I", str(d / "data"), "-o", str(d / "picks.xml"), MODEL]

    cut = lambda into: (lambda files, d: cut_last_record(files[2], into))  # noqa: E731
    cases = [
        Case("seqtpick: last record cut 256 bytes in", 3, "2C.BIT06.HHZ.mseed", pick_case(cut(256))),
        Case("seqtpick: last record cut 300 bytes in", 3, "2C.BIT06.HHZ.mseed", pick_case(cut(300))),
        Case("seqtpick: last record cut 511 bytes in", 3, "2C.BIT06.HHZ.mseed", pick_case(cut(511))),
        Case("seqtpick: empty file in the directory", 3, "empty.mseed",
             pick_case(lambda files, d: (d / "empty.mseed").write_bytes(b""))),
        Case("seqtpick: random bytes in the directory", 3, "random.mseed",
             pick_case(lambda files, d: (d / "random.mseed").write_bytes(os.urandom(8192)))),
        Case("seqtpick: text file in the directory", 3, "notes.txt",
             pick_case(lambda files, d: (d / "notes.txt").write_text("field notes\n"))),
        Case("seqtpick: every file of the input damaged", 1, "2C.BIT06",
             all_damaged, good=""),
        Case("seqtpick: -o is the input file", 2, "refusing to overwrite an input", single_file_out, out="", good=""),
        Case("seqtpick: -o is a hard link to an input", 2, "refusing to overwrite an input", hardlink_out, out="",
             good=""),
        Case("seqtpick: -o in a missing directory", 2, "does not exist",
             lambda d: [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(d / "missing" / "picks.xml"), MODEL],
             good=""),
        Case("seqtpick: -o under a file", 2, "is not a directory", under_file, good=""),
        Case("seqtpick: -o in a read-only directory", 2, "not writable", readonly_out, good=""),
        Case("seqtpick: -o is a directory", 2, "is a directory",
             lambda d: [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(d), MODEL], out="", good=""),
        Case("seqtpick: picker.batchSize=0", 255, "picker.batchSize", with_option("--picker.batchSize=0"), good=""),
        Case("seqtpick: picker.batchSize=1000000000", 255, "picker.batchSize",
             with_option("--picker.batchSize=1000000000"), good=""),
        Case("seqtpick: picker.blinding=inf", 255, "picker.blinding", with_option("--picker.blinding=inf"), good=""),
        Case("seqtpick: picker.margin=-100", 255, "picker.margin", with_option("--picker.margin=-100"), good=""),
        Case("seqtpick: picker.model missing", 255, "picker.model", bad_model(None), good=""),
        Case("seqtpick: picker.model not HDF5", 255, "picker.model", bad_model("text\n"), good=""),
        Case("seqtpick: --log-file in a missing directory", 255, "--log-file",
             lambda d: [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(d / "picks.xml"), MODEL,
                        "--log-file", str(d / "nodir" / "x.log")], good=""),
        Case("seqtpick: overlapping traces, other samples", 0, "2C.BIT06..HHZ", pick_case(overlap), warning=True),
        Case("seqtpick: SIGTERM during the run", 1, "SIGTERM",
             lambda d: [seqtpick, "--ep", "--playback", "-I", str(pair(d)), "-o", str(d / "picks.xml"), MODEL, "-v"], good="",
             during=sigterm),
        Case("reprocess: last record cut 300 bytes in", 3, "2C.BIT06.HHZ.mseed", reprocess_case(truncated_dir)),
        Case("reprocess: fdsnws trickling 2 B/s, URL timeout=2", 3, "timed out after 2 s",
             reprocess_case(trickling, ["--reprocess.timeout=120", "--reprocess.retries=3"])),
        Case("reprocess: output directory in use by another run", 5, "in use by another run", locked, good=""),
        Case("seqtrepick: one origin at latitude 999", 3, "origin/0", repick_case([999.0, 64.0]), good="repicks"),
        Case("seqtrepick: one origin at latitude NaN", 3, "origin/1", repick_case([64.0, math.nan]), good="repicks"),
        Case("seqtrepick: -o is the --ep file", 2, "refusing to overwrite an input",
             lambda d: [seqtrepick, "--ep", str(events(d, [64.0])), "-I", str(repick_data(d)), "-o",
                        str(d / "events.xml")], out="", good=""),
        Case("seqt-xml validate: duplicate publicID", 1, "duplicate publicID", dup_ids, out="", good=""),
        Case("seqt-xml convert: duplicate publicID", 1, "publicID", dup_convert, good=""),
    ]

    if os.geteuid() == 0:  # root writes into a read-only directory: nothing to refuse
        print("running as root: the read-only directory case is left out")
        cases = [c for c in cases if "read-only" not in c.name]
    rows = []
    try:
        for i, case in enumerate(cases, 1):
            d = root / f"case{i:02d}"
            d.mkdir()
            argv = case.setup(d)
            out = d / case.out if case.out else None
            if out is not None and not out.exists():
                out.write_text(OLD)
            parts_before = {p: p.read_bytes() for p in d.rglob(".*.part")}
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=d)
            seen = case.during(proc, d) if case.during is not None else b""
            stdout, stderr = proc.communicate(timeout=600)
            rc, err = proc.returncode, (seen + stderr).decode(errors="replace")
            for srv in servers:
                srv.stop()
            servers.clear()
            for h in holders:
                h.stdin.close()
                h.wait()
            holders.clear()
            for ro in d.rglob("ro"):
                ro.chmod(0o755)
            kind = "[warning/" if case.warning else "[error/"
            lines = [ln for ln in err.splitlines() if kind in ln] if "[" in err else err.strip().splitlines()
            named = any(case.token in ln for ln in lines) or (argv[0] == seqtxml and case.token in err)
            traceback = "Traceback" in err
            stray = [p for p in d.rglob(".*.part") if parts_before.get(p) != p.read_bytes()]
            if rc in (0, 3):
                ok_out = out is None or (out.exists() and out.read_text() != OLD and _parses(out))
                kept = "written" if ok_out else "BROKEN"
            else:
                ok_out = (out is None or out.read_text() == OLD) and not stray and all(
                    p.exists() and p.read_bytes() == b for p, b in parts_before.items())
                kept = "kept" if ok_out else "CHANGED"
            partial = not ok_out
            if case.good == "picks":
                lost = not (rc in (0, 3) and good_picks <= pick_set(out))
            elif case.good == "repicks":
                lost = not (rc in (0, 3) and pick_set(out, station=None, method="S-EqT") == good_repicks)
            else:
                lost = False
            rows.append((case.name, rc, case.expect, named and not traceback, traceback, kept, partial,
                         "-" if not case.good else ("LOST" if lost else "kept"), lost))
    finally:
        for srv in servers:
            srv.stop()
        for h in holders:
            h.kill()

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  exit (doc)  one-line error?  output kept?  good picks kept?")
    for name, rc, expect, clear, traceback, kept, _partial, good, _lost in rows:
        print(f"{name:<{width}}  {rc:>4} ({expect:>3}){'' if rc == expect else ' !'}  "
              f"{'yes' if clear else ('TRACEBACK' if traceback else 'no'):<15}  {kept:<12}  {good}")
    n = len(rows)
    wrong = sum(1 for r in rows if r[1] != r[2])
    print(f"{n} cases, {sum(r[3] for r in rows)} clear errors, {sum(r[4] for r in rows)} tracebacks, "
          f"{sum(r[6] for r in rows)} partial outputs, {sum(r[8] for r in rows)} good picks lost"
          + (f" ({wrong} exit codes other than documented)" if wrong else ""))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all(r[3] and not r[4] and not r[6] and not r[8] and r[1] == r[2] for r in rows) else 1


def _parses(path: Path) -> bool:
    from seqt_plugins.io.xml import read_event_parameters

    try:
        read_event_parameters(path)
        return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())

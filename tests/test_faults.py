"""Issue 13: damaged input, wrong paths, concurrent runs and slow servers.

One test (or a few) per item of the issue, each on real files made here from a minute of two
hengill stations (BIT06, the "bad" station whose files are damaged, and KAP01 beside it, whose
picks must survive), with the real model (session fixture) and real obspy. Modules run
in-process (``SeqtPick(argv).exec()``) to avoid loading TensorFlow per subprocess; where a
console script is needed (dependency checks) it is said so.
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from apprun import run_app
from obspy import UTCDateTime, read

from conftest import require_shared

ROOT = Path(__file__).resolve().parents[1]
T0, T1 = UTCDateTime("2018-12-30T03:00:10"), UTCDateTime("2018-12-30T03:01:10")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    return tmp_path


@pytest.fixture(scope="module")
def hengill():
    return require_shared("data", "hengill")


def write_station(hengill, directory: Path, station: str, t0=T0, t1=T1) -> list:
    """One miniSEED file per component of ``station`` over [t0, t1] (512-byte records)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in sorted((hengill / "mseed").glob(f"2C.{station}..*.mseed")):
        st = read(str(f)).trim(t0, t1)
        out = directory / f"2C.{station}.{st[0].stats.channel}.mseed"
        st.write(str(out), format="MSEED", reclen=512, encoding="STEIM1")
        paths.append(out)
    return paths


def cut_last_record(path: Path, into: int = 300) -> None:
    """Cut ``path`` ``into`` bytes into its last 512-byte record (a transfer cut off)."""
    data = path.read_bytes()
    assert len(data) % 512 == 0
    path.write_bytes(data[:len(data) - 512 + into])


def run_module(cls, argv):
    return run_app(cls, argv)


def seqtpick(argv):
    from seqt_plugins.modules.seqtpick import SeqtPick

    return run_module(SeqtPick, argv)


def stations_of(path):
    from seqt_plugins.io.xml import read_event_parameters

    return {p.waveform_id.station for p in read_event_parameters(path).picks}


def error_lines(err):
    return [ln for ln in err.splitlines() if "[error/" in ln]


# -- 1. silent partial read -----------------------------------------------------------------------
@pytest.mark.parametrize("into", [1, 256, 300, 511])
def test_1_truncated_last_record_is_an_error_naming_the_file(hengill, tmp_path, into):
    from seqt_plugins.io.records import RecordStreamError, parse_mseed

    path = write_station(hengill, tmp_path, "BIT06")[0]
    whole = parse_mseed(path, str(path))
    cut_last_record(path, into)
    for kwargs in ({}, {"headonly": True}, {"starttime": T0 + 5, "endtime": T0 + 20}):
        with pytest.raises(RecordStreamError, match=re.escape(str(path))) as err:
            parse_mseed(path, str(path), **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(RecordStreamError, match="stdin"):
        parse_mseed(path.read_bytes(), "stdin")
    # the file without its cut record is whole again (shorter, and no error)
    intact = tmp_path / "intact.mseed"
    intact.write_bytes(path.read_bytes()[:len(path.read_bytes()) - into])
    assert 0 < parse_mseed(intact, "intact")[0].stats.npts < whole[0].stats.npts


def test_1_truncated_file_fails_its_station_day_and_a_rerun_retries_it(hengill, tmp_path, eqt_conservative):
    from seqt_plugins.picker import Picker
    from seqt_plugins.scale.ledger import Ledger
    from seqt_plugins.scale.reprocess import reprocess

    data = tmp_path / "data"
    bit06 = write_station(hengill, data, "BIT06")
    write_station(hengill, data, "KAP01")
    cut_last_record(bit06[2])
    out = tmp_path / "out"

    def factory():
        return Picker(model=eqt_conservative)

    summary = reprocess(f"file://{data}", ["2C.BIT06", "2C.KAP01"], T0, T1, out,
                        picker_factory=factory, shard=60.0)
    assert summary.failed >= 1 and summary.done >= 1
    assert all(key.startswith("2C.BIT06/") for key, _ in summary.failures)
    assert any(str(bit06[2]) in message for _, message in summary.failures)
    with Ledger(out / "ledger.sqlite") as ledger:
        pending = ledger.pending()
        assert pending and {t.station for t in pending} == {"2C.BIT06"}
    # the file is repaired: the rerun redoes (only) the failed station-days
    write_station(hengill, data, "BIT06")
    again = reprocess(f"file://{data}", ["2C.BIT06", "2C.KAP01"], T0, T1, out,
                      picker_factory=factory, shard=60.0)
    assert again.failed == 0 and again.done == summary.failed and again.picks > 0


# -- 3. one bad file drops the good ones ----------------------------------------------------------
def test_3_bad_files_are_named_and_the_good_ones_picked(hengill, clean_env):
    from seqt_plugins.modules.cli import EXIT_PARTIAL

    data = clean_env / "data"
    bit06 = write_station(hengill, data, "BIT06")
    write_station(hengill, data, "KAP01")
    (data / "empty.mseed").write_bytes(b"")
    (data / "notes.txt").write_text("not a waveform\n")
    (data / "random.mseed").write_bytes(os.urandom(4096))
    cut_last_record(bit06[0])  # found by the index, fails its own sensor only
    out = clean_env / "picks.xml"
    rc, _, err = seqtpick(["--ep", "--playback", "-I", str(data), "-o", str(out)])
    assert rc == EXIT_PARTIAL == 3, err
    errors = error_lines(err)
    for name in ("empty.mseed", "notes.txt", "random.mseed", bit06[0].name):
        assert len([ln for ln in errors if name in ln]) == 1, (name, errors)
    assert stations_of(out) == {"KAP01"}


# -- 9. a failed run keeps the old output ----------------------------------------------------------
def test_9_failed_run_writes_nothing_and_keeps_the_old_file(hengill, clean_env):
    data = clean_env / "data"
    for path in write_station(hengill, data, "BIT06"):
        cut_last_record(path)
    out = clean_env / "picks.xml"
    out.write_text("old\n")
    rc, _, err = seqtpick(["--ep", "--playback", "-I", str(data), "-o", str(out)])
    assert rc == 1, err
    assert out.read_text() == "old\n"
    assert not list(clean_env.glob(".*.part"))
    # reprocessing where every station-day fails keeps the old merged output too
    rc, _, err = seqtpick(["-I", str(data), "--stations", "2C.BIT06", "--begin", str(T0), "--end", str(T1),
                           "--output-dir", str(clean_env / "out"), "-o", str(out), "--reprocess.shardLength=60",
                           "--reprocess.retries=0"])
    assert rc == 1, err
    assert out.read_text() == "old\n" and "not written" in err


# -- 2. input destroyed -----------------------------------------------------------------------------
def test_2_output_onto_an_input_is_refused_before_any_work(hengill, clean_env):
    from seqt_plugins.modules.seqtrepick import SeqtRepick

    data = clean_env / "data"
    path = write_station(hengill, data, "BIT06")[0]
    before = path.read_bytes()
    link = clean_env / "same.mseed"
    os.link(path, link)  # another name, the same inode
    for target in (path, link):
        rc, _, err = seqtpick(["--ep", "--playback", "-I", str(data), "-o", str(target)])
        assert rc == 2, err
        assert f"-o {target}" in err and "refusing to overwrite an input" in err
        assert "picks on" not in err  # before any work
    rc, _, err = seqtpick(["--ep", "--playback", "-I", str(path), "-o", str(link)])
    assert rc == 2 and "refusing" in err
    events = clean_env / "events.xml"
    events.write_text("<x/>")
    rc, _, err = run_module(SeqtRepick, ["--ep", str(events), "-I", str(data), "-o", str(events)])
    assert rc == 2 and "refusing to overwrite an input" in err
    assert path.read_bytes() == before and events.read_text() == "<x/>"


# -- 5. output checked last -------------------------------------------------------------------------
def test_5_bad_output_paths_are_refused_before_any_work(hengill, clean_env):
    data = clean_env / "data"
    write_station(hengill, data, "BIT06")
    afile = clean_env / "afile"
    afile.write_text("x")
    readonly = clean_env / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    cases = {clean_env / "missing" / "picks.xml": "does not exist",
             afile / "picks.xml": "is not a directory",
             clean_env: "is a directory"}
    if not os.access(readonly, os.W_OK):  # root writes anywhere
        cases[readonly / "picks.xml"] = "is not writable"
    try:
        for target, problem in cases.items():
            rc, _, err = seqtpick(["--ep", "--playback", "-I", str(data), "-o", str(target)])
            assert rc == 2, (target, err)
            lines = error_lines(err)
            assert len(lines) == 1 and f"-o {target}: " in lines[0] and problem in lines[0]
            assert "picks on" not in err and ".part" not in err
        # reprocessing agrees: -o's directory must exist; --output-dir is created
        target = clean_env / "missing" / "all.xml"
        rc, _, err = seqtpick(["-I", str(data), "--stations", "2C.BIT06", "--begin", str(T0),
                               "--end", str(T1), "--output-dir", str(clean_env / "new" / "out"),
                               "-o", str(target)])
        assert rc == 2 and f"-o {target}: directory" in err
        rc, _, err = seqtpick(["-I", str(data), "--stations", "2C.BIT06", "--begin", str(T0),
                               "--end", str(T1), "--output-dir", str(afile / "out")])
        assert rc == 2 and f"--output-dir {afile / 'out'}" in err
    finally:
        readonly.chmod(0o755)


# -- 4. one bad origin drops the good ones -----------------------------------------------------------
def _events_file(path, origins_latitudes):
    from seqt_plugins.io.xml import write_event_parameters
    from seqt_plugins.picks.model import Arrival, EventParameters, Origin, Pick, WaveformID

    picks = [Pick(f"p{i}", UTCDateTime(t), WaveformID("2C", sta, "", ch), phase_hint=ph)
             for i, (sta, ch, ph, t) in enumerate([
                 ("BIT06", "HHZ", "P", "2018-12-30T03:00:40.75"), ("BIT06", "HHN", "S", "2018-12-30T03:00:41.85"),
                 ("GAN02", "HHZ", "P", "2018-12-30T03:00:41.10")])]
    origins = [Origin(f"origin/{i}", UTCDateTime("2018-12-30T03:00:39.5"), lat, -21.33, depth=5000.0,
                      arrivals=[Arrival(p.public_id, p.phase_hint) for p in picks])
               for i, lat in enumerate(origins_latitudes)]
    write_event_parameters(EventParameters(picks=picks, origins=origins), path, format="scml")
    return path


def test_4_bad_origins_are_named_and_skipped_the_good_ones_repicked(hengill, clean_env):
    from seqt_plugins.io.xml import read_event_parameters
    from seqt_plugins.modules.seqtrepick import SeqtRepick

    data = clean_env / "data"
    for sta in ("BIT06", "KAP01", "GAN02"):
        write_station(hengill, data, sta, T0 - 10, T0 + 290)
    common = ["-I", str(data), "--inventory-xml", str(hengill / "stations.xml")]
    good = _events_file(clean_env / "good.xml", [64.0])
    rc, _, err = run_module(SeqtRepick, ["--ep", str(good), "-o", str(clean_env / "good.out.xml")] + common)
    assert rc == 0, err
    mixed = _events_file(clean_env / "mixed.xml", [999.0, 64.0, math.nan])
    rc, _, err = run_module(SeqtRepick, ["--ep", str(mixed), "-o", str(clean_env / "mixed.out.xml")] + common)
    assert rc == 3, err
    errors = error_lines(err)
    for oid, text in (("origin/0", "latitude 999.0"), ("origin/2", "latitude nan")):
        assert [ln for ln in errors if oid in ln and text in ln and str(mixed) in ln], errors
    assert "Traceback" not in err and "ValueError" not in err

    def repicks(path):
        ep = read_event_parameters(path)
        return ep, sorted((p.waveform_id.nslc, p.phase_hint, str(p.time)) for p in ep.picks if p.method_id == "S-EqT")

    ep_good, good_repicks = repicks(clean_env / "good.out.xml")
    ep_mixed, mixed_repicks = repicks(clean_env / "mixed.out.xml")
    assert good_repicks and mixed_repicks == good_repicks
    assert [o.public_id for o in ep_mixed.origins] == ["origin/0", "origin/1", "origin/2"]
    assert len(ep_mixed.origins[1].arrivals) == len(ep_good.origins[0].arrivals)
    assert len(ep_mixed.origins[0].arrivals) == 3  # the bad origins are written back unchanged


# -- 6. server time limits ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sds(hengill, tmp_path_factory):
    from servers import build_sds

    return build_sds(hengill / "mseed", tmp_path_factory.mktemp("sds"))


def test_6_url_options_win_over_module_defaults(sds):
    from servers import FaultyDataselect

    from seqt_plugins.io.records import open_record_stream
    from seqt_plugins.scale.tasks import TaskSpec

    with FaultyDataselect(sds, faults=["500"] * 5) as server:
        url = f"fdsnws://{server.address}?timeout=3&retries=1&backoff=0.01"
        stream = open_record_stream(url, timeout=120.0, retries=3)
        assert (stream.timeout, stream.retries) == (3.0, 1)
        stream = TaskSpec(record_url=url, timeout=120.0, retries=3, backoff=5.0).open_record_stream()
        assert (stream.timeout, stream.retries, stream.backoff) == (3.0, 1, 0.01)
        from seqt_plugins.io.records import RecordStreamError

        with pytest.raises(RecordStreamError, match="after 2 attempts"):
            stream.get_waveforms("2C", "BIT06", "", "HHZ", T0, T1)
        assert len(server.requests) == 2  # retries=1 from the URL, not 3


def test_6_a_trickling_server_hits_the_overall_deadline(sds):
    from servers import FaultyDataselect

    from seqt_plugins.io.records import RecordStreamError, open_record_stream

    with FaultyDataselect(sds, faults=["trickle"]) as server:
        server.trickle_s = 0.2  # every read gets a byte well within the socket timeout
        server.trickle_max_s = 20.0  # a client without an overall deadline waits this long, then fails
        stream = open_record_stream(f"fdsnws://{server.address}?timeout=1&retries=0")
        with pytest.raises(RecordStreamError) as err:
            stream.get_waveforms("2C", "BIT06", "", "HHZ", T0, T1)
        assert "timed out after 1 s (no complete answer" in str(err.value) and server.address in str(err.value)


# -- 7. two runs, one output directory ---------------------------------------------------------------
def test_7_a_second_run_on_a_live_output_directory_is_refused_and_touches_nothing(hengill, clean_env):
    """A real second process holds the directory (as a live run does) while this one starts."""
    from seqt_plugins.scale.reprocess import OutputDirLocked, reprocess

    data = clean_env / "data"
    write_station(hengill, data, "BIT06")
    out = clean_env / "out"
    out.mkdir()
    live_part = out / ".2C.BIT06.2018-12-30.xml.abc123.part"  # the other run's temp file
    live_part.write_text("being written")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from seqt_plugins.scale.reprocess import lock_output_dir\n"
         "lock = lock_output_dir(sys.argv[1]); print('locked', flush=True); sys.stdin.read()", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputDirLocked, match=f"pid {holder.pid}"):
            reprocess(f"file://{data}", ["2C.BIT06"], T0, T1, out, picker_factory=lambda: None, shard=60.0)
        rc, _, err = seqtpick(["-I", str(data), "--stations", "2C.BIT06", "--begin", str(T0), "--end", str(T1),
                               "--output-dir", str(out)])
        assert rc == 5, err
        lines = error_lines(err)
        assert len(lines) == 1 and "in use by another run" in lines[0] and str(out) in lines[0]
        assert live_part.read_text() == "being written"  # the other run's temp file is untouched
        assert not (out / "ledger.sqlite").exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    # the lock goes with its process: now a run may start (and clears the dead run's temp file)
    from seqt_plugins.scale.reprocess import lock_output_dir

    lock_output_dir(out).close()


# -- 8. ledger paths -----------------------------------------------------------------------------------
def test_8_ledger_paths_are_relative_to_the_output_directory(hengill, tmp_path, monkeypatch, eqt_conservative):
    import shutil
    import sqlite3

    from seqt_plugins.picker import Picker
    from seqt_plugins.scale.ledger import Ledger
    from seqt_plugins.scale.reprocess import reprocess

    data = tmp_path / "data"
    write_station(hengill, data, "BIT06")
    (tmp_path / "a" / "deeper").mkdir(parents=True)

    def run(output_dir):
        return reprocess(f"file://{data}", ["2C.BIT06"], T0, T1, output_dir,
                         picker_factory=lambda: Picker(model=eqt_conservative), shard=60.0,
                         merged_output=Path(output_dir) / "all.xml")

    monkeypatch.chdir(tmp_path / "a")
    first = run("out")
    assert first.done == 2 and first.picks > 0
    stored = [r[0] for r in sqlite3.connect(str(tmp_path / "a" / "out" / "ledger.sqlite")).execute(
        "SELECT output FROM tasks WHERE status='done'")]
    assert stored and all(not os.path.isabs(p) and p.startswith("2C.BIT06/") for p in stored)
    monkeypatch.chdir(tmp_path / "a" / "deeper")  # the same directory, named from elsewhere
    again = run("../out")
    assert (again.done, again.skipped) == (0, 2)
    shutil.copytree(tmp_path / "a" / "out", tmp_path / "copy")
    shutil.rmtree(tmp_path / "a" / "out")  # the copy must not point into the original
    copied = run(tmp_path / "copy")
    assert (copied.done, copied.skipped, copied.merged_picks) == (0, 2, first.picks)
    with Ledger(tmp_path / "copy" / "ledger.sqlite") as ledger:
        assert all(Path(p).is_relative_to(tmp_path / "copy") for _, p in ledger.done_outputs())


# -- 10. values that passed validation and failed later -----------------------------------------------
def test_10_bad_values_are_refused_at_start_with_the_key(hengill, clean_env):
    from seqt_plugins.modules.seqtrepick import SeqtRepick
    from seqt_plugins.picker import Picker
    from seqt_plugins.repicker import RepickerOptions

    data = clean_env / "data"
    write_station(hengill, data, "BIT06")
    text = clean_env / "weights.h5"
    text.write_text("not hdf5\n")
    out = clean_env / "picks.xml"
    cases = [("--picker.batchSize=0", "picker.batchSize"), ("--picker.blinding=inf", "picker.blinding"),
             ("--picker.batchSize=1000000000", "picker.batchSize"), ("--picker.margin=-100", "picker.margin"),
             (f"--picker.model={clean_env / 'missing.h5'}", "picker.model"), (f"--picker.model={text}", "picker.model")]
    for arg, key in cases:
        rc, _, err = seqtpick(["--ep", "--playback", "-I", str(data), "-o", str(out), arg])
        assert rc == 255, (arg, err)
        lines = error_lines(err)
        assert len(lines) == 1 and key in lines[0], (arg, err)
        assert not out.exists()
    rc, _, err = seqtpick(["--ep", "--playback", "-I", str(data), "-o", str(out), "--log-file", str(clean_env / "nodir" / "x.log")])
    assert rc == 255 and "--log-file" in err and "Traceback" not in err and not out.exists()
    rc, _, err = run_module(SeqtRepick, ["--ep", str(out), "-I", str(data), "--repicker.batchSize=0"])
    assert rc == 255 and "repicker.batchSize" in err
    # engines built in code check the same declarations
    for kwargs, name in (({"batch_size": 0}, "batch_size"), ({"blinding": math.inf}, "blinding"),
                         ({"margin": -100.0}, "margin"), ({"batch_size": 10 ** 9}, "batch_size")):
        with pytest.raises(ValueError, match=name):
            Picker(**kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        RepickerOptions(batch_size=0).validate()


# -- 11. quiet acceptance -------------------------------------------------------------------------------
def test_11_overlapping_different_samples_are_named(hengill, tmp_path, caplog):
    import logging

    from seqt_plugins.io.records import open_record_stream

    src = read(str(hengill / "mseed" / "2C.BIT06..HHZ*.mseed")).trim(T0, T1)
    later = src.copy().trim(T0 + 20, T1)
    later[0].data = later[0].data * 2  # the same times, other samples
    path = tmp_path / "overlap.mseed"
    (src + later).write(str(path), format="MSEED")
    same = tmp_path / "same.mseed"
    (src + src.copy().trim(T0 + 20, T1)).write(str(same), format="MSEED")
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.records"):
        open_record_stream(f"file://{same}").get_waveforms("2C", "BIT06", "", "HH?", T0, T1)
        assert not caplog.records  # overlaps with equal samples are merged quietly
        open_record_stream(f"file://{path}").get_waveforms("2C", "BIT06", "", "HH?", T0, T1)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "2C.BIT06..HHZ" in lines[0] and "different samples" in lines[0]


def test_11_duplicate_ids_are_refused_and_nan_uncertainty_named(tmp_path, caplog):
    import logging

    from seqt_plugins.io.xml import XMLValidationError, validate, write_event_parameters
    from seqt_plugins.modules.seqtxml import main as seqt_xml
    from seqt_plugins.picks.model import EventParameters, Pick, WaveformID

    pick = Pick("smi:x/p1", T0, WaveformID("2C", "BIT06", "", "HHZ"), phase_hint="P", time_uncertainty=math.nan)
    out = tmp_path / "picks.xml"
    out.write_text("old\n")
    with pytest.raises(ValueError, match="smi:x/p1"):
        write_event_parameters(EventParameters(picks=[pick, pick]), out)
    assert out.read_text() == "old\n"  # refused before anything was written
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.xml"):
        write_event_parameters(EventParameters(picks=[pick]), out)
    assert any("smi:x/p1" in r.getMessage() and "NaN" in r.getMessage() for r in caplog.records)
    # a file with a duplicate ID (made by hand, as another tool might) is not valid
    text = out.read_text()
    start, end = text.index("<pick "), text.index("</pick>") + len("</pick>")
    dup = tmp_path / "dup.xml"
    dup.write_text(text[:end] + text[start:end] + text[end:])
    with pytest.raises(XMLValidationError, match="duplicate publicID 'smi:x/p1'"):
        validate(dup)
    assert seqt_xml(["validate", str(dup)]) != 0
    assert seqt_xml(["validate", str(out)]) == 0


def test_11_sigterm_is_logged(hengill, clean_env):
    """A real SIGTERM, sent by the process to itself in the middle of run()."""
    import signal

    from seqt_plugins.modules.seqtpick import SeqtPick

    class Stopped(SeqtPick):
        def run(self):
            os.kill(os.getpid(), signal.SIGTERM)
            return super().run()

    data = clean_env / "data"
    write_station(hengill, data, "BIT06")
    out = clean_env / "picks.xml"
    before = signal.getsignal(signal.SIGTERM)
    rc, _, err = run_module(Stopped, ["--ep", "--playback", "-I", str(data), "-o", str(out)])
    assert rc == 1 and not out.exists()
    assert [ln for ln in error_lines(err) if "SIGTERM" in ln]
    assert signal.getsignal(signal.SIGTERM) == before  # the module's handler is removed again


# -- 12. dependencies checked late ------------------------------------------------------------------------
_WITHOUT = """
import sys
blocked = set(sys.argv[1].split(","))
class Absent:  # the test environment has every extra: this finder makes some look uninstalled
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Absent())
from importlib import import_module
main = import_module(sys.argv[2]).main
rc = main(sys.argv[3:])
print("tensorflow loaded" if "tensorflow" in sys.modules else "tensorflow not loaded")
sys.exit(rc)
"""


def _without(blocked, module, argv, cwd):
    """A module run in a subprocess where the ``blocked`` packages cannot be imported (a mock of
    their absence: they cannot be uninstalled from the shared test environment)."""
    proc = subprocess.run([sys.executable, "-c", _WITHOUT, ",".join(blocked), module] + argv,
                          capture_output=True, text=True, cwd=cwd, timeout=300,
                          env=dict(os.environ, SEISCOMP_LOCAL_CONFIG=str(Path(cwd) / "local")))
    return proc.returncode, proc.stdout, proc.stderr


def test_12_missing_extras_are_named_at_start(hengill, clean_env):
    data = clean_env / "data"
    write_station(hengill, data, "BIT06")
    rc, out, err = _without(["pandas"], "seqt_plugins.modules.seqtcatalog",
                            ["-I", str(data), "--inventory-xml", str(hengill / "stations.xml"),
                             "-o", str(clean_env / "cat.xml")], clean_env)
    assert rc == 2, err
    assert "tensorflow not loaded" in out  # refused before the EqT pass
    lines = error_lines(err)
    assert len(lines) == 1 and "pandas" in lines[0] and 'pip install "seqt-plugins[catalog]"' in lines[0]
    rc, out, err = _without(["ray"], "seqt_plugins.modules.seqtpick",
                            ["-I", str(data), "--stations", "2C.BIT06", "--begin", str(T0), "--end", str(T1),
                             "--output-dir", str(clean_env / "out"), "--workers", "2"], clean_env)
    assert rc == 2 and "tensorflow not loaded" in out
    lines = error_lines(err)
    assert len(lines) == 1 and "ray" in lines[0] and "seqt-plugins[ray]" in lines[0]
    readme = (ROOT / "README.md").read_text()
    assert '".[catalog]"' in readme and '".[ray]"' in readme

"""Resumable reprocessing: uninterrupted run, rerun, SIGKILL + rerun, server faults.

Real model; an SDS archive of the 5-minute hengill data read directly (sdsarchive://), and an
fdsnws-dataselect on loopback that injects faults. (portable-fdsnws-dataselect 2.0.2 is not
used here: over this archive it answers a request that starts before the data and ends inside
it with the first record only, which shards with a margin always do.) The "station-days" here are 60 s (and 150 s) shards of that data (``shard=``):
the same edge logic as whole days (fetch with the picker's margin, pick within the shard).
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require_shared
from servers import FaultyDataselect, build_sds

ROOT = Path(__file__).resolve().parents[1]
STATIONS = ["2C.BIT06", "ON.NESJV.00"]
BEGIN, END = "2018-12-30T03:00:00", "2018-12-30T03:05:00"
SHARD = 60.0


def xml_without_creation_time(path) -> str:
    return re.sub(r"\s*<creationTime>[^<]*</creationTime>", "", Path(path).read_text())


def pick_ids(path):
    return re.findall(r'<pick publicID="([^"]+)"', Path(path).read_text())


@pytest.fixture(scope="module")
def sds(tmp_path_factory):
    return build_sds(require_shared("data", "hengill", "mseed"), tmp_path_factory.mktemp("sds"))


@pytest.fixture(scope="module")
def url(sds):
    return f"sdsarchive://{sds}"


@pytest.fixture(scope="module")
def factory(eqt_conservative):
    from seqt_plugins.picker import Picker

    return lambda: Picker(model=eqt_conservative)


@pytest.fixture(scope="module")
def uninterrupted(url, factory, tmp_path_factory):
    from seqt_plugins.scale.reprocess import reprocess

    out = tmp_path_factory.mktemp("uninterrupted")
    summary = reprocess(url, STATIONS + ["2C.NOPE"], BEGIN, END,
                        out, picker_factory=factory, merged_output=out / "picks.xml", shard=SHARD)
    return out, summary


def test_uninterrupted_run(uninterrupted):
    from seqt_plugins.io.xml import read_event_parameters
    from seqt_plugins.scale.ledger import Ledger

    out, summary = uninterrupted
    assert (summary.tasks, summary.done, summary.nodata, summary.failed) == (15, 10, 5, 0)
    ids = pick_ids(out / "picks.xml")
    assert ids and len(ids) == len(set(ids)) == summary.picks == summary.merged_picks
    ep = read_event_parameters(out / "picks.xml")
    phases = [p.phase_hint for p in ep.picks]
    assert (summary.p_picks, summary.s_picks) == (phases.count("P"), phases.count("S"))  # seqtpick's summary line
    times = [p.time for p in ep.picks]
    assert times == sorted(times)
    assert {p.waveform_id.station for p in ep.picks} == {"BIT06", "NESJV"}
    assert all(p.creation_info and p.creation_info.creation_time for p in ep.picks)
    assert {a.pick_id for a in ep.amplitudes} <= set(ids) and ep.amplitudes
    with Ledger(out / "ledger.sqlite") as ledger:
        assert ledger.counts() == {"done": 10, "nodata": 5}
        # each station-day file holds exactly the picks of its window
        for task, output in ledger.done_outputs():
            t0, t1 = task.window
            assert all(t0 <= p.time < t1 for p in read_event_parameters(output).picks)


def test_rerun_after_finishing_picks_nothing_new(uninterrupted, url, factory):
    from seqt_plugins.scale.reprocess import reprocess

    out, _ = uninterrupted
    before = xml_without_creation_time(out / "picks.xml")
    summary = reprocess(url, STATIONS + ["2C.NOPE"], BEGIN, END,
                        out, picker_factory=factory, merged_output=out / "picks.xml", shard=SHARD)
    assert (summary.skipped, summary.processed, summary.picks) == (15, 0, 0)
    assert xml_without_creation_time(out / "picks.xml") == before


def test_damaged_station_day_is_redone(uninterrupted, url, factory, tmp_path):
    import shutil

    from seqt_plugins.scale.reprocess import reprocess

    src, _ = uninterrupted
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    from seqt_plugins.scale.ledger import Ledger

    with Ledger(out / "ledger.sqlite") as ledger:  # the ledger records absolute paths
        ledger._db.execute("UPDATE tasks SET output=replace(output, ?, ?)", (str(src), str(out)))
    victim = sorted(out.glob("2C.BIT06/*.xml"))[1]
    victim.write_text(victim.read_text().replace("EQTransformer", "tampered"))
    summary = reprocess(url, STATIONS + ["2C.NOPE"], BEGIN, END,
                        out, picker_factory=factory, merged_output=out / "picks.xml", shard=SHARD)
    assert (summary.skipped, summary.done) == (14, 1)
    assert xml_without_creation_time(out / "picks.xml") == \
        xml_without_creation_time(src / "picks.xml")


KILL_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from seqt_plugins.scale.reprocess import reprocess
reprocess(sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4], sys.argv[5],
          picker_options={"model": "conservative"}, merged_output=sys.argv[6], shard=float(sys.argv[7]))
"""


def test_sigkill_mid_run_then_rerun_gives_the_same_picks(uninterrupted, url, factory,
                                                         tmp_path):
    from seqt_plugins.scale.ledger import Ledger
    from seqt_plugins.scale.reprocess import reprocess

    ref, _ = uninterrupted
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, url, ",".join(STATIONS + ["2C.NOPE"]),
                             BEGIN, END, str(out), str(out / "picks.xml"), str(SHARD)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done_at_kill = 0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "ledger.sqlite").exists():
                with Ledger(out / "ledger.sqlite") as ledger:
                    done_at_kill = ledger.counts().get("done", 0)
                if done_at_kill >= 3:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed: " + \
            proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "picks.xml").exists()
    with Ledger(out / "ledger.sqlite") as ledger:
        done_before = len(ledger.done_outputs())
    assert 3 <= done_before < 10

    summary = reprocess(url, STATIONS + ["2C.NOPE"], BEGIN, END, out, picker_factory=factory,
                        merged_output=out / "picks.xml", shard=SHARD)
    assert summary.skipped == done_before  # done station-days were not picked again
    assert summary.done == 10 - done_before
    assert not list(out.glob("**/.*.part"))
    ids = pick_ids(out / "picks.xml")
    assert len(ids) == len(set(ids)), "a pick appears twice"
    assert xml_without_creation_time(out / "picks.xml") == \
        xml_without_creation_time(ref / "picks.xml")


def test_faults_are_retried_or_recorded(sds, uninterrupted, factory, tmp_path):
    """500/503/dropped connection on every attempt → failed with the reason; a slow reply
    (timeout), corrupt miniSEED and a cut transfer followed by a good reply → done; 204 →
    nodata. A rerun against a healthy server then completes the output."""
    from seqt_plugins.io.xml import read_event_parameters
    from seqt_plugins.scale.ledger import Ledger
    from seqt_plugins.scale.reprocess import reprocess

    ref, _ = uninterrupted
    out = tmp_path / "faulty"
    # tasks in order: BIT06 03:00:00, BIT06 03:02:30, GAN02 x2 (204); 4 attempts each
    faults = ["500", "503", "drop", "500", "slow", "corrupt", "truncate", "ok"]
    with FaultyDataselect(sds, faults=faults, slow_s=2.5, nodata_stations=["2C.GAN02"]) as server:
        url = f"fdsnws://{server.address}"
        kw = dict(picker_factory=factory, shard=150.0, retries=3, backoff=0.05, timeout=1.0)
        summary = reprocess(url, ["2C.BIT06", "2C.GAN02"], BEGIN, END, out, **kw)
        assert (summary.done, summary.nodata, summary.failed) == (1, 2, 1)
        with Ledger(out / "ledger.sqlite") as ledger:
            (task, message, attempts), = ledger.failed()
            assert task.key == "2C.BIT06/2018-12-30T03:00:00"
            assert "failed after 4 attempts" in message and "500" in message
            assert attempts == 4
            assert "\n" not in message
            assert ledger.counts() == {"done": 1, "failed": 1, "nodata": 2}
        assert len(server.requests) == 10  # 4 + 4 + 1 + 1
        # rerun: only the failed station-day is fetched again; the merged output is complete
        server.faults.clear()
        summary = reprocess(url, ["2C.BIT06", "2C.GAN02"], BEGIN, END, out,
                            merged_output=out / "picks.xml", **kw)
        assert (summary.skipped, summary.done) == (3, 1)
        assert len(server.requests) == 11
    expected = [p for p in read_event_parameters(ref / "picks.xml").picks
                if p.waveform_id.station == "BIT06"]
    got = read_event_parameters(out / "picks.xml").picks
    assert [p.public_id for p in got] == [p.public_id for p in expected]


def test_merge_streams_day_by_day_and_equals_sorting_everything(tmp_path):
    """The streamed merge (a k-way merge per day) writes what sorting all picks in memory gives:
    picks by (time, stream, phase), a pick in two files once, amplitudes in their picks' order."""
    import random

    from obspy import UTCDateTime

    from seqt_plugins.io.xml import read_event_parameters
    from seqt_plugins.picks.model import Amplitude, Pick, WaveformID
    from seqt_plugins.scale import Ledger, file_sha256
    from seqt_plugins.scale.reprocess import _pick_key, _write, merge_outputs

    rng = random.Random(7)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    tasks = ledger.plan(["2C.BIT06", "ON.NESJV", "2C.THF21"], "2018-12-30", "2019-01-01")
    every_pick, every_amp = {}, {}
    first_of_day, written = {}, 0
    for k, task in enumerate(tasks):
        net, sta = task.station.split(".")
        day = UTCDateTime(task.day)
        picks = []
        for i in range(25):
            t = day + rng.uniform(0, 86399)
            wid = WaveformID(net, sta, "", "HHZ")
            ph = rng.choice("PS")
            picks.append(Pick(f"{task.key}/{i}", t, wid, phase_hint=ph, probability=round(rng.random(), 3)))
        if task.day in first_of_day:
            picks.append(first_of_day[task.day])  # the same pick written by two station-days (a duplicate)
        first_of_day.setdefault(task.day, picks[0])
        picks.sort(key=_pick_key)
        amps = [Amplitude(f"{p.public_id}.snr", "snr", rng.uniform(1, 50), pick_id=p.public_id)
                for p in reversed(picks)]  # in no particular order within the file
        path = tmp_path / f"sd{k}.xml"
        _write(path, picks, amps, "scml", None, True)
        ledger.mark_done(task, path, file_sha256(path))
        written += len(picks)
        every_pick.update({p.public_id: p for p in picks})
        every_amp.update({a.public_id: a for a in amps})

    n = merge_outputs(ledger, tasks, tmp_path / "merged.xml")
    merged = read_event_parameters(tmp_path / "merged.xml")
    expected = sorted(every_pick.values(), key=_pick_key)
    assert n == len(expected) == len(merged.picks) == 25 * len(tasks)  # the duplicates written once
    assert written > n
    assert [p.public_id for p in merged.picks] == [p.public_id for p in expected]
    rank = {p.public_id: i for i, p in enumerate(expected)}
    assert [a.public_id for a in merged.amplitudes] == sorted(every_amp, key=lambda i: (rank[every_amp[i].pick_id], i))


def test_station_day_is_fetched_piece_by_piece_with_the_picks_of_one_fetch(url, eqt_conservative):
    """A task over an archive that indexes its data is fetched one piece (chunkLength plus the
    margins) at a time, so a station-day's raw samples are never all in memory, and its picks
    equal those of the whole span fetched and picked at once."""
    from obspy import UTCDateTime

    from seqt_plugins.io.records import open_record_stream
    from seqt_plugins.picker import Picker
    from seqt_plugins.picker.perstation import StationPicker
    from seqt_plugins.scale.ledger import StationDay
    from seqt_plugins.scale.tasks import TaskSpec, process_task, task_pieces

    class CountingStream:
        """The real SDS record stream; each request's span is recorded."""

        def __init__(self, inner):
            self.inner, self.requests = inner, []

        def get_waveforms(self, net, sta, loc, cha, t0, t1):
            self.requests.append((t0, t1))
            return self.inner.get_waveforms(net, sta, loc, cha, t0, t1)

        def data_spans(self, *args):
            return self.inner.data_spans(*args)

    task = StationDay("2C.BIT06", "2018-12-30", BEGIN, END)
    picker = Picker(model=eqt_conservative, chunk_length=60.0)
    margin = picker.options.margin
    stream = CountingStream(open_record_stream(url))
    spec = TaskSpec(record_url=url, amplitudes=False)
    pieces = task_pieces(task, spec, picker, stream)
    assert len(pieces) == 5 and pieces[0][0] == UTCDateTime(BEGIN) and pieces[-1][1] == UTCDateTime(END)

    result = process_task(task, spec, picker, stream)
    assert result.status == "done" and len(stream.requests) == 5
    assert all(t1 - t0 <= 60.0 + 2 * margin for t0, t1 in stream.requests)

    whole = open_record_stream(url).get_waveforms("2C", "BIT06", "*", "*", UTCDateTime(BEGIN) - margin,
                                                     UTCDateTime(END) + margin)
    expected = StationPicker(Picker(model=eqt_conservative, chunk_length=0.0), {}).pick(
        whole, None, UTCDateTime(BEGIN), UTCDateTime(END))
    assert len(expected) >= 4
    assert [(p.time, p.phase_hint, p.waveform_id.nslc) for p in result.picks] == \
        [(p.time, p.phase_hint, p.waveform_id.nslc) for p in expected]

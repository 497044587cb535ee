"""seqtpick's archive-reprocessing and real-time modes, end to end through the command line.

Reprocessing reads an SDS archive built from ../shared/data/hengill in 1-minute "station-days"
(reprocess.shardLength=60, the same edge logic as real days) and must resume from its ledger:
a second run picks nothing again and writes the same merged file. Real time reads the SeedLink
test double of tests/servers.py (no SeedLink server can be installed here).
"""

import re
import sqlite3

import pytest
from obspy import Stream, UTCDateTime, read

from conftest import require_shared
from seqt_plugins.io.xml import read_event_parameters, validate
from seqt_plugins.modules.seqtpick import main
from servers import SeedLinkServer, build_sds, records_512

STATIONS = "2C.GAN02,ON.NESJV"
BEGIN, END = "2018-12-30T03:00:00", "2018-12-30T03:05:00"


def picks_of(path):
    return sorted((p.public_id, p.time, p.phase_hint) for p in read_event_parameters(path).picks)


def summary_line(err: str) -> str:
    """The run's one summary line (notice): the only line at the default verbosity but warnings."""
    lines = [line for line in err.splitlines() if "[notice/seqtpick] " in line]
    assert len(lines) == 1 and "[info/" not in err, err
    return lines[0].split("[notice/seqtpick] ", 1)[1]


def phase_counts(path):
    phases = [p.phase_hint for p in read_event_parameters(path).picks]
    return phases.count("P"), phases.count("S")


def gan02() -> Stream:
    """The three components of 2C.GAN02 (Hengill), the real-time tests' one station."""
    mseed = require_shared("data", "hengill", "mseed")
    st = Stream()
    for f in sorted(mseed.glob("2C.GAN02.*.mseed")):
        st += read(str(f))
    return st


@pytest.fixture(scope="module")
def sds(tmp_path_factory):
    return build_sds(require_shared("data", "hengill", "mseed"), tmp_path_factory.mktemp("sds"))


def test_reprocess_by_station_days_resumes_from_the_ledger(sds, tmp_path, capsys):
    out, merged = tmp_path / "days", tmp_path / "all.xml"
    argv = ["-I", f"sdsarchive://{sds}", "--stations", STATIONS, "--begin", BEGIN, "--end", END,
            "--output-dir", str(out), "-o", str(merged), "--reprocess.shardLength=60",
            "--picker.model=conservative"]
    assert main(argv) == 0
    validate(merged, "scml")
    first = picks_of(merged)
    assert first and len({p[0] for p in first}) == len(first)
    stations = {f"{p.waveform_id.network}.{p.waveform_id.station}" for p in read_event_parameters(merged).picks}
    assert stations == {"2C.GAN02", "ON.NESJV"}
    with sqlite3.connect(out / "ledger.sqlite") as db:
        statuses = dict(db.execute("select status, count(*) from tasks group by status").fetchall())
    assert statuses.get("done", 0) + statuses.get("nodata", 0) == 10  # 2 stations x 5 minutes
    n_p, n_s = phase_counts(merged)
    assert re.fullmatch(rf"picked {n_p} P and {n_s} S on 10 station-days \({statuses['done']} done now, 0 done "
                        rf"before, {statuses.get('nodata', 0)} without data, 0 failed; ledger .+\) in \d+\.\d s",
                        summary_line(capsys.readouterr().err))

    before = merged.stat().st_mtime_ns
    assert main(argv) == 0  # everything is in the ledger: nothing is picked again
    assert picks_of(merged) == first
    assert re.fullmatch(r"picked 0 P and 0 S on 10 station-days \(0 done now, 10 done before, 0 without data, "
                        r"0 failed; ledger .+\) in \d+\.\d s", summary_line(capsys.readouterr().err))
    assert merged.stat().st_mtime_ns >= before


def test_reprocess_needs_a_time_span(sds, tmp_path, capsys):
    assert main(["-I", f"sdsarchive://{sds}", "--stations", STATIONS, "-o", str(tmp_path / "x.xml")]) == 2
    assert "--begin and --end" in capsys.readouterr().err
    assert not (tmp_path / "x.xml").exists()


def test_bad_station_code_is_rejected(sds, tmp_path, capsys):
    assert main(["-I", f"sdsarchive://{sds}", "--stations", "GAN02", "--begin", BEGIN, "--end", END]) == 2
    assert "--stations GAN02" in capsys.readouterr().err


def test_realtime_from_seedlink_writes_each_pick_once(tmp_path, capsys):
    st = gan02()
    out = tmp_path / "rt.xml"
    with SeedLinkServer(rec for _t, _id, rec in records_512(st)) as server:
        code = main(["-I", f"slink://{server.address}?timeout=10&retries=1", "--stations", "2C.GAN02",
                     "--begin", BEGIN, "--end", END, "--ep", "-o", str(out), "--picker.model=conservative"])
    assert code == 0
    validate(out, "scml")
    picks = read_event_parameters(out).picks
    ids = [p.public_id for p in picks]
    assert picks and len(ids) == len(set(ids))
    assert all(UTCDateTime(BEGIN) <= p.time < UTCDateTime(END) for p in picks)
    assert {p.phase_hint for p in picks} == {"P", "S"}
    n_p, n_s = phase_counts(out)
    assert re.fullmatch(rf"picked {n_p} P and {n_s} S on 1 station in \d+\.\d s", summary_line(capsys.readouterr().err))


def test_a_longer_real_time_pass_step_gives_the_same_picks(tmp_path, capsys):
    """passStep trades latency for CPU (fewer, fuller EqT calls); the picks must not change."""
    st = gan02()
    outputs = {}
    for step in ("0", "90"):
        out = tmp_path / f"rt{step}.xml"
        with SeedLinkServer(rec for _t, _id, rec in records_512(st)) as server:
            code = main(["-I", f"slink://{server.address}?timeout=10&retries=1", "--stations", "2C.GAN02",
                         "--begin", BEGIN, "--end", END, "--ep", "-o", str(out), "--picker.model=conservative",
                         f"--passStep={step}", "--debug"])
        assert code == 0
        err = capsys.readouterr().err
        assert f"passes every {30 if step == '0' else 90} s" in err
        outputs[step] = picks_of(out)
    assert outputs["0"] and outputs["90"] == outputs["0"]

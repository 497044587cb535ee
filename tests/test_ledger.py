"""Station-day ledger: planning, resume semantics and survival of SIGKILL mid-write."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from obspy import UTCDateTime

from seqt_plugins.io.atomic import atomic_write
from seqt_plugins.scale import Ledger, file_sha256, station_days

ROOT = Path(__file__).resolve().parents[1]


def test_station_days_split_at_utc_midnight():
    days = station_days("2018-12-30T22:00:00", "2019-01-01T06:30:00")
    assert days == [(UTCDateTime("2018-12-30T22:00:00"), UTCDateTime("2018-12-31T00:00:00")),
                    (UTCDateTime("2018-12-31T00:00:00"), UTCDateTime("2019-01-01T00:00:00")),
                    (UTCDateTime("2019-01-01T00:00:00"), UTCDateTime("2019-01-01T06:30:00"))]
    assert station_days("2018-12-30", "2018-12-30") == []
    assert len(station_days("2018-12-30", "2018-12-31")) == 1


def _output(path, text):
    with atomic_write(path, "w") as f:
        f.write(text)
    return file_sha256(path)


def test_resume_semantics(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    tasks = ledger.plan(["2C.BIT06", "ON.NESJV"], "2018-12-30", "2019-01-01")
    assert [t.key for t in tasks] == ["2C.BIT06/2018-12-30", "2C.BIT06/2018-12-31",
                                      "ON.NESJV/2018-12-30", "ON.NESJV/2018-12-31"]
    assert ledger.pending() == tasks
    a, b, c, d = tasks
    ledger.mark_done(a, tmp_path / "a.xml", _output(tmp_path / "a.xml", "picks a"))
    ledger.mark_done(b, tmp_path / "b.xml", _output(tmp_path / "b.xml", "picks b"))
    ledger.mark_failed(c, "fdsnws://x: dataselect failed after 3 attempts:\n HTTP 500", 3)
    assert ledger.is_done(a) and ledger.is_done(b) and not ledger.is_done(c)
    assert ledger.pending() == [c, d]  # failed ones are retried
    assert ledger.failed() == [(c, "fdsnws://x: dataselect failed after 3 attempts: HTTP 500", 3)]
    assert ledger.pending(max_attempts=3) == [d]
    ledger.close()

    # a rerun: plan is idempotent, done work is skipped
    ledger = Ledger(tmp_path / "ledger.sqlite")
    assert ledger.plan(["ON.NESJV", "2C.BIT06"], "2018-12-30", "2019-01-01") == tasks
    assert ledger.pending() == [c, d]
    assert ledger.status(c)["attempts"] == 3
    # an output changed or lost since: redone
    (tmp_path / "a.xml").write_text("tampered")
    os.unlink(tmp_path / "b.xml")
    assert ledger.pending() == [a, b, c, d]
    assert not ledger.is_done(a) and ledger.is_done(a, verify=False)
    ledger.mark_done(a, tmp_path / "a.xml")  # checksum computed from the file
    assert ledger.is_done(a)
    # the retried task succeeds
    ledger.mark_done(c, tmp_path / "c.xml", _output(tmp_path / "c.xml", "picks c"))
    assert ledger.pending() == [b, d]
    assert ledger.counts() == {"done": 3, "pending": 1}  # b is "done" with a lost output
    # a different run window resets the clipped day
    ledger.plan(["2C.BIT06"], "2018-12-30T12:00:00", "2019-01-01")
    assert not ledger.is_done(a) and ledger.status(a)["attempts"] == 0
    ledger.close()


_WRITER = r"""
import sys
sys.path.insert(0, sys.argv[2])
from seqt_plugins.scale import Ledger
ledger = Ledger(sys.argv[1])
stations = [f"XX.S{i:04d}" for i in range(2000)]
tasks = ledger.plan(stations, "2018-12-30", "2018-12-31")
print("planned", flush=True)
for i, t in enumerate(tasks):
    ledger.mark_done(t, f"/out/{t.station}.xml", f"{i:064x}")
    print(i, flush=True)
"""


def test_ledger_survives_sigkill_mid_write(tmp_path):
    db = tmp_path / "ledger.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db), str(ROOT)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "planned"
    last = -1
    while last < 200:
        last = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: more commits are in flight
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    ledger = Ledger(db)
    tasks = ledger.tasks()
    assert len(tasks) == 2000  # the plan (one committed transaction) is complete
    done = [t for t in tasks if ledger.is_done(t, verify=False)]
    # every commit the writer reported is there, in order, with its checksum
    assert last + 1 <= len(done) < 2000
    assert done == tasks[: len(done)]
    assert ledger.status(done[last])["sha256"] == f"{last:064x}"
    # and the run resumes with exactly the rest
    assert ledger.pending(verify=False) == tasks[len(done):]

"""Messaging (seqt_plugins.host.messaging) against a real SeisComP: scmaster on 127.0.0.1.

The SeisComP build in ../shared/seiscomp is unpacked once per session (tests/seiscomp_host.py);
scmaster runs on a free loopback port with a SQLite database (its dbstore plugin stores every
object it routes), and each test stops it. The code under test runs in a subprocess with
SeisComP's environment (tests/seiscomp_scripts/messaging.py). The only stand-in left is a
recording *connection* object in ``test_messages_go_to_the_configured_groups``: the real
NotifierMessages are built, and it observes which group each would go to (custom groups need
scmaster's queue configuration).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from seiscomp_host import SCRIPTS, Scmaster, free_port, run_checked, seiscomp  # noqa: F401 (fixture)

SCRIPT = SCRIPTS / "messaging.py"


def _mseed() -> str:
    import obspy

    path = Path(obspy.__file__).parent / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed"
    if not path.is_file():
        pytest.skip("obspy's bundled test recording is missing")
    return str(path)


def _run(sc, local, *args):
    proc = run_checked(sc.python([SCRIPT, *args], local, timeout=300), f"messaging.py {args[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_picks_and_amplitudes_reach_scmaster_and_its_database(seiscomp, tmp_path):
    with Scmaster(seiscomp, tmp_path) as master:
        out = _run(seiscomp, master.local, "send", master.server)
        assert out["available"] is True
        assert out["messages"] == 2 and out["sent"] == {"picks": 2, "amplitudes": 2, "messages": 2}
    with sqlite3.connect(master.db) as db:
        picks = db.execute("SELECT PublicObject.publicID, Pick.phaseHint_code, Pick.methodID FROM Pick "
                           "JOIN PublicObject ON PublicObject._oid = Pick._oid ORDER BY 1").fetchall()
        amps = db.execute("SELECT PublicObject.publicID, Amplitude.type, Amplitude.amplitude_value, "
                          "Amplitude.pickID FROM Amplitude JOIN PublicObject ON PublicObject._oid = "
                          "Amplitude._oid ORDER BY 1").fetchall()
    errors = master.db_errors()  # scmaster's own account, should an object be missing
    assert picks == [("20240301.101500.00-SEQT-P-XX.ABC..HHZ", "P", "SEQT"),
                     ("20240301.101501.00-SEQT-S-XX.ABC..HHZ", "S", "SEQT")], errors
    assert [(a[1], a[2], a[3]) for a in amps] == [("snr", 12.0, p[0]) for p in picks], errors
    assert not errors


def test_conversion_and_test_mode(seiscomp, tmp_path):
    out = _run(seiscomp, tmp_path / "local", "convert")
    assert [p[:2] for p in out["picks"]] == [["20240301.101500.00-SEQT-P-XX.ABC..HHZ", "P"],
                                             ["20240301.101501.00-SEQT-S-XX.ABC..HHZ", "S"]]
    assert out["picks"][1][2].startswith("2024-03-01T10:15:01")
    assert [a[1:] for a in out["amplitudes"]] == [["snr", 12.0, p[0]] for p in out["picks"]]
    # --test: converted, nothing sent, no connection made
    assert out["test_mode_messages"] == 0 and out["test_mode_sent"]["messages"] == 0


@pytest.mark.parametrize("version", ["0.11", "0.13", "0.14"])
def test_direct_objects_equal_our_scml_read_by_xmlarchive(seiscomp, tmp_path, version):
    """The notifier objects are built field by field (no temporary SCML file): SeisComP's own
    XMLArchive writes the same document for them as for our SCML of the same picks read back."""
    out = _run(seiscomp, tmp_path / "local", "direct", version)
    assert out["counts"] == [3, 2]
    assert out["comments"][0] == [["probability", "0.93"], ["remark", "note"]]
    assert out["comments"][1][1] == ["referencePickID", "20240301.101502.37-SEQT-P-XX.ABC.00.HHZ"]
    assert "<lowerUncertainty>0.1</lowerUncertainty>" in out["direct"]
    assert "<reference>2024-03-01T10:15:02.370001Z</reference>" in out["direct"]
    assert out["direct"] == out["via_scml"]
    assert out["duplicate"].startswith("pick 20240301.101502.37-SEQT-P-XX.ABC.00.HHZ: an object with this publicID")


def test_messages_go_to_the_configured_groups(seiscomp, tmp_path):
    out = _run(seiscomp, tmp_path / "local", "groups")
    assert out["messages"] == 2
    # one notifier per object: 2 picks and their probability comments, then 2 amplitudes
    assert out["sent"] == [["MLTEST", "NotifierMessage", 4], ["AMPL2", "NotifierMessage", 2]]
    assert "to PICK failed" in out["refused"]


def test_no_server_is_a_one_line_error(seiscomp, tmp_path):
    port = free_port()  # nothing listens there
    out = _run(seiscomp, tmp_path / "local", "connect", f"127.0.0.1:{port}")
    assert "connected" not in out
    assert out["error"].startswith(f"cannot connect to the messaging server scmp://127.0.0.1:{port}/production")
    assert "\n" not in out["error"]


def test_seqtrepick_connects_in_init_and_writes_nothing_to_stdout(seiscomp, tmp_path):
    """The command line up to the connection: -H reaches scmaster; run() is replaced (no model)."""
    from seqt_plugins.io.xml import write_event_parameters
    from seqt_plugins.picks import EventParameters, Pick, WaveformID
    from obspy import UTCDateTime

    ep = tmp_path / "in.xml"
    write_event_parameters(EventParameters(picks=[Pick("p1", UTCDateTime(2005, 7, 23, 14, 52), WaveformID("XX", "A"))]),
                           str(ep), format="scml", version="0.13")
    with Scmaster(seiscomp, tmp_path / "master") as master:
        out = _run(seiscomp, master.local, "repick-init", master.server, str(ep), _mseed())
        log = master.log_tail(40)
    assert out["rc"] == 0, out["stderr"]
    assert out["stdout"] == "" and out["connected"] is True and out["pick_group"] == "PICK"
    assert "Accepted new client" in log

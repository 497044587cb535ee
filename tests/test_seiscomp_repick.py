"""seqtrepick listening to origins in a real SeisComP system (as scdlpicker does).

scmaster on 127.0.0.1 (SQLite); seqtrepick in messaging mode with no input listens to PICK and
LOCATION. The picks are seqtpick's at high thresholds on 60 s of Hengill (so arrivals are
missing), the origin is SeisComP's own scautoloc's, located offline from those picks; both are
published as a picker and scautoloc would (tests/seiscomp_scripts/send_ep.py). seqtrepick must
re-pick the origin and send its re-picks (method S-EqT) with their snr amplitudes, which
scmaster stores. Nothing is mocked.

Not covered here: scautoloc taking the re-picks into its next origin (see the README).
"""

import sqlite3
import subprocess
import sys
import time


from conftest import require_shared
from seiscomp_host import SCRIPTS, Scmaster, run_checked, seiscomp  # noqa: F401 (fixture)
from seqt_plugins.io.xml import read_event_parameters
from seqt_plugins.modules.seqtpick import SeqtPick

BEGIN, END = "2018-12-30T03:00:20", "2018-12-30T03:01:20"


def test_seqtrepick_listens_to_origins_and_sends_repicks(seiscomp, tmp_path, monkeypatch):
    hengill = require_shared("data", "hengill")
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "pick-local"))
    picks_xml = tmp_path / "picks.xml"
    rc = SeqtPick(["--ep", "--playback", "-I", str(hengill / "mseed"), "--inventory-xml", str(hengill / "stations.xml"),
                   "--begin", BEGIN, "--end", END, "--picker.model=conservative", "--picker.detectionThreshold=0.5",
                   "--picker.pThreshold=0.7", "--picker.sThreshold=0.7", "-o", str(picks_xml), "-q"]).exec()
    assert rc == 0

    # SeisComP's scautoloc locates them, offline
    local = seiscomp.write_local_config(tmp_path / "sc-local", {"scautoloc": "\n".join([
        "autoloc.amplTypeSNR = snr", "autoloc.amplTypeAbs = snr", f"autoloc.grid = {tmp_path / 'grid.conf'}", ""])})
    (tmp_path / "grid.conf").write_text("64.05 -21.30 5.0 0.5 2.0 6\n")
    env = seiscomp.env(local)
    inv = tmp_path / "inv.xml"
    subprocess.run([seiscomp.binary("fdsnxml2inv"), str(hengill / "stations.xml"), str(inv)], env=env, check=True,
                   capture_output=True)
    located = tmp_path / "located.xml"
    with open(located, "w") as out:
        proc = subprocess.run([seiscomp.binary("scautoloc"), "--ep", str(picks_xml), "--inventory-db", str(inv)],
                              env=env, stdout=out, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ep = read_event_parameters(str(located))
    assert ep.origins, "scautoloc located nothing"
    located_picks = {a.pick_id for o in ep.origins for a in o.arrivals}

    with Scmaster(seiscomp, tmp_path / "system") as master:
        log = open(tmp_path / "seqtrepick.log", "w")
        listener = subprocess.Popen(
            [sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "-H", master.server, "-I", str(hengill / "mseed"),
             "--inventory-xml", str(hengill / "stations.xml"), "-v"],
            env=master.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while "listening to origins" not in (tmp_path / "seqtrepick.log").read_text():
                assert listener.poll() is None and time.monotonic() < deadline, (tmp_path / "seqtrepick.log").read_text()
                time.sleep(0.5)
            time.sleep(1)
            sent = run_checked(seiscomp.python([SCRIPTS / "send_ep.py", master.server, located], master.local,
                                               timeout=120), "send_ep.py")
            assert f"{len(ep.origins)} origins" in sent.stdout
            repicks = []
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and listener.poll() is None:
                time.sleep(2)
                with sqlite3.connect(master.db) as db:
                    repicks = db.execute("SELECT po.publicID, p.phaseHint_code FROM Pick p JOIN PublicObject po "
                                         "ON po._oid = p._oid WHERE p.methodID = 'S-EqT'").fetchall()
                text = (tmp_path / "seqtrepick.log").read_text()
                if text.count("sent ") >= len(ep.origins):
                    break
        finally:
            listener.terminate()
            listener.wait(30)
            log.close()
    text = (tmp_path / "seqtrepick.log").read_text()
    assert "arrival(s)" in text and "sent " in text, text[-3000:]
    assert repicks, text[-3000:]
    assert not {r[0] for r in repicks} & located_picks
    with sqlite3.connect(master.db) as db:
        amps = db.execute("SELECT a.pickID FROM Amplitude a WHERE a.type = 'snr'").fetchall()
    assert {r[0] for r in repicks} <= {a[0] for a in amps}

"""seqtrepick as a real SeisComP application listening to origins (as scdlpicker does).

Where ``seiscomp`` is importable and neither an input nor an offline option is given,
``seqtrepick`` is a ``seiscomp.client.Application`` (seqt_plugins/modules/repick_app.py). Here it
runs in SeisComP's environment (8.0-dev and 7.2.3) beside scmaster (127.0.0.1, SQLite), with the
inventory only in scmaster's database (imported with ``scdb``) and the records from SeisComP's
own ``file://`` RecordStream. The picks are seqtpick's at high thresholds on 60 s of Hengill (so arrivals are
missing), the origin is SeisComP's own scautoloc's, located offline from those picks; both are
published as a picker and scautoloc would (tests/seiscomp_scripts/send_ep.py). Nothing is mocked:

* an origin without arrivals (and none in the database) is a warning, and the module goes on;
* the located origins are re-picked: their re-picks (method S-EqT) and snr amplitudes reach
  scmaster's database, author SeisComP's ``seqtrepick@host``, and they are exactly those the
  argparse shell (``--ep FILE -o``) adds to each origin with its associated picks (what the
  module gets from the messages): one schema, one re-picking path;
* which shell runs, and the SeisComP shell's one-line errors (exit 255, 2 and 1).

scautoloc taking the re-picks into its next origin: tests/test_seiscomp_playback.py.
"""

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from obspy import Stream, UTCDateTime, read

from conftest import require_shared
from seiscomp_host import SCRIPTS, Scmaster, run_checked, seiscomp, seiscomp_any  # noqa: F401 (fixtures)
from seqt_plugins.io.xml import read_event_parameters, write_event_parameters
from seqt_plugins.modules.seqtpick import SeqtPick
from seqt_plugins.picks import EventParameters, Origin

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "2018-12-30T03:00:20", "2018-12-30T03:01:20"


@pytest.fixture(scope="module")
def located(seiscomp, tmp_path_factory):
    """(located.xml: seqtpick's picks and scautoloc's origins, inv.xml (SCML), one miniSEED file
    of the array from 03:00:00 to 03:03:00, stations.xml)."""
    hengill = require_shared("data", "hengill")
    work = tmp_path_factory.mktemp("repick-app")
    picks_xml = work / "picks.xml"
    import os

    saved = {k: os.environ.pop(k, None) for k in ("SEISCOMP_ROOT", "SEISCOMP_LOCAL_CONFIG")}
    os.environ["SEISCOMP_LOCAL_CONFIG"] = str(work / "pick-local")
    try:
        rc = SeqtPick(["--ep", "--playback", "-I", str(hengill / "mseed"), "--inventory-xml",
                       str(hengill / "stations.xml"), "--begin", BEGIN, "--end", END, "--picker.model=conservative",
                       "--picker.detectionThreshold=0.5", "--picker.pThreshold=0.7", "--picker.sThreshold=0.7",
                       "-o", str(picks_xml), "-q"]).exec()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
    assert rc == 0
    local = seiscomp.write_local_config(work / "sc-local", {"scautoloc": "\n".join([
        "autoloc.amplTypeSNR = snr", "autoloc.amplTypeAbs = snr", f"autoloc.grid = {work / 'grid.conf'}", ""])})
    (work / "grid.conf").write_text("64.05 -21.30 5.0 0.5 2.0 6\n")
    env = seiscomp.env(local)
    inv = work / "inv.xml"
    subprocess.run([seiscomp.binary("fdsnxml2inv"), str(hengill / "stations.xml"), str(inv)], env=env, check=True,
                   capture_output=True)
    out = work / "located.xml"
    with open(out, "w") as handle:
        proc = subprocess.run([seiscomp.binary("scautoloc"), "--ep", str(picks_xml), "--inventory-db", str(inv)],
                              env=env, stdout=handle, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    st = Stream()
    for f in sorted((hengill / "mseed").glob("*.mseed")):
        st += read(str(f))
    st.trim(UTCDateTime("2018-12-30T03:00:00"), UTCDateTime("2018-12-30T03:03:00"))
    for tr in st:
        tr.data = tr.data.astype("int32")
    mseed = work / "array.mseed"
    st.write(str(mseed), format="MSEED", reclen=512, encoding="STEIM2")
    return out, inv, mseed, hengill / "stations.xml"


def _env(master: Scmaster):
    env = master.env()
    env["PYTHONPATH"] = f"{REPO}:{env['PYTHONPATH']}"
    return env


def _wait_for(log: Path, text: str, proc: subprocess.Popen, seconds: float, count: int = 1) -> str:
    deadline = time.monotonic() + seconds
    while True:
        content = log.read_text()
        if content.count(text) >= count:
            return content
        assert proc.poll() is None and time.monotonic() < deadline, content[-3000:]
        time.sleep(0.5)


def _stop(proc: subprocess.Popen):
    """SIGTERM; the exit code, or None when it had to be killed after 60 s."""
    proc.terminate()
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def test_application_repicks_received_origins(seiscomp_any, located, tmp_path, monkeypatch):
    """In SeisComP 8.0-dev and 7.2.3 alike."""
    seiscomp = seiscomp_any
    located_xml, inv, mseed, stationxml = located
    ep = read_event_parameters(str(located_xml))
    assert ep.origins, "scautoloc located nothing"
    located_picks = {a.pick_id for o in ep.origins for a in o.arrivals}
    # an origin without arrivals, published first: a warning, and the module goes on
    empty = tmp_path / "empty.xml"
    o = ep.origins[0]
    write_event_parameters(EventParameters(origins=[Origin("Origin/no-arrivals", o.time, o.latitude, o.longitude,
                                                           o.depth)]), empty, format="scml", version="0.13")
    with Scmaster(seiscomp, tmp_path / "system") as master:
        run_checked(subprocess.run([seiscomp.binary("scdb"), "-i", str(inv), "-d", master.database],
                                   env=master.env(), capture_output=True, text=True), "scdb -i inv.xml")
        log_path = tmp_path / "seqtrepick.log"
        with open(log_path, "w") as log:
            app = subprocess.Popen([sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "-H", master.server,
                                    "-I", f"file://{mseed}", "--console", "1", "-v"], env=_env(master), cwd=REPO,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_for(log_path, "listening to origins", app, 180)
                for source in (empty, located_xml):
                    run_checked(seiscomp.python([SCRIPTS / "send_ep.py", master.server, source], master.local,
                                                timeout=120), "send_ep.py")
                _wait_for(log_path, " re-pick(s) to PICK", app, 300, count=len(ep.origins))
            finally:
                rc = _stop(app)
    # read once scmaster has stored everything and stopped (a reader beside it locks dbstore out)
    text = log_path.read_text()
    with sqlite3.connect(master.db) as db:
        repicks = db.execute("SELECT po.publicID, p.creationInfo_author FROM Pick p JOIN PublicObject po "
                             "ON po._oid = p._oid WHERE p.methodID = 'S-EqT' ORDER BY 1").fetchall()
        amps = {r[0] for r in db.execute("SELECT a.pickID FROM Amplitude a WHERE a.type = 'snr'")}
    # SIGTERM: a clean exit (SeisComP's own shutdown can get stuck joining its message thread;
    # seqt_plugins.host.shutdown releases it)
    assert rc == 0, text[-3000:]
    # SeisComP's application did the work: its messaging, database and inventory
    assert "Received database service parameters" in text and "Loading complete inventory" in text, text[-3000:]
    assert "origin Origin/no-arrivals has no arrivals: not re-picked" in text, text[-3000:]
    assert len([t for t in text.splitlines() if "Origin/no-arrivals" in t]) == 1, text[-3000:]
    for origin in ep.origins:
        assert f"origin {origin.public_id} at " in text, text[-3000:]
    assert repicks, text[-3000:]
    assert not {r[0] for r in repicks} & located_picks
    assert all(r[1].startswith("seqtrepick@") for r in repicks)
    assert {r[0] for r in repicks} <= amps
    from seqt_plugins.plotbase import plural

    summary = [t for t in text.splitlines() if "[notice] re-picked " in t]
    n_p = sum("-P-" in r[0] for r in repicks)  # re-pick IDs name the phase (...-SEQTR-P-NET.STA...)
    assert len(summary) == 1 and f"re-picked {n_p} P and {len(repicks) - n_p} S for {plural(len(ep.origins), 'origin')} " \
        "(1 skipped)" in summary[0], text[-3000:]

    # the argparse shell on the same event parameters and records adds the same re-picks
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "offline-local"))
    from apprun import run_app
    from seqt_plugins.modules.seqtrepick import SeqtRepick

    offline = set()
    for k, origin in enumerate(ep.origins):  # one origin at a time with its picks, as the module gets it
        ids = {a.pick_id for a in origin.arrivals}
        one, out = tmp_path / f"origin{k}.xml", tmp_path / f"offline{k}.xml"
        write_event_parameters(EventParameters(picks=[p for p in ep.picks if p.public_id in ids], origins=[origin]),
                               one, format="scml", version="0.13")
        rc, _, err = run_app(SeqtRepick, ["--ep", str(one), "-I", str(mseed), "--inventory-xml", str(stationxml),
                                          "-o", str(out)])
        assert rc == 0, err
        offline |= {p.public_id for p in read_event_parameters(out).picks if p.method_id == "S-EqT"}
    assert [r[0] for r in repicks] == sorted(offline)


def test_which_shell_and_its_errors(seiscomp, tmp_path):
    """The input and offline options select the argparse shell; inside SeisComP a bad key is
    exit 255, --inventory-xml exit 2 and a database without inventory exit 1, each one line,
    before anything is received."""
    script = ("import json, sys\nfrom seqt_plugins.modules.repick_app import wanted\n"
              "print(json.dumps([wanted(a) for a in json.loads(sys.argv[1])]))")
    cases = [["-I", "x.mseed"], ["--offline"], ["--ep", "e.xml"], ["--ep=-"], ["-o", "p.xml"], ["-op.xml"],
             ["--output=p.xml"], ["--dump-config"], ["--", "--ep"]]
    env = seiscomp.env(seiscomp.write_local_config(tmp_path / "local"))
    env["PYTHONPATH"] = f"{REPO}:{env['PYTHONPATH']}"
    out = subprocess.run([sys.executable, "-c", script, json.dumps(cases)], env=env, cwd=REPO, capture_output=True,
                         text=True, check=True, stdin=subprocess.DEVNULL)
    assert json.loads(out.stdout) == [True, False, False, False, False, False, False, False, True]
    # event parameters on stdin are the input, as screpick reads them
    with open(tmp_path / "in.xml", "w") as handle:
        handle.write("<seiscomp/>")
    with open(tmp_path / "in.xml") as stdin:
        out = subprocess.run([sys.executable, "-c", script, json.dumps([["-I", "x.mseed"]])], env=env, cwd=REPO,
                             capture_output=True, text=True, check=True, stdin=stdin)
    assert json.loads(out.stdout) == [False]
    from seqt_plugins.modules.repick_app import wanted

    assert wanted(["-I", "x.mseed"]) is False  # this process cannot import seiscomp: the argparse shell
    cases = [(["--repicker.zThresold=4"], 255, "unknown configuration key 'repicker.zThresold'"),
             (["--inventory-xml", "stations.xml"], 2, "--inventory-xml: inside SeisComP the inventory")]
    with Scmaster(seiscomp, tmp_path / "system") as master:  # its database holds no inventory
        cases.append((["-H", master.server, "--console", "1"], 1, "no inventory (-d, --inventory-db)"))
        for args, code, line in cases:
            proc = subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "-I", "file:///x.mseed",
                                   *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
                                  stdin=subprocess.DEVNULL)
            assert proc.returncode == code, proc.stderr[-2000:]
            assert len([t for t in proc.stderr.splitlines() if line in t]) == 1, proc.stderr[-2000:]


def test_a_quick_exit_never_hangs_in_seiscomps_shutdown(seiscomp_any, tmp_path):
    """SeisComP's Application.done() can wait forever for its message thread when the module
    exits just after connecting (about 1 run in 16 here, both builds): seqt_plugins.host.shutdown
    wakes it with SeisComP's own SIGTERM handling. 24 such exits, each must end with its exit
    code (1: no inventory) and its one error line."""
    env = seiscomp_any.env(seiscomp_any.write_local_config(tmp_path / "local"))
    env["PYTHONPATH"] = f"{REPO}:{env['PYTHONPATH']}"
    with Scmaster(seiscomp_any, tmp_path / "system") as master:  # its database holds no inventory
        for _ in range(24):
            proc = subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "-I", "file:///x.mseed",
                                   "-H", master.server, "--console", "1"], env=env, cwd=REPO, capture_output=True,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert proc.returncode == 1, proc.stderr[-2000:]
            assert len([t for t in proc.stderr.splitlines() if "no inventory (-d, --inventory-db)" in t]) == 1


def test_a_live_origin_waits_for_its_records_and_an_update_replaces_it(seiscomp, located, tmp_path):
    """Real time: the located event and its records shifted so that the origin time was 100 s
    ago; with ``--originDelay=110`` the origin waits about 10 s for its records. The locator's
    update (a new origin with the same picks, sent right after) replaces it while both wait:
    one re-picking, of the update, not before it was due, and its re-picks sent."""
    import dataclasses

    located_xml, inv, mseed, _ = located
    ep = read_event_parameters(str(located_xml))
    first = ep.origins[0]
    ids = {a.pick_id for a in first.arrivals}
    with Scmaster(seiscomp, tmp_path / "system") as master:
        run_checked(subprocess.run([seiscomp.binary("scdb"), "-i", str(inv), "-d", master.database],
                                   env=master.env(), capture_output=True, text=True), "scdb -i inv.xml")
        shifted_mseed, live = tmp_path / "live.mseed", tmp_path / "live.xml"
        log_path = tmp_path / "seqtrepick.log"
        with open(log_path, "w") as log:
            app = subprocess.Popen([sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "-H", master.server,
                                    "-I", f"file://{shifted_mseed}", "--console", "1", "-v",
                                    "--originDelay=110"], env=_env(master), cwd=REPO,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_for(log_path, "listening to origins", app, 180)
                # shift by whole seconds (whole samples at 100-250 Hz): the origin time 100 s ago
                shift = float(round(UTCDateTime() - 100 - first.time))
                st = read(str(mseed))
                for tr in st:
                    tr.stats.starttime += shift
                st.write(str(shifted_mseed), format="MSEED", reclen=512, encoding="STEIM2")
                picks = [dataclasses.replace(p, time=p.time + shift) for p in ep.picks if p.public_id in ids]
                origin = dataclasses.replace(first, time=first.time + shift)
                update = dataclasses.replace(origin, public_id="Origin/update")
                write_event_parameters(EventParameters(picks=picks, origins=[origin, update]), live,
                                       format="scml", version="0.13")
                due = origin.time.timestamp + 110
                run_checked(seiscomp.python([SCRIPTS / "send_ep.py", master.server, live], master.local,
                                            timeout=120), "send_ep.py")
                early = time.time()
                text = _wait_for(log_path, "replaced by Origin/update", app, 60)
                assert early < due - 2, "sending took too long to see the wait"
                assert "origin Origin/update at" not in text, text[-3000:]
                text = _wait_for(log_path, " re-pick(s) to PICK", app, 300)
                seen = time.time()
            finally:
                rc = _stop(app)
    text = log_path.read_text()
    assert rc == 0, text[-3000:]
    assert seen >= due - 1.0, (seen, due)
    assert text.count("origin Origin/update at ") == 1 and f"origin {first.public_id} at " not in text, text[-3000:]
    sent = [t for t in text.splitlines() if "origin Origin/update: sent " in t]
    assert len(sent) == 1 and not sent[0].split("sent ")[1].startswith("0 "), text[-3000:]
    assert "1 origin replaced by a later one" in text, text[-3000:]

"""seqtpick as a real SeisComP application (issue 14 items 2, 3 and 5), against the real build.

Where ``seiscomp`` is importable and no offline option is given, ``seqtpick`` is a
``seiscomp.client.StreamApplication`` (seqt_plugins/modules/stream_app.py). Here it runs in
SeisComP's environment beside scmaster (127.0.0.1, SQLite), reads a time-sorted miniSEED file
(``scmssort -E``) through SeisComP's own ``file://`` RecordStream, and sends its picks and snr
amplitudes as notifiers; scmaster's database is read back. Nothing is mocked:

* inventory from an ``--inventory-db`` file (made by ``fdsnxml2inv``), no bindings, from
  ``--begin`` on (real-time regions of one window step): the picks that arrive are exactly
  those of the offline shell's ``--ep --playback`` on the same file (the records go through the
  offline real-time path's picking core);
* inventory *and* bindings from the database scmaster announces (imported with ``scdb``, the
  bindings written by ``bindings2cfg``): a station disabled, one unbound, one with its own P
  threshold, a second sensor left out by ``detecStream`` and another by ``detecLocid`` behave
  as in the offline shell's playback, reprocessing and real time
  (tests/test_seiscomp_conventions.py), and the picks equal its playback with the same
  bindings (``--config-db``), here in ``--playback`` (regions of ten window steps);
* which shell runs, and the SeisComP shell's one-line errors (exit 255 and 2).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from obspy import Stream, UTCDateTime, read, read_inventory

from apprun import run_app
from seiscomp_host import Scmaster, run_checked, seiscomp  # noqa: F401 (fixture)
from seqt_plugins.io.xml import read_event_parameters
from seqt_plugins.modules.seqtpick import SeqtPick
from seqt_plugins.picks import Pick, WaveformID
from test_seiscomp_conventions import (BEGIN, END, STATIONS, _check_bound_picks, array, config_db,  # noqa: F401
                                       hengill, installed_root)

REPO = Path(__file__).resolve().parents[1]


def _sorted_mseed(sc, files, work: Path) -> Path:
    """The files' records in [BEGIN, END] as one time-sorted miniSEED file (SeisComP's scmssort)."""
    st = Stream()
    for f in files:
        st += read(str(f))
    st.trim(UTCDateTime(BEGIN), UTCDateTime(END))
    for tr in st:
        tr.data = tr.data.astype("int32")
    raw, out = work / "raw.mseed", work / "sorted.mseed"
    st.write(str(raw), format="MSEED", reclen=512, encoding="STEIM2")
    local = sc.write_local_config(work / "prep")
    subprocess.run([sc.binary("scmssort"), "-E", "-u", "-o", str(out), str(raw)], env=sc.env(local), check=True,
                   capture_output=True)
    return out


def _inventory(sc, stationxml: Path, work: Path) -> Path:
    local = sc.write_local_config(work / "prep")
    out = work / "inv.xml"
    subprocess.run([sc.binary("fdsnxml2inv"), str(stationxml), str(out)], env=sc.env(local), check=True,
                   capture_output=True)
    return out


def _seqtpick(master: Scmaster, *args) -> subprocess.CompletedProcess:
    """``seqtpick ARGS -H <scmaster>`` as a SeisComP application (the console script's main)."""
    env = master.env()
    env["PYTHONPATH"] = f"{REPO}:{env['PYTHONPATH']}"
    return subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtpick", *map(str, args), "-H",
                           master.server, "--console", "1", "-v", "--picker.model=conservative"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)


def _stored(db: Path):
    with sqlite3.connect(db) as con:
        picks = con.execute("SELECT po.publicID, p.phaseHint_code, p.methodID, p.creationInfo_author FROM Pick p "
                            "JOIN PublicObject po ON po._oid = p._oid ORDER BY 1").fetchall()
        amps = con.execute("SELECT a.pickID, a.type FROM Amplitude a ORDER BY 1").fetchall()
    return picks, amps


def _offline(tmp_path, monkeypatch, *args):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "offline-local"))
    out = tmp_path / "offline.xml"
    rc, _, err = run_app(SeqtPick, ["--ep", "--playback", *map(str, args), "-o", str(out),
                                    "--picker.model=conservative"])
    assert rc == 0, err
    return read_event_parameters(out).picks


def test_stream_application_sends_the_offline_picks(seiscomp, hengill, tmp_path, monkeypatch):
    files = [f for code in STATIONS for f in sorted((hengill / "mseed").glob(f"{code}.*.mseed"))]
    mseed = _sorted_mseed(seiscomp, files, tmp_path)
    inv = _inventory(seiscomp, hengill / "stations.xml", tmp_path)
    with Scmaster(seiscomp, tmp_path / "system") as master:
        # --begin instead of --playback: the real-time regions of one window step, as on a live feed
        proc = _seqtpick(master, "--begin", BEGIN, "-I", f"file://{mseed}", "--inventory-db", inv)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # SeisComP's application and RecordStream did the work, not the argparse shell
    assert "Starting record acquisition" in proc.stderr and "Finished acquisition" in proc.stderr
    assert "20 sensor(s), 60 stream(s) subscribed from the inventory" in proc.stderr
    picks, amps = _stored(master.db)
    offline = _offline(tmp_path, monkeypatch, "-I", mseed)
    assert len(offline) > 8
    assert [p[0] for p in picks] == sorted(p.public_id for p in offline)
    assert {p[1] for p in picks} == {"P", "S"} and {p[2] for p in picks} == {"EQTransformer"}
    assert all(p[3].startswith("seqtpick@") for p in picks)  # SeisComP's author
    assert amps == [(p[0], "snr") for p in picks]
    assert f"acquisition finished: {len(picks)} pick(s), {len(picks)} amplitude(s) sent" in proc.stderr


def test_a_longer_pass_step_sends_the_same_picks(seiscomp, hengill, tmp_path, monkeypatch):
    """passStep (fewer, fuller EqT calls for more latency) read through SeisComP's configuration:
    the picks stay those of the offline shell."""
    files = [f for code in STATIONS for f in sorted((hengill / "mseed").glob(f"{code}.*.mseed"))]
    mseed = _sorted_mseed(seiscomp, files, tmp_path)
    inv = _inventory(seiscomp, hengill / "stations.xml", tmp_path)
    with Scmaster(seiscomp, tmp_path / "system") as master:
        proc = _seqtpick(master, "--begin", BEGIN, "-I", f"file://{mseed}", "--inventory-db", inv,
                         "--passStep=90")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "passes every 90 s of each station's data (passStep)" in proc.stderr
    picks, _ = _stored(master.db)
    offline = _offline(tmp_path, monkeypatch, "-I", mseed)
    assert len(offline) > 8
    assert [p[0] for p in picks] == sorted(p.public_id for p in offline)


def _stationxml_with_copies(hengill: Path, out: Path) -> Path:
    """stations.xml of STATIONS plus the sensors of the ``array`` fixture's copies (GAN02 EH?,
    NESJV 10.HH?), so SeisComP's inventory offers them and only the bindings leave them out."""
    inv = read_inventory(str(hengill / "stations.xml"))
    keep = {tuple(code.split(".")) for code in STATIONS}
    for net in inv:
        net.stations = [sta for sta in net if (net.code, sta.code) in keep]
        for sta in net:
            extra = []
            for cha in sta.channels:
                copy = cha.copy()
                if sta.code == "GAN02":
                    copy.code = "EH" + cha.code[2]
                elif sta.code == "NESJV":
                    copy.location_code = "10"
                else:
                    continue
                extra.append(copy)
            sta.channels += extra
    inv.write(str(out), format="STATIONXML")
    return out


def test_stream_application_bindings_from_the_database(seiscomp, config_db, hengill, array, tmp_path,
                                                       monkeypatch):
    mseed = _sorted_mseed(seiscomp, sorted(array.glob("*.mseed")), tmp_path)
    stationxml = _stationxml_with_copies(hengill, tmp_path / "stations.xml")
    inv = _inventory(seiscomp, stationxml, tmp_path)
    cfg = config_db[1]
    with Scmaster(seiscomp, tmp_path / "system") as master:
        for source in (inv, cfg):  # as `seiscomp update-config` would: into the database
            run_checked(subprocess.run([seiscomp.binary("scdb"), "-i", str(source), "-d", master.database],
                                       env=master.env(), capture_output=True, text=True), f"scdb -i {source.name}")
        proc = _seqtpick(master, "--playback", "-I", f"file://{mseed}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Received database service parameters" in proc.stderr  # -H alone: the database scmaster names
    assert "(bindings: configuration module trunk)" in proc.stderr
    assert "2C.KAP01..HH?: not picked (detecEnable = false)" in proc.stderr
    assert "2C.BIT06..HH?: not picked (no seqtpick binding)" in proc.stderr
    assert "2C.GAN02..EH?: not picked (detecLocid.detecStream *.HH)" in proc.stderr
    assert "ON.NESJV.10.HH?: not picked (detecLocid.detecStream 00.HH)" in proc.stderr
    picks, _ = _stored(master.db)
    # the pick IDs name stream and phase (...-SEQT-P-2C.GAN02..HHZ): the bindings' check of the other modes
    _check_bound_picks([Pick(pid, UTCDateTime(0), WaveformID(*pid.split("-", 3)[3].split(".")), phase_hint=phase)
                        for pid, phase, _method, _author in picks])
    offline = _offline(tmp_path, monkeypatch, "-I", mseed, "--inventory-db", stationxml, "--config-db", cfg)
    assert [p[0] for p in picks] == sorted(p.public_id for p in offline)


def test_which_shell_and_its_errors(seiscomp, hengill, tmp_path):
    """The offline options select the argparse shell; inside SeisComP a bad key is exit 255 and
    --inventory-xml exit 2, each one line, before any record is read."""
    script = ("import json, sys\nfrom seqt_plugins.modules.stream_app import wanted\n"
              "print(json.dumps([wanted(a) for a in json.loads(sys.argv[1])]))")
    cases = [["-I", "x.mseed"], ["--offline"], ["--ep"], ["-o", "p.xml"], ["-op.xml"], ["--output=p.xml"],
             ["--stations", "XX.A"], ["--dump-config"], ["--", "--ep"]]
    env = seiscomp.env(seiscomp.write_local_config(tmp_path / "local"))
    env["PYTHONPATH"] = f"{REPO}:{env['PYTHONPATH']}"
    out = subprocess.run([sys.executable, "-c", script, json.dumps(cases)], env=env, cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout) == [True, False, False, False, False, False, False, False, True]
    from seqt_plugins.modules.stream_app import wanted

    assert wanted(["-I", "x.mseed"]) is False  # this process cannot import seiscomp: the argparse shell
    mseed = sorted((hengill / "mseed").glob("2C.GAN02.*"))
    for args, code, line in ((["--picker.pThresold=0.2"], 255, "unknown configuration key 'picker.pThresold'"),
                             (["--inventory-xml", "stations.xml"], 2, "--inventory-xml: inside SeisComP the inventory")):
        proc = subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtpick", "-I", str(mseed[0]), *args],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert proc.returncode == code, proc.stderr[-2000:]
        assert len([t for t in proc.stderr.splitlines() if line in t]) == 1, proc.stderr[-2000:]

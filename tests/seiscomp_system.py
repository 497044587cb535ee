"""One picker in a fresh SeisComP system on the Hengill playback (the drop-in proof).

:func:`prepare` makes the inputs once (inventory and bindings through SeisComP's own
fdsnxml2inv and bindings2cfg, the record time-shifted to end about now and sorted by
scmssort); :func:`run_system` starts scmaster (127.0.0.1, SQLite), scautoloc and scevent, plays
the record through one picker (``seqtpick`` or ``scautopick``, optionally with seqtrepick, a
SeisComP application, listening to the origins) and reads the picks, origins and events back
from the database.
``tests/test_seiscomp_playback.py`` runs it short; ``benchmarks/seiscomp_playback.py`` runs it
long and compares against the known events.

Settings shared by both runs: scautoloc with a nucleation grid point at Hengill
(64.05N 21.30W, radius 0.5 deg) and amplTypeSNR = amplTypeAbs = snr (the 8.0 build waits for
an absolute amplitude otherwise); scevent with minimumDefiningPhases 6 (as scautoloc's
minPhaseCount; its default 10 drops small local events); scautopick with a local filter
(RMHP(2)>>ITAPER(2)>>BW(4,2,20)>>STALTA(0.5,10)) and initTime 5 s, since its teleseismic
default (0.7-2 Hz, 60 s blind) is not a fair comparison on 5 minutes of local events.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from obspy import UTCDateTime, read_inventory

from seiscomp_host import SHARED, Scmaster, file_state

DAY = "2018-12-30T"
PICKER_TIMEOUT_S = 900  # 5 min of the array takes about a minute to pick on 2 cores

SCAUTOLOC_CFG = """\
autoloc.amplTypeSNR = snr
autoloc.amplTypeAbs = snr
autoloc.grid = {grid}
"""
GRID = "64.05 -21.30 5.0 0.5 2.0 6\n"
SCEVENT_CFG = "eventAssociation.minimumDefiningPhases = 6\n"  # scautoloc's minPhaseCount (default 10)
SCAUTOPICK_CFG = """\
filter = "RMHP(2)>>ITAPER(2)>>BW(4,2,20)>>STALTA(0.5,10)"
initTime = 5
"""


def prepare(sc, work: Path, seconds: float):
    """inv.xml, cfg.xml (bindings of every station for both pickers), sorted.mseed."""
    hengill = SHARED / "data" / "hengill"
    local = sc.write_local_config(work / "prep-local")
    env = sc.env(local)
    inv = work / "inv.xml"
    subprocess.run([sc.binary("fdsnxml2inv"), str(hengill / "stations.xml"), str(inv)], env=env, check=True,
                   capture_output=True)
    key = work / "key"
    for sub in ("global", "seqtpick", "scautopick"):
        (key / sub).mkdir(parents=True, exist_ok=True)
    stations = []
    for net in read_inventory(str(hengill / "stations.xml")):
        for sta in net:
            cha = sta.channels[0]
            stations.append(f"{net.code}.{sta.code}")
            name = f"{net.code}_{sta.code}"
            (key / f"station_{name}").write_text("global\nseqtpick\nscautopick\n")
            (key / "global" / f"station_{name}").write_text(
                f'detecStream = {cha.code[:2]}\ndetecLocid = "{cha.location_code}"\n')
            (key / "seqtpick" / f"station_{name}").write_text("")
            (key / "scautopick" / f"station_{name}").write_text("")
    cfg = work / "cfg.xml"
    proc = subprocess.run([sc.binary("bindings2cfg"), "--key-dir", str(key), "-o", str(cfg)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0 or not cfg.is_file():
        raise SystemExit(f"bindings2cfg failed: {proc.stderr[-500:]}")
    # A real-time system (scautoloc keeps picks for 6 h before *now*) needs recent data: the
    # record times are shifted by whole seconds so that the 5 minutes end about now.
    from obspy import Stream, read

    t0 = UTCDateTime(DAY + "03:00:00")
    shift = float(int(UTCDateTime() - 330 - t0))
    st = Stream()
    for f in sorted((hengill / "mseed").glob("*.mseed")):
        for tr in read(str(f)):
            tr.trim(t0, t0 + seconds)
            tr.stats.starttime += shift
            tr.data = tr.data.astype("int32")
            st += tr
    shifted = work / "shifted.mseed"
    st.write(str(shifted), format="MSEED", reclen=512, encoding="STEIM2")
    sorted_mseed = work / "sorted.mseed"
    subprocess.run([sc.binary("scmssort"), "-E", "-u", "-o", str(sorted_mseed), str(shifted)], env=env,
                   check=True, capture_output=True)
    (work / "grid.conf").write_text(GRID)
    return inv, cfg, sorted_mseed, stations, shift


def run_system(sc, work: Path, picker: str, inv: Path, cfg: Path, mseed: Path, model: str,
               repick: bool = False) -> dict:
    """One picker in a fresh SeisComP system; the counts read back from its database. With
    ``repick``, seqtrepick listens to the origins too and sends its re-picks to scautoloc."""
    run = work / (picker + ("+seqtrepick" if repick else ""))
    with Scmaster(sc, run) as master:
        local = master.local
        (local / "scautoloc.cfg").write_text(SCAUTOLOC_CFG.format(grid=work / "grid.conf"))
        (local / "scautopick.cfg").write_text(SCAUTOPICK_CFG)
        (local / "scevent.cfg").write_text(SCEVENT_CFG)
        env = master.env()
        common = ["-H", master.server, "--inventory-db", str(inv), "--console", "1"]
        daemons = []
        try:
            for name, extra in (("scautoloc", ["-v"]), ("scevent", ["-v"])):
                out = open(run / f"{name}.log", "w")
                daemons.append((subprocess.Popen([sc.binary(name), *common, *extra], env=env, stdout=out,
                                                 stderr=subprocess.STDOUT), out))
            if repick:
                out = open(run / "seqtrepick.log", "w")
                # seqtrepick as a SeisComP application: origins from LOCATION, picks from PICK (or
                # the database), records from SeisComP's RecordStream, the same inventory file
                daemons.append((subprocess.Popen(
                    [sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "-I", f"file://{mseed}", *common, "-v"],
                    env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT), out))
                deadline = time.monotonic() + 180
                while "listening to origins" not in (run / "seqtrepick.log").read_text():
                    if time.monotonic() > deadline or daemons[-1][0].poll() is not None:
                        raise SystemExit(f"seqtrepick did not start: see {run / 'seqtrepick.log'}")
                    time.sleep(0.5)
            time.sleep(2)  # connected and subscribed before the first pick
            if picker == "seqtpick":
                cmd = [sys.executable, "-m", "seqt_plugins.modules.seqtpick", "--playback", "-I",
                       f"file://{mseed}", *common, "--config-db", str(cfg), f"--picker.model={model}",
                       "--streams.perCall=20", "-v"]
            else:
                cmd = [sc.binary("scautopick"), "--playback", "-I", f"file://{mseed}", *common, "--config-db",
                       str(cfg), "-v"]
            t = time.perf_counter()
            with open(run / f"{picker}.log", "w") as out:
                try:  # a picker that never exits is a failure to report, not a hung run
                    rc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                        timeout=PICKER_TIMEOUT_S).returncode
                except subprocess.TimeoutExpired:
                    raise SystemExit(f"{picker} did not exit within {PICKER_TIMEOUT_S} s: see "
                                     f"{run / (picker + '.log')}") from None
            pick_s = time.perf_counter() - t
            if rc != 0:
                raise SystemExit(f"{picker} exited {rc}: see {run / (picker + '.log')}")
            # scautoloc/scevent work as the picks arrive; wait until the database stops changing
            # (and seqtrepick's log: it may still be re-picking an origin). The file is watched,
            # not queried: SeisComP's sqlite3 driver has no busy timeout, so a reader here would
            # make dbstore lose the objects it was writing.
            last, stable = None, 0
            for _ in range(240 if repick else 60):
                time.sleep(1)
                now = file_state(master.db) + ((run / "seqtrepick.log").stat().st_size if repick else 0,)
                stable = stable + 1 if now == last else 0
                last = now
                # seqtrepick logs nothing while it re-picks an origin (seconds on 2 cores): a
                # quiet database is not enough while an origin it took is not finished
                if stable >= (15 if repick else 4) and not (repick and _repicking(run / "seqtrepick.log")):
                    break
        finally:
            for proc, out in daemons:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                out.close()
    result = _results(master.db)
    result["pick_s"] = pick_s
    result["db"] = master.db
    return result


def _repicking(log: Path) -> set:
    """Origins seqtrepick has begun (its "origin X at T" line) and not finished (sent, not
    re-picked, or failed)."""
    begun, finished = set(), set()
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r"origin (\S+) at \S+: \d+ arrival", line)
        if m:
            begun.add(m.group(1))
            continue
        m = re.search(r"origin (\S+?):? .*(sent \d+ re-pick|not re-picked|re-picking failed)", line)
        if m:
            finished.add(m.group(1))
    return begun - finished


def _time(value: str, ms: int) -> UTCDateTime:
    return UTCDateTime(value.replace(" ", "T")) + ms / 1e6


def _results(db: Path) -> dict:
    with sqlite3.connect(db) as con:
        picks = con.execute("SELECT count(*) FROM Pick").fetchone()[0]
        phases = dict(con.execute("SELECT phaseHint_code, count(*) FROM Pick GROUP BY 1").fetchall())
        origins = con.execute("SELECT count(*) FROM Origin").fetchone()[0]
        events = []
        for ev_id, pref in con.execute("SELECT po.publicID, e.preferredOriginID FROM Event e "
                                       "JOIN PublicObject po ON po._oid = e._oid ORDER BY 1"):
            row = con.execute("SELECT o._oid, o.time_value, o.time_value_ms, o.latitude_value, o.longitude_value, "
                              "o.depth_value FROM Origin o JOIN PublicObject po ON po._oid = o._oid "
                              "WHERE po.publicID = ?", (pref,)).fetchone()
            if row is None:
                continue
            arrivals = con.execute("SELECT count(*) FROM Arrival WHERE _parent_oid = ?", (row[0],)).fetchone()[0]
            repicked = con.execute("SELECT count(*) FROM Arrival WHERE _parent_oid = ? AND pickID LIKE '%-SEQTR-%'",
                                   (row[0],)).fetchone()[0]
            # the event's first origin (by creation), to see what later origins added
            first = con.execute("SELECT min(o._oid) FROM Origin o JOIN PublicObject po ON po._oid = o._oid "
                                "JOIN OriginReference r ON r.originID = po.publicID JOIN PublicObject pe "
                                "ON pe._oid = r._parent_oid WHERE pe.publicID = ?", (ev_id,)).fetchone()[0]
            first_arrivals = con.execute("SELECT count(*) FROM Arrival WHERE _parent_oid = ?",
                                         (first,)).fetchone()[0] if first is not None else None
            events.append({"id": ev_id, "time": _time(row[1], row[2]), "lat": row[3], "lon": row[4],
                           "depth": row[5], "arrivals": arrivals, "repicked": repicked,
                           "first_arrivals": first_arrivals})
    events.sort(key=lambda e: e["time"])
    with sqlite3.connect(db) as con:
        repicks = con.execute("SELECT count(*) FROM Pick WHERE methodID = 'S-EqT'").fetchone()[0]
        used = con.execute("SELECT count(DISTINCT pickID) FROM Arrival WHERE pickID LIKE '%-SEQTR-%'").fetchone()[0]
    return {"picks": picks, "phases": phases, "origins": origins, "events": events, "repicks": repicks,
            "repicks_used": used}

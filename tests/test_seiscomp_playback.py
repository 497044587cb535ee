"""The drop-in proof, short: seqtpick and seqtrepick in a real SeisComP system beside scautopick.

tests/seiscomp_system.py (which benchmarks/seiscomp_playback.py runs longer) on the first 120 s
of the Hengill array: scmaster (127.0.0.1, SQLite), scautoloc and scevent, fed once by seqtpick
in messaging mode (with seqtrepick listening to the origins and sending re-picks back) and once
by scautopick.
Nothing is mocked: the SeisComP build of ../shared/seiscomp (unpacked once per session), our
modules installed into an overlay root with seqt-install-seiscomp, inventory and bindings
through --inventory-db/--config-db files made by SeisComP's own tools.
"""

import sqlite3
import sys
from pathlib import Path

import seiscomp_system as playback
from seiscomp_host import seiscomp  # noqa: F401 (fixture)


def test_scautoloc_locates_seqtpick_picks_beside_scautopick(seiscomp, tmp_path):
    import subprocess

    root = seiscomp.overlay(tmp_path / "seiscomp")
    subprocess.run([str(Path(sys.executable).parent / "seqt-install-seiscomp"), str(root.root)], check=True,
                   capture_output=True)
    inv, cfg, mseed, stations, shift = playback.prepare(root, tmp_path, 120.0)
    assert len(stations) == 20
    ours = playback.run_system(root, tmp_path, "seqtpick", inv, cfg, mseed, "both", repick=True)
    theirs = playback.run_system(root, tmp_path, "scautopick", inv, cfg, mseed, "both")
    print(f"seqtpick: {ours['picks']} picks, {ours['origins']} origins, {len(ours['events'])} events; "
          f"scautopick: {theirs['picks']} picks, {theirs['origins']} origins, {len(theirs['events'])} events")
    assert ours["picks"] > 50 and set(ours["phases"]) == {"P", "S"}
    assert theirs["picks"] > 0
    # scautoloc formed origins from our picks, and scevent made events of them
    assert ours["origins"] >= 1 and ours["events"]
    with sqlite3.connect(ours["db"]) as db:
        arrivals = [r[0] for r in db.execute("SELECT pickID FROM Arrival")]
        authors = {r[0] for r in db.execute("SELECT creationInfo_author FROM Origin")}
    assert arrivals and all("-SEQT-" in a or "-SEQTR-" in a for a in arrivals)
    assert all(a.startswith("scautoloc") for a in authors)
    # seqtrepick listened to those origins; scautoloc took its re-picks into a later origin of
    # the event, which has more arrivals than the first
    assert ours["repicks"] > 0 and ours["repicks_used"] > 0
    assert any(e["repicked"] > 0 and e["arrivals"] > e["first_arrivals"] for e in ours["events"])

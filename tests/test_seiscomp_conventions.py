"""SeisComP conventions of the modules (issue 14, item 4) and bindings in every mode (item 3).

* the standard options (database, records, daemon, lock file, logging) are accepted with their
  SeisComP meaning, ``--playback``/``leadTime`` as scautopick, ``snr`` a linear ratio;
* ``seqtrepick`` reads stdin and writes stdout (as screpick);
* one name per module; ``seqt-install-seiscomp`` links the modules into a real SeisComP root
  (an overlay of the unpacked build), whose ``seiscomp`` tool then lists them;
* bindings the SeisComP way: key files → the real ``bindings2cfg`` → ``--config-db cfg.xml``,
  and a station disabled (``detecEnable``), unbound, or with its own threshold behaves so in
  playback, archive reprocessing and real time (the SeedLink test double of tests/servers.py:
  no SeedLink server can be installed here).
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from apprun import run_app, stdout_text
from obspy import Stream, UTCDateTime, read

from conftest import require_shared
from seiscomp_host import seiscomp  # noqa: F401 (fixture)
from seqt_plugins.config.configdb import ConfigBindings
from seqt_plugins.config.layering import Bindings
from seqt_plugins.modules.schemas import SCHEMA_FACTORIES, module_schema
from seqt_plugins.io.xml import read_event_parameters, write_event_parameters
from seqt_plugins.modules.seqtpick import SeqtPick
from seqt_plugins.modules.seqtrepick import SeqtRepick
from seqt_plugins.picker import amplitudes_of
from seqt_plugins.picks import EventParameters, Pick, WaveformID
from servers import SeedLinkServer, build_sds, records_512


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(cls, argv):
    rc, out, err = run_app(cls, argv)
    return rc, stdout_text(out), err


# -- amplitudes ---------------------------------------------------------------------------------

def test_snr_amplitude_is_a_linear_ratio_and_no_peak_type():
    p = Pick("p", UTCDateTime(2024, 1, 1), WaveformID("XX", "A", "", "HHZ"), phase_hint="P", snr=20.0,
             amplitude=123.0)
    (a,) = amplitudes_of([p])
    assert (a.type, a.value, a.snr, a.unit) == ("snr", pytest.approx(10.0), pytest.approx(10.0), None)


# -- standard options ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [SeqtPick, SeqtRepick])
@pytest.mark.parametrize("argv, shown", [
    (["-d", "sqlite3:///x.db", "--db-disable"], "database = sqlite3:///x.db"),
    (["--config-module", "trunk"], None),
    (["--inventory-db", "inv.xml"], None),
    (["--record-file", "day.mseed"], "recordstream = file://"),
    (["--record-type", "mseed"], None),
    (["-s"], "logging.syslog = true"),
    (["--syslog"], "logging.syslog = true"),
    (["--print-component", "0"], None),
    (["-D"], None),
    (["-l", "seqt.lock"], None),
])
def test_standard_options_are_accepted(clean_env, cls, argv, shown):
    rc, out, err = _run(cls, argv + ["--dump-config"])
    assert rc == 0, err
    assert "agencyID = " in out  # --dump-config: the merged configuration, then exit
    if shown:
        assert shown in out


@pytest.mark.parametrize("argv, shown", [
    (["--amplitudes", "0"], "calculateAmplitudes = false"),
    (["--playback"], "playback = true"),
    (["--leadTime=300"], "leadTime = 300"),
])
def test_scautopick_mode_options(clean_env, argv, shown):
    rc, out, err = _run(SeqtPick, argv + ["--dump-config"])
    assert rc == 0, err
    assert shown in out


def test_scautopick_playback_command_line_is_accepted(clean_env):
    """scautopick --ep --playback -I f --inventory-db inv.xml --config-db cfg.xml: the same line
    with the module name swapped gets past the command line (here: to the missing inventory)."""
    cfg = clean_env / "cfg.xml"
    cfg.write_text('<seiscomp xmlns="http://geofon.gfz.de/ns/seiscomp-schema/0.14" version="0.14"><Config>'
                   '<module publicID="Config/trunk" name="trunk" enabled="true"/></Config></seiscomp>')
    rc, out, err = _run(SeqtPick, ["--ep", "--playback", "-I", "f.mseed", "--inventory-db", "inv.xml",
                                   "--config-db", str(cfg)])
    assert rc == 2 and "--inventory-xml inv.xml: file not found" in err and "unrecognized" not in err


def test_database_without_seiscomp_is_a_one_line_error(clean_env):
    rc, out, err = _run(SeqtPick, ["-d", "mysql://sysop@localhost/seiscomp", "--playback", "-I", "x.mseed"])
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "-d/--database" in lines[0] and "--inventory-db FILE" in lines[0]
    rc, out, err = _run(SeqtPick, ["--inventory-db", "mysql://sysop@localhost/seiscomp", "-I", "x.mseed"])
    assert rc == 2 and "not a database URL" in err


def test_record_type_other_than_mseed_exits_2(clean_env):
    rc, out, err = _run(SeqtPick, ["--record-type", "sac", "--playback", "-I", "x.sac"])
    assert rc == 2 and "--record-type sac: only mseed" in err


def test_lockfile_held_by_another_process_exits_5(clean_env):
    lock = clean_env / "seqtpick.pid"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        rc, out, err = _run(SeqtPick, ["-l", str(lock), "--dump-config"])
        assert rc == 5 and "already locked" in err
    rc, out, err = _run(SeqtPick, ["-l", str(lock), "--dump-config"])
    assert rc == 0 and lock.read_text().strip() == str(os.getpid())


def test_print_component(clean_env):
    rc, _, err = _run(SeqtPick, ["--record-type", "sac"])
    assert "[error/seqtpick]" in err
    rc, _, err = _run(SeqtPick, ["--record-type", "sac", "--print-component", "0"])
    assert "[error]" in err and "/seqtpick]" not in err


def test_playback_off_starts_at_now_minus_lead_time(clean_env):
    """Without --playback (and --begin), old recorded data are not picked, as in scautopick."""
    import obspy

    path = Path(obspy.__file__).parent / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed"
    rc, out, err = _run(SeqtPick, ["--ep", "-I", str(path), "-v"])
    assert rc == 0 and "no --playback: picking data from" in err and "recorded data need --playback" in err
    assert read_event_parameters(io.BytesIO(out.encode())).picks == []


# -- seqtrepick as screpick: stdin to stdout -------------------------------------------------------

def _mseed() -> str:
    import obspy

    return str(Path(obspy.__file__).parent / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed")


def test_seqtrepick_reads_stdin_and_writes_stdout(clean_env):
    src = clean_env / "in.xml"
    ep = EventParameters(picks=[Pick("p1", UTCDateTime(2005, 7, 23, 14, 52, 10), WaveformID("XX", "A", "", "HHZ"),
                                     phase_hint="P")])
    write_event_parameters(ep, str(src), format="scml", version="0.13")
    with open(src, "rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "--offline", "-I", _mseed()],
                              stdin=stdin, capture_output=True, cwd=clean_env)
    assert proc.returncode == 0, proc.stderr.decode()
    back = read_event_parameters(io.BytesIO(proc.stdout))
    assert [p.public_id for p in back.picks] == ["p1"]  # no origin: written back unchanged
    proc = subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtrepick", "--offline", "-I", _mseed()],
                          stdin=subprocess.DEVNULL, capture_output=True, cwd=clean_env)
    assert proc.returncode == 2 and b"no event parameters" in proc.stderr and proc.stdout == b""


# -- names and installation -------------------------------------------------------------------------

def test_one_name_per_module(clean_env):
    from seqt_plugins.modules.generate import SHIPPED_ROOT
    from seqt_plugins.modules.seqtcatalog import SeqtCatalog

    for name in SCHEMA_FACTORIES:
        assert module_schema(name).name == name
        assert (SHIPPED_ROOT / "descriptions" / f"{name}.xml").is_file()
        assert (SHIPPED_ROOT / "etc" / "defaults" / f"{name}.cfg").is_file()
    rc, out, _ = _run(SeqtCatalog, ["-h"])
    assert rc == 0 and out.startswith("usage: seqt-catalog")
    for folder in (SHIPPED_ROOT / "descriptions", SHIPPED_ROOT / "etc"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert "seqtcatalog" not in path.read_text(), path


@pytest.fixture(scope="module")
def installed_root(seiscomp, tmp_path_factory):
    """An overlay SEISCOMP_ROOT of the real build with seqtpick/seqtrepick installed."""
    root = seiscomp.overlay(tmp_path_factory.mktemp("sc") / "seiscomp")
    proc = subprocess.run([Path(sys.executable).parent / "seqt-install-seiscomp", str(root.root)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return root


def test_install_links_the_modules_and_seiscomp_lists_them(installed_root, tmp_path):
    root = installed_root.root
    for rel in ("bin/seqtpick", "bin/seqtrepick", "etc/descriptions/seqtpick.xml", "etc/defaults/seqtrepick.cfg",
                "etc/init/seqtpick.py", "etc/init/seqtrepick.py"):
        assert (root / rel).is_symlink() and (root / rel).resolve().is_file(), rel
    local = installed_root.write_local_config(tmp_path / "local")
    env = {k: v for k, v in installed_root.env(local).items() if k not in ("SEISCOMP_ROOT",)}
    proc = subprocess.run([str(root / "bin" / "seiscomp"), "--asroot", "list", "modules"], env=env,
                          capture_output=True, text=True)
    assert "seqtpick is disabled" in proc.stdout and "seqtrepick is disabled" in proc.stdout, proc.stderr
    proc = subprocess.run([str(root / "bin" / "seiscomp"), "--asroot", "exec", "seqtpick", "-V"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "seqt-plugins" in proc.stdout
    # a second install changes nothing; a foreign file in the way is refused
    again = subprocess.run([Path(sys.executable).parent / "seqt-install-seiscomp", str(root)], capture_output=True,
                           text=True)
    assert again.returncode == 0 and "up to date" in again.stderr
    other = tmp_path / "root2"
    (other / "bin").mkdir(parents=True)
    (other / "etc").mkdir()
    (other / "bin" / "seqtpick").write_text("#!/bin/sh\n")
    refused = subprocess.run([Path(sys.executable).parent / "seqt-install-seiscomp", str(other)],
                             capture_output=True, text=True)
    assert refused.returncode == 1 and "exists (--force replaces it)" in refused.stderr


# -- bindings the SeisComP way, in every mode ------------------------------------------------------

BEGIN, END = "2018-12-30T03:00:00", "2018-12-30T03:02:00"
STATIONS = ["2C.GAN02", "ON.NESJV", "2C.KAP01", "2C.BIT06"]


def _key_dir(path: Path) -> Path:
    """GAN02 bound (module values) on HH (not its EH copy), NESJV bound with its own P
    threshold (never reached) on 00.HH (not its 10.HH copy), KAP01 bound but disabled
    (detecEnable), BIT06 not bound at all."""
    (path / "seqtpick").mkdir(parents=True)
    (path / "global").mkdir()
    (path / "global" / "profile___HH").write_text('detecStream = HH\n')
    (path / "global" / "profile_00_HH").write_text('detecStream = HH\ndetecLocid = 00\n')
    (path / "station_2C_GAN02").write_text("global:__HH\nseqtpick\n")
    (path / "seqtpick" / "station_2C_GAN02").write_text("")
    (path / "station_ON_NESJV").write_text("global:00_HH\nseqtpick:deafP\n")
    (path / "seqtpick" / "profile_deafP").write_text("picker.pThreshold = 1.0\n")
    (path / "station_2C_KAP01").write_text("global:__HH\nseqtpick:off\n")
    (path / "seqtpick" / "profile_off").write_text("detecEnable = false\n")
    (path / "station_2C_BIT06").write_text("global:__HH\n")
    return path


@pytest.fixture(scope="module")
def config_db(installed_root, tmp_path_factory):
    """cfg.xml written by SeisComP's own bindings2cfg from the key files (our description installed)."""
    work = tmp_path_factory.mktemp("bindings")
    key = _key_dir(work / "key")
    local = installed_root.write_local_config(work / "local")
    out = work / "cfg.xml"
    proc = subprocess.run([str(installed_root.root / "bin" / "bindings2cfg"), "--key-dir", str(key), "-o", str(out)],
                          env=installed_root.env(local), capture_output=True, text=True)
    assert proc.returncode == 0 and out.is_file(), proc.stderr
    return key, out


def test_config_db_equals_the_key_files(config_db):
    key, cfg = config_db
    schema = module_schema("seqtpick")
    ours, theirs = Bindings(schema, key), ConfigBindings(schema, cfg)
    for net, sta in (s.split(".") for s in STATIONS):
        assert theirs.has_module_binding(net, sta) == ours.has_module_binding(net, sta)
        assert theirs.module_values(net, sta) == ours.module_values(net, sta)
        assert theirs.global_values(net, sta).get("detecStream") == ours.global_values(net, sta).get("detecStream")
    assert not theirs.has_module_binding("2C", "BIT06") and theirs.module_values("2C", "KAP01") == {"detecEnable": False}


def _check_bound_picks(picks):
    by_station = {}
    for p in picks:
        by_station.setdefault(f"{p.waveform_id.network}.{p.waveform_id.station}", set()).add(p.phase_hint)
    assert by_station.get("2C.GAN02") == {"P", "S"}  # bound: module thresholds
    assert by_station.get("ON.NESJV") == {"S"}  # its own P threshold (1.0) is never reached
    assert "2C.KAP01" not in by_station  # detecEnable = false
    assert "2C.BIT06" not in by_station  # no seqtpick binding
    assert all(p.waveform_id.channel.startswith("HH") for p in picks)  # detecStream: not GAN02's EH copy
    assert {p.waveform_id.location for p in picks if p.waveform_id.station == "NESJV"} == {"00"}  # detecLocid


@pytest.fixture(scope="module")
def array(hengill, tmp_path_factory):
    """The four stations' files, plus two sensors the bindings must leave out: GAN02's data as
    a second sensor EH? (detecStream HH) and NESJV's as location 10 (detecLocid 00)."""
    out = tmp_path_factory.mktemp("array")
    for code in STATIONS:
        for f in sorted((hengill / "mseed").glob(f"{code}.*.mseed")):
            shutil.copyfile(f, out / f.name)
            tr = read(str(f))[0]
            if code == "2C.GAN02":
                tr.stats.channel = "EH" + tr.stats.channel[2]
            elif code == "ON.NESJV":
                tr.stats.location = "10"
            else:
                continue
            tr.write(str(out / f"{tr.id}.mseed"), format="MSEED")
    return out


@pytest.fixture(scope="module")
def hengill():
    return require_shared("data", "hengill")


def test_bindings_in_playback(config_db, hengill, array, tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    out = tmp_path / "picks.xml"
    rc, _, err = _run(SeqtPick, ["--ep", "--playback", "-I", str(array), "--inventory-db",
                                 str(hengill / "stations.xml"), "--config-db", str(config_db[1]), "-o", str(out),
                                 "--begin", BEGIN, "--end", END, "--picker.model=conservative",
                                 "--streams.codes=" + ",".join(STATIONS), "-v"])
    assert rc == 0, err
    assert "2C.KAP01..HH?: not picked (detecEnable = false)" in err
    assert "2C.BIT06..HH?: not picked (no seqtpick binding)" in err
    assert "2C.GAN02..EH?: not picked (detecLocid.detecStream *.HH)" in err
    assert "ON.NESJV.10.HH?: not picked (detecLocid.detecStream 00.HH)" in err
    _check_bound_picks(read_event_parameters(out).picks)


def test_bindings_in_reprocessing(config_db, array, tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    sds = build_sds(array, tmp_path / "sds")
    out = tmp_path / "all.xml"
    rc, _, err = _run(SeqtPick, ["-I", f"sdsarchive://{sds}", "--stations", ",".join(STATIONS), "--begin", BEGIN,
                                 "--end", END, "--output-dir", str(tmp_path / "days"), "-o", str(out),
                                 "--config-db", str(config_db[1]), "--picker.model=conservative", "-v"])
    assert rc == 0, err
    _check_bound_picks(read_event_parameters(out).picks)


def test_bindings_in_real_time(config_db, array, tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    st = Stream()
    for f in sorted(array.glob("*.mseed")):
        st += read(str(f))
    st.trim(UTCDateTime(BEGIN), UTCDateTime(END))
    out = tmp_path / "rt.xml"
    with SeedLinkServer(rec for _t, _id, rec in records_512(st)) as server:
        rc, _, err = _run(SeqtPick, ["-I", f"slink://{server.address}?timeout=10&retries=1", "--stations",
                                     ",".join(STATIONS), "--begin", BEGIN, "--end", END, "--ep", "-o", str(out),
                                     "--config-db", str(config_db[1]), "--picker.model=conservative", "-v"])
    assert rc == 0, err
    _check_bound_picks(read_event_parameters(out).picks)

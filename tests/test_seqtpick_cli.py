"""seqtpick end to end: -h/-V, --ep output that validates, bindings, --plot, logging."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from apprun import run_app
from lxml import etree

from conftest import require_shared
from seqt_plugins.io.xml import read_event_parameters, validate
from seqt_plugins.modules.seqtpick import SeqtPick, main, select_sensors

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    return tmp_path


def _run(argv):
    return run_app(SeqtPick, argv)


def test_help_and_version_exit_0(clean_env, capsys):
    assert main(["-h"]) == 0
    text = capsys.readouterr().out
    for flag in ("--config-file", "--record-url", "--ep", "--offline", "--inventory-xml", "--begin",
                 "--plot", "--format", "--debug", "--verbosity"):
        assert flag in text
    assert main(["-V"]) == 0
    assert "seqtpick" in capsys.readouterr().out


def test_module_entry_point_runs_as_a_script(clean_env):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtpick", "--version"],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0 and "seqt-plugins" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "seqt_plugins.modules.seqtpick", "--bogus"],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 255 and proc.stdout == ""


def test_select_sensors_groups_components():
    available = [("2C", "BIT06", "", "HHE"), ("2C", "BIT06", "", "HHN"), ("2C", "BIT06", "", "HHZ"),
                 ("2C", "BIT06", "", "EHZ"), ("ON", "INNST", "00", "HHZ")]
    assert select_sensors(available, ["*"]) == [("2C", "BIT06", "", "EH"), ("2C", "BIT06", "", "HH"),
                                                ("ON", "INNST", "00", "HH")]
    assert select_sensors(available, ["2C.*.*.HHZ"]) == [("2C", "BIT06", "", "HH")]
    assert select_sensors(available, ["ON"]) == [("ON", "INNST", "00", "HH")]


@pytest.fixture(scope="module")
def hengill():
    return require_shared("data", "hengill")


def test_ep_output_validates_with_bindings_and_plots(hengill, clean_env):
    tmp = clean_env
    key = tmp / "key"
    (key / "seqtpick").mkdir(parents=True)
    (key / "station_2C_KAP01").write_text("seqtpick:deaf\n")
    (key / "seqtpick" / "profile_deaf").write_text("picker.pThreshold = 1.0\n")
    # with bindings, only bound stations are picked (as scautopick): BIT06 bound, module values
    (key / "station_2C_BIT06").write_text("seqtpick\n")
    (key / "seqtpick" / "station_2C_BIT06").write_text("")
    out_xml = tmp / "picks.xml"
    plots = tmp / "plots"
    rc, out, err = _run([
        "--ep", "--playback", "-o", str(out_xml), "-I", str(hengill / "mseed"),
        "--inventory-xml", str(hengill / "stations.xml"),
        "--streams.codes=2C.BIT06,2C.KAP01", "--bindings-dir", str(key),
        "--plot", str(plots), "--verbosity", "3", "--agencyID=XX",
    ])
    assert rc == 0, err
    assert out.getvalue() == "" and out.buffer.getvalue() == b""  # -o: nothing on stdout
    validate(out_xml)  # raises on an XSD violation
    root = etree.parse(str(out_xml)).getroot()
    assert root.get("version") == "0.13"
    ep = read_event_parameters(out_xml)
    stations = {(p.waveform_id.station, p.phase_hint) for p in ep.picks}
    assert ("BIT06", "P") in stations and ("BIT06", "S") in stations
    assert ("KAP01", "S") in stations
    assert ("KAP01", "P") not in stations  # the binding raised KAP01's P threshold to 1
    assert all(p.creation_info.agency_id == "XX" for p in ep.picks)
    assert all(p.creation_info.author.startswith("seqtpick@") for p in ep.picks)
    pngs = sorted(plots.glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert any(p.name.startswith("2C.BIT06..HH_") for p in pngs)
    lines = [ln for ln in err.splitlines() if "[info/seqtpick]" in ln]
    assert lines and all(ln[4] == "/" and ln[7] == "/" for ln in lines)
    # the options as configuration keys, sorted key=value (copyable to a command line)
    from seqt_plugins.picker.options import PickerOptions

    line, = [ln for ln in lines if "] picker options: " in ln]
    pairs = [kv.split("=", 1) for kv in line.split("picker options: ", 1)[1].split(" ")]
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys) and len(keys) == len(PickerOptions.__dataclass_fields__)
    assert all(k.startswith("picker.") for k in keys)
    assert float(dict(pairs)["picker.pThreshold"]) == PickerOptions().p_threshold


def test_ep_to_stdout_quakeml(hengill, clean_env):
    url = "file://" + str(hengill / "mseed" / "2C.BIT06..HH?__*.mseed")
    rc, out, err = _run(["--ep", "--playback", "-I", url, "--format", "quakeml", "-q"])
    assert rc == 0, err
    assert err == ""  # -q: no log output
    data = out.buffer.getvalue()
    validate(data, format="quakeml")
    assert len(read_event_parameters(io.BytesIO(data)).picks) > 0


def test_default_verbosity_is_one_summary_line(hengill, clean_env):
    """Without -v a successful run logs one line: what was picked, where, how long it took."""
    url = "file://" + str(hengill / "mseed" / "2C.BIT06..HH?__*.mseed")
    rc, out, err = _run(["--ep", "--playback", "-I", url, "--begin", "2018-12-30T03:01:00",
                         "--end", "2018-12-30T03:02:30"])
    assert rc == 0, err
    picks = read_event_parameters(io.BytesIO(out.buffer.getvalue())).picks
    n_p, n_s = (sum(p.phase_hint == phase for p in picks) for phase in "PS")
    assert n_p and n_s
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice/seqtpick\] "
                        rf"picked {n_p} P and {n_s} S on 1 sensor in \d+\.\d s", err.strip()), err


def test_short_options_mean_one_thing_in_all_tools(clean_env):
    """A short option (-f, -o, -v, ...) means the same long option in every tool that has it:
    -f is --formatted, as in SeisComP's scxmldump."""
    from seqt_plugins.modules import seqttrain, seqtxml
    from seqt_plugins.modules.seqtcatalog import SeqtCatalog
    from seqt_plugins.modules.seqtrepick import SeqtRepick

    parsers = [cls([]).build_parser() for cls in (SeqtPick, SeqtRepick, SeqtCatalog)]
    xml = seqtxml.build_parser()
    parsers += list(xml._subparsers._group_actions[0].choices.values()) + [seqttrain.build_parser()]
    meaning = {}
    for parser in parsers:
        for action in parser._actions:
            shorts = [o for o in action.option_strings if not o.startswith("--")]
            longs = [o for o in action.option_strings if o.startswith("--")] or shorts
            for short in shorts:
                meaning.setdefault(short, set()).add(longs[0])
    assert {short: longs for short, longs in meaning.items() if len(longs) > 1} == {}
    assert meaning["-f"] == {"--formatted"} and meaning["-v"] == {"-v"}


def test_sdsarchive_record_stream(hengill, clean_env):
    from obspy import read

    sds = clean_env / "sds"
    for path in sorted((hengill / "mseed").glob("2C.BIT06..HH?__*.mseed")):
        for tr in read(str(path)):
            s = tr.stats
            day = s.starttime
            target = (sds / str(day.year) / s.network / s.station / f"{s.channel}.D" /
                      f"{s.network}.{s.station}.{s.location}.{s.channel}.D.{day.year}.{day.julday:03d}")
            target.parent.mkdir(parents=True, exist_ok=True)
            tr.write(str(target), format="MSEED")
    rc, out, err = _run(["--ep", "--playback", "-I", f"sdsarchive://{sds}", "--scml-version", "0.12", "-f",
                         "--begin", "2018-12-30T03:01:00", "--end", "2018-12-30T03:02:30"])
    assert rc == 0, err
    data = out.buffer.getvalue()
    validate(data)
    assert b"seiscomp3-schema/0.12" in data and b"\n  <" in data  # -f: indented
    picks = read_event_parameters(io.BytesIO(data)).picks
    assert {p.waveform_id.station for p in picks} == {"BIT06"}
    assert {p.phase_hint for p in picks} == {"P", "S"}
    assert all("2018-12-30T03:01:00" <= str(p.time) < "2018-12-30T03:02:30" for p in picks)


def test_long_requests_are_read_in_pieces_with_the_same_picks(hengill, clean_env):
    """A record stream that knows its extents is read piece by piece (bounded memory); the
    picks equal those of one whole read, to the sample and the probability."""
    base = ["--ep", "--playback", "-I", str(hengill / "mseed"), "--streams.codes=2C.BIT06,2C.KAP01,ON.NESJV", "--debug"]
    rc, whole_out, whole_err = _run(base + ["--picker.chunkLength=0"])
    assert rc == 0, whole_err
    assert "pieces" not in whole_err
    rc, piece_out, piece_err = _run(base + ["--picker.chunkLength=90"])
    assert rc == 0, piece_err
    assert "3 sensors read in 4 pieces" in piece_err
    whole = read_event_parameters(io.BytesIO(whole_out.buffer.getvalue())).picks
    pieces = read_event_parameters(io.BytesIO(piece_out.buffer.getvalue())).picks
    assert len(whole) >= 6
    assert [(p.public_id, p.time, p.probability) for p in pieces] == [
        (p.public_id, p.time, p.probability) for p in whole]

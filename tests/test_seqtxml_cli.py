"""seqt-xml: convert between SCML and QuakeML, validate; errors are one line, nothing written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from seqt_plugins.io.xml import read_event_parameters, validate, write_event_parameters
from seqt_plugins.modules.seqtxml import main

from test_xml_roundtrip import assert_same, sample_event_parameters

REPO = Path(__file__).resolve().parents[1]
#: one log line in SeisComP's format: (level, message pattern)
LOG_LINE = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[%s/seqt-xml\] %s"


@pytest.fixture()
def scml_file(tmp_path):
    path = tmp_path / "in.xml"
    write_event_parameters(sample_event_parameters(), path, format="scml", version="0.12")
    return path


def test_convert_scml_to_quakeml_and_back(tmp_path, scml_file):
    qml = tmp_path / "out.qml"
    assert main(["convert", str(scml_file), str(qml), "--format", "quakeml"]) == 0
    validate(qml, "quakeml")
    back = tmp_path / "back.xml"
    assert main(["convert", str(qml), str(back), "--format", "scml"]) == 0
    validate(back, "scml", "0.13")
    root = etree.parse(str(back)).getroot()
    assert root.get("version") == "0.13"  # the default
    assert_same(sample_event_parameters(), read_event_parameters(back), ordered=False)


@pytest.mark.parametrize("version", ["0.11", "0.12", "0.13", "0.14"])
def test_convert_to_each_scml_version(tmp_path, scml_file, version):
    out = tmp_path / f"out-{version}.xml"
    assert main(["convert", str(scml_file), str(out), "--format", f"scml:{version}", "--validate"]) == 0
    assert etree.parse(str(out)).getroot().get("version") == version
    validate(out, "scml", version)
    assert_same(sample_event_parameters(), read_event_parameters(out), ordered=True)


def test_convert_compact(tmp_path, scml_file):
    out = tmp_path / "c.xml"
    assert main(["convert", str(scml_file), str(out), "--format", "scml", "--compact"]) == 0
    assert len(out.read_bytes().strip().splitlines()) == 2  # declaration + one line


def test_validate_command(scml_file, capsys):
    assert main(["validate", str(scml_file)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout carries XML only
    assert re.fullmatch(LOG_LINE % ("notice", re.escape(f"{scml_file}: valid scml 0.12") + r" in \d+\.\d s"),
                        captured.err.strip())


def test_validate_command_reports_schema_error(tmp_path, capsys):
    path = tmp_path / "bad.xml"
    text = (
        '<?xml version="1.0"?>\n<seiscomp xmlns="http://geofon.gfz-potsdam.de/ns/seiscomp3-schema/0.13" '
        'version="0.13"><EventParameters>\n<pick publicID="x"><waveformID networkCode="XX" stationCode="A"/>'
        "<time><value>2024-01-01T00:00:00Z</value></time></pick></EventParameters></seiscomp>\n"
    )
    path.write_text(text)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.fullmatch(LOG_LINE % ("error", re.escape(f"{path}:3:") + ".+"), err)


def test_stdin_to_stdout_via_console_entry(scml_file):
    """As installed: python -m …seqtxml, '-' for both ends."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "seqt_plugins.modules.seqtxml", "convert", "-", "-", "--format", "quakeml"],
        input=scml_file.read_bytes(), capture_output=True, env=env, cwd=str(REPO), check=True,
    )
    validate(proc.stdout, "quakeml")
    ep = sample_event_parameters()
    summary = (f"converted {len(ep.picks)} picks, {len(ep.origins)} origins, {len(ep.events)} events "
               r"to quakeml 1\.2 \(stdout\) in \d+\.\d s")
    assert re.fullmatch(LOG_LINE % ("notice", summary), proc.stderr.decode().strip())  # one line, no more
    quiet = subprocess.run(
        [sys.executable, "-m", "seqt_plugins.modules.seqtxml", "convert", "-", "-", "--format", "quakeml", "-q"],
        input=scml_file.read_bytes(), capture_output=True, env=env, cwd=str(REPO), check=True,
    )
    assert quiet.stderr == b"" and quiet.stdout == proc.stdout


def test_missing_input(tmp_path, capsys):
    out = tmp_path / "out.xml"
    assert main(["convert", str(tmp_path / "nope.xml"), str(out), "--format", "scml"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.xml" in err
    assert not out.exists()


def test_bad_format_spec_is_usage_error(tmp_path, scml_file, capsys):
    out = tmp_path / "out.xml"
    assert main(["convert", str(scml_file), str(out), "--format", "scml:0.9"]) == 255
    assert main(["convert", str(scml_file), str(out), "--format", "json"]) == 255
    assert main([]) == 255
    assert not out.exists()
    assert "unsupported SCML version" in capsys.readouterr().err


def test_help_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert "convert" in capsys.readouterr().out


def test_log_file_and_verbosity_options(tmp_path, scml_file, capsys):
    """The modules' verbosity options: --log-file gets the same lines, --verbosity 1 hides the summary."""
    log_file = tmp_path / "seqt-xml.log"
    assert main(["convert", str(scml_file), str(tmp_path / "a.xml"), "--format", "quakeml",
                 "--log-file", str(log_file), "--console", "0"]) == 0
    assert capsys.readouterr().err == ""
    assert re.fullmatch(LOG_LINE % ("notice", "converted .+"), log_file.read_text().strip())
    assert main(["convert", str(scml_file), str(tmp_path / "b.xml"), "--format", "quakeml", "--verbosity", "1"]) == 0
    assert capsys.readouterr().err == ""

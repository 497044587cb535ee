"""Bad and hostile XML input: one-line errors with file and line, nothing resolved, nothing written."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lxml import etree

from seqt_plugins.io.xml import (
    EventParametersWriter,
    XMLInputError,
    iter_picks,
    read_event_parameters,
    validate,
    write_event_parameters,
)
from seqt_plugins.io.xml.common import safe_parser
from seqt_plugins.modules.seqtxml import main as seqtxml_main
from seqt_plugins.picks.model import EventParameters

from test_xml_roundtrip import sample_picks

REPO = Path(__file__).resolve().parents[1]
NS13 = "http://geofon.gfz-potsdam.de/ns/seiscomp3-schema/0.13"

GOOD_PICK = (
    '<pick publicID="p1"><time><value>2024-03-01T10:15:02.37Z</value></time>'
    '<waveformID networkCode="XX" stationCode="ABC" locationCode="" channelCode="HHZ"/>'
    "<phaseHint>P</phaseHint></pick>"
)


def scml(body: str, ns: str = NS13, version: str = "0.13") -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<seiscomp xmlns="{ns}" version="{version}">\n<EventParameters>\n{body}\n</EventParameters>\n</seiscomp>\n'


def write(tmp_path: Path, text: str, name: str = "in.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_error(path: Path) -> XMLInputError:
    with pytest.raises(XMLInputError) as info:
        read_event_parameters(path)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{path}:{err.line}: ")
    assert isinstance(err, ValueError)
    return err


def test_good_file_reads(tmp_path):
    """Control for the tests below: the same skeleton with a good pick reads fine."""
    ep = read_event_parameters(write(tmp_path, scml(GOOD_PICK)))
    assert [p.public_id for p in ep.picks] == ["p1"]


def test_malformed_xml(tmp_path):
    path = write(tmp_path, scml(GOOD_PICK).replace("</phaseHint>", "</phaseHnt>"))
    err = read_error(path)
    assert err.line == 4
    with pytest.raises(XMLInputError):
        list(iter_picks(path))


def test_truncated_xml(tmp_path):
    text = scml(GOOD_PICK * 3)
    err = read_error(write(tmp_path, text[: len(text) // 2]))
    assert err.line is not None and err.line >= 1


def test_wrong_namespace(tmp_path):
    err = read_error(write(tmp_path, scml(GOOD_PICK, ns="http://example.org/not-seiscomp")))
    assert err.line == 2
    assert "namespace" in err.message


def test_missing_namespace_says_what_is_expected(tmp_path):
    """A hand-written <seiscomp> root without xmlns: the error says so and names a namespace
    to use; the schema validation says the same."""
    path = write(tmp_path, scml(GOOD_PICK).replace(f' xmlns="{NS13}"', ""))
    err = read_error(path)
    assert err.line == 2
    assert "without an SCML namespace" in err.message and f'xmlns="{NS13}"' in err.message
    with pytest.raises(ValueError, match="without an SCML namespace"):
        validate(path, "scml")


def test_wrong_quakeml_namespace(tmp_path):
    text = (
        '<?xml version="1.0"?>\n<q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.1" '
        'xmlns="http://quakeml.org/xmlns/bed/1.1"><eventParameters publicID="smi:a/b"/></q:quakeml>'
    )
    err = read_error(write(tmp_path, text))
    assert "QuakeML namespace" in err.message


def test_wrong_bed_namespace_inside_quakeml(tmp_path):
    text = (
        '<?xml version="1.0"?>\n<q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2" '
        'xmlns="http://quakeml.org/xmlns/bed/1.1">\n<eventParameters publicID="smi:a/b"/></q:quakeml>'
    )
    err = read_error(write(tmp_path, text))
    assert err.line == 3 and "namespace" in err.message


def test_wrong_version(tmp_path):
    err = read_error(write(tmp_path, scml(GOOD_PICK, version="0.15")))
    assert "version" in err.message and "0.15" in err.message


def test_unsupported_old_scml_version(tmp_path):
    ns10 = "http://geofon.gfz-potsdam.de/ns/seiscomp3-schema/0.10"
    err = read_error(write(tmp_path, scml(GOOD_PICK, ns=ns10, version="0.10")))
    assert "0.10" in err.message


def test_not_event_parameters_at_all(tmp_path):
    err = read_error(write(tmp_path, '<?xml version="1.0"?>\n<html><body/></html>'))
    assert "neither SCML" in err.message


def test_pick_without_time(tmp_path):
    body = GOOD_PICK.replace("<time><value>2024-03-01T10:15:02.37Z</value></time>", "")
    err = read_error(write(tmp_path, scml("\n" + body)))
    assert err.line == 5
    assert "p1" in err.message and "no time" in err.message


def test_pick_with_bad_time(tmp_path):
    err = read_error(write(tmp_path, scml(GOOD_PICK.replace("2024-03-01T10:15:02.37Z", "noon"))))
    assert "time" in err.message


def test_pick_without_waveform_id(tmp_path):
    body = GOOD_PICK.replace('<waveformID networkCode="XX" stationCode="ABC" locationCode="" channelCode="HHZ"/>', "")
    err = read_error(write(tmp_path, scml(body)))
    assert "p1" in err.message and "waveformID" in err.message
    with pytest.raises(XMLInputError):
        list(iter_picks(tmp_path / "in.xml"))


def test_quakeml_pick_without_waveform_id(tmp_path):
    text = (
        '<?xml version="1.0"?>\n<q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2" '
        'xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters publicID="smi:a/b">\n'
        '<event publicID="smi:a/e">\n<pick publicID="smi:a/p"><time><value>2024-03-01T00:00:00Z</value></time>'
        "</pick></event></eventParameters></q:quakeml>"
    )
    err = read_error(write(tmp_path, text))
    assert err.line == 4 and "smi:a/p" in err.message


def test_xxe_external_entity_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = GOOD_PICK.replace("<phaseHint>P</phaseHint>", "<phaseHint>&xxe;</phaseHint>")
    text = scml(body).replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE seiscomp [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n',
    )
    path = write(tmp_path, text)
    err = read_error(path)
    assert "DOCTYPE" in err.message
    assert "TOP-SECRET" not in str(err)
    # and the parser underneath never resolves it either, DOCTYPE check or not
    root = etree.parse(str(path), safe_parser()).getroot()
    assert "TOP-SECRET" not in etree.tostring(root).decode()
    phase = root.find(".//{*}phaseHint")
    assert phase.text is None and "TOP-SECRET" not in "".join(phase.itertext())


def test_xxe_network_entity_not_fetched(tmp_path):
    # no_network=True: an http entity would fail without a connection attempt; we refuse before that
    text = scml(GOOD_PICK).replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE seiscomp SYSTEM "http://127.0.0.1:9/evil.dtd">\n',
    )
    err = read_error(write(tmp_path, text))
    assert "DOCTYPE" in err.message


def test_billion_laughs_not_expanded(tmp_path):
    entities = ['<!ENTITY lol "lol">']
    entities.append('<!ENTITY lol1 "' + "&lol;" * 10 + '">')
    for i in range(2, 10):
        entities.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    text = scml(GOOD_PICK.replace("<phaseHint>P</phaseHint>", "<phaseHint>&lol9;</phaseHint>")).replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE seiscomp [' + "".join(entities) + "]>\n",
    )
    path = write(tmp_path, text)
    # refused by our own prolog check, whatever libxml2 version sits underneath (2.14 would stop it
    # first with its own "Maximum entity amplification factor exceeded")
    err = read_error(path)
    assert "DOCTYPE" in err.message
    with pytest.raises(XMLInputError, match="DOCTYPE"):
        validate(path)
    # underneath, the safe parser keeps the reference unexpanded or refuses (libxml2's amplification
    # limit); it never builds the 3 GB string
    try:
        root = etree.parse(str(path), safe_parser()).getroot()
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc) or "entity" in str(exc).lower()
    else:
        assert len(etree.tostring(root)) < 10_000


def test_atomic_write_keeps_old_file_when_writer_fails_midway(tmp_path):
    path = tmp_path / "picks.xml"
    write_event_parameters(EventParameters(picks=sample_picks(2)), path)
    old = path.read_bytes()
    picks = sample_picks(50)
    picks[30].time = None  # a bad object halfway through the stream
    with pytest.raises(ValueError, match="no time"):
        write_event_parameters(EventParameters(picks=picks), path)
    assert path.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["picks.xml"]  # no temporary file left behind


def test_atomic_write_keeps_old_file_on_exception_in_streaming_writer(tmp_path):
    path = tmp_path / "picks.xml"
    path.write_bytes(b"old content")
    with pytest.raises(RuntimeError):
        with EventParametersWriter(path, "quakeml") as w:
            for p in sample_picks(10):
                w.add_pick(p)
            raise RuntimeError("crash")
    assert path.read_bytes() == b"old content"
    assert sorted(os.listdir(tmp_path)) == ["picks.xml"]


def test_atomic_write_keeps_old_file_when_process_dies_midway(tmp_path):
    """A hard crash (os._exit, no cleanup) mid-write leaves the old file untouched."""
    path = tmp_path / "picks.xml"
    write_event_parameters(EventParameters(picks=sample_picks(2)), path)
    old = path.read_bytes()
    script = textwrap.dedent(
        """
        import os, sys
        from seqt_plugins.io.xml import EventParametersWriter
        from test_xml_roundtrip import sample_picks
        with EventParametersWriter(sys.argv[1], "scml") as w:
            for i in range(200):
                for p in sample_picks(20):
                    w.add_pick(p)
                if i == 100:
                    w._xf.flush()
                    os._exit(3)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    proc = subprocess.run([sys.executable, "-c", script, str(path)], env=env, cwd=str(REPO))
    assert proc.returncode == 3
    assert path.read_bytes() == old
    leftovers = [n for n in os.listdir(tmp_path) if n != "picks.xml"]
    assert all(n.endswith(".part") for n in leftovers)  # at most a stray temporary file
    assert read_event_parameters(path).picks == sample_picks(2)


def test_converter_exits_nonzero_and_writes_nothing(tmp_path, capsys):
    bad = write(tmp_path, scml(GOOD_PICK).replace("</pick>", ""))
    out = tmp_path / "out.xml"
    rc = seqtxml_main(["convert", str(bad), str(out), "--format", "quakeml"])
    assert rc != 0
    assert not out.exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"[error/seqt-xml] {bad}:" in err
    # an existing output stays as it was
    out.write_bytes(b"previous")
    assert seqtxml_main(["convert", str(bad), str(out), "--format", "scml"]) != 0
    assert out.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["in.xml", "out.xml"]


def test_reader_error_from_file_object_names_stream():
    with pytest.raises(XMLInputError) as info:
        read_event_parameters(io.BytesIO(b"<seiscomp><oops></seiscomp>"))
    assert str(info.value).startswith("<stream>:1: ")


@pytest.mark.parametrize("prolog", [
    '<?xml version="1.0"?>\n<!-- a comment <seiscomp> -->\n<?pi x?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n',
    '<?xml version="1.0"?>\n<!doctype x>\n',
])
def test_doctype_after_comments_refused_from_unseekable_stream(prolog):
    """The DOCTYPE check scans past comments and PIs, and works on a pipe (stdin) too."""
    body = scml(GOOD_PICK).split("\n", 1)[1]
    data = (prolog + body).encode()
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    with os.fdopen(r, "rb", buffering=0) as pipe:
        with pytest.raises(XMLInputError, match="DOCTYPE"):
            read_event_parameters(pipe)


def test_good_document_read_from_unseekable_stream():
    """The prolog check hands an unseekable stream on intact: the pick is read."""
    data = scml(GOOD_PICK).encode()
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    with os.fdopen(r, "rb", buffering=0) as pipe:
        ep = read_event_parameters(pipe)
    assert len(ep.picks) == 1 and ep.picks[0].phase_hint == "P"

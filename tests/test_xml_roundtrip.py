"""SCML 0.11-0.14 and QuakeML 1.2: schema validity and exact round trips through our I/O."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lxml import etree
from obspy import UTCDateTime

from seqt_plugins.io.xml import (
    EventParametersWriter,
    SCML_NAMESPACES,
    from_quakeml_id,
    iter_picks,
    read_event_parameters,
    to_quakeml_id,
    validate,
    write_event_parameters,
)
from seqt_plugins.io.xml.common import format_time, parse_time
from seqt_plugins.picks.model import (
    Amplitude,
    Arrival,
    Comment,
    CreationInfo,
    Event,
    EventParameters,
    Origin,
    Pick,
    WaveformID,
    make_pick_id,
)

REPO = Path(__file__).resolve().parents[1]
SCML_VERSIONS = ["0.11", "0.12", "0.13", "0.14"]
FORMATS = [("scml", v) for v in SCML_VERSIONS] + [("quakeml", None)]
FORMAT_IDS = [f"{f}-{v}" if v else f for f, v in FORMATS]


# --------------------------------------------------------------------------- sample data


def sample_picks(n: int = 6, t0: str = "2024-03-01T10:15:02.370001Z"):
    """Picks exercising every field: µs times, both uncertainty styles, comments, re-picks."""
    t0 = UTCDateTime(t0)
    ci = CreationInfo("XX", "seqtpick@host", UTCDateTime("2024-03-01T10:16:00.000123Z"))
    picks = []
    for i in range(n):
        wid = WaveformID("XX", f"ST{i:02d}", "" if i % 2 else "00", "HHZ" if i % 3 else "HHN")
        phase = "P" if i % 2 == 0 else "S"
        t = t0 + i * 1.234567
        p = Pick(
            public_id=make_pick_id(t, wid, phase),
            time=t,
            waveform_id=wid,
            phase_hint=phase,
            method_id="EQTransformer" if i % 3 else "S-EqT",
            filter_id="BW(4,1,45)" if i % 2 else None,
            evaluation_mode="automatic",
            evaluation_status="preliminary" if i % 2 else None,
            creation_info=ci,
            probability=round(0.5 + i / 37.0, 6),
            comments=[Comment("free text <&> ünïcode", "note")] if i == 1 else [],
        )
        if i % 3 == 2:
            p.time_lower_uncertainty, p.time_upper_uncertainty = 0.02, 0.125
        else:
            p.time_uncertainty = 0.05 + i * 1e-3
        if i == 4:
            p.reference_pick_id = picks[0].public_id
            p.method_id = "S-EqT"
        picks.append(p)
    return picks


def sample_event_parameters(arrival_ids: bool = False) -> EventParameters:
    picks = sample_picks()
    amps = []
    for p in picks[:4]:
        amps.append(Amplitude(p.public_id + ".snr", "snr", 12.4, pick_id=p.public_id, snr=12.4,
                              waveform_id=p.waveform_id, creation_info=p.creation_info))
    amps.append(Amplitude(picks[0].public_id + ".peak", "peak", 3.5e-7, pick_id=picks[0].public_id,
                          unit="m/s", waveform_id=picks[0].waveform_id))
    amps.append(Amplitude(picks[1].public_id + ".cnt", "peak", 1234.0, pick_id=picks[1].public_id, unit="counts"))
    origin = Origin(
        public_id="Origin/20240301101450.123456.7",
        time=UTCDateTime("2024-03-01T10:14:50.123456Z"),
        latitude=46.51234,
        longitude=8.4321,
        depth=12345.6,
        arrivals=[
            Arrival(p.public_id, p.phase_hint, public_id=f"Arrival/{k}" if arrival_ids else None,
                    distance=0.1 * (k + 1), azimuth=10.0 * k, time_residual=-0.05 + 0.01 * k,
                    time_weight=1.0 if k % 2 == 0 else 0.5)
            for k, p in enumerate(picks[:4])
        ],
        method_id="LOCSAT",
        evaluation_mode="automatic",
        evaluation_status="preliminary",
        creation_info=CreationInfo("XX", "scautoloc@host", UTCDateTime("2024-03-01T10:16:30Z")),
        comments=[Comment("located", "locator")],
    )
    origin2 = Origin("Origin/second", UTCDateTime("2024-03-01T10:14:51Z"), -12.5, 170.25, 0.1,
                     arrivals=[Arrival(picks[0].public_id, "P")])
    event = Event(
        public_id="Event/gfz2024abcd",
        preferred_origin_id=origin.public_id,
        origin_ids=[origin.public_id, origin2.public_id],
        type="earthquake",
        creation_info=CreationInfo("XX"),
        comments=[Comment("from host")],
    )
    return EventParameters(picks=picks, amplitudes=amps, origins=[origin, origin2], events=[event],
                           public_id="EventParameters")


# --------------------------------------------------------------------------- helpers


def by_id(objs):
    return {o.public_id: o for o in objs}


def assert_same(a: EventParameters, b: EventParameters, ordered: bool):
    if ordered:
        assert a.picks == b.picks
        assert a.amplitudes == b.amplitudes
        assert a.origins == b.origins
        assert a.events == b.events
    else:
        assert by_id(a.picks) == by_id(b.picks) and len(a.picks) == len(b.picks)
        assert by_id(a.amplitudes) == by_id(b.amplitudes) and len(a.amplitudes) == len(b.amplitudes)
        assert by_id(a.origins) == by_id(b.origins) and len(a.origins) == len(b.origins)
        assert a.events == b.events
    # UTCDateTime equality is to the precision; check the microseconds themselves
    for p, q in zip(sorted(a.picks, key=lambda x: x.public_id), sorted(b.picks, key=lambda x: x.public_id)):
        assert p.time.ns // 1000 == q.time.ns // 1000
        assert p.time.ns == q.time.ns
    assert a.public_id == b.public_id


def write_read(ep, tmp_path, fmt, version, name="ep.xml"):
    path = tmp_path / name
    write_event_parameters(ep, path, format=fmt, version=version)
    validate(path, fmt, version)
    return path, read_event_parameters(path)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("fmt,version", FORMATS, ids=FORMAT_IDS)
def test_event_file_validates_and_round_trips(tmp_path, fmt, version):
    ep = sample_event_parameters()
    path, back = write_read(ep, tmp_path, fmt, version)
    assert_same(ep, back, ordered=(fmt == "scml"))
    # the schema-less fields really travel as comments
    root = etree.parse(str(path)).getroot()
    ids = [c.get("id") or c.findtext("{*}id") for c in root.iter("{*}comment")]
    expected = "probability" if fmt == "scml" else to_quakeml_id("probability")
    assert expected in ids
    assert (to_quakeml_id("referencePickID") if fmt == "quakeml" else "referencePickID") in ids


@pytest.mark.parametrize("fmt,version", FORMATS, ids=FORMAT_IDS)
def test_picks_only_file_validates_and_round_trips(tmp_path, fmt, version):
    picks = sample_picks(8)
    amps = [Amplitude(p.public_id + ".snr", "snr", 8.0 + i, pick_id=p.public_id, snr=8.0 + i)
            for i, p in enumerate(picks)]
    ep = EventParameters(picks=picks, amplitudes=amps)
    path, back = write_read(ep, tmp_path, fmt, version)
    assert_same(ep, back, ordered=True)  # everything sits in one place: order is kept too
    assert back.events == [] and back.origins == []
    assert [p.public_id for p in iter_picks(path)] == [p.public_id for p in picks]


@pytest.mark.parametrize("version", SCML_VERSIONS)
def test_scml_root_namespace_version_and_child_order(tmp_path, version):
    ep = sample_event_parameters()
    path = tmp_path / "x.xml"
    write_event_parameters(ep, path, format="scml", version=version)
    root = etree.parse(str(path)).getroot()
    assert root.tag == "{%s}seiscomp" % SCML_NAMESPACES[version]
    assert root.get("version") == version
    pick = root.find("{*}EventParameters/{*}pick[@publicID='%s']" % ep.picks[1].public_id)
    names = [etree.QName(c).localname for c in pick]
    order = ["time", "waveformID", "filterID", "methodID", "phaseHint", "evaluationMode",
             "evaluationStatus", "creationInfo", "comment"]
    assert names == sorted(names, key=order.index)
    assert names[:2] == ["time", "waveformID"] and names[-1] == "comment"
    # SCML depth is km, the model's metres
    depth = root.find("{*}EventParameters/{*}origin/{*}depth/{*}value").text
    assert depth == "12.3456"


def test_default_scml_version_is_0_13(tmp_path):
    path = tmp_path / "d.xml"
    write_event_parameters(EventParameters(picks=sample_picks(1)), path)
    root = etree.parse(str(path)).getroot()
    assert root.get("version") == "0.13"
    assert root.tag == "{http://geofon.gfz-potsdam.de/ns/seiscomp3-schema/0.13}seiscomp"


@pytest.mark.parametrize("fmt,version", FORMATS, ids=FORMAT_IDS)
def test_round_trip_is_a_fixed_point(tmp_path, fmt, version):
    """write → read → write gives the same bytes."""
    ep = sample_event_parameters()
    first = io.BytesIO()
    write_event_parameters(ep, first, format=fmt, version=version)
    back = read_event_parameters(io.BytesIO(first.getvalue()))
    second = io.BytesIO()
    write_event_parameters(back, second, format=fmt, version=version)
    assert first.getvalue() == second.getvalue()


def test_quakeml_arrival_ids_and_awkward_ids_round_trip(tmp_path):
    ep = sample_event_parameters(arrival_ids=True)
    awkward = ["has space:colon@at", "smi:local/seqt/looks-like-ours", "smi:other.org/kept/as~is",
               "quakeml:agency.org/pick/1", "tilde~and%percent", "ünï/côdé"]
    base = ep.picks[-1]
    for k, pid in enumerate(awkward):
        p = Pick(pid, base.time + k, base.waveform_id, "P", method_id="method with space")
        ep.picks.append(p)
    path, back = write_read(ep, tmp_path, "quakeml", None)
    assert_same(ep, back, ordered=False)
    text = path.read_text(encoding="utf-8")
    assert 'publicID="smi:other.org/kept/as~is"' in text  # foreign QuakeML IDs are untouched
    assert 'publicID="quakeml:agency.org/pick/1"' in text
    for pid in awkward:
        assert from_quakeml_id(to_quakeml_id(pid)) == pid


@pytest.mark.parametrize("fmt", ["scml", "quakeml"])
def test_streaming_writer_mixed_calls(tmp_path, fmt):
    ep = sample_event_parameters()
    loose = sample_picks(3, t0="2024-03-02T00:00:00Z")
    path = tmp_path / "stream.xml"
    with EventParametersWriter(path, format=fmt) as w:
        w.add_pick(loose[0])
        w.add_event(ep.events[0], origins=ep.origins, picks=ep.picks, amplitudes=ep.amplitudes)
        w.add_pick(loose[1])
        w.add_pick(loose[2])
        w.add_amplitude(Amplitude("a1", "snr", 3.0, pick_id=loose[2].public_id, snr=3.0))
    assert w.counts["pick"] == len(ep.picks) + 3
    validate(path, fmt, "0.13" if fmt == "scml" else None)
    back = read_event_parameters(path)
    assert by_id(back.picks) == by_id(ep.picks + loose)
    assert back.events == ep.events
    assert by_id(back.origins) == by_id(ep.origins)
    assert len(back.amplitudes) == len(ep.amplitudes) + 1


@pytest.mark.parametrize("fmt", ["scml", "quakeml"])
def test_write_to_file_object_streams(fmt):
    ep = EventParameters(picks=sample_picks(3))
    buf = io.BytesIO()
    write_event_parameters(ep, buf, format=fmt, pretty=False)
    data = buf.getvalue()
    assert b"\n" not in data.split(b"?>", 1)[1].strip()  # compact: no indentation
    validate(data, fmt, "0.13" if fmt == "scml" else None)
    assert read_event_parameters(io.BytesIO(data)).picks == ep.picks


@pytest.mark.parametrize("text", [
    "2024-03-01T10:15:02.370001Z", "1999-12-31T23:59:59Z", "2024-02-29T00:00:00.000001Z",
    "1969-07-20T20:17:40.5Z", "2038-01-19T03:14:08.999999Z",
])
def test_time_text_round_trip(text):
    assert format_time(parse_time(text)) == text


def test_time_parse_variants():
    assert parse_time("2024-03-01T10:15:02") == UTCDateTime("2024-03-01T10:15:02Z")
    assert parse_time("2024-03-01T12:15:02.5+02:00") == UTCDateTime("2024-03-01T10:15:02.5Z")
    assert parse_time("2024-03-01T10:15:02.123456789Z").ns == UTCDateTime("2024-03-01T10:15:02Z").ns + 123456789
    for bad in ("2024-13-01T00:00:00Z", "2024-03-01 10:15:02", "yesterday", "2024-03-01T25:00:00Z"):
        with pytest.raises(ValueError):
            parse_time(bad)


@pytest.mark.parametrize("depth", [0.0, 0.1, 1e-7, 12345.6, 700000.0, 33.333333333333336, -1500.25])
def test_scml_depth_km_conversion_is_exact(depth):
    from seqt_plugins.io.xml.scml import km_to_metres, metres_to_km

    assert km_to_metres(metres_to_km(depth)) == depth


def test_streaming_memory_is_bounded(tmp_path):
    """Writing and reading 50k picks grows peak RSS far less than the file (or a tree) would."""
    script = textwrap.dedent(
        """
        import resource, sys
        from obspy import UTCDateTime
        from seqt_plugins.io.xml import EventParametersWriter, iter_picks, read_event_parameters
        from seqt_plugins.picks.model import Pick, WaveformID, CreationInfo
        import seqt_plugins.io.xml.reader  # imports done before the baseline
        path, n = sys.argv[1], int(sys.argv[2])
        rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        t0 = UTCDateTime(2024, 1, 1)
        wid = WaveformID("XX", "ABC", "", "HHZ")
        ci = CreationInfo("XX", "seqtpick@host")
        def picks():
            for i in range(n):
                yield Pick(f"p{i}", t0 + i * 0.01, wid, "P", 0.05, method_id="EQTransformer",
                           creation_info=ci, probability=0.9)
        # warm up (first-use allocations), then measure
        with EventParametersWriter(path, "scml") as w:
            for p in picks():
                w.add_pick(p)
                break
        for _ in iter_picks(path):
            pass
        base = rss()
        with EventParametersWriter(path, "scml") as w:
            for p in picks():
                w.add_pick(p)
        after_write = rss()
        count = sum(1 for _ in iter_picks(path))
        after_read = rss()
        print(count, base, after_write, after_read)
        """
    )
    path = tmp_path / "big.xml"
    n = 50_000
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script, str(path), str(n)], env=env, cwd=str(REPO),
                         capture_output=True, text=True, check=True).stdout.split()
    count, base, after_write, after_read = int(out[0]), *map(float, out[1:])
    size_mb = path.stat().st_size / 2**20
    assert count == n
    assert size_mb > 20  # the file is big ...
    # ... but neither writing nor reading holds it: an lxml tree of it would take several times its size
    assert after_write - base < 25, (base, after_write, size_mb)
    assert after_read - base < 25, (base, after_read, size_mb)


# --------------------------------------------------------------------------- fast text paths


def _odd_picks():
    """Picks whose strings need escaping, and ones the text renderer leaves to lxml."""
    base = sample_picks(1)[0]
    out = []
    specials = ['a&b<c>d"e\'f', "ünï €", "tab\there", "line\nbreak", "cr\rhere", "del\x7fchar", "nel\x85"]
    for k, s in enumerate(specials):
        wid = WaveformID("X&", f"S<{k}>", '"0"', "HH Z")
        out.append(Pick(f"{s}/{k}", base.time + k * 0.123457, wid, phase_hint=s, method_id=s, filter_id=s,
                        evaluation_status="preliminary", time_uncertainty=0.05,
                        creation_info=CreationInfo(s, s, UTCDateTime(2024, 3, 1) + k),
                        probability=0.25, reference_pick_id=s, comments=[Comment(s, s), Comment(s)]))
    # empty strings, a bare creationInfo, no optional fields at all, non-finite numbers
    out.append(Pick("empty", base.time, WaveformID("XX", "ABC"), phase_hint="", method_id="",
                    creation_info=CreationInfo(), comments=[Comment("", "")]))
    out.append(Pick("bare", base.time, WaveformID("XX", "ABC"), evaluation_mode=None))
    out.append(Pick("nonfinite", base.time, WaveformID("XX", "ABC"), time_lower_uncertainty=float("inf"),
                    time_upper_uncertainty=float("nan"), probability=float("-inf")))
    return out


def _odd_amplitudes():
    wid = WaveformID("X&", "S<1>", "", "HHZ")
    ci = CreationInfo("a&b", None, UTCDateTime(2024, 3, 1, 0, 0, 0, 500000))
    return [
        Amplitude("amp&1", "snr", 3.5, pick_id="p<1>", snr=3.5, unit="counts", waveform_id=wid, creation_info=ci),
        Amplitude("amp2", "peak", 1e-9, unit="m/s"),
        Amplitude("amp3", "peak\tx", None, unit="weird\nunit"),
        Amplitude("amp4", "", 1.0),
    ]


@pytest.mark.parametrize("fmt", ["scml", "quakeml"])
@pytest.mark.parametrize("pretty", [True, False])
def test_text_renderer_matches_lxml_builders(fmt, pretty):
    """The fast text path writes exactly what the lxml builders serialise to (or defers to them)."""
    from seqt_plugins.io.xml import quakeml as qml_builders
    from seqt_plugins.io.xml import scml as scml_builders
    from seqt_plugins.io.xml.text import Renderer

    builders = scml_builders if fmt == "scml" else qml_builders
    render = Renderer(fmt, pretty)
    fast = 0
    for p in sample_picks(12) + _odd_picks():
        expected = etree.tostring(builders.pick(p), encoding="unicode", pretty_print=pretty)
        text = render.pick(p)
        if text is not None:
            fast += 1
            assert text == expected
        # and the writer's output for it is the builder's either way
        buf = io.BytesIO()
        with EventParametersWriter(buf, fmt, pretty=pretty) as w:
            w.add_pick(p)
        assert expected.encode("utf-8") in buf.getvalue()
    assert fast >= 12 + 3  # the plain picks and the ones needing only & < > " escaping
    for a in _odd_amplitudes():
        expected = etree.tostring(builders.amplitude(a), encoding="unicode", pretty_print=pretty)
        text = render.amplitude(a)
        assert text is None or text == expected


@pytest.mark.parametrize("fmt", ["scml", "quakeml"])
def test_special_characters_round_trip_and_validate(tmp_path, fmt):
    """Values that need escaping (& < > " ' and non-ASCII) validate and come back exactly."""
    odd = _odd_picks()
    picks = odd[:2] + [odd[-2]]  # escaping only, and a pick with no optional fields
    nonfinite = odd[-1]
    amps = _odd_amplitudes()[:2]
    ep = EventParameters(picks=picks + [nonfinite], amplitudes=amps)
    path = tmp_path / "odd.xml"
    write_event_parameters(ep, path, format=fmt)
    validate(path, fmt, "0.13" if fmt == "scml" else None)
    text = path.read_text(encoding="utf-8")
    assert "a&amp;b&lt;c&gt;d" in text and "ünï €" in text
    back = read_event_parameters(path)
    assert back.picks[:-1] == picks
    assert back.amplitudes == amps
    q = back.picks[-1]
    assert q.time_lower_uncertainty == float("inf") and q.time_upper_uncertainty != q.time_upper_uncertainty
    assert q.probability == float("-inf")
    again = tmp_path / "again.xml"
    write_event_parameters(back, again, format=fmt)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("text,ns", [
    ("2024-03-01T10:15:02Z", None),
    ("2024-03-01T10:15:02.1Z", None),
    ("2024-03-01T10:15:02.000001", None),
    (" 2024-03-01T10:15:02.370001Z\n", "2024-03-01T10:15:02.370001Z"),
    ("2024-03-01T12:15:02.370001+02:00", "2024-03-01T10:15:02.370001Z"),
    ("2024-03-01T00:15:02.5-01:30", "2024-03-01T01:45:02.5Z"),
    ("2024-03-01T10:15:02.123456789Z", "2024-03-01T10:15:02Z"),  # ns kept: + 123456789 below
    ("2024-03-01T10:15:02.1234567891Z", "2024-03-01T10:15:02Z"),
    ("1900-01-01T00:00:00Z", None),
    ("1969-12-31T23:59:59.999999Z", None),
    ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"),
])
def test_time_parse_formats(text, ns):
    got = parse_time(text)
    assert isinstance(got, UTCDateTime)
    extra = 123456789 if ".123456789" in text else 0
    assert got.ns == UTCDateTime(ns or text.strip()).ns + extra
    assert got.precision == UTCDateTime(0).precision
    assert got == UTCDateTime(got.ns * 1e-9)


def test_format_time_cache_does_not_leak_between_values():
    """Consecutive calls in the same second, another second, another day."""
    ts = ["2024-03-01T10:15:02.5Z", "2024-03-01T10:15:02.25Z", "2024-03-01T10:15:02Z", "2024-03-01T10:15:03.000001Z",
          "2024-03-02T10:15:03.000001Z", "1969-12-31T23:59:59.999999Z", "2024-03-01T10:15:02.999999Z"]
    for t in ts:
        assert format_time(UTCDateTime(t)) == t
    assert format_time(UTCDateTime("2024-03-01T10:15:02.9999996Z")) == "2024-03-01T10:15:03Z"


@pytest.mark.parametrize("fmt", ["scml:0.11", "scml:0.13", "scml:0.14", "quakeml"])
def test_empty_network_code_round_trips(tmp_path, fmt):
    """Recordings of old or temporary stations often carry no network code; it is legal XML."""
    from obspy import UTCDateTime

    from seqt_plugins.io.xml import read_event_parameters, validate, write_event_parameters
    from seqt_plugins.picks import EventParameters, Pick, WaveformID

    pick = Pick("20050723.145213.23-SEQT-P-.CER.00.BHZ", UTCDateTime("2005-07-23T14:52:13.23"),
                WaveformID("", "CER", "00", "BHZ"), phase_hint="P", probability=0.35)
    path = tmp_path / "cer.xml"
    kind, _, version = fmt.partition(":")
    write_event_parameters(EventParameters(picks=[pick]), path, format=kind, version=version or None)
    validate(path, kind, version or None)
    (back,) = read_event_parameters(path).picks
    assert back.waveform_id == pick.waveform_id and back.time == pick.time

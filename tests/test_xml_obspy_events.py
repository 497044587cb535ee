"""ObsPy interop: to_obspy/from_obspy both ways, ObsPy's QuakeML of the result, the SEQTSCML plugin."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import warnings
from pathlib import Path

import obspy
import pytest
from obspy import UTCDateTime, read_events

from seqt_plugins.io.xml import (
    from_obspy,
    read_event_parameters,
    to_obspy,
    validate,
    write_event_parameters,
)
from seqt_plugins.io.xml.common import QML_UNASSOCIATED_EVENT
from seqt_plugins.io.xml.obspy_events import FORMAT, SEQT_NS, is_seqtscml
from seqt_plugins.picks.model import Arrival, Event, EventParameters, Origin

from test_xml_roundtrip import (
    SCML_VERSIONS,
    _odd_amplitudes,
    _odd_picks,
    assert_same,
    sample_event_parameters,
    sample_picks,
)

OBSPY_DIR = Path(obspy.__file__).parent
CER = OBSPY_DIR / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed"


def plain(x):
    """Dataclasses as nested tuples, times as their nanoseconds (UTCDateTime's == rounds to its
    precision), NaN as a marker (NaN != NaN): equal plain forms mean nothing was lost."""
    if isinstance(x, UTCDateTime):
        return ("ns", x.ns)
    if dataclasses.is_dataclass(x):
        return (type(x).__name__,) + tuple((f.name, plain(getattr(x, f.name))) for f in dataclasses.fields(x))
    if isinstance(x, list):
        return [plain(v) for v in x]
    if isinstance(x, float) and math.isnan(x):
        return ("nan",)
    return x


def plain_by_id(objs):
    out = {o.public_id: plain(o) for o in objs}
    assert len(out) == len(objs)
    return out


def assert_lossless(ep: EventParameters, back: EventParameters, ordered: bool):
    assert back.public_id == ep.public_id
    if ordered:
        assert plain(back) == plain(ep)
        return
    for what in ("picks", "amplitudes", "origins"):
        assert plain_by_id(getattr(back, what)) == plain_by_id(getattr(ep, what)), what
    assert plain(back.events) == plain(ep.events)


def edge_case_event_parameters(arrival_ids: bool) -> EventParameters:
    """The sample event file plus what only our model holds: nanosecond times, the picker's
    snr/amplitude, an SCML-only event type, references to an origin that is not there, an origin
    shared by two events, an origin of no event."""
    ep = sample_event_parameters(arrival_ids=arrival_ids)
    ep.picks[0].time = UTCDateTime(ns=ep.picks[0].time.ns + 123)
    ep.picks[1].snr, ep.picks[1].amplitude = 15.9, 502.53
    ep.events[0].type = "not locatable"
    ep.origins.append(Origin("Origin/loose", UTCDateTime("2024-03-01T10:14:49Z"), 1.0, 2.0,
                             arrivals=[Arrival(ep.picks[5].public_id, "S")]))
    ep.events.append(Event("Event/other", preferred_origin_id="Origin/second",
                           origin_ids=["Origin/second", "Origin/missing"], type="earthquake"))
    return ep


@pytest.fixture(scope="module")
def cer_picks(eqt_conservative, eqt_original):
    """Real picks: the README's quick start, both models on ObsPy's CER record, snr amplitudes."""
    from seqt_plugins.picker import Picker, amplitudes_of

    if not CER.is_file():
        pytest.skip("obspy's bundled CER recording is missing")
    picks = Picker(model=[eqt_conservative, eqt_original]).pick(obspy.read(str(CER)))
    assert picks, "the picker found nothing on the CER record"
    return EventParameters(picks=picks, amplitudes=amplitudes_of(picks))


# --------------------------------------------------------------------------- ours → ObsPy → ours


def test_real_picks_round_trip_losslessly(cer_picks, tmp_path):
    ep = cer_picks
    cat = to_obspy(ep)
    # picks of no event: one event without origin or type, marked by its ID
    (ev,) = cat
    assert str(ev.resource_id) == QML_UNASSOCIATED_EVENT and not ev.origins and ev.event_type is None
    assert [p.time for p in ev.picks] == [p.time for p in ep.picks]
    for ours, theirs in zip(ep.picks, ev.picks):
        assert theirs.phase_hint == ours.phase_hint
        assert theirs.waveform_id.get_seed_string() == ours.waveform_id.nslc
        assert theirs.time_errors.uncertainty == ours.time_uncertainty
        assert float(theirs.extra["snr"]["value"]) == ours.snr and theirs.extra["snr"]["namespace"] == SEQT_NS
        assert [float(c.text) for c in theirs.comments if str(c.resource_id).endswith("/probability")] == [ours.probability]
    assert [a.generic_amplitude for a in ev.amplitudes] == [a.value for a in ep.amplitudes]
    assert_lossless(ep, from_obspy(cat), ordered=True)

    # ObsPy's QuakeML of that catalog is valid and our reader gets the picks back (snr and
    # amplitude are the picker's own fields, which our XML carries as snr Amplitudes instead)
    path = tmp_path / "obspy.qml"
    cat.write(str(path), format="QUAKEML")
    validate(path, "quakeml")
    back = read_event_parameters(path)
    expected = [dataclasses.replace(p, snr=None, amplitude=None) for p in ep.picks]
    assert plain(back.picks) == plain(expected)
    assert plain(back.amplitudes) == plain(ep.amplitudes)
    assert not back.events and not back.origins


@pytest.mark.parametrize("arrival_ids", [False, True])
def test_event_parameters_round_trip_losslessly(arrival_ids):
    ep = edge_case_event_parameters(arrival_ids)
    cat = to_obspy(ep)
    assert [str(e.resource_id) for e in cat] == ["smi:local/seqt/Event/gfz2024abcd", "smi:local/seqt/Event/other",
                                                 QML_UNASSOCIATED_EVENT]
    first = cat[0]
    assert first.preferred_origin().latitude == ep.origins[0].latitude  # references resolve in ObsPy
    assert {str(p.resource_id) for p in first.picks} == {"smi:local/seqt/" + a.pick_id for o in ep.origins[:2]
                                                           for a in o.arrivals}
    assert first.extra["event_type"]["value"] == "not locatable"  # not in ObsPy's EventType
    assert cat[1].origins == [] and "originReferences" in cat[1].extra
    assert_lossless(ep, from_obspy(cat), ordered=False)


def test_odd_values_round_trip_losslessly():
    """Strings needing escapes, empty strings, missing optional fields, non-finite numbers, units
    outside QuakeML's list: in memory nothing is lost."""
    ep = EventParameters(picks=_odd_picks(), amplitudes=_odd_amplitudes())
    assert_lossless(ep, from_obspy(to_obspy(ep)), ordered=True)


def test_obspy_quakeml_of_converted_catalog_validates_and_reads_back(tmp_path):
    ep = sample_event_parameters(arrival_ids=True)
    path = tmp_path / "obspy.qml"
    to_obspy(ep).write(str(path), format="QUAKEML")
    validate(path, "quakeml")
    assert_same(ep, read_event_parameters(path), ordered=False)


def test_picks_only_document_comes_back_picks_only(tmp_path):
    ep = EventParameters(picks=sample_picks(8))
    path = tmp_path / "obspy.qml"
    to_obspy(ep).write(str(path), format="QUAKEML")
    validate(path, "quakeml")
    back = read_event_parameters(path)
    assert back.events == [] and back.public_id is None
    assert plain(back.picks) == plain(ep.picks)


# --------------------------------------------------------------------------- ObsPy → ours → ObsPy


def _ci(ci):
    return None if ci is None else (ci.agency_id, ci.author, ci.creation_time and ci.creation_time.ns)


def _wid(w):
    return None if w is None else (w.network_code, w.station_code, w.location_code or "", w.channel_code or "")


def _comments(obj):
    return [(c.text, c.resource_id and str(c.resource_id)) for c in obj.comments]


def _rid(r):
    return None if r is None else str(r)


def _f(x):
    return None if x is None else float(x)


def shared_fields(cat):
    """What ObsPy and our model both hold, object by object."""
    picks, amps, origins, events = {}, {}, {}, {}
    for ev in cat:
        for p in ev.picks:
            e = p.time_errors
            picks[str(p.resource_id)] = (
                p.time.ns, _f(e.uncertainty), _f(e.lower_uncertainty), _f(e.upper_uncertainty), _wid(p.waveform_id),
                p.phase_hint, _rid(p.method_id), _rid(p.filter_id), p.evaluation_mode, p.evaluation_status,
                _ci(p.creation_info), _comments(p))
        for a in ev.amplitudes:
            tw = a.time_window
            amps[str(a.resource_id)] = (
                _f(a.generic_amplitude), a.type, a.unit, _f(a.snr), _rid(a.pick_id), _wid(a.waveform_id),
                _ci(a.creation_info), tw and (tw.begin, tw.end, tw.reference and tw.reference.ns))
        for o in ev.origins:
            origins[str(o.resource_id)] = (
                o.time.ns, _f(o.latitude), _f(o.longitude), _f(o.depth), _rid(o.method_id), o.evaluation_mode,
                o.evaluation_status, _ci(o.creation_info), _comments(o),
                [(str(a.resource_id), _rid(a.pick_id), a.phase, _f(a.azimuth), _f(a.distance), _f(a.time_residual),
                  _f(a.time_weight), _ci(a.creation_info)) for a in o.arrivals])
        if not str(ev.resource_id).startswith(QML_UNASSOCIATED_EVENT):
            events[str(ev.resource_id)] = (_rid(ev.preferred_origin_id), ev.event_type, _ci(ev.creation_info),
                                           _comments(ev), [str(o.resource_id) for o in ev.origins])
    return picks, amps, origins, events


OBSPY_FILES = [
    ("io/quakeml/tests/data/quakeml_1.2_pick.xml", "QUAKEML"),
    ("io/quakeml/tests/data/quakeml_1.2_arrival.xml", "QUAKEML"),
    ("io/quakeml/tests/data/quakeml_1.2_origin.xml", "QUAKEML"),
    ("io/quakeml/tests/data/qml-example-1.2-RC3.xml", "QUAKEML"),
    ("io/quakeml/tests/data/neries_events.xml", "QUAKEML"),
    ("io/seiscomp/tests/data/quakeml_1.2_pick.sc3ml", "SCML"),
    ("io/seiscomp/tests/data/quakeml_1.2_amplitude.sc3ml", "SCML"),
    ("io/seiscomp/tests/data/quakeml_1.2_arrival.sc3ml", "SCML"),
]


@pytest.mark.parametrize("name,fmt", OBSPY_FILES, ids=[Path(n).name for n, _ in OBSPY_FILES])
def test_obspy_catalogs_keep_what_both_model(name, fmt):
    path = OBSPY_DIR / name
    if not path.is_file():
        pytest.skip(f"obspy's test file {name} is missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cat = read_events(str(path), format=fmt)
    before = shared_fields(cat)
    assert any(before), "the file holds nothing both sides model"
    ep = from_obspy(cat)
    after = shared_fields(to_obspy(ep))
    assert after == before
    assert str(to_obspy(ep).resource_id) == str(cat.resource_id)


# --------------------------------------------------------------------------- the ObsPy plugin


def _scml(tmp_path, ep, version="0.13", name="ep.xml") -> Path:
    path = tmp_path / name
    write_event_parameters(ep, path, format="scml", version=version)
    return path


@pytest.mark.parametrize("version", SCML_VERSIONS)
def test_is_format_claims_picks_only_scml_alone(tmp_path, version):
    ep = sample_event_parameters()
    picks_only = _scml(tmp_path, EventParameters(picks=ep.picks, amplitudes=ep.amplitudes), version, "p.xml")
    assert is_seqtscml(str(picks_only)) and is_seqtscml(picks_only)
    with open(picks_only, "rb") as fh:  # a file object is left where it was
        fh.read(10)
        assert is_seqtscml(fh) and fh.tell() == 10
    # documents ObsPy's SCML reader reads fully, and anything not SCML event parameters
    assert not is_seqtscml(_scml(tmp_path, ep, version, "e.xml"))
    assert not is_seqtscml(_scml(tmp_path, EventParameters(origins=ep.origins[1:]), version, "o.xml"))
    qml = tmp_path / "q.xml"
    write_event_parameters(EventParameters(picks=ep.picks), qml, format="quakeml")
    assert not is_seqtscml(qml)
    assert not is_seqtscml(OBSPY_DIR / "io/seiscomp/tests/data/channel_level.sc3ml")  # an Inventory
    assert not is_seqtscml(str(CER)) and not is_seqtscml(tmp_path / "absent.xml")


def test_is_format_sees_an_origin_far_into_the_file(tmp_path):
    """The scan reads the whole file in chunks: an origin tag split between two reads counts."""
    from seqt_plugins.io.xml import obspy_events

    picks_only = _scml(tmp_path, EventParameters(picks=sample_picks(3)))
    head, tail = picks_only.read_bytes().rsplit(b"</EventParameters>", 1)
    origin_tag = b'<origin publicID="late">'
    boundary = (1 << 16) + obspy_events._CHUNK  # where the second chunk read ends
    pad = boundary - 3 - len(head) - len(b"<!--") - len(b"-->")
    assert pad > 0
    doc = head + b"<!--" + b"x" * pad + b"-->" + origin_tag + b"</origin></EventParameters>" + tail
    assert doc.index(origin_tag) == boundary - 3
    path = tmp_path / "late.xml"
    path.write_bytes(doc)
    assert not is_seqtscml(path)
    path.write_bytes(doc.replace(origin_tag + b"</origin>", b""))
    assert is_seqtscml(path)


def _require_plugin():
    """The entry points exist only in an installed distribution (CI installs it)."""
    try:
        dist = importlib.metadata.distribution("seqt-plugins")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("seqt-plugins is not installed (pip install .): ObsPy's entry points need the distribution")
    names = {ep.name for ep in dist.entry_points if ep.group == "obspy.plugin.event"}
    assert FORMAT in names, (f"the installed seqt-plugins ({dist.locate_file('')}) has no {FORMAT} event "
                             "plugin: reinstall it (pip install .)")


def test_obspy_reads_picks_only_scml_with_the_plugin(cer_picks, tmp_path):
    _require_plugin()
    path = _scml(tmp_path, cer_picks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = read_events(str(path), format="SCML")
    assert sum(len(e.picks) for e in theirs) == 0  # why the plugin exists
    cat = read_events(str(path), format=FORMAT)
    assert sum(len(e.picks) for e in cat) == len(cer_picks.picks)
    assert plain(from_obspy(cat)) == plain(read_event_parameters(path))
    with open(path, "rb") as fh:
        assert plain(from_obspy(read_events(fh, format=FORMAT))) == plain(read_event_parameters(path))


@pytest.mark.parametrize("version", ["0.12", "0.14"])
def test_obspy_writes_scml_with_the_plugin(tmp_path, version):
    _require_plugin()
    ep = sample_event_parameters()
    out = tmp_path / "out.xml"
    to_obspy(ep).write(str(out), format=FORMAT, version=version)
    validate(out, "scml", version)
    assert_same(ep, read_event_parameters(out), ordered=False)


def test_picks_repeated_in_every_event_are_read_once(tmp_path):
    """Catalogs written by other tools (here ObsPy) may repeat a pick in every event that uses
    it: one pick is read once, so a re-picker's output of such a file keeps unique publicIDs;
    two different picks under one publicID are a one-line input error naming the file."""
    from obspy.core.event import Catalog

    from seqt_plugins.io.xml import XMLInputError

    ep = sample_event_parameters()
    cat = to_obspy(ep)
    second = cat[0].copy()
    second.resource_id = obspy.core.event.ResourceIdentifier("smi:local/Event/second")
    second.origins, second.preferred_origin_id, second.amplitudes = [], None, []
    both = Catalog(list(cat) + [second])
    path = tmp_path / "repeated.xml"
    both.write(str(path), format="QUAKEML")
    assert path.read_text().count(f'publicID="{cat[0].picks[0].resource_id.id}"') == 2
    back = read_event_parameters(path)
    assert sorted(p.public_id for p in back.picks) == sorted(p.public_id for p in ep.picks)
    out = tmp_path / "out.xml"
    write_event_parameters(back, out, format="quakeml")
    validate(out, "quakeml", "1.2")

    second.picks[0].time += 1.0
    both.write(str(path), format="QUAKEML")
    with pytest.raises(XMLInputError, match=r"repeated\.xml.*appears twice with different content"):
        read_event_parameters(path)

"""Cross-check with ObsPy 1.5: our files read by ``obspy.read_events`` and ObsPy's files read by us.

ObsPy's SCML reader keeps only picks that an origin's arrivals refer to, so the SCML files here
are event files (event → origin → arrivals → picks); picks-only SCML is covered by our reader and
the XSD in test_xml_roundtrip.py (and the pitfall itself is pinned below).
"""

from __future__ import annotations

import io
import warnings

import pytest
from obspy import UTCDateTime, read_events
from obspy.core.event import Arrival as ObsArrival
from obspy.core.event import Catalog, Comment as ObsComment, QuantityError, ResourceIdentifier, WaveformStreamID
from obspy.core.event import Event as ObsEvent
from obspy.core.event import Origin as ObsOrigin
from obspy.core.event import Pick as ObsPick

from seqt_plugins.io.xml import from_quakeml_id, read_event_parameters, to_quakeml_id, validate, write_event_parameters
from seqt_plugins.picks.model import Arrival, Event, EventParameters, Origin

from test_xml_roundtrip import sample_picks

SCML_VERSIONS = ["0.11", "0.12", "0.13", "0.14"]
# ObsPy prefixes SCML IDs on reading (forced smi:org.gfz.de/geofon/ for 0.14)
OBSPY_SCML_PREFIXES = ("smi:org.gfz-potsdam.de/geofon/", "smi:org.gfz.de/geofon/")


def event_file_model() -> EventParameters:
    picks = sample_picks(6)
    origin = Origin(
        "Origin/20240301101450.1", UTCDateTime("2024-03-01T10:14:50.123456Z"), 46.5, 8.25, 10500.0,
        arrivals=[Arrival(p.public_id, p.phase_hint, distance=0.2 * (i + 1), azimuth=30.0 * i,
                          time_residual=0.01 * i) for i, p in enumerate(picks)],
        method_id="LOCSAT", evaluation_mode="automatic",
    )
    event = Event("Event/gfz2024abcd", preferred_origin_id=origin.public_id, origin_ids=[origin.public_id])
    return EventParameters(picks=picks, origins=[origin], events=[event])


def strip_scml_prefix(rid: str) -> str:
    for prefix in OBSPY_SCML_PREFIXES:
        if rid.startswith(prefix):
            return rid[len(prefix):]
    return rid


def obspy_pick_summary(pick, id_map):
    return (
        id_map(str(pick.resource_id)),
        pick.time.ns // 1000,
        pick.phase_hint,
        (pick.waveform_id.network_code, pick.waveform_id.station_code,
         pick.waveform_id.location_code or "", pick.waveform_id.channel_code),
        pick.time_errors.uncertainty,
        pick.time_errors.lower_uncertainty,
        pick.time_errors.upper_uncertainty,
        pick.evaluation_mode,
    )


def our_pick_summary(pick):
    wid = pick.waveform_id
    return (pick.public_id, pick.time.ns // 1000, pick.phase_hint,
            (wid.network, wid.station, wid.location, wid.channel),
            pick.time_uncertainty, pick.time_lower_uncertainty, pick.time_upper_uncertainty,
            pick.evaluation_mode)


def read_with_obspy(data: bytes, fmt: str) -> Catalog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_events(io.BytesIO(data), format=fmt)


@pytest.mark.parametrize("version", SCML_VERSIONS)
def test_obspy_reads_our_scml_event_file(version):
    ep = event_file_model()
    buf = io.BytesIO()
    write_event_parameters(ep, buf, format="scml", version=version)
    validate(buf.getvalue(), "scml", version)
    cat = read_with_obspy(buf.getvalue(), "SCML")
    assert len(cat) == 1
    ev = cat[0]
    assert strip_scml_prefix(str(ev.resource_id)) == ep.events[0].public_id
    assert strip_scml_prefix(str(ev.preferred_origin_id)) == ep.origins[0].public_id
    got = sorted(obspy_pick_summary(p, strip_scml_prefix) for p in ev.picks)
    assert got == sorted(our_pick_summary(p) for p in ep.picks)
    origin = ev.origins[0]
    assert origin.depth == pytest.approx(10500.0)  # km in SCML, metres in both models
    assert origin.time == ep.origins[0].time and origin.latitude == 46.5
    arrivals = sorted((strip_scml_prefix(str(a.pick_id)), a.phase, a.distance) for a in origin.arrivals)
    assert arrivals == sorted((a.pick_id, a.phase, a.distance) for a in ep.origins[0].arrivals)


def test_obspy_reads_our_quakeml_event_file():
    ep = event_file_model()
    buf = io.BytesIO()
    write_event_parameters(ep, buf, format="quakeml")
    cat = read_with_obspy(buf.getvalue(), "QUAKEML")
    assert len(cat) == 1
    ev = cat[0]
    assert str(ev.preferred_origin_id) == to_quakeml_id(ep.origins[0].public_id)
    assert sorted(str(p.resource_id) for p in ev.picks) == sorted(to_quakeml_id(p.public_id) for p in ep.picks)
    got = sorted(obspy_pick_summary(p, from_quakeml_id) for p in ev.picks)
    assert got == sorted(our_pick_summary(p) for p in ep.picks)
    # the probability comment arrives too
    p0 = next(p for p in ev.picks if str(p.resource_id) == to_quakeml_id(ep.picks[0].public_id))
    probs = [c.text for c in p0.comments if str(c.resource_id) == to_quakeml_id("probability")]
    assert probs == [repr(ep.picks[0].probability)]
    assert ev.origins[0].depth == 10500.0


def test_obspy_reads_our_picks_only_quakeml():
    """Picks-only QuakeML (one unassociated event, no dummy origin) still reaches ObsPy whole."""
    ep = EventParameters(picks=sample_picks(5))
    buf = io.BytesIO()
    write_event_parameters(ep, buf, format="quakeml")
    cat = read_with_obspy(buf.getvalue(), "QUAKEML")
    assert sum(len(e.picks) for e in cat) == 5
    assert all(len(e.origins) == 0 for e in cat)


def test_obspy_drops_picks_only_scml_but_we_do_not():
    """The pitfall from the spec: why picks-only SCML is checked with our reader, not ObsPy's."""
    ep = EventParameters(picks=sample_picks(4))
    buf = io.BytesIO()
    write_event_parameters(ep, buf, format="scml", version="0.13")
    validate(buf.getvalue(), "scml", "0.13")
    assert sum(len(e.picks) for e in read_with_obspy(buf.getvalue(), "SCML")) == 0
    assert read_event_parameters(io.BytesIO(buf.getvalue())).picks == ep.picks


def obspy_catalog() -> Catalog:
    t0 = UTCDateTime("2024-03-01T10:15:02.370001Z")
    ev = ObsEvent(resource_id=ResourceIdentifier("smi:local/event/1"), event_type="earthquake")
    origin = ObsOrigin(resource_id=ResourceIdentifier("smi:local/origin/1"), time=t0 - 12.5,
                       latitude=46.5, longitude=8.25, depth=7000.0)
    for i in range(5):
        pick = ObsPick(
            resource_id=ResourceIdentifier(f"smi:local/pick/{i}"),
            time=t0 + i * 0.5 + 1e-6 * i,
            waveform_id=WaveformStreamID("XX", f"S{i}", "" if i % 2 else "00", "HHZ"),
            phase_hint="P" if i % 2 == 0 else "S",
            time_errors=QuantityError(uncertainty=0.01 * (i + 1)),
            evaluation_mode="automatic",
            comments=[ObsComment(text=f"c{i}")],
        )
        ev.picks.append(pick)
        origin.arrivals.append(ObsArrival(resource_id=ResourceIdentifier(f"smi:local/arrival/{i}"),
                                          pick_id=pick.resource_id, phase=pick.phase_hint, distance=0.1 * i))
    ev.origins.append(origin)
    ev.preferred_origin_id = origin.resource_id
    return Catalog(events=[ev])


@pytest.mark.parametrize("fmt,version", [("QUAKEML", None)] + [("SCML", v) for v in SCML_VERSIONS],
                         ids=["quakeml"] + [f"scml-{v}" for v in SCML_VERSIONS])
def test_we_read_files_written_by_obspy(fmt, version):
    cat = obspy_catalog()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if version:
            cat.write(buf, format=fmt, version=version)
        else:
            cat.write(buf, format=fmt)
    ep = read_event_parameters(io.BytesIO(buf.getvalue()))
    ev = cat[0]
    # ObsPy writes its smi:local/... IDs verbatim into SCML; we keep them as they are
    assert sorted(our_pick_summary(p) for p in ep.picks) == sorted(
        obspy_pick_summary(p, lambda s: s) for p in ev.picks)
    assert [e.public_id for e in ep.events] == ["smi:local/event/1"]
    assert ep.events[0].preferred_origin_id == "smi:local/origin/1"
    assert ep.events[0].origin_ids == ["smi:local/origin/1"]
    (origin,) = ep.origins
    assert origin.depth == 7000.0 and origin.latitude == 46.5
    assert sorted((a.pick_id, a.phase) for a in origin.arrivals) == sorted(
        (str(a.pick_id), a.phase) for a in ev.origins[0].arrivals)
    # our re-written version is schema-valid and still reads the same
    again = io.BytesIO()
    out_fmt = "quakeml" if fmt == "QUAKEML" else "scml"
    write_event_parameters(ep, again, format=out_fmt, version=version)
    validate(again.getvalue(), out_fmt, version)
    assert sorted(read_event_parameters(io.BytesIO(again.getvalue())).picks, key=lambda p: p.public_id) == sorted(
        ep.picks, key=lambda p: p.public_id)

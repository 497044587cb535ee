"""SeisComP's own XMLArchive against our SCML, both ways, with the real SeisComP builds.

No stand-in: each build in ../shared/seiscomp (8.0 development and the 7.2.3 release) is
unpacked once per session (tests/seiscomp_host.py) and runs tests/seiscomp_scripts/xmlarchive.py
in a subprocess. Our writer produces SCML 0.11, 0.12, 0.13 and 0.14 of an event-parameters
set that holds every object we write (picks with both uncertainty styles, comments,
probability and reference-pick comments; snr and other amplitudes; origins with arrivals and
comments; an event with origin references and comments). SeisComP must read every object and
every field; what SeisComP then writes (its own SCML version) must read back through our
reader to the same objects.
"""

from __future__ import annotations

import json

import pytest
from obspy import UTCDateTime

from seiscomp_host import SCRIPTS, run_checked, seiscomp_any  # noqa: F401 (fixture)
from seqt_plugins.io.xml import read_event_parameters, write_event_parameters
from seqt_plugins.picks import Amplitude, Comment, Pick, WaveformID
from test_xml_roundtrip import SCML_VERSIONS, assert_same, sample_event_parameters


def _event_parameters():
    ep = sample_event_parameters()
    # SeisComP writes doubles with 15 significant digits (0.051000000000000004 -> 0.051): give
    # the sample values that survive that, so both directions compare exactly.
    for p in ep.picks:
        if p.time_uncertainty is not None:
            p.time_uncertainty = round(p.time_uncertainty, 6)
    for o in ep.origins:
        for a in o.arrivals:
            a.distance = None if a.distance is None else round(a.distance, 6)
            a.time_residual = None if a.time_residual is None else round(a.time_residual, 6)
    # A pick and amplitude as seqtpick writes them (linear snr, seqtpick's creation info).
    wid = WaveformID("2C", "BIT06", "", "HHZ")
    p = Pick("20181230.030040.12-SEQT-P-2C.BIT06..HHZ", UTCDateTime("2018-12-30T03:00:40.125Z"), wid,
             phase_hint="P", time_uncertainty=0.04, method_id="SEQT", probability=0.93,
             creation_info=ep.picks[0].creation_info, comments=[Comment("EqT", "model")])
    ep.picks.append(p)
    ep.amplitudes.append(Amplitude(p.public_id + ".snr", "snr", 17.5, pick_id=p.public_id, snr=17.5,
                                   waveform_id=wid, creation_info=p.creation_info, reference_time=p.time,
                                   window_begin=1.0, window_end=1.0))
    return ep


def _t(text):
    return UTCDateTime(text) if text else None


def _ci(ci):
    if ci is None:
        return None
    return {"agencyID": ci.agency_id, "author": ci.author,
            "creationTime": ci.creation_time}


def _their_ci(ci):
    if ci is None:
        return None
    return dict(ci, creationTime=_t(ci["creationTime"]))


def _comments(obj, extra=()):
    return sorted([(c.id, c.text) for c in obj.comments] + list(extra), key=str)


@pytest.fixture(scope="module")
def archive_run(seiscomp_any, tmp_path_factory):
    """Our SCML 0.11-0.14 → XMLArchive (read, dump, write) → our reader, per build."""
    work = tmp_path_factory.mktemp(f"xmlarchive-{seiscomp_any.label}")
    ep = _event_parameters()
    files = []
    for version in SCML_VERSIONS:
        path = work / f"ours-{version}.xml"
        write_event_parameters(ep, str(path), format="scml", version=version)
        files.append(path)
    out = work / "theirs"
    out.mkdir()
    proc = run_checked(seiscomp_any.python([SCRIPTS / "xmlarchive.py", out, *files], work / "local"),
                       f"XMLArchive ({seiscomp_any.label})")
    records = {json.loads(line)["file"]: json.loads(line) for line in proc.stdout.splitlines() if line.strip()}
    return ep, {v: records[str(f)] for v, f in zip(SCML_VERSIONS, files)}, {v: out / f.name for v, f in zip(SCML_VERSIONS, files)}


@pytest.mark.parametrize("version", SCML_VERSIONS)
def test_xmlarchive_reads_every_object_we_write(archive_run, version):
    ep, records, _ = archive_run
    rec = records[version]
    assert "error" not in rec, rec
    assert rec["version"] == version

    picks = {p["publicID"]: p for p in rec["picks"]}
    assert sorted(picks) == sorted(p.public_id for p in ep.picks)
    for p in ep.picks:
        q = picks[p.public_id]
        assert _t(q["time"]) == p.time
        assert (q["uncertainty"], q["lower"], q["upper"]) == (
            p.time_uncertainty, p.time_lower_uncertainty, p.time_upper_uncertainty)
        assert q["waveformID"] == [p.waveform_id.network, p.waveform_id.station, p.waveform_id.location,
                                   p.waveform_id.channel]
        assert (q["methodID"], q["filterID"], q["phaseHint"]) == (p.method_id, p.filter_id, p.phase_hint)
        assert (q["evaluationMode"], q["evaluationStatus"]) == (p.evaluation_mode, p.evaluation_status)
        assert _their_ci(q["creationInfo"]) == _ci(p.creation_info)
        extra = [("probability", repr(p.probability)) if p.probability is not None else None,
                 ("referencePickID", p.reference_pick_id) if p.reference_pick_id else None]
        got = sorted(((c["id"], c["text"]) for c in q["comments"]), key=str)
        want = _comments(p, [e for e in extra if e])
        assert [c for c, _ in got] == [c for c, _ in want]
        for (cid, text), (_, want_text) in zip(got, want):
            if cid == "probability":
                assert float(text) == pytest.approx(p.probability, abs=1e-6)
            else:
                assert text == want_text

    amps = {a["publicID"]: a for a in rec["amplitudes"]}
    assert sorted(amps) == sorted(a.public_id for a in ep.amplitudes)
    for a in ep.amplitudes:
        b = amps[a.public_id]
        assert (b["type"], b["value"], b["snr"], b["unit"], b["pickID"]) == (a.type, a.value, a.snr, a.unit, a.pick_id)
        if a.waveform_id is not None:
            assert b["waveformID"] == [a.waveform_id.network, a.waveform_id.station, a.waveform_id.location,
                                       a.waveform_id.channel]
        assert _their_ci(b["creationInfo"]) == _ci(a.creation_info)
        if a.reference_time is None:
            assert b["timeWindow"] is None
        else:  # scautoloc needs the reference time of each amplitude
            assert (_t(b["timeWindow"][0]), *b["timeWindow"][1:]) == (a.reference_time, a.window_begin, a.window_end)

    origins = {o["publicID"]: o for o in rec["origins"]}
    assert sorted(origins) == sorted(o.public_id for o in ep.origins)
    for o in ep.origins:
        q = origins[o.public_id]
        assert _t(q["time"]) == o.time
        assert (q["latitude"], q["longitude"]) == (o.latitude, o.longitude)
        assert q["depth_km"] == pytest.approx(o.depth / 1000.0, abs=1e-9)
        assert (q["methodID"], q["evaluationMode"], q["evaluationStatus"]) == (
            o.method_id, o.evaluation_mode, o.evaluation_status)
        assert _their_ci(q["creationInfo"]) == _ci(o.creation_info)
        assert [(c["id"], c["text"]) for c in q["comments"]] == [(c.id, c.text) for c in o.comments]
        assert [(a["pickID"], a["phase"], a["distance"], a["azimuth"], a["timeResidual"], a["weight"])
                for a in q["arrivals"]] == [(a.pick_id, a.phase, a.distance, a.azimuth, a.time_residual,
                                             a.time_weight) for a in o.arrivals]

    (e,) = ep.events
    (q,) = rec["events"]
    assert (q["publicID"], q["preferredOriginID"], q["originIDs"], q["type"]) == (
        e.public_id, e.preferred_origin_id, e.origin_ids, e.type)
    assert _their_ci(q["creationInfo"]) == _ci(e.creation_info)
    assert [(c["id"], c["text"]) for c in q["comments"]] == [(c.id, c.text) for c in e.comments]


@pytest.mark.parametrize("version", SCML_VERSIONS)
def test_what_xmlarchive_writes_we_read(archive_run, version):
    ep, _, written = archive_run
    text = written[version].read_text()
    assert "<seiscomp" in text and "<pick " in text  # SeisComP's own writer, its own version
    back = read_event_parameters(str(written[version]))
    assert back.public_id is None  # SeisComP's writer omits the EventParameters' publicID
    back.public_id = ep.public_id
    assert_same(ep, back, ordered=False)

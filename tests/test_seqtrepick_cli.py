"""seqtrepick end to end: --ep events.xml -I file://... -o out.xml, and bad inputs."""

import re

import pytest

from conftest import require_shared


@pytest.fixture(scope="module")
def case(eqt_conservative, tmp_path_factory):
    from seqt_plugins.repick_case import hengill_case

    from seqt_plugins.io.xml import write_event_parameters
    from seqt_plugins.picks.model import EventParameters

    root = require_shared("data", "hengill")
    stream, inv, coords, ref, conf, ep, hidden = hengill_case(root, eqt_conservative)
    # one origin, only its own picks: a small input
    o = ep.origins[2]
    ids = {a.pick_id for a in o.arrivals}
    small = EventParameters(picks=[p for p in ep.picks if p.public_id in ids], origins=[o], events=[ep.events[2]])
    d = tmp_path_factory.mktemp("cli")
    events = d / "events.xml"
    write_event_parameters(small, events, format="scml", version="0.13")
    return root, d, events, small


def _run(argv, capsys):
    from seqt_plugins.modules.seqtrepick import main

    rc = main(argv)
    return rc, capsys.readouterr()


def test_end_to_end(case, capsys):
    from seqt_plugins.io.xml import read_event_parameters, validate

    root, d, events, small = case
    out = d / "out.xml"
    rc, cap = _run(["--ep", str(events), "-I", f"file://{root}/mseed/*.mseed", "--inventory-xml",
                    str(root / "stations.xml"), "-o", str(out)], capsys)
    assert rc == 0, cap.err
    validate(out, "scml", "0.13")
    res = read_event_parameters(out)
    new = [p for p in res.picks if p.method_id == "S-EqT"]
    assert new, cap.err
    assert {p.public_id for p in small.picks} <= {p.public_id for p in res.picks}
    arrivals = {a.pick_id for a in res.origins[0].arrivals}
    assert {p.public_id for p in new} <= arrivals
    assert all(p.reference_pick_id in {q.public_id for q in small.picks} for p in new)
    # default verbosity: no info lines, one summary line with the counts of the file written
    assert "[info/" not in cap.err
    n_p, n_s = (sum(p.phase_hint == phase for p in new) for phase in "PS")
    summary = [line for line in cap.err.splitlines() if "[notice/" in line]
    assert len(summary) == 1 and re.fullmatch(
        r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice/seqtrepick\] "
        rf"re-picked {n_p} P and {n_s} S for 1 origin in \d+\.\d s", summary[0]), cap.err


def test_malformed_xml(case, capsys):
    root, d, events, small = case
    bad = d / "bad.xml"
    bad.write_text("<seiscomp><EventParameters><pick")
    out = d / "never.xml"
    rc, cap = _run(["--ep", str(bad), "-I", f"file://{root}/mseed/*.mseed", "-o", str(out)], capsys)
    assert rc != 0 and not out.exists()
    errors = [l for l in cap.err.splitlines() if "[error/" in l]
    assert len(errors) == 1 and "bad.xml" in errors[0]


def test_no_waveforms_for_stations(case, capsys, tmp_path):
    from obspy import read

    from seqt_plugins.io.xml import read_event_parameters

    root, d, events, small = case
    other = read(str(root / "mseed" / "*.mseed"))
    for tr in other:
        tr.stats.network = "XX"  # none of the event's stations
    mseed = tmp_path / "other.mseed"
    other.select(station="BIT06").write(str(mseed), format="MSEED")
    out = tmp_path / "out.xml"
    rc, cap = _run(["--ep", str(events), "-I", f"file://{mseed}", "-o", str(out), "-v"], capsys)
    assert rc == 0 and "no waveforms" in cap.err
    # -v: the options as sorted configuration keys, key=value
    from seqt_plugins.repicker import RepickerOptions

    line, = [ln for ln in cap.err.splitlines() if "[info/seqtrepick] re-picker options: " in ln]
    pairs = [kv.split("=", 1) for kv in line.split("re-picker options: ", 1)[1].split(" ")]
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys) and all(k.startswith("repicker.") for k in keys)
    assert len(keys) == len(RepickerOptions.__dataclass_fields__)
    assert float(dict(pairs)["repicker.zThreshold"]) == RepickerOptions().z_threshold
    res = read_event_parameters(out)
    assert {p.public_id for p in res.picks} == {p.public_id for p in small.picks}


def test_origin_without_picks(case, capsys, tmp_path):
    from seqt_plugins.io.xml import read_event_parameters, write_event_parameters
    from seqt_plugins.picks.model import EventParameters
    import copy

    root, d, events, small = case
    o = copy.deepcopy(small.origins[0])
    o.arrivals = []
    ep = EventParameters(picks=[], origins=[o], events=copy.deepcopy(small.events))
    src = tmp_path / "nopicks.xml"
    write_event_parameters(ep, src, format="scml", version="0.13")
    out = tmp_path / "out.xml"
    rc, cap = _run(["--ep", str(src), "-I", f"file://{root}/mseed/*.mseed", "-o", str(out)], capsys)
    assert rc == 0 and "has no associated" in cap.err
    res = read_event_parameters(out)
    assert not res.picks and len(res.origins) == 1 and not res.origins[0].arrivals


def test_origins_read_in_groups_give_the_same_repicks(eqt_conservative, tmp_path, capsys, monkeypatch):
    """Bounded memory: origins are re-picked in groups whose waveforms span at most CHUNK
    seconds (each group reads only its stretch); the result equals one read of everything."""
    from seqt_plugins.io.xml import read_event_parameters, write_event_parameters
    from seqt_plugins.repick_case import hengill_case

    root = require_shared("data", "hengill")
    _stream, _inv, _coords, _ref, _conf, ep, _hidden = hengill_case(root, eqt_conservative)
    events = tmp_path / "events.xml"
    write_event_parameters(ep, events, format="scml", version="0.13")
    argv = ["--ep", str(events), "-I", f"file://{root}/mseed/*.mseed", "--inventory-xml", str(root / "stations.xml")]
    reads = []
    from seqt_plugins.repicker import engine

    real_groups = engine.origin_groups

    def counting(*a):
        for g in real_groups(*a):
            reads.append(len(g))
            yield g

    monkeypatch.setattr(engine, "origin_groups", counting)
    rc, cap = _run(argv + ["-o", str(tmp_path / "whole.xml")], capsys)
    assert rc == 0, cap.err
    assert reads == [len(ep.origins)]  # all within one hour: one read
    reads.clear()
    monkeypatch.setattr(engine, "READ_CHUNK", 1.0)  # every origin its own read
    rc, cap = _run(argv + ["-o", str(tmp_path / "groups.xml")], capsys)
    assert rc == 0, cap.err
    assert reads == [1] * len(ep.origins)
    whole, groups = (read_event_parameters(tmp_path / f) for f in ("whole.xml", "groups.xml"))
    key = lambda p: (p.public_id, str(p.time), p.phase_hint)  # noqa: E731
    assert sorted(map(key, groups.picks)) == sorted(map(key, whole.picks))
    assert len(groups.picks) > len(ep.picks)  # re-picks were made
    assert [sorted(a.pick_id for a in o.arrivals) for o in groups.origins] == \
        [sorted(a.pick_id for a in o.arrivals) for o in whole.origins]


def _repicks(path):
    from seqt_plugins.io.xml import read_event_parameters

    return sorted((p.waveform_id.nslc, p.phase_hint, str(p.time)) for p in read_event_parameters(path).picks
                  if p.method_id == "S-EqT")


def test_station_coordinates_from_the_fdsn_station_service(case, capsys, tmp_path):
    """Without --inventory-xml, an fdsnws:// source's station service gives the coordinates
    (ObsPy's FDSN client against a dataselect and a station service on loopback; the loopback
    dataselect serves the SDS archive, since portable-fdsnws-dataselect 2.0.2 ships nothing
    for windows ending inside its data): the same re-picks as with the StationXML file. A source without one searches by the templates' times, and says
    so in one warning."""
    from servers import FaultyDataselect, StationService, build_sds

    root, d, events, _small = case
    reference = d / "with-inventory.xml"
    rc, cap = _run(["--ep", str(events), "-I", f"file://{root}/mseed/*.mseed", "--inventory-xml",
                    str(root / "stations.xml"), "-o", str(reference)], capsys)
    assert rc == 0, cap.err
    assert "no station coordinates" not in cap.err
    sds = build_sds(root / "mseed", tmp_path / "sds")
    with FaultyDataselect(sds) as ws, StationService(root / "stations.xml") as station:
        out = tmp_path / "fdsn.xml"
        rc, cap = _run(["--ep", str(events), "-I", f"fdsnws://{ws.address}?station={station.address}&retries=0",
                        "-o", str(out)], capsys)
    assert rc == 0, cap.err
    assert "no station coordinates" not in cap.err
    assert _repicks(out) == _repicks(reference) and _repicks(out)
    out = tmp_path / "file.xml"
    rc, cap = _run(["--ep", str(events), "-I", f"file://{root}/mseed/*.mseed", "-o", str(out)], capsys)
    assert rc == 0, cap.err
    warnings = [line for line in cap.err.splitlines() if "no station coordinates (--inventory-xml)" in line]
    assert len(warnings) == 1 and "[warning/seqtrepick]" in warnings[0], cap.err


def test_event_file_shorter_than_a_window(tmp_path, capsys):
    """A 40-s event file (the Corinth 2010-01-20 record of the labelled arrays, first arrival 5 s
    in): the picker's picks located, one station's picks taken out of the input; seqtrepick pads
    the short records as the picker does and re-picks that station's P within the tolerance of
    the analyst pick (before, no station of such a file was searched)."""
    from seqt_plugins.catalog.locate import locate_events
    from seqt_plugins.evaluation import TOL, event_files, labelled_arrays, with_events
    from seqt_plugins.io.xml import read_event_parameters, write_event_parameters
    from seqt_plugins.picker import Picker

    [rec] = [r for r in event_files(labelled_arrays(require_shared("data", "labelled_arrays")), length=40.0)
             if r.name.startswith("CRL_2010.01.20")]
    picks = Picker().pick(rec.stream, rec.inventory)
    [origin] = locate_events(picks, rec.coordinates)
    hide = ("CL", "PSA")  # a station with analyst P and S, picked by the picker
    assert (*hide, "P") in rec.labels and any((p.waveform_id.network, p.waveform_id.station) == hide for p in picks)
    keep = [p for p in picks if (p.waveform_id.network, p.waveform_id.station) != hide]
    ids = {p.public_id for p in keep}
    origin.arrivals = [a for a in origin.arrivals if a.pick_id in ids]
    events, mseed, inv, out = (tmp_path / n for n in ("events.xml", "crl40.mseed", "stations.xml", "out.xml"))
    write_event_parameters(with_events(keep, [origin]), events, format="scml", version="0.13")
    rec.stream.write(str(mseed), format="MSEED")
    rec.inventory.write(str(inv), format="STATIONXML")
    rc, cap = _run(["--ep", str(events), "-I", f"file://{mseed}", "--inventory-xml", str(inv), "-o", str(out)], capsys)
    assert rc == 0, cap.err
    res = read_event_parameters(out)
    new = {(p.waveform_id.station, p.phase_hint): p for p in res.picks if p.method_id == "S-EqT"}
    assert ("PSA", "P") in new, cap.err
    assert abs(new["PSA", "P"].time - rec.labels[(*hide, "P")]) <= TOL["P"]

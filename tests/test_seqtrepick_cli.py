"""seqtrepick end to end: --ep events.xml -I file://... -o out.xml, and bad inputs."""

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
    rc, cap = _run(["--ep", str(events), "-I", f"file://{mseed}", "-o", str(out)], capsys)
    assert rc == 0 and "no waveforms" in cap.err
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

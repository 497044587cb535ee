"""seqt-catalog on Hengill: EqT → PyOcto (1-D model) → S-EqT re-picks → PyOcto again.

Measured (benchmarks/catalog_hengill.py --model conservative, the model used here): 225 EqT
picks, 8 events, whose origin times lie within 3 s of 8 of the 10 listed first-trigger times
(03:00:05 and 03:00:15 missed: EqT picks too few of those two, at the start of the recording),
26 re-picks, all of them arrivals of their event's first- and second-pass origins.
"""

import logging
import re
import struct
from pathlib import Path

import numpy as np

import pytest
from conftest import require_shared
from obspy import UTCDateTime

LISTED = ["03:00:05", "03:00:15", "03:00:40", "03:01:18", "03:01:43", "03:02:13", "03:03:00", "03:03:19",
          "03:03:55", "03:04:29"]


def _is_png(path: Path) -> bool:
    data = Path(path).read_bytes()
    return len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def hengill():
    from obspy import read, read_inventory

    root = require_shared("data", "hengill")
    return root, read(str(root / "mseed" / "*.mseed")), read_inventory(str(root / "stations.xml"))


@pytest.fixture(scope="module")
def catalog(hengill, eqt_conservative, tmp_path_factory):
    from seqt_plugins.catalog import AssociatorOptions, CatalogPipeline
    from seqt_plugins.picker import Picker
    from seqt_plugins.repicker import Repicker

    root, stream, inventory = hengill
    options = AssociatorOptions(cache_dir=str(tmp_path_factory.mktemp("tt")))
    pipeline = CatalogPipeline(root / "velocity_model.txt", associator_options=options,
                               picker=Picker(model=eqt_conservative), repicker=Repicker(model=eqt_conservative))
    ep = pipeline.run(stream, inventory)
    return pipeline, ep


def test_finds_the_listed_events(catalog):
    from seqt_plugins.catalog import summarize

    pipeline, ep = catalog
    rows = summarize(ep)
    times = [s.origin.time for s in rows]
    for s in rows:
        print(s.origin.time, s.origin.latitude, s.origin.longitude, s.origin.depth, s.n_p, s.n_s, s.n_repicks)
    matched = [t for t in LISTED if any(abs(o - UTCDateTime(f"2018-12-30T{t}")) <= 3.0 for o in times)]
    # measured: 8 events, 8 of 10 listed times matched within 3 s
    assert len(matched) >= 7, matched
    assert 7 <= len(ep.events) <= 12
    assert "03:00:40" in matched  # the largest, clear on every station
    for s in rows:  # located inside the array (about 63.9-64.2 N, 21.1-21.6 W), crustal depths
        assert 63.85 < s.origin.latitude < 64.2 and -21.6 < s.origin.longitude < -21.0
        assert 0.0 <= s.origin.depth <= 20000.0
        assert s.n_p >= 3 and s.n_s >= 2


def test_repicking_adds_picks_to_the_events(catalog):
    pipeline, ep = catalog
    results = pipeline.stages.repick_results
    # measured: 26
    assert len(results) >= 10
    origins = {o.public_id: o for o in ep.origins}
    picks = {p.public_id for p in ep.picks}
    for r in results:
        assert r.pick.public_id in picks and r.pick.method_id == "S-EqT"
        assert r.pick.public_id in {a.pick_id for a in origins[r.origin_id].arrivals}
    events_of = {oid: ev for ev in ep.events for oid in ev.origin_ids}
    assert all(r.origin_id in events_of for r in results)
    # the second association keeps most of them in the preferred origins (measured: all 26)
    preferred = {a.pick_id for ev in ep.events for a in origins[ev.preferred_origin_id].arrivals}
    assert sum(r.pick.public_id in preferred for r in results) >= 0.7 * len(results)


def test_outputs(catalog, hengill, tmp_path):
    from seqt_plugins.catalog import write_csv_summary
    from seqt_plugins.catalog.pipeline import CSV_COLUMNS, station_coordinates
    from seqt_plugins.catalog.plot import plot_catalog
    from seqt_plugins.io.xml import read_event_parameters, validate, write_event_parameters

    pipeline, ep = catalog
    _, stream, inventory = hengill
    for fmt, version in (("scml", "0.13"), ("quakeml", None)):
        path = tmp_path / f"catalog.{fmt}.xml"
        write_event_parameters(ep, path, format=fmt, version=version)
        validate(path, fmt, version)
        back = read_event_parameters(path)
        assert len(back.events) == len(ep.events) and len(back.origins) == len(ep.origins)
        assert len(back.picks) == len(ep.picks)
    csv_path = tmp_path / "catalog.csv"
    write_csv_summary(ep, csv_path)
    lines = csv_path.read_text().splitlines()
    assert lines[0].split(",") == list(CSV_COLUMNS)
    assert len(lines) == 1 + len(ep.events)
    paths = plot_catalog(ep, stream, tmp_path / "plots", station_coordinates(inventory))
    assert len(paths) == 1 + len(ep.events)
    assert all(_is_png(p) for p in paths)


def test_association_is_deterministic(catalog, hengill, tmp_path):
    from seqt_plugins.catalog.pipeline import station_coordinates

    pipeline, ep = catalog
    _, _, inventory = hengill
    coords = station_coordinates(inventory)
    picks = pipeline.stages.picks
    a = pipeline.associator.associate(picks, coords, tag="X")
    b = pipeline.associator.associate(list(reversed(picks)), coords, tag="X")
    assert [o.public_id for o in a.origins] == [o.public_id for o in b.origins]
    assert [[x.pick_id for x in o.arrivals] for o in a.origins] == [[x.pick_id for x in o.arrivals] for o in b.origins]


def test_repicker_plot_origins(catalog, hengill, tmp_path):
    """seqtrepick --plot: one record section per origin it re-picked."""
    from seqt_plugins.repicker.plot import plot_origins

    pipeline, _ = catalog
    _, stream, _ = hengill
    st = pipeline.stages
    paths = plot_origins(st.repicked, stream, st.repick_results, tmp_path)
    assert len(paths) == len(st.first.events) and all(_is_png(p) for p in paths)


def _png_title(path) -> str:
    from PIL import Image

    with Image.open(path) as image:
        return image.text["Title"]


def test_record_sections_are_titled_as_their_files(catalog, hengill, tmp_path):
    """The first title line is the ID the file is named after (the event's for the catalog, the
    origin's for seqtrepick); the catalog's also names the preferred origin it draws."""
    from seqt_plugins.catalog.pipeline import station_coordinates
    from seqt_plugins.catalog.plot import plot_event_sections
    from seqt_plugins.plotbase import safe_name
    from seqt_plugins.repicker.plot import plot_origins

    pipeline, ep = catalog
    _, stream, inventory = hengill
    events = plot_event_sections(ep, stream, tmp_path / "events", station_coordinates(inventory))
    preferred = {ev.public_id: ev.preferred_origin_id for ev in ep.events}
    for path in events:
        first, second = _png_title(path).splitlines()[:2]
        assert safe_name(first) == path.stem and second == f"preferred origin {preferred[first]}"
    st = pipeline.stages
    for path in plot_origins(st.repicked, stream, st.repick_results, tmp_path / "origins"):
        assert safe_name(_png_title(path).splitlines()[0]) == path.stem


def test_record_section_marks_p_on_the_vertical_and_s_on_a_horizontal(catalog, hengill):
    from seqt_plugins.catalog.pipeline import station_coordinates
    from seqt_plugins.plotbase import COLOURS, record_section_figure, utc_label

    _, ep = catalog
    _, stream, inventory = hengill
    picks = {p.public_id: p for p in ep.picks}
    origin = next(o for o in ep.origins if o.public_id == ep.events[0].preferred_origin_id)
    fig = record_section_figure(stream, origin, picks, station_coordinates(inventory))
    ax = fig.axes[0]
    letters = {round(t, 6): lab.get_text() for t, lab in zip(ax.get_yticks(minor=True), ax.get_yticklabels(minor=True))}
    phase_of = {colour: ph for (_, ph), colour in COLOURS.items()}
    seen = {"P": 0, "S": 0}
    for line in ax.lines:
        if line.get_color() not in phase_of:
            continue
        phase = phase_of[line.get_color()]
        low, high = sorted(line.get_ydata())
        # the mark spans exactly one trace of its station: which component it is on
        component = letters[round((low + high) / 2, 6)]
        assert component == "Z" if phase == "P" else component in "NE12", (phase, component)
        seen[phase] += 1
    marked = [a for a in origin.arrivals if a.pick_id in picks]
    assert seen["P"] + seen["S"] == len(marked) and seen["P"] and seen["S"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sum(int(t.rsplit(": ", 1)[1]) for t in legend) == len(marked)  # each kind counted
    assert ax.get_xlabel() == f"s after the origin time {utc_label(origin.time, 2)}"
    assert "band-pass 2–30 Hz" in ax.get_title() and "peak (counts)" in ax.get_title()


def test_map_explains_its_symbols(catalog, hengill):
    from matplotlib.text import Text

    from seqt_plugins.catalog.pipeline import station_coordinates
    from seqt_plugins.catalog.plot import map_figure
    from seqt_plugins.plotbase import KM_PER_DEG

    _, ep = catalog
    _, _, inventory = hengill
    coords = station_coordinates(inventory)
    fig = map_figure(ep, coords)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    cax = ax.child_axes[0]  # the colour bar, an inset beside the map
    renderer = fig.canvas.get_renderer()
    # the colour bar is as tall as the map and says what the colour is
    assert cax.get_ylabel() == "event depth (km)"
    assert abs(cax.get_window_extent(renderer).height - ax.get_window_extent(renderer).height) < 1.0
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "station" and all(re.fullmatch(r"event, \d+ arrivals?", t) for t in legend[1:])
    assert "size = arrivals" in fig.legends[0].get_title().get_text()
    assert ax.get_title().startswith(f"{len(ep.events)} events, ") and ax.get_title().endswith(f", {len(coords)} stations")
    # a scale bar whose drawn length is the distance it states
    text = next(t for t in ax.texts if re.fullmatch(r"[\d.]+ km", t.get_text()))
    bar = next(ln for ln in ax.lines if ln.get_linewidth() == 3)
    x0, x1 = bar.get_xdata()
    km = abs(x1 - x0) * KM_PER_DEG * np.cos(np.radians(np.mean([c[0] for c in coords.values()])))
    assert km == pytest.approx(float(text.get_text().split()[0]), rel=0.02)
    # every station and event labelled (or counted as left out), no two labels overlapping
    labels = [t for t in ax.texts if type(t).__name__ == "Annotation"]
    boxes = [Text.get_window_extent(t, renderer) for t in labels]  # the text, not its leader line
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    note = [t.get_text() for t in ax.texts if "left out" in t.get_text()]
    omitted = int(note[0].split()[0]) if note else 0
    assert len(labels) + omitted == len(coords) + len(ep.events)
    if not omitted:
        assert {k.split(".")[1] for k in coords} <= {t.get_text() for t in labels}


def test_cli(hengill, tmp_path, capsys):
    """seqt-catalog end to end (conservative EqT, no re-picking: the pipeline test covers it)."""
    from seqt_plugins.io.xml import read_event_parameters, validate
    from seqt_plugins.modules.seqtcatalog import main

    root, _, _ = hengill
    out, csv_path, plots = tmp_path / "cat.xml", tmp_path / "cat.csv", tmp_path / "plots"
    rc = main(["-I", f"file://{root / 'mseed'}", "--inventory-xml", str(root / "stations.xml"),
               "--velocity-model", str(root / "velocity_model.txt"), "-o", str(out), "--format", "quakeml",
               "--csv", str(csv_path), "--plot", str(plots), "--picker.model=conservative",
               "--catalog.repick=false", f"--associator.cacheDir={tmp_path / 'tt'}"])
    assert rc == 0
    validate(out, "quakeml")
    ep = read_event_parameters(out)
    assert len(ep.events) >= 7
    assert len(csv_path.read_text().splitlines()) == 1 + len(ep.events)
    assert _is_png(plots / "map.png") and len(list(plots.glob("*.png"))) == 1 + len(ep.events)
    # default verbosity: one summary line, its counts those of the file written
    origins = {o.public_id: o for o in ep.origins}
    phases = [a.phase[:1].upper() for e in ep.events for a in origins[e.preferred_origin_id].arrivals]
    err = capsys.readouterr().err
    summary = [line for line in err.splitlines() if "[notice/" in line]
    assert "[info/" not in err and len(summary) == 1, err
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice/seqt-catalog\] "
                        rf"catalog: {len(ep.events)} events located with {phases.count('P')} P and "
                        rf"{phases.count('S')} S arrivals \(0 of them re-picks\), from [1-9]\d* EqT picks "
                        r"and 0 re-picks in \d+\.\d s", summary[0]), summary


def test_cli_in_pieces_writes_the_catalog_of_one_read(hengill, tmp_path, caplog):
    """A span longer than catalog.pieceLength is picked piece by piece and re-picked group by
    group (bounded memory for days of data): the catalog equals that of reading it whole, and
    the plots of a run in pieces read each group's records themselves."""
    import logging

    from seqt_plugins.io.xml import read_event_parameters
    from seqt_plugins.modules.seqtcatalog import main

    root, _, _ = hengill
    common = ["-I", f"file://{root / 'mseed'}", "--inventory-xml", str(root / "stations.xml"),
              "--velocity-model", str(root / "velocity_model.txt"), "--picker.model=conservative",
              "--repicker.model=conservative", "--repicker.eqtModel=conservative",
              f"--associator.cacheDir={tmp_path / 'tt'}"]
    whole, pieces = tmp_path / "whole.xml", tmp_path / "pieces.xml"
    assert main(common + ["-o", str(whole), "--catalog.pieceLength=0"]) == 0
    caplog.set_level(logging.INFO, logger="seqt-catalog")
    assert main(common + ["-o", str(pieces), "--catalog.pieceLength=100", "--plot", str(tmp_path / "plots"),
                          "--debug"]) == 0
    assert "reading the records in 3 pieces" in caplog.text

    def content(path):
        ep = read_event_parameters(path)
        return ({(p.public_id, p.time.ns, p.probability) for p in ep.picks},
                {(o.public_id, o.time.ns, round(o.latitude, 6), round(o.longitude, 6),
                  frozenset(a.pick_id for a in o.arrivals)) for o in ep.origins},
                {(e.public_id, e.preferred_origin_id) for e in ep.events})

    a, b = content(whole), content(pieces)
    assert a[2] and any("-SEQTR-" in p[0] for p in a[0]), "no event or no re-pick to compare"
    assert a == b
    assert _is_png(tmp_path / "plots" / "map.png") and len(list((tmp_path / "plots").glob("*.png"))) == 1 + len(a[2])


def test_cli_errors(tmp_path):
    from seqt_plugins.modules.seqtcatalog import main

    assert main(["-I", str(tmp_path), "-o", str(tmp_path / "x.xml")]) == 2  # no inventory
    inv = tmp_path / "inv.xml"
    inv.write_text("<x/>")
    assert main(["-I", str(tmp_path), "--inventory-xml", str(inv), "--velocity-model",
                 str(tmp_path / "missing.txt")]) == 2
    assert not (tmp_path / "x.xml").exists()


def test_layered_model_file(tmp_path, caplog):
    from seqt_plugins.catalog import VelocityModelError, read_layered_model

    root = require_shared("data", "hengill")
    m = read_layered_model(root / "velocity_model.txt")
    assert len(m.layers) == 10 and m.layers[0].top == -0.2 and m.surface_vp == 3.32
    assert m.velocity(3.0, "P") == 6.0 and m.velocity(3.0, "S") == 3.37
    rows = m.profile(20.0, 0.1)
    assert rows[0][0] == 0.0 and rows[-1] == (20.0, 6.97, 3.92)
    assert all(b[0] > a[0] for a, b in zip(rows, rows[1:]))
    bad = tmp_path / "bad.txt"
    bad.write_text("# top vp vpg vs\n0 5.0 0 3.0\n1 x 0 3\n")
    with pytest.raises(VelocityModelError, match="line 3"):
        read_layered_model(bad)
    bad.write_text("2 5.0 0 3.0\n1 6 0 3.5\n")
    with pytest.raises(VelocityModelError, match="increase"):
        read_layered_model(bad)
    # "top Vp Vs rho", a common layout elsewhere: Vs lands in the gradient column, rho in Vs
    bad.write_text("0 5.8 3.36 2.7\n10 6.5 3.75 2.9\n")
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.catalog"):
        m = read_layered_model(bad)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert m.layers[0].vp_gradient == 3.36 and any("line 1" in w and "gradient of 3.36" in w for w in warned)
    bad.write_text("0 5.8 0.0 6.2\n")  # Vs above Vp: another column order
    with pytest.raises(VelocityModelError, match="line 1: Vs 6.2 is not below Vp 5.8"):
        read_layered_model(bad)


def test_layered_model_from_nonlinloc_layer_statements(tmp_path):
    """A NonLinLoc control file's LAYER statements are the same columns after the keyword; its
    other statements are skipped, and the model equals the plain file's."""
    from seqt_plugins.catalog import read_layered_model

    plain = tmp_path / "plain.txt"
    plain.write_text("-0.2 3.32 0.0 1.87 0.0 2.7 0.0\n2.9 6.00 0.01 3.37 0.005 2.7 0.0\n")
    nll = tmp_path / "model.in"
    nll.write_text("CONTROL 1 54321\nTRANS SIMPLE 64.0 -21.2 0.0\nVGOUT ./model/layer\n"
                   "VGTYPE P\nVGGRID 2 201 81 0.0 0.0 -2.0 0.5 0.5 0.5 SLOW_LEN\n"
                   "# model\nLAYER -0.2 3.32 0.0 1.87 0.0 2.7 0.0\nlayer  2.9 6.00 0.01 3.37 0.005 2.7 0.0\n")
    a, b = read_layered_model(plain), read_layered_model(nll)
    assert a.layers == b.layers and len(b.layers) == 2 and b.layers[1].vs_gradient == 0.005


def test_travel_time_table_is_cached(tmp_path):
    from seqt_plugins.catalog.velocity import LayeredModel, Layer, travel_time_table

    m = LayeredModel((Layer(0.0, 5.0, 2.9), Layer(2.0, 6.0, 3.5)), name="two layers")
    p1 = travel_time_table(m, 10.0, 5.0, 0.5, tmp_path)
    mtime = p1.stat().st_mtime_ns
    p2 = travel_time_table(m, 10.0, 5.0, 0.5, tmp_path)
    assert p1 == p2 and p2.stat().st_mtime_ns == mtime
    nx, nz, delta = struct.unpack("iid", p1.read_bytes()[:16])
    assert (nx, nz, delta) == (21, 11, 0.5)
    assert not list(tmp_path.glob("*.part"))


def test_origin_ids_from_content():
    from seqt_plugins.catalog import make_origin_id

    t = UTCDateTime("2018-12-30T03:00:39.013658")
    assert make_origin_id(t, 64.03390, -21.38952, 2660.0, "SEQTA1") == \
        "Origin/20181230.030039.01-SEQTA1-64.0339N21.3895W-2.7"
    assert make_origin_id(t, 64.03390, -21.38952, 2660.0) == make_origin_id(t + 0.001, 64.03391, -21.38952, 2660.0)


def test_a_station_missing_from_the_inventory_is_named_once(catalog, hengill, caplog):
    """Its picks cannot be associated (no coordinates): a warning naming the station, once
    however often the associator runs, instead of an info line counting picks."""
    from seqt_plugins.catalog.pipeline import station_coordinates

    pipeline, ep = catalog
    _, _, inventory = hengill
    coords = station_coordinates(inventory)
    del coords["2C.GAN02"]
    picks = [p for p in ep.picks if p.method_id != "S-EqT"]
    assert any(p.waveform_id.station == "GAN02" for p in picks)
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.catalog"):
        for _ in range(2):
            out = pipeline.associator.associate(picks, coords)
    named = [r.getMessage() for r in caplog.records if "no coordinates in the inventory" in r.getMessage()]
    assert named == ["2C.GAN02: no coordinates in the inventory; its picks are not associated"]
    station_of = {p.public_id: p.waveform_id.station for p in picks}
    assert out.origins and all(station_of[a.pick_id] != "GAN02" for o in out.origins for a in o.arrivals)

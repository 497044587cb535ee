"""Picker and re-picker scored against analyst picks (../shared/data), never against our own picks.

The levels asserted sit a little below those measured by ``benchmarks/accuracy.py`` with the
defaults (see the README's table), so a change that loses real arrivals fails here.
"""

import io

import numpy as np
import pytest

from conftest import require_shared
from seqt_plugins.catalog.locate import locate_events
from seqt_plugins.evaluation import add_noise, labelled_arrays, score, single_station, with_events
from seqt_plugins.picks.model import EventParameters


@pytest.fixture(scope="module")
def arrays():
    return labelled_arrays(require_shared("data", "labelled_arrays"))


@pytest.fixture(scope="module")
def picker():
    from seqt_plugins.picker import Picker

    return Picker()  # the defaults: both published models, mean


def _totals(records, picks):
    tot = {ph: [0, 0, 0] for ph in "PS"}  # correct, wrong, arrivals
    for r, p in zip(records, picks):
        s = score(p, r.labels)
        for ph in "PS":
            tot[ph][0] += len(s[ph]["correct"])
            tot[ph][1] += s[ph]["wrong"]
            tot[ph][2] += s[ph]["arrivals"]
    return tot


def test_picker_recall_and_precision_on_labelled_arrays(arrays, picker):
    picks = [picker.pick(r.stream, r.inventory) for r in arrays]
    tot = _totals(arrays, picks)
    (pc, pw, pn), (sc, sw, sn) = tot["P"], tot["S"]
    print(f"P {pc}/{pn} wrong {pw}; S {sc}/{sn} wrong {sw}")
    # measured: P 47/52 (wrong 1), S 36/36 (wrong 1)
    assert pn == 52 and sn == 36
    assert pc / pn >= 0.85 and pc / (pc + pw) >= 0.95
    assert sc / sn >= 0.90 and sc / (sc + sw) >= 0.90
    # the CRL station without a vertical (KOU) is picked on its horizontals
    kou = [p for r, ps in zip(arrays, picks) for p in ps if p.waveform_id.station == "KOU"]
    assert kou and all(p.waveform_id.channel[-1] in "NE" for p in kou)
    # ISNet's stations carry a seismometer (EH/HH) and an accelerometer (HN) at the same rate:
    # picked on the seismometer, which records this small event far above its noise
    isnet = [p for r, ps in zip(arrays, picks) for p in ps if r.name.startswith("ISNet")]
    assert isnet and all(p.waveform_id.channel[:2] in ("EH", "HH") for p in isnet)


def test_two_earthquakes_in_one_record_both_picked(arrays, picker):
    """CRL 2010-01-18 holds an unlabelled foreshock 6.5 s before the labelled event at 8
    stations: the labelled P at those stations must be picked too, not only the foreshock's."""
    r = next(r for r in arrays if r.name.startswith("CRL_2010.01.18"))
    picks = picker.pick(r.stream, r.inventory)
    s = score(picks, r.labels)
    for sta in ("AGE", "PAN"):
        assert (("CL", sta, "P") in s["P"]["correct"]), sta
        assert any(p.waveform_id.station == sta and p.phase_hint == "P" and -8 < p.time - r.labels[("CL", sta, "P")] < -5
                   for p in picks), f"{sta}: foreshock P"


def test_events_of_a_busy_record_are_located_whichever_station_is_missing(arrays, picker):
    """CRL 2010-01-18 holds four earthquakes within 80 s. The best pick of each station-phase
    mixes them, and without one of four of its 14 stations (or two of IPOC's eight) that mix
    located nothing at all, so the re-picker had no origin to search. The locator's windows
    anchored at P picks give origins in every thinned case, and one holding >= 3 analyst P (the
    labelled event) in 21 of the 22 (measured; 15 before)."""
    found = cases = 0
    for name in ("CRL_2010.01.18", "IPOC"):
        r = next(r for r in arrays if r.name.startswith(name))
        picks = picker.pick(r.stream, r.inventory)
        by_id = {p.public_id: p for p in picks}
        for sta in sorted({p.waveform_id.station for p in picks}):
            origins = locate_events([p for p in picks if p.waveform_id.station != sta], r.coordinates)
            assert origins, f"{name} without {sta}: no origin"
            labelled_p = [len(score([by_id[a.pick_id] for a in o.arrivals], r.labels)["P"]["correct"]) for o in origins]
            cases += 1
            found += max(labelled_p) >= 3
    assert cases == 22 and found >= 20, f"{found} of {cases}"


def _located(r, picks):
    return with_events(picks, locate_events(picks, r.coordinates))


def test_repicker_on_events_located_from_the_picks(arrays, picker):
    """Events located from the picker's own picks (never the analyst origins), re-picked with the
    defaults at the recorded SNR; re-picks scored against the analyst picks."""
    from seqt_plugins.repicker import METHOD_ID, Repicker

    recovered = wrong = 0
    for r in arrays:
        picks = picker.pick(r.stream, r.inventory)
        ep = _located(r, picks)
        if not ep.origins:
            continue
        rp = Repicker()  # a fresh cache per record
        out = rp.repick(ep, r.stream, inventory=r.inventory, coordinates=r.coordinates)
        new = [p for p in out.picks if p.method_id == METHOD_ID]
        assert len(new) == len(rp.last_results)
        for p in new:
            assert p.evaluation_mode == "automatic" and p.reference_pick_id and 0 < p.probability <= 1
            assert "-SEQTR-" in p.public_id
        arrivals = {a.pick_id for o in out.origins for a in o.arrivals}
        assert {p.public_id for p in new} <= arrivals
        base, s = score(picks, r.labels), score(new, r.labels)
        for ph in "PS":
            recovered += len(s[ph]["correct"] - base[ph]["correct"])
            wrong += s[ph]["wrong"]
    print(f"recovered {recovered}, wrong {wrong}")
    # measured: recovered 2 (CRL 2010-01-18 KOU and IPOC PB02 P, by the onset path), wrong 0.
    # Before picker.strongPFactor the template path also recovered AIO and DIM P, and a wrong
    # ALI P came from an origin located 77 km deep; the picker now picks DIM and ALI itself (P 0.16
    # inside detections of 0.96-0.99), and with those picks the record's origins moved, AIO's with
    # them; README: what this says about real recall
    assert recovered >= 2
    assert wrong <= 1


def test_repicker_adds_no_wrong_pick_at_a_station_made_noisier(arrays, picker):
    """One station at a time with its SNR / 10 (its own pre-event noise), the others as recorded:
    a weak station beside well-picked ones, the case S-EqT is for. Events located from the
    picks; the re-picks at the weak station are scored against its analyst picks. The defaults
    favour precision: before eqtThreshold went from 0.2 to 0.3 and the prominence rule was
    switched off, 2 of 3 such re-picks on the labelled arrays were wrong (accuracy.py --degrade 10)."""
    from seqt_plugins.evaluation import weaken_stations
    from seqt_plugins.repicker import Repicker

    wrong = misses = searched = 0
    for i, r in enumerate(arrays):
        if not r.name.startswith(("CRL_2010.01.18", "ISNet")):
            continue
        for weak in weaken_stations(r, picker, 10.0, seed=i + 1):
            labels, missed, stream = weak.labels, weak.missed, weak.stream
            misses += len(missed)
            ep = _located(r, weak.all_picks)
            rp = Repicker()
            rp.keep_searches = True
            rp.repick(ep, stream, inventory=r.inventory, coordinates=r.coordinates)
            searched += sum(1 for s in rp.last_searches if (s.network, s.station, s.phase) in missed)
            s = score([x.pick for x in rp.last_results], labels)
            wrong += s["P"]["wrong"] + s["S"]["wrong"]
    print(f"missed {misses}, searches of them {searched}, wrong re-picks {wrong}")
    assert misses >= 10 and searched >= 10  # the protocol does produce searched misses
    assert wrong == 0


def test_origin_that_does_not_explain_its_picks_is_not_searched(arrays, picker, caplog):
    """A mislocated origin (its picks scattered by seconds around the prediction) would only add
    wrong picks: the re-picker names it and searches nothing for it."""
    import dataclasses
    import logging

    from seqt_plugins.repicker import Repicker

    r = next(r for r in arrays if r.name.startswith("CRL_2010.01.20"))
    picks = picker.pick(r.stream, r.inventory)
    ep = _located(r, picks)
    good = ep.origins[0]
    rp = Repicker()
    rp.repick(ep, r.stream, inventory=r.inventory, coordinates=r.coordinates)
    assert not any("scatter" in m for m in caplog.messages)
    # a ghost: the same origin with picks that scatter by seconds (as when an associator joins
    # the picks of two events); a merely mislocated origin is absorbed by the median shift
    rng = np.random.default_rng(3)
    jittered = [dataclasses.replace(p, time=p.time + float(rng.uniform(-4.0, 4.0))) for p in ep.picks]
    bad = EventParameters(picks=jittered, origins=[good], events=[])
    caplog.set_level(logging.WARNING, logger="seqt_plugins.repicker")
    out = Repicker().repick(bad, r.stream, inventory=r.inventory, coordinates=r.coordinates)
    assert any("scatter" in m and good.public_id in m for m in caplog.messages)
    assert len(out.picks) == len(jittered)


def test_noise_protocol_lowers_snr_by_the_factor(arrays):
    r = arrays[1]
    noisy = add_noise(r, 3.0, seed=1)
    tr0 = r.stream.select(station="PYR")[0]
    tr1 = noisy.stream.select(station=tr0.stats.station, channel=tr0.stats.channel)[0]
    t_p = r.labels[("CL", "PYR", "P")]
    n = int((t_p - 1.0 - tr0.stats.starttime) * tr0.stats.sampling_rate)
    before, after = np.std(tr0.data[:n].astype(float)), np.std(tr1.data[:n].astype(float))
    assert after / before == pytest.approx(3.0, rel=0.15)
    assert len(tr1) == len(tr0) and tr1.stats.starttime == tr0.stats.starttime


def test_noise_protocol_leaves_constant_padding_out():
    """A STEAD-style record: 10 s of one value, then noise. Only the real noise is added: the
    padding's offset, demeaned with it, would put steps into the added noise (and a flat
    stretch of it would add nothing where it lands)."""
    from obspy import Stream, Trace, UTCDateTime

    from seqt_plugins.evaluation import Record

    rng = np.random.default_rng(3)
    data = np.concatenate([np.full(1000, 500.0), 10.0 * rng.standard_normal(5000)])
    t0 = UTCDateTime(2020, 1, 1)
    tr = Trace(data.astype(np.float32), header={"network": "XX", "station": "A", "channel": "HHZ",
                                                  "sampling_rate": 100.0, "starttime": t0})
    rec = Record("A", Stream([tr]), {("XX", "A", "P"): t0 + 50.0})
    added = add_noise(rec, 3.0, seed=1).stream[0].data.astype(float) - data
    blocks = added.reshape(-1, 100)  # 1-s blocks
    assert np.abs(blocks.mean(axis=1)).max() < 0.5 * added.std()  # no offset steps
    assert blocks.std(axis=1).min() > 0.5 * added.std()  # no stretch without noise
    assert added.std() == pytest.approx(10.0 * np.sqrt(8.0), rel=0.15)


def _seqtpick_records(tmp_path, monkeypatch, records):
    """Run seqtpick itself on the records (one miniSEED file each): its picks per record and its log."""
    from seqt_plugins.io.xml import read_event_parameters
    from seqt_plugins.modules.seqtpick import SeqtPick

    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    folder = tmp_path / "records"
    folder.mkdir()
    for r in records:
        r.stream.write(str(folder / f"{r.name}.mseed"), format="MSEED")
    out = tmp_path / "picks.xml"
    err = io.StringIO()
    rc = SeqtPick(["--offline", "--ep", "--playback", "-o", str(out), "-I", str(folder)], stdout=io.StringIO(), stderr=err).exec()
    assert rc == 0, err.getvalue()
    picks = read_event_parameters(out).picks
    return [[p for p in picks if p.waveform_id.station == r.name] for r in records], err.getvalue()


def test_one_window_records_are_picked(tmp_path, monkeypatch):
    """STEAD-style records of exactly 6,000 samples through seqtpick itself (not dropped as
    'shorter than streams.minDuration')."""
    records = [r for r in single_station(require_shared("data", "single_station"), one_window=True)
               if len(r.stream) == 3][:12]
    assert all(tr.stats.npts == 6000 for r in records for tr in r.stream)
    per_record, log = _seqtpick_records(tmp_path, monkeypatch, records)
    assert "shorter than" not in log
    tot = _totals(records, per_record)
    assert tot["P"][0] >= 11 and tot["S"][0] >= 11, tot


def test_records_shorter_than_a_window_are_padded_and_picked(tmp_path, monkeypatch):
    """30-s records (P 3-10 s in, S inside) through seqtpick itself: zero-padded to one window
    and picked at the analyst P and S, not skipped; no pick after a record's end (measured on all
    154: P 0.994, S 1.000 as recorded, as the one-window records; benchmarks/accuracy.py)."""
    from seqt_plugins.evaluation import short_records

    records = [r for r in short_records(require_shared("data", "single_station")) if len(r.stream) == 3][:12]
    assert all(29.0 < tr.stats.endtime - tr.stats.starttime < 30.0 for r in records for tr in r.stream)
    per_record, log = _seqtpick_records(tmp_path, monkeypatch, records)
    assert "skipped" not in log
    for r, mine in zip(records, per_record):
        end = max(tr.stats.endtime for tr in r.stream)
        assert all(p.time <= end for p in mine), r.name
    tot = _totals(records, per_record)
    assert tot["P"][0] >= 11 and tot["S"][0] >= 11, tot


def test_constant_padding_of_stead_records_is_no_onset(picker):
    """37 of the single-station records (STEAD's) carry constant padding before or after the
    data. Where data resume after it, EqT saw an onset: 8 of these records got a P within 2 s of
    a padding edge, and 4 lost their analyst P. Runs of one repeated value are gaps now."""
    import csv

    from obspy import UTCDateTime, read

    from seqt_plugins.picker.prepare import flat_runs

    root = require_shared("data", "single_station")
    padded = hit = near = 0
    for row in csv.DictReader(open(root / "picks.csv")):
        st = read(str(root / row["file"]))
        z = [tr for tr in st if tr.stats.channel.endswith("Z")][0]
        runs = flat_runs(np.asarray(z.data), int(z.stats.sampling_rate))
        edges = [z.stats.starttime + b / z.stats.sampling_rate for a, b in runs if a == 0] + \
                [z.stats.starttime + a / z.stats.sampling_rate for a, b in runs if b == z.stats.npts]
        if not edges:
            continue
        padded += 1
        picks = picker.pick(st)
        hit += any(p.phase_hint == "P" and abs(p.time - UTCDateTime(row["p_time"])) <= 0.5 for p in picks)
        near += any(abs(p.time - e) <= 2.0 for p in picks for e in edges)
    assert padded >= 30
    assert near == 0 and hit == padded, (padded, hit, near)


def test_first_windows_twin_removes_false_p_in_short_event_files(arrays, picker):
    """In a 90-s event file every arrival sits in the first seconds of the file, seen by its first
    window alone, where the published models put spurious P peaks at whole seconds after the
    window's start. The twin window 0.5 s later, averaged in there, takes them out and keeps the
    analyst arrivals (measured at SNR/10: P 38 correct / 8 wrong without, 38 / 4 with)."""
    from seqt_plugins.evaluation import event_files
    from seqt_plugins.picker import Picker

    files = [add_noise(r, 10.0, seed=i + 1) for i, r in enumerate(event_files(arrays))]
    without = Picker(start_twin=0.0)
    (pc0, pw0, pn), _ = _totals(files, [without.pick(r.stream, r.inventory) for r in files]).values()
    (pc1, pw1, _), _ = _totals(files, [picker.pick(r.stream, r.inventory) for r in files]).values()
    print(f"P without the twin {pc0}/{pn} wrong {pw0}; with {pc1}/{pn} wrong {pw1}")
    assert pw1 <= pw0 - 3 and pc1 >= pc0 - 1
    assert pc1 / (pc1 + pw1) >= 0.88


def test_repicker_searches_event_files_shorter_than_a_window(arrays, picker):
    """40-s event files (first arrival 5 s in): every station's record is shorter than one window,
    so the re-picker pads it as the picker does. Events located from the picks, then each located
    station of the two Corinth earthquakes hidden in turn (its picks removed) and re-picked from
    the others; re-picks scored against its analyst picks, none in a record's padding."""
    import copy

    from seqt_plugins.evaluation import TOL, event_files
    from seqt_plugins.repicker import Repicker

    files = [r for r in event_files(arrays, length=40.0) if r.name.startswith("CRL_")]
    assert len(files) == 2 and all(tr.stats.endtime - tr.stats.starttime < 60 for r in files for tr in r.stream)
    correct, hidden = {"P": 0, "S": 0}, {"P": 0, "S": 0}
    wrong = searched = 0
    for r in files:
        picks = picker.pick(r.stream, r.inventory)
        origins = locate_events(picks, r.coordinates)
        assert origins, r.name
        by_id = {p.public_id: p for p in picks}
        associated = {a.pick_id for o in origins for a in o.arrivals}
        ends = {(tr.stats.network, tr.stats.station): tr.stats.endtime for tr in r.stream}
        rp = Repicker()
        for ns in sorted({(by_id[i].waveform_id.network, by_id[i].waveform_id.station) for i in associated}):
            keep = [p for p in picks if (p.waveform_id.network, p.waveform_id.station) != ns]
            kept = {p.public_id for p in keep}
            trimmed = []
            for o in origins:
                o2 = copy.deepcopy(o)
                o2.arrivals = [a for a in o2.arrivals if a.pick_id in kept]
                trimmed.append(o2)
            rp.repick(with_events(keep, trimmed), r.stream, inventory=r.inventory, coordinates=r.coordinates)
            searched += rp.search_counts["searched P"] + rp.search_counts["searched S"]
            for res in rp.last_results:
                p = res.pick
                key = (p.waveform_id.network, p.waveform_id.station, p.phase_hint)
                assert p.time <= ends[key[:2]] - rp.options.edge, f"{r.name} {key}: a re-pick in the padding"
                if key[:2] == ns and key in r.labels:
                    err = abs(p.time - r.labels[key])
                    correct[key[2]] += err <= TOL[key[2]]
                    wrong += TOL[key[2]] < err <= 5.0
            for i in associated - kept:
                hidden[by_id[i].phase_hint] += (ns[0], ns[1], by_id[i].phase_hint) in r.labels
    print(f"40-s files: hidden {hidden}, re-picked {correct}, wrong {wrong}, station-phases searched {searched}")
    # measured: of 28 P and 24 S hidden, 26 P and 20 S re-picked, none wrong, 75 station-phases
    # searched; before the padding the re-picker searched none in such files and re-picked nothing
    assert searched > 0
    assert correct["P"] >= 24 and correct["S"] >= 17 and wrong <= 1


def test_catalog_match_uses_the_published_hypocentre():
    """An origin counts as the earthquake within 3 s and 10 km of the published hypocentre."""
    from obspy import UTCDateTime

    from seqt_plugins.evaluation import analyst_origins, match_origins
    from seqt_plugins.picks.model import Origin

    ref = analyst_origins(require_shared("data", "labelled_arrays"))
    t, lat, lon, depth = ref["ISNet_14641r"]
    assert t == UTCDateTime("2011-08-21T18:58:44.4") and depth == pytest.approx(14.6)
    near = Origin("near", t + 1.0, lat + 0.05, lon, 10e3)  # 5.6 km north, 1 s late
    far = Origin("far", t, lat + 0.2, lon, 10e3)  # 22 km
    late = Origin("late", t + 4.0, lat, lon, 10e3)
    m = match_origins([far, late, near], ref["ISNet_14641r"])
    assert m[0] is near and m[1] == pytest.approx(5.56, abs=0.05) and m[2] == pytest.approx(1.0)
    assert match_origins([far, late], ref["ISNet_14641r"]) is None
    # no published origin time (IPOC): the epicentre alone decides
    assert ref["IPOC_324_0051-PB05-03077_tr14"][0] is None
    t0 = UTCDateTime(2007, 11, 20)
    _, la, lo, _ = ref["IPOC_324_0051-PB05-03077_tr14"]
    assert match_origins([Origin("x", t0, la, lo + 0.05)], ref["IPOC_324_0051-PB05-03077_tr14"])[2] is None


def test_catalog_against_catalog_counts_each_origin_once():
    """The Hengill noise protocol's catalog figure: a reference event is found by an origin
    within 3 s and 10 km; one origin between two close events finds one of them only, and
    origins matching no event are counted as other."""
    from obspy import UTCDateTime

    from seqt_plugins.evaluation import events_found
    from seqt_plugins.picks.model import Origin

    t = UTCDateTime("2018-12-30T03:00:39")
    refs = [Origin("a", t, 64.03, -21.39, 3e3), Origin("b", t + 2.0, 64.03, -21.39, 3e3),
            Origin("c", t + 60.0, 64.03, -21.39, 3e3)]
    between = Origin("x", t + 1.0, 64.04, -21.39, 3e3)  # 1.1 km, 1 s from a and b
    false = Origin("y", t + 30.0, 64.03, -21.39, 3e3)
    far = Origin("z", t + 60.0, 64.20, -21.39, 3e3)  # 19 km from c
    assert events_found([between, false, far], refs) == (1, 2)
    assert events_found([], refs) == (0, 0)
    assert events_found([between, Origin("w", t + 2.5, 64.03, -21.40, 3e3)], refs) == (2, 0)


def test_continuous_reference_scoring_counts_each_arrival_once():
    """The Hengill noise protocol's scorer: a station-phase with two arrivals (two events) is
    two reference arrivals; a pick finds the one within the tolerance, a pick near an arrival
    but beyond the tolerance is wrong, a pick far from all of them is not scored."""
    from obspy import UTCDateTime

    from seqt_plugins.evaluation import origin_arrivals, score_arrivals
    from seqt_plugins.picks.model import Arrival, Origin, Pick, WaveformID

    t = UTCDateTime(2018, 12, 30, 3)
    wid = WaveformID("2C", "BIT06", "", "HHZ")
    ref = [("2C", "BIT06", "P", t + 10), ("2C", "BIT06", "P", t + 40), ("2C", "BIT06", "S", t + 12)]
    picks = [Pick(f"p{i}", t + dt, wid, phase_hint=ph) for i, (dt, ph) in
             enumerate([(10.3, "P"), (43.0, "P"), (100.0, "P"), (12.9, "S"), (12.2, "S")])]
    s = score_arrivals(picks, ref)
    assert s["P"]["arrivals"] == 2 and s["P"]["found"] == {0}
    assert s["P"]["wrong"] == 1 and s["P"]["unscored"] == 1
    assert s["S"]["found"] == {2} and s["S"]["wrong"] == 0
    # a pick associated with two origins is one reference arrival
    o1 = Origin("o1", t, 64.0, -21.3, 3000.0, arrivals=[Arrival("p0", "P"), Arrival("p3", "S")])
    o2 = Origin("o2", t + 1, 64.0, -21.3, 3000.0, arrivals=[Arrival("p0", "P")])
    arrivals = origin_arrivals(EventParameters(picks=picks, origins=[o1, o2]))
    assert sorted((a[2], a[3] - t) for a in arrivals) == [("P", 10.3), ("S", 12.9)]

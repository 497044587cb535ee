"""Re-picker units: the spec's cut/enhance/correlation formulas, and batched == one pair at a time."""

import math

import numpy as np
import pytest

from seqt_plugins.repicker.correlation import (correlate_batch, correlate_mean_cf, correlate_pair, cut_bounds,
                                                edge_width, enhance_search, enhance_search_cf, enhance_template,
                                                fft_length, real_length)
from seqt_plugins.repicker.scoring import (Template, arrival_matrix, prepare_template, probability_from_z, score_batched,
                                           score_pair, to_arrival_trace, zscore)


def test_cut_bounds_and_edges():
    assert cut_bounds(1000 / 6000, 1500 / 6000, 6000) == (999, 1501)
    assert cut_bounds(0.5, 0.75, 94) == (math.floor(47) - 1, math.floor(70.5) + 1)
    assert [edge_width(L) for L in (47, 94, 188, 376, 750, 1500, 3000, 6000)] == [2, 4, 7, 13, 26, 51, 101, 201]


def test_enhance_search_formula():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(94, 3))
    y = enhance_search(x)
    ref = np.empty_like(x)
    h = 4
    for c in range(3):
        v = x[:, c] - x[:, c].max()
        v[:h] = v[h]
        v[94 - h:] = v[94 - h]
        v = -v
        v -= v.mean()
        v /= max(np.abs(v).max(), 1.0) if np.abs(v).max() < 1e-3 else np.abs(v).max()
        ref[:, c] = v
    np.testing.assert_allclose(y, ref)
    # a flat channel stays finite (max|y| < eps → divide by 1)
    assert np.all(np.isfinite(enhance_search(np.zeros((47, 2)))))


def test_enhance_template_formula():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(11, 2))
    y = enhance_template(x)
    v = -(x - x.max(axis=0))
    v -= v.mean(axis=0)
    v /= np.abs(v).max(axis=0)
    np.testing.assert_allclose(y, v / 11)
    np.testing.assert_allclose(enhance_template(x, divide=False), v)


def test_enhance_template_divide_first():
    """The authors' training order (/Lt before the ε test): same result unless a channel is near-flat."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(20, 3))
    x[:, 2] = 1e-3 * x[:, 2]  # max|y| ≈ 3e-3: above ε = 1e-3, below ε·Lt = 0.02
    spec, first = enhance_template(x), enhance_template(x, divide_first=True)
    np.testing.assert_allclose(first[:, :2], spec[:, :2], atol=1e-15)
    v = -(x[:, 2] - x[:, 2].max())
    v -= v.mean()
    assert np.abs(v).max() > 1e-3
    np.testing.assert_allclose(spec[:, 2], v / np.abs(v).max() / 20)
    np.testing.assert_allclose(first[:, 2], v / 20 / 20)  # /Lt, ε test fails (divide by 1), /Lt
    # without /Lt there is nothing to do first (tutorial_02)
    np.testing.assert_array_equal(enhance_template(x, divide=False, divide_first=True), enhance_template(x, divide=False))


def test_correlation_formula_and_batch():
    rng = np.random.default_rng(3)
    S = rng.normal(size=(4, 188, 5))
    Ts = [rng.normal(size=(n, 5)) for n in (1, 2, 9, 40)]
    for T in Ts:
        Lt, m = len(T), (len(T) - 1) // 2
        direct = np.zeros((188, 5))
        for i in range(188):
            for k in range(Lt):
                j = i + k - m
                if 0 <= j < 188:
                    direct[i] += T[k] * S[0, j]
        np.testing.assert_allclose(correlate_pair(T, S[0]), direct, atol=1e-12)
    full = correlate_batch(Ts, S, channel_mean=False)
    mean = correlate_batch(Ts, S)
    for a, T in enumerate(Ts):
        for b in range(4):
            ref = correlate_pair(T, S[b])
            np.testing.assert_allclose(full[a, b], ref, atol=1e-10)
            np.testing.assert_allclose(mean[a, b], ref.mean(axis=1), atol=1e-10)


def test_fast_paths_match_the_reference_formulas():
    """Channels-first enhancement, padded batch correlation and the sparse resampling == the reference."""
    rng = np.random.default_rng(5)
    S = rng.normal(size=(3, 376, 4)).astype(np.float32)
    cf = enhance_search_cf(np.ascontiguousarray(S.transpose(0, 2, 1), dtype=np.float64))
    np.testing.assert_allclose(cf.transpose(0, 2, 1), enhance_search(S), atol=1e-13)
    # the spec's step order (y = x − max x, clamp, negate, demean, /max|y|) for one channel
    y = S[0, :, 0].astype(np.float64) - S[0, :, 0].max()
    h = edge_width(376)
    y[:h], y[376 - h:] = y[h], y[376 - h]
    y = -y
    y -= y.mean()
    np.testing.assert_allclose(cf[0, 0], y / np.abs(y).max(), atol=1e-13)
    Ts = [rng.normal(size=(n, 4)) for n in (1, 2, 30, 376)]
    cuts = [np.ascontiguousarray(T.T) for T in Ts]
    padded = np.zeros((3, 4, fft_length(376, cuts)))
    padded[..., :376] = cf
    for out in (correlate_mean_cf(cuts, cf), correlate_mean_cf(cuts, padded, 376)):
        for a, T in enumerate(Ts):
            for b in range(3):
                np.testing.assert_allclose(out[a, b], correlate_pair(T, cf[b].T).mean(axis=1), atol=1e-12)
    lengths, centres, offsets = [94, 188, 6000], [3, 0, 250], [2.5, 7.25, 300.0]
    zs = [rng.normal(size=(2, L)) for L in lengths]
    ref = sum(to_arrival_trace(z, c, o) for z, c, o in zip(zs, centres, offsets))
    M = arrival_matrix(lengths, centres, offsets)
    np.testing.assert_allclose((M @ np.concatenate(zs, axis=-1).T).T, ref, atol=1e-12)
    # the whole batched rule against one pair at a time
    maps = [{"a": rng.normal(size=(94, 8)).astype(np.float32), "b": rng.normal(size=(750, 4)).astype(np.float32)}
            for _ in range(3)]
    names = ["a", "b"]
    tmpl = [prepare_template(Template("X", "P", "id", 1.0, sf, ef, pf, maps[k]), names)
            for k, (sf, ef, pf) in enumerate([(0.2, 0.4, 0.2), (0.5, 0.52, 0.51)])]
    batch = score_batched(tmpl, maps, names)
    for a, t in enumerate(tmpl):
        for b, m in enumerate(maps):
            np.testing.assert_allclose(batch[a, b], score_pair(t, m, names), atol=1e-10)


def test_a_padded_search_window_is_scored_on_its_real_samples_only():
    """A search window of a short segment padded to one window (``valid`` real samples): what its
    maps hold over the padding changes nothing in its score, batched or one pair at a time, and
    its scaling and z-score come from its real part (so the score differs from the unflagged
    one's); full windows in the same batch are scored as they are alone."""
    rng = np.random.default_rng(11)
    names = ["a", "b"]
    maps = [{"a": rng.normal(size=(94, 8)), "b": rng.normal(size=(750, 4))} for _ in range(3)]
    valid = 3500  # 35 s of data, then 25 s of padding
    for n, L in (("a", 94), ("b", 750)):
        assert real_length(valid, L) == math.ceil(valid * L / 6000)
        assert real_length(None, L) == real_length(6000, L) == L
    other = [{n: m[n].copy() for n in names} for m in maps]
    for m in other[1:2]:  # a different padding: a constant, as EqT gives over zeros
        for n in names:
            m[n][real_length(valid, m[n].shape[0]):] = 3.0
    tmpl = [prepare_template(Template("X", "P", "id", 1.0, 0.1, 0.3, 0.1, maps[0]), names)]
    flags = [None, valid, None]
    a = score_batched(tmpl, maps, names, valid=flags)
    b = score_batched(tmpl, other, names, valid=flags)
    real = valid - 2 * 200  # the clamped edge of the coarsest tap reaches ~2 s into the data
    np.testing.assert_allclose(a[0, 1], b[0, 1], atol=1e-10)  # the padding is clamped over: not read
    np.testing.assert_allclose(a[0, [0, 2]], score_batched(tmpl, [maps[0], maps[2]], names)[0], atol=1e-12)
    np.testing.assert_allclose(a[0, 1], score_pair(tmpl[0], maps[1], names, valid=valid), atol=1e-10)
    plain = score_batched(tmpl, maps, names)
    assert not np.allclose(plain[0, 1, :real], a[0, 1, :real])
    # the flagged map's z-score is a z-score of its real part: median ~0 there
    assert abs(np.median(a[0, 1, 300:real])) < 0.3


def test_lag_shift_and_zscore():
    L = 94
    c = np.random.default_rng(3).normal(0.0, 0.1, L)
    c[40] = 1.0
    z = zscore(c)
    assert np.argmax(z) == 40 and z[40] > 5
    # robust: a second strong peak (another arrival) hardly moves the first one's score
    c2 = c.copy()
    c2[70] = 3.0
    assert zscore(c2)[40] == pytest.approx(z[40], rel=0.1)
    assert (c2[40] - c2[5:89].mean()) / c2[5:89].std() < 0.5 * z[40]  # a plain z-score halves it
    # template centre m = 3, pick 2.5 tap samples into the cut: arrival = 40 - 3 + 2.5 = 39.5 → 100 Hz sample 2521
    tr = to_arrival_trace(z, 3, 2.5)
    assert abs(np.argmax(tr) - 39.5 * 6000 / L) <= 64
    assert probability_from_z(5.0, 5.0) == pytest.approx(0.5)


def test_batched_equals_pairwise(eqt_conservative):
    from conftest import require_shared

    from seqt_plugins.repick_case import hengill_case
    from seqt_plugins.repicker import Repicker

    root = require_shared("data", "hengill")

    stream, inv, coords, ref, conf, ep, hidden = hengill_case(root, eqt_conservative)
    ep1 = type(ep)(picks=ep.picks, origins=ep.origins[:2], events=ep.events[:2])
    rp = Repicker(model=eqt_conservative, eqt_max=False, z_threshold=4.0)
    a = rp.repick(ep1, stream, inventory=inv, batched=True)
    ra = [(r.pick.public_id, r.pick.probability) for r in rp.last_results]
    b = rp.repick(ep1, stream, inventory=inv, batched=False)
    rb = [(r.pick.public_id, r.pick.probability) for r in rp.last_results]
    assert ra and ra == rb
    assert [p.public_id for p in a.picks] == [p.public_id for p in b.picks]


def test_windows_leave_the_cache_after_their_last_origin(eqt_conservative, monkeypatch):
    """Memory: after a run only the last origin's windows stay cached (the next call may reuse
    them), and evicting the others changes no re-pick (compared with a run that keeps them)."""
    from conftest import require_shared

    from seqt_plugins.repick_case import hengill_case
    from seqt_plugins.repicker import Repicker
    from seqt_plugins.repicker.features import FeatureCache

    stream, inv, coords, ref, conf, ep, hidden = hengill_case(require_shared("data", "hengill"), eqt_conservative)
    cached = Repicker(model=eqt_conservative)
    cached.repick(ep, stream, inventory=inv)
    got = [(r.pick.public_id, r.pick.probability) for r in cached.last_results]
    assert got and 0 < len(cached.cache) <= len(stream.select(component="Z"))  # one origin's windows at most
    assert cached.cache.misses > len(cached.cache)  # many more were encoded and have left
    monkeypatch.setattr(FeatureCache, "discard", lambda self, key: None)  # keep every window
    keeping = Repicker(model=eqt_conservative)
    keeping.repick(ep, stream, inventory=inv)
    assert len(keeping.cache) == keeping.cache.misses > len(cached.cache)
    assert got == [(r.pick.public_id, r.pick.probability) for r in keeping.last_results]


def test_the_log_says_why_station_phases_were_not_searched(eqt_conservative, caplog):
    """Per origin and per run, the re-picker counts the station-phases it searched and why the
    others were not searched (an operator's first question when a re-pick is missing); the
    searched count is that of the searches made, and a smaller maxDistance moves stations from
    searched to 'beyond maxDistance'."""
    import logging

    from conftest import require_shared

    from seqt_plugins.geo import station_geometry
    from seqt_plugins.repick_case import hengill_case
    from seqt_plugins.repicker import Repicker, RepickerOptions

    stream, inv, coords, ref, conf, ep, hidden = hengill_case(require_shared("data", "hengill"), eqt_conservative)
    counts = {}
    for km in (200.0, 8.0):
        rp = Repicker(model=eqt_conservative, options=RepickerOptions(max_distance=km))
        rp.keep_searches = True
        with caplog.at_level(logging.INFO, logger="seqt_plugins.repicker"):
            caplog.clear()
            rp.repick(ep, stream, inventory=inv)
        c = dict(rp.search_counts)
        assert c["searched P"] + c["searched S"] == len(rp.last_searches) > 0
        summary = [r.getMessage() for r in caplog.records if "station-phases" in r.getMessage()]
        assert len(summary) == 1 and f"searched {c['searched P']} P and {c['searched S']} S" in summary[0]
        counts[km] = c
    assert counts[200.0].get("P beyond maxDistance", 0) == 0
    far = sum(1 for o in ep.origins for key, xyz in coords.items()
              if station_geometry(o, xyz).epicentral_km > 8.0)
    assert 0 < counts[8.0]["P beyond maxDistance"] <= far
    assert counts[8.0]["searched P"] < counts[200.0]["searched P"]
    assert f"not searched: P {counts[8.0]['P beyond maxDistance']} beyond maxDistance" in summary[0]


def test_an_origin_without_arrivals_takes_the_picks_its_prediction_fits(caplog):
    """A catalogue export or a locator that writes no arrivals: the re-picker takes, per station
    and phase, the input pick nearest the origin's prediction as the origin's own, and re-picks
    exactly as with the locator's arrivals (IPOC 2007-11-20, events located from the picker's
    picks; the onset path re-picks PB02's P either way)."""
    import copy
    import logging

    from conftest import require_shared
    from seqt_plugins.catalog.locate import locate_events
    from seqt_plugins.evaluation import labelled_arrays, with_events
    from seqt_plugins.picker import Picker
    from seqt_plugins.repicker import Repicker

    r = next(x for x in labelled_arrays(require_shared("data", "labelled_arrays")) if x.name.startswith("IPOC"))
    picks = Picker().pick(r.stream, r.inventory)
    ep = with_events(picks, locate_events(picks, r.coordinates))
    bare = copy.deepcopy(ep)
    for o in bare.origins:
        o.arrivals = []
    repicks = []
    with caplog.at_level(logging.INFO, logger="seqt_plugins.repicker"):
        for e in (ep, bare):
            rp = Repicker()
            rp.repick(e, r.stream, inventory=r.inventory, coordinates=r.coordinates)
            repicks.append(sorted((x.pick.waveform_id.station, x.pick.phase_hint, str(x.pick.time)) for x in rp.last_results))
    assert repicks[0] and repicks[0] == repicks[1]
    assert "has no arrivals" in caplog.text
    # without station coordinates nothing predicts where the origin's picks lie: not searched
    caplog.clear()
    rp = Repicker()
    rp.repick(copy.deepcopy(bare), r.stream, inventory=None, coordinates={})
    assert not rp.last_results and "no associated P or S picks" in caplog.text


def test_moveout_fit_follows_the_arrays_velocity_and_ignores_a_wrong_pick():
    """repicker.fitMoveout: P picks of a slow shallow array (4.5 km/s, origin-time offset 0.3 s)
    with one wrong pick 3 s late give that line back; too few picks, too little distance spread or
    an implausible velocity fall back to vP with the median offset."""
    from seqt_plugins.repicker.engine import fit_moveout

    d = np.array([4.0, 7.0, 11.0, 15.0, 22.0, 30.0])
    t = 0.3 + d / 4.5
    t[3] += 3.0  # a wrong pick
    a, b = fit_moveout(d, t, 6.0)
    assert b == pytest.approx(1 / 4.5, rel=0.02) and a == pytest.approx(0.3, abs=0.1)
    # at the farthest station the line is right to 0.1 s; vP with the median offset is 0.75 s early
    a0 = float(np.median(t - d / 6.0))
    assert abs(a + b * 30.0 - (0.3 + 30.0 / 4.5)) < 0.1 < 0.5 < abs(a0 + 30.0 / 6.0 - (0.3 + 30.0 / 4.5))
    assert fit_moveout(d[:3], t[:3], 6.0) == (pytest.approx(float(np.median(t[:3] - d[:3] / 6.0))), 1 / 6.0)
    close = np.array([10.0, 11.0, 12.0, 13.0])
    assert fit_moveout(close, close / 4.5, 6.0)[1] == 1 / 6.0  # 3 km of spread: no slope
    assert fit_moveout(d, 0.3 + d / 1.0, 6.0)[1] == 1 / 6.0  # 1 km/s is no crustal P velocity


def test_warm_up_builds_the_graphs_so_the_first_origin_traces_nothing():
    """seqtrepick warms its models at start (the first origin waited ~15 s on 2 cores, later
    ones 1-2 s): afterwards the first real windows build no graph, and the warm-up leaves
    nothing cached or counted."""
    from seqt_plugins.eqt import load_eqt
    from seqt_plugins.repicker import Repicker

    rp = Repicker(model=load_eqt("conservative", cache=False))  # fresh: no graph built yet
    assert not rp.model._compiled
    cache = rp.cache
    cache.warm_up()
    assert len(cache) == cache.misses == cache.hits == cache.encoded == 0

    def tracings():
        models = [cache.model] + [m for m in cache.probability_models if m is not cache.model]
        return {(id(m), k): f.experimental_get_tracing_count() for m in models
                for k, f in m._compiled.items() if hasattr(f, "experimental_get_tracing_count")}

    before = tracings()
    assert before and all(n >= 1 for n in before.values())
    windows = np.random.default_rng(2).standard_normal((3, 6000, 3)).astype(np.float32)
    got = cache.get_many([(("XX.A", i), windows[i]) for i in range(3)])
    assert len(got) == 3 and cache.encoded == 3
    assert tracings() == before

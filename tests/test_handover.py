"""One EqT pass per window: the picking pass hands its features to the re-picker.

With a hand-over the picker runs the re-picker's model as a multi-output graph, cuts its
batches in time order and offers the decoder taps and outputs of the windows around its
detections to the re-picker's ``FeatureCache``. Checked here: the picks are exactly those of
the picker without it (probabilities bit for bit, also chunked, with mean stacking and 75 %
overlap), no window near a chunk cut is handed over (its features equal the re-picker's own),
the cache merges handed-over and missing model outputs as its own encoding does, and
``seqt-catalog``'s pipeline re-picks exactly as without the hand-over while the re-picker
encodes no window the picker encoded.
"""

import numpy as np
import pytest

from conftest import require_shared
from seqt_plugins.picker import Picker
from seqt_plugins.picker.handover import EDGE_MARGIN, model_key
from seqt_plugins.picker.prepare import WINDOW, prepare_stream
from seqt_plugins.picker.windows import global_index, plan_windows, step_samples
from seqt_plugins.repicker.features import FeatureCache, StreamWindows, tap_names, window_key


def _signature(p):
    return (p.public_id, p.time, p.waveform_id.nslc, p.phase_hint, p.probability, p.time_uncertainty, p.snr,
            p.amplitude, p.method_id, tuple(c.text for c in p.comments))


def _assert_identical(a, b):
    assert [_signature(p) for p in a] == [_signature(p) for p in b]


class _Sink:
    """Records what a picker offers (a FeatureCache stand-in)."""

    def __init__(self, model, names):
        self.model, self.names, self.offers, self.all = model, list(names), {}, []

    def offer(self, key, taps, outputs):
        self.offers.setdefault(key, (taps, outputs))  # the first offer wins, as in FeatureCache
        self.all.append((key, taps, outputs))
        return True


@pytest.fixture(scope="module")
def hengill():
    from obspy import read, read_inventory

    root = require_shared("data", "hengill")
    return root, read(str(root / "mseed" / "*.mseed")), read_inventory(str(root / "stations.xml"))


def test_picks_with_handover_equal_the_reference(hengill, eqt_original, eqt_conservative):
    _, stream, inventory = hengill
    models = [eqt_original, eqt_conservative]  # the default ensemble ("both")
    reference = Picker(model=models)
    picker = Picker(model=models)
    sink = _Sink(eqt_conservative, tap_names(eqt_conservative, "P") + tap_names(eqt_conservative, "S"))
    handover = picker.hand_over(sink, grid=30.0, before=90.0, after=60.0)
    picks, dets = picker.classify(stream, inventory)
    ref_picks, ref_dets = reference.classify(stream, inventory)
    assert len(ref_picks) > 100
    _assert_identical(ref_picks, picks)
    assert [(d.waveform_id.nslc, d.start, d.end, d.probability) for d in dets] == \
        [(d.waveform_id.nslc, d.start, d.end, d.probability) for d in ref_dets]
    # the record is dense (an event every 30 s): every window is near one and handed over, but
    # the twin of each station's first window (off the grid, its end possibly mirrored)
    stations = {(tr.stats.network, tr.stats.station) for tr in stream}
    assert handover.stats.windows > 150 and len(sink.offers) == handover.stats.windows - len(stations)
    key, (taps, outputs) = next(iter(sink.offers.items()))
    assert set(outputs) == {model_key(eqt_original), model_key(eqt_conservative)}
    assert all(o.shape == (3, WINDOW) for o in outputs.values()) and set(taps) == set(sink.names)


def test_chunked_handover_skips_cuts_and_matches_the_repickers_features(eqt_conservative):
    from test_picker_shards import _tiled

    stream, _, _ = _tiled(hours=0.6)
    options = dict(chunk_length=900.0, stacking="mean", overlap=0.75)
    names = tap_names(eqt_conservative, "P") + tap_names(eqt_conservative, "S")
    picker = Picker(model=eqt_conservative, **options)
    sink = _Sink(eqt_conservative, names)
    handover = picker.hand_over(sink, grid=30.0, before=60.0, after=30.0)
    picks = picker.pick(stream)
    ref = Picker(model=eqt_conservative, **options).pick(stream)
    assert len(ref) > 20
    _assert_identical(ref, picks)
    assert 0 < len(sink.offers) < handover.stats.windows  # 75 % overlap: only the 30 s grid is offered

    # the windows offered closest to a piece's cut data edge (chunk boundary ± margin) carry what
    # the re-picker computes from its own preparation of the whole stream
    spans = [(tr.stats.starttime, tr.stats.endtime) for tr in stream]
    bounds = picker.pieces(spans)
    assert len(bounds) == 3
    edges = [global_index(t) for a, b in bounds for t in picker.read_span(a, b) if t is not None]
    clearance = {k: min(min(abs(k[1] - e), abs(k[1] + WINDOW - e)) for e in edges) for k in sink.offers}
    near = sorted(sink.offers, key=clearance.get)[:16]
    assert clearance[near[0]] < EDGE_MARGIN + 3000  # (offered by the other piece, where it is inside)
    source = StreamWindows(stream)
    cache = FeatureCache(eqt_conservative, names, size=64, batch_size=16)
    requests = []
    for key in near:
        sd = next(s for s in source.stations if s.key == key[0])
        j, seg = next((j, seg) for j, seg in enumerate(sd.segments)
                      if 0 <= key[1] - global_index(seg.start) <= seg.npts - WINDOW)
        start = key[1] - global_index(seg.start)
        assert window_key(sd.key, seg, start) == key
        requests.append((key, lambda k=sd.key, j=j, a=start: source.window(k, j, a)))
    own = cache.get_many(requests)
    mine = dict(zip(near, own))
    compared = 0
    for key, taps, outputs in sink.all:
        if key not in mine:
            continue
        wf = mine[key]
        compared += 1
        np.testing.assert_allclose(outputs[model_key(eqt_conservative)], wf.probabilities, atol=2e-5)
        for n in names:
            np.testing.assert_allclose(taps[n], wf.taps[n], atol=2e-5 * max(1.0, float(np.abs(wf.taps[n]).max())))
    assert compared >= len(near)


class _FakeEqT:
    """A deterministic stand-in for an EqT model: outputs and 'taps' are functions of the window."""

    def __init__(self, name, scale):
        self.name, self.scale = name, scale
        self.identity = (f"/nonexistent/{name}.h5", "float32", False)
        self.windows = 0

    def predict(self, x, batch_size=None):
        self.windows += len(x)
        z = x[..., 2] * self.scale
        return 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(z)), np.tanh(z) ** 2

    def taps(self, names, x, batch_size=None):
        return self.predict(x), {n: x[:, :: k + 1, :].copy() for k, n in enumerate(names)}

    def taps_batch(self, names, x):
        return self.taps(names, x)


def test_cache_merges_handed_over_and_missing_outputs_as_its_own_encoding():
    rng = np.random.default_rng(3)
    tapped, other = _FakeEqT("tapped", 0.7), _FakeEqT("other", 1.3)
    names = ["a", "b"]
    windows = {("XX.A.", 3000 * k): rng.standard_normal((WINDOW, 3)).astype(np.float32) for k in range(5)}
    reference = FeatureCache(tapped, names, size=8, batch_size=4, probability_models=[other, tapped])
    cache = FeatureCache(tapped, names, size=8, batch_size=4, probability_models=[other, tapped], handover_size=3)
    from seqt_plugins.picker.windows import normalize

    for key, w in list(windows.items())[:4]:
        x = normalize(w[None].copy())
        (d, p, s), maps = tapped.taps(names, x)
        # the picker ran the tapped model only (a conservative-only picker): the other model runs in the cache
        cache.offer(key, {n: maps[n][0] for n in names}, {model_key(tapped): np.stack([d[0], p[0], s[0]])})
    assert cache.handed_over == 3 and cache.handover_refused == 1  # the store holds 3
    assert not any(cache.has(k) for k in windows)  # waiting outside the LRU: window placement unchanged
    tapped.windows = other.windows = 0
    requests = [(k, (lambda w=w: w)) for k, w in windows.items()]
    got, ref = cache.get_many(requests), reference.get_many(requests)
    for a, b in zip(got, ref):
        assert np.array_equal(a.probabilities, b.probabilities)
        assert all(np.array_equal(a.taps[n], b.taps[n]) for n in names)
    assert sum(cache.encodes.values()) == 2 and max(cache.encodes.values()) == 1  # the two not handed over
    assert all(cache.has(k) for k in windows) and cache.handover_used == 3 and cache.handed_over == 0
    assert cache.offer(next(iter(windows)), {}, {model_key(tapped): None}) is False  # known windows are refused


def test_cache_smaller_than_one_request_returns_every_window():
    """A request with more misses than the cache holds must still return its hits (storing the
    misses evicts them; a small repicker.cacheSize made seqt-catalog fail with a KeyError)."""
    rng = np.random.default_rng(5)
    model = _FakeEqT("tapped", 0.7)
    windows = {("XX.A.", 3000 * k): rng.standard_normal((WINDOW, 3)).astype(np.float32) for k in range(6)}
    requests = [(k, (lambda w=w: w)) for k, w in windows.items()]
    cache = FeatureCache(model, ["a"], size=2, batch_size=4)
    reference = FeatureCache(_FakeEqT("tapped", 0.7), ["a"], size=8, batch_size=4).get_many(requests)
    cache.get_many(requests[4:])  # two hits for the next request, asked for after its four misses
    got = cache.get_many(requests)
    assert len(got) == 6 and model.windows == 6  # each window encoded once
    for a, b in zip(got, reference):
        assert np.array_equal(a.probabilities, b.probabilities) and np.array_equal(a.taps["a"], b.taps["a"])
    assert sum(cache.has(k) for k in windows) == 2  # the cache keeps its size


def test_catalog_repicks_equal_without_handover_and_encode_each_window_once(hengill, eqt_original, eqt_conservative,
                                                                           tmp_path):
    pytest.importorskip("pyocto")
    from seqt_plugins.catalog import AssociatorOptions, CatalogPipeline
    from seqt_plugins.repicker import Repicker

    root, stream, inventory = hengill
    runs = {}
    for handover in (False, True):
        pipeline = CatalogPipeline(root / "velocity_model.txt", associator_options=AssociatorOptions(cache_dir=str(tmp_path)),
                                   picker=Picker(model=[eqt_original, eqt_conservative]),
                                   repicker=Repicker(model=eqt_conservative), handover=handover)
        runs[handover] = (pipeline, pipeline.run(stream, inventory))
    (ref, ref_ep), (new, ep) = runs[False], runs[True]
    assert len(ref.stages.repick_results) >= 5
    key = lambda p: (p.time, p.public_id)  # noqa: E731
    _assert_identical(sorted(ref_ep.picks, key=key), sorted(ep.picks, key=key))
    assert [(o.public_id, o.time, len(o.arrivals)) for o in ref_ep.origins] == \
        [(o.public_id, o.time, len(o.arrivals)) for o in ep.origins]

    # every window the picker ran the tapped model on (and the first windows' twins, never handed over)
    stations = prepare_stream(stream, inventory=inventory)
    refs = plan_windows([s.segments for s in stations], step_samples(0.5))
    picked = {window_key(stations[r.station].key, stations[r.station].segments[r.segment], r.start) for r in refs}
    assert new.last_handover.stats.windows == len(picked) + sum(len(s.segments) for s in stations)
    encoded, encoded_ref = new.repicker.cache.encodes, ref.repicker.cache.encodes
    assert sum(encoded_ref.values()) > 20 and set(encoded_ref) <= picked  # without: encoded twice
    assert not set(encoded) & picked and max(encoded.values(), default=0) <= 1
    assert new.repicker.cache.handover_used == ref.repicker.cache.misses
    assert new.repicker.cache.handed_over == 0  # the leftovers are dropped after re-picking

"""Windows, stacking and triggering against synthetic probability traces (no model needed)."""

import numpy as np
import pytest
from obspy import UTCDateTime

from seqt_plugins.picker import Picker, PickerOptions
from seqt_plugins.picker.prepare import WINDOW, Segment
from seqt_plugins.picker.stack import Stack, effective_blinds
from seqt_plugins.picker.triggers import (
    associate, find_picks, local_peaks, p_peak_candidates, peak_uncertainty, percentile_rows, snr_db, snr_many, suppress,
    trigger_runs,
)
from seqt_plugins.picker.windows import normalize, step_samples, window_starts


def _gauss(n, centre, height, width=20.0):
    i = np.arange(n)
    return (height * np.exp(-0.5 * ((i - centre) / width) ** 2)).astype(np.float32)


def test_trigger_runs_inclusive_off_and_threshold_ge():
    d = np.array([0, 0.3, 0.5, 0.29, 0.3, 0.3, 0], dtype=np.float32)
    assert trigger_runs(d, 0.3) == [(1, 2), (4, 5)]
    assert trigger_runs(np.ones(4), 0.3) == [(0, 3)]
    assert trigger_runs(np.zeros(4), 0.3) == []


def test_local_peaks_plateau_takes_first_sample():
    x = np.array([0, 0.2, 0.5, 0.5, 0.1, 0.3, 0.05, 0.6], dtype=np.float32)
    assert local_peaks(x, 0.1).tolist() == [2, 5]  # last sample is never a peak
    assert local_peaks(x, 0.4).tolist() == [2]


def test_suppress_keeps_highest_within_distance():
    x = np.zeros(1000, np.float32)
    x[[100, 150, 420, 600, 650]] = [0.5, 0.8, 0.3, 0.7, 0.7]
    kept = suppress(np.array([100, 150, 420, 600, 650]), x, 200)
    assert kept.tolist() == [150, 600]  # 420 lies within 200 of 600; ties keep the earliest


def test_association_earliest_s_highest_p():
    n = 6000
    d = np.zeros(n, np.float32)
    d[1000:2500] = 0.9
    p = _gauss(n, 900, 0.4) + _gauss(n, 1100, 0.8)  # two P candidates: the higher wins
    s = _gauss(n, 1800, 0.5) + _gauss(n, 2300, 0.9)  # two S candidates: the earliest wins
    dets = associate(trigger_runs(d, 0.3), d, p, s, local_peaks(p, 0.1), local_peaks(s, 0.1))
    assert len(dets) == 1
    assert (dets[0].p, dets[0].s) == (1100, 1800)
    assert dets[0].probability == pytest.approx(0.9)


def test_find_picks_values_uncertainty_snr_amplitude():
    n = 12000
    rng = np.random.default_rng(1)
    data = rng.standard_normal((n, 3)).astype(np.float32)
    data[3000:3400] *= 20.0  # an arrival
    d = np.zeros(n, np.float32)
    d[2990:4500] = 0.95
    p = _gauss(n, 3000, 0.9, width=10)
    s = _gauss(n, 3800, 0.7, width=30)
    dets, picks = find_picks(np.stack([d, p, s]), data, 0.3, 0.1, 0.1, 200)
    assert [(pk.phase, pk.index) for pk in picks] == [("P", 3000), ("S", 3800)]
    pp, sp = picks
    assert pp.probability == pytest.approx(0.9, abs=1e-3)
    assert pp.uncertainty == pytest.approx(10 * 2.3548 / 100 / 2.3548, abs=0.01)  # σ of a width-10 Gaussian
    assert sp.uncertainty > pp.uncertainty
    assert pp.snr == pytest.approx(26.0, abs=3.0)  # 20·log10(20)
    assert pp.amplitude > 40
    assert len(dets) == 1 and dets[0].p == 3000 and dets[0].s == 3800
    assert peak_uncertainty(p, 3000) == pp.uncertainty
    assert snr_db(data, 5) is None


@pytest.mark.parametrize("n,q", [(300, 95), (11, 95), (31, 95), (2, 95), (1, 95), (40, 50), (7, 100)])
def test_percentile_rows_is_numpys_percentile_of_each_row(n, q):
    """The vectorised percentile of the SNR equals np.percentile of one row bit for bit (n=11: the
    interpolation weight is 0.5, numpy's other branch)."""
    rng = np.random.default_rng(n)
    rows = (rng.standard_normal((200, n)) * rng.uniform(1e-3, 1e4, (200, 1))).astype(np.float32)
    rows[0] = 1.0  # ties
    got = percentile_rows(rows, q)
    for row, value in zip(rows, got):
        ref = np.percentile(row, q)
        assert value == ref and np.asarray(ref).dtype == np.float64


def test_snr_many_equals_snr_db_everywhere():
    rng = np.random.default_rng(5)
    data = (rng.standard_normal((3000, 3)) * np.linspace(1, 50, 3000)[:, None]).astype(np.float32)
    data[1500:1700] = 0.0  # a silent stretch: SNR undefined there
    indices = list(range(0, 3000, 7)) + [95, 100, 105, 2899, 2900, 2995, 1600, 1700]
    values = snr_many(data, indices)
    assert values == [snr_db(data, i) for i in indices]
    assert sum(v is None for v in values) > 5 and sum(v is not None for v in values) > 300


def test_two_earthquakes_in_one_detection_both_picked():
    """A foreshock 6.5 s before the main shock, its S too weak to pick (labelled CRL 2010-01-18):
    one detection run holds both; every P and S peak inside it is picked, peaks outside are not."""
    n = 12000
    data = np.random.default_rng(2).standard_normal((n, 3)).astype(np.float32)
    d = np.zeros(n, np.float32)
    d[2300:5000] = 0.8
    p = _gauss(n, 2350, 0.45, width=10) + _gauss(n, 3000, 0.41, width=10) + _gauss(n, 8000, 0.9, width=10)
    s = _gauss(n, 3340, 0.46, width=30)
    dets, picks = find_picks(np.stack([d, p, s]), data, 0.3, 0.3, 0.1, 200)
    assert [(pk.phase, pk.index) for pk in picks] == [("P", 2350), ("P", 3000), ("S", 3340)]
    assert len(dets) == 1 and (dets[0].p, dets[0].s) == (2350, 3340)  # the detection's own pair: rule 3
    # the second P is no duplicate of the first and carries its own measurements
    assert picks[1].probability == pytest.approx(0.41, abs=1e-3) and picks[1].amplitude is not None


def test_p_picks_need_a_confident_detection():
    """With pDetectionThreshold a P peak is a pick only where its event's detection reaches it:
    a weak P in a confident event (IPOC PB02: original 0.5, conservative 0.0, mean 0.25,
    detection 1.0) is picked, a stronger one in a weak event is not; S picks are unchanged."""
    n = 12000
    data = np.random.default_rng(3).standard_normal((n, 3)).astype(np.float32)
    d = np.zeros(n, np.float32)
    d[2300:4000] = 0.9  # a confident event
    d[7300:9000] = 0.4  # a weak one
    p = _gauss(n, 2350, 0.25, width=10) + _gauss(n, 7350, 0.35, width=10)
    s = _gauss(n, 3300, 0.3, width=30) + _gauss(n, 8300, 0.3, width=30)
    probs = np.stack([d, p, s])
    _dets, picks = find_picks(probs, data, 0.3, 0.2, 0.1, 200, 0.5)
    assert [(pk.phase, pk.index) for pk in picks] == [("P", 2350), ("S", 3300), ("S", 8300)]
    assert picks[0].probability == pytest.approx(0.25, abs=1e-3)
    # without the gate (0, or at the detection threshold) the weak event's P is a pick too
    for gate in (0.0, 0.3):
        _dets, picks = find_picks(probs, data, 0.3, 0.2, 0.1, 200, gate)
        assert [(pk.phase, pk.index) for pk in picks] == [("P", 2350), ("S", 3300), ("P", 7350), ("S", 8300)]


def test_weaker_p_counts_where_the_detection_is_strong():
    """p_threshold_strong (picker.strongPFactor × pThreshold): inside a detection reaching
    strongDetection a P peak from that lower bar on is a pick (also up to 1 s before the strong
    run starts, as P may precede a detection); the same peak in a detection that stays below
    strongDetection is not, a peak above pThreshold is a pick in either, and the rule is off at 0
    or at pThreshold."""
    n = 12000
    data = np.random.default_rng(4).standard_normal((n, 3)).astype(np.float32)
    d = np.zeros(n, np.float32)
    d[2300:4000] = 0.6
    d[2400:3800] = 0.97  # EqT is sure here
    d[7300:9000] = 0.8  # a detection, but not a strong one
    p = (_gauss(n, 2340, 0.2, width=10) + _gauss(n, 7350, 0.2, width=10) + _gauss(n, 10500, 0.2, width=10)
         + _gauss(n, 7900, 0.35, width=10))
    s = _gauss(n, 3300, 0.3, width=30)
    probs = np.stack([d, p, s])
    _dets, picks = find_picks(probs, data, 0.3, 0.3, 0.1, 200, 0.0, 0.15, 0.95)
    assert [(pk.phase, pk.index) for pk in picks] == [("P", 2340), ("S", 3300), ("P", 7900)]
    assert picks[0].probability == pytest.approx(0.2, abs=1e-3)
    for low in (0.0, 0.3):  # off: only the peak above pThreshold
        _dets, picks = find_picks(probs, data, 0.3, 0.3, 0.1, 200, 0.0, low, 0.95)
        assert [(pk.phase, pk.index) for pk in picks] == [("S", 3300), ("P", 7900)]
    # the P peak outside every detection (10500) is never a pick, whatever the bar
    assert 10500 not in p_peak_candidates(d, p, 0.3, 0.15, 0.95)
    # a strong run that starts more than 1 s after the peak does not reach back to it
    late = d.copy()
    late[2300:2460] = 0.6
    assert 2340 not in p_peak_candidates(late, p, 0.3, 0.15, 0.95)


def test_short_runs_and_unpicked_events_are_dropped():
    n = 3000
    d = np.zeros(n, np.float32)
    d[100:105] = 0.9  # shorter than 10 samples
    d[1000:1500] = 0.9  # no P or S peak
    dets, picks = find_picks(np.stack([d, np.zeros(n, np.float32), np.zeros(n, np.float32)]), np.zeros((n, 3)), 0.3, 0.1, 0.1, 200)
    assert dets == [] and picks == []


def test_window_starts_anchored_cover_tail():
    t0 = UTCDateTime("2024-03-01T00:00:07.23")
    seg = Segment(t0, np.zeros((20000, 3), np.float32))
    step = step_samples(0.5)
    starts = window_starts(seg, step)
    assert starts[0] == 0 and starts[-1] == 20000 - WINDOW
    inner = starts[1:-1]
    abs_idx = [int(round((t0 + s / 100.0).timestamp * 100)) for s in inner]
    assert all(a % step == 0 for a in abs_idx)
    # a later cut of the same data lays the same grid windows
    seg2 = Segment(t0 + 12.34, np.zeros((15000, 3), np.float32))
    abs2 = {int(round((seg2.start + s / 100.0).timestamp * 100)) for s in window_starts(seg2, step)[1:-1]}
    assert abs2 <= set(abs_idx) | {max(abs_idx) + step}
    assert window_starts(Segment(t0, np.zeros((5999, 3), np.float32)), step).size == 0


def test_edge_padding_windows_reach_beyond_the_record_end():
    """With edge padding, windows reach up to ``pad`` samples past the end (zero-filled there),
    on the absolute grid; the stack adds only their samples inside the segment."""
    from seqt_plugins.picker.windows import WindowRef, batches

    t0 = UTCDateTime("2024-03-01T00:00:07.23")
    data = np.random.default_rng(1).standard_normal((20000, 3)).astype(np.float32)
    seg = Segment(t0, data)
    step = step_samples(0.5)
    plain, padded = window_starts(seg, step), window_starts(seg, step, 3000)
    assert set(plain) < set(padded) and padded[0] == 0 and padded[-1] == 20000 - WINDOW + 3000
    extra = [s for s in padded if s not in set(plain) and s != 20000 - WINDOW + 3000]
    assert extra and all(int(round((t0 + s / 100.0).timestamp * 100)) % step == 0 for s in extra)
    last = int(padded[-1])
    [(x, _)] = list(batches([[seg]], [WindowRef(0, 0, last)], 1))
    # the data, then zeros (a constant after the window's normalisation)
    assert np.ptp(x[0, WINDOW - 3000:], axis=0).max() == 0 and np.ptp(x[0, :WINDOW - 3000], axis=0).min() > 0
    corr = np.corrcoef(x[0, :WINDOW - 3000, 2], data[last:, 2])[0, 1]
    assert corr > 0.9999
    st = Stack(20000, "max", 500)
    w = np.ones(WINDOW, np.float32)
    st.add(last, w, w * 0.5, w * 0.25)
    out = st.result()
    assert out[0, last + 499] == 0.0 and out[0, last + 500] == 1.0 and out[2, -1] == 0.25


def test_normalize_std_and_zero_channel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, WINDOW, 3)).astype(np.float32) * 5 + 3
    x[1, :, 0] = 7.0  # constant: becomes 0, divisor 1
    normalize(x)
    assert np.allclose(x[0].std(axis=0), 1, atol=1e-5) and np.allclose(x[0].mean(axis=0), 0, atol=1e-5)
    assert np.all(x[1, :, 0] == 0)


@pytest.mark.parametrize("method", ["max", "mean"])
def test_stack_blinding_covers_every_sample(method):
    n = 20000
    seg = Segment(UTCDateTime(0), np.zeros((n, 3), np.float32))
    step = step_samples(0.5)
    start, blind = effective_blinds(500, 500, step)
    st = Stack(n, method, blind, start)
    ones = np.ones(WINDOW, np.float32)
    for s in window_starts(seg, step):
        st.add(int(s), ones, ones * 0.5, ones * 0.25)
    out = st.result()
    assert np.allclose(out[0], 1.0) and np.allclose(out[1], 0.5) and np.allclose(out[2], 0.25)
    assert effective_blinds(3000, 3000, step_samples(0.9)) == (2700, 2700)
    assert effective_blinds(500, 500, step_samples(0.0)) == (0, 0)


@pytest.mark.parametrize("overlap", [0.3, 0.5, 0.75, 0.9])
def test_start_blinding_keeps_every_sample_covered(overlap):
    """The longer blinding at a window's start (the original model's spurious P peaks at whole
    seconds 4-11 s into a window) shrinks where the overlap is too small, never leaving a hole."""
    n = 40000
    seg = Segment(UTCDateTime(0), np.zeros((n, 3), np.float32))
    step = step_samples(overlap)
    start, end = effective_blinds(1100, 500, step)
    assert start >= end and start + end <= WINDOW - step
    if overlap >= 0.5:
        assert (start, end) == (1100, 500)
    st = Stack(n, "max", end, start)
    ones = np.ones(WINDOW, np.float32)
    for s in window_starts(seg, step):
        st.add(int(s), ones, ones, ones)
    assert np.all(st.result() == 1.0)
    # the first window keeps its start, later ones are blinded there
    st = Stack(n, "max", end, start)
    st.add(0, ones, ones, ones)
    st.add(step, ones * 0.5, ones * 0.5, ones * 0.5)
    out = st.result()[1]
    assert out[0] == 1.0 and out[step + start - 1] == (1.0 if step + start - 1 < WINDOW - end else 0.0)
    assert out[step + start] == 0.5 or step + start < WINDOW - end


def test_stack_blinds_interior_edges_only():
    st = Stack(12000, "max", 500)
    w = np.ones(WINDOW, np.float32)
    st.add(0, w, w, w)
    st.add(6000, w * 0.5, w * 0.5, w * 0.5)
    out = st.result()[0]
    assert out[0] == 1.0 and out[5499] == 1.0 and out[5500] == 0.0  # right edge of window 1 blinded
    assert out[6499] == 0.0 and out[6500] == 0.5 and out[-1] == 0.5  # segment end keeps its value


class _FakeModel:
    """Sees a spike in a window and answers with a P there, an S 1.5 s later and a detection
    around them, the way EqT answers an arrival: checks windowing, batching, stacking and
    triggering end to end without TensorFlow."""

    name = "fake"

    def __init__(self):
        self.calls = []

    def predict(self, x, batch_size=None):
        self.calls.append(len(x))
        n = len(x)
        det, p, s = (np.zeros((n, WINDOW), np.float32) for _ in range(3))
        for k in range(n):
            z = np.abs(x[k, :, 2])
            if not z.any():
                continue  # a padding row of the batch
            i = int(np.argmax(z))
            if z[i] < 8 * np.median(z):
                continue  # no spike in this window
            det[k, max(0, i - 20):i + 400] = 0.9
            p[k] = _gauss(WINDOW, i, 0.9, width=10)
            s[k] = _gauss(WINDOW, i + 150, 0.8, width=20)
        return det, p, s


def test_picker_batches_windows_across_stations():
    from obspy import Stream, Trace

    st = Stream()
    spikes = (50.0, 150.0, 250.0)  # seconds after the start
    for k, sta in enumerate(("A", "B", "C")):
        for c in "ZNE":
            data = np.random.default_rng(k).standard_normal(30000)
            if c == "Z":
                for t in spikes:
                    data[int(t * 100)] += 400.0
            st += Trace(data, header={"station": sta, "channel": "HH" + c, "sampling_rate": 100.0,
                                      "starttime": UTCDateTime(0)})
    model = _FakeModel()
    picker = Picker(model=model, batch_size=16)
    results = picker.probabilities(st)
    n_windows = sum(len(window_starts(seg, picker.step)) for sta, _ in results for seg in sta.segments)
    assert len(results) == 3 and n_windows == 3 * 9
    assert model.calls == [16, 16]  # 27 windows of 3 stations in two full (padded) batches
    picks = picker.pick(st)
    # each spike once per station, although two overlapping windows saw most of them
    got = sorted((p.waveform_id.station, p.phase_hint, round(p.time - UTCDateTime(0), 2)) for p in picks)
    want = sorted((sta, ph, t + (1.5 if ph == "S" else 0.0)) for sta in "ABC" for t in spikes for ph in "PS")
    assert got == want
    assert all(p.probability == pytest.approx(0.9 if p.phase_hint == "P" else 0.8, abs=1e-3) for p in picks)
    assert {p.waveform_id.channel for p in picks if p.phase_hint == "P"} == {"HHZ"}


def test_options_validation():
    with pytest.raises(TypeError, match="unknown picker option"):
        Picker(model=_FakeModel(), thresold=0.3)
    with pytest.raises(ValueError):
        Picker(model=_FakeModel(), stacking="median")
    p = Picker(model=_FakeModel(), options=PickerOptions(overlap=0.3), p_threshold=0.2)
    assert p.options.overlap == 0.3 and p.options.p_threshold == 0.2 and p.step == 4200


def test_strong_p_factor_scales_with_p_threshold():
    """The Picker passes pThreshold × strongPFactor as the lower bar, so a stricter pThreshold
    (a station binding) is stricter inside strong detections too, and pThreshold 1 picks no P."""
    from seqt_plugins.picker.prepare import StationData

    n = 12000
    d = np.zeros(n, np.float32)
    d[2300:4000] = 0.97
    p = _gauss(n, 2350, 0.2, width=10) + _gauss(n, 2900, 0.4, width=10)
    probs = np.stack([d, p, np.zeros(n, np.float32)])
    seg = Segment(UTCDateTime(2020, 1, 1), np.zeros((n, 3), np.float32))
    sd = StationData("XX", "STA", "", ("HHE", "HHN", "HHZ"), [seg])

    def p_times(**options):
        picker = Picker(model="conservative", **options)  # the model is not loaded: only triggers run
        picks, _ = picker.picks_from_probabilities([(sd, [probs])])
        return [round(pk.time - seg.start, 2) for pk in picks if pk.phase_hint == "P"]

    assert p_times() == [23.5, 29.0]  # 0.2 >= 0.3 × 0.5 inside the strong detection
    assert p_times(strong_p_factor=1.0) == [29.0]
    assert p_times(p_threshold=0.5) == [29.0]  # the bar there is 0.25: 0.4 counts, 0.2 no longer
    assert p_times(p_threshold=1.0) == []

"""Stream preparation: gaps, sampling rates, components, masked/NaN samples, bad files."""

import logging

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from seqt_plugins.picker.prepare import FS, PrepareError, prepare_stream, read_waveforms

T0 = UTCDateTime("2024-03-01T10:00:00")
FREQS = {"Z": 3.0, "N": 5.0, "E": 8.0, "1": 5.0, "2": 8.0}


def _trace(code, sr=100.0, seconds=120.0, start=T0, freq=None, sta="ABC", chan="HH", noise=0.0, seed=0):
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f = freq if freq is not None else FREQS[code]
    x = 1000.0 * np.sin(2 * np.pi * f * t)
    if noise:
        x += noise * np.random.default_rng(seed).standard_normal(n)
    return Trace(x.astype(np.float64), header={"network": "XX", "station": sta, "location": "",
                                               "channel": chan + code, "sampling_rate": sr, "starttime": start})


def _stream(codes="ZNE", **kw):
    return Stream([_trace(c, **kw) for c in codes])


def _same_up_to_float32_rounding(a, b):
    """Equal, except that a rare sample may round to the neighbouring float32 value.

    Two cuts of the same data differ in float64 by ~1e-16 far from their edges (the filters'
    start transients never reach exactly zero), so about one sample in 10^5 lands on the
    other side of a float32 rounding boundary; anything larger is a real difference.
    """
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    ulp = np.spacing(np.maximum(np.abs(a), np.abs(b)))
    differ = a != b
    return bool(np.all(np.abs(a - b) <= ulp)) and differ.mean() < 1e-4


def _dominant(x):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / FS)[np.argmax(spec)]


def test_gaps_short_interpolated_long_split_short_segment_skipped(caplog):
    caplog.set_level(logging.INFO, logger="seqt_plugins.picker")
    st = Stream()
    for c in "ZNE":
        full = _trace(c, seconds=400.0)
        a = full.slice(T0, T0 + 100).copy()
        b = full.slice(T0 + 102, T0 + 200).copy()  # 2 s gap: interpolated
        d = full.slice(T0 + 230, T0 + 260).copy()  # 30 s gap, then a 30 s piece: too short
        e = full.slice(T0 + 290, T0 + 400).copy()  # another long gap
        st += Stream([a, b, d, e])
    [sta] = prepare_stream(st, max_gap=5.0)
    starts = [seg.start for seg in sta.segments]
    assert len(sta.segments) == 2
    assert abs(starts[0] - T0) < 0.011 and abs(starts[1] - (T0 + 290)) < 0.011
    assert sta.segments[0].npts == pytest.approx(200 * FS, abs=2)
    assert all(np.isfinite(seg.data).all() for seg in sta.segments)
    assert "interpolated" in caplog.text
    assert "shorter than one window" in caplog.text


def test_200hz_antialias_and_absolute_grid():
    # 5 Hz signal plus 70 Hz: above the new Nyquist (50 Hz), it must not alias to 30 Hz.
    st = Stream()
    for c in "ZNE":
        tr = _trace(c, sr=200.0, seconds=120.0, freq=5.0)
        tr.data += 1000.0 * np.sin(2 * np.pi * 70.0 * np.arange(tr.stats.npts) / 200.0)
        st += tr
    [sta] = prepare_stream(st)
    seg = sta.segments[0]
    assert seg.npts == pytest.approx(120 * FS, abs=2)
    z = seg.data[500:-500, 2]
    spec = np.abs(np.fft.rfft(z * np.hanning(len(z))))
    f = np.fft.rfftfreq(len(z), 1 / FS)
    assert f[np.argmax(spec)] == pytest.approx(5.0, abs=0.05)
    alias = spec[(f > 29) & (f < 31)].max()
    assert alias < 1e-3 * spec.max()
    # A cut starting on an odd 200 Hz sample yields the same 100 Hz samples (absolute grid).
    cut = st.copy().trim(T0 + 0.005, None)
    [sta2] = prepare_stream(cut)
    s2 = sta2.segments[0]
    off = int(round((s2.start - seg.start) * FS))
    assert (s2.start - seg.start) * FS == pytest.approx(off, abs=1e-6)
    a = seg.data[off + 1000 : off + 8000]
    b = s2.data[1000:8000]
    assert np.max(np.abs(a - b)) < 1e-3 * np.max(np.abs(a))


def test_a_sampling_rate_change_keeps_all_the_data(caplog):
    """A station reconfigured within the data (200 Hz for 80 s, then 100 Hz): the 100 Hz part
    is resampled to the main rate and the whole span is one segment, prepared as if recorded at
    one rate; before, the other rate's data were dropped."""
    whole = _stream(sr=200.0, seconds=200.0, noise=50.0)
    [reference] = prepare_stream(whole)
    mixed = Stream()
    for tr in whole:
        first = tr.slice(T0, T0 + 120.0 - 1 / 200.0).copy()
        second = tr.slice(T0 + 120.0, None).copy()
        second.resample(100.0, window="hann")  # what a 100 Hz digitizer records: no energy above 50 Hz
        mixed += first
        mixed += second
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.picker"):
        [sta] = prepare_stream(mixed)
    assert len(sta.segments) == 1
    seg, ref = sta.segments[0], reference.segments[0]
    assert seg.start == ref.start and abs(seg.npts - ref.npts) <= 1
    n = min(seg.npts, ref.npts)
    # the same samples away from the change (the first part is the same data), the same
    # signal after it (the noise above 50 Hz the 100 Hz part never had aside)
    assert np.array_equal(seg.data[1000:11000], ref.data[1000:11000])
    for col, code in ((0, "E"), (1, "N"), (2, "Z")):
        assert _dominant(seg.data[13000:n - 300, col]) == pytest.approx(FREQS[code], abs=0.05)
    rel = np.abs(seg.data[13000:n - 300] - ref.data[13000:n - 300]).max() / np.abs(ref.data).max()
    assert rel < 0.05
    changes = [r.getMessage() for r in caplog.records if "sampling rate changes" in r.getMessage()]
    assert len(changes) == 3 and "the 100 Hz data resampled to 200 Hz" in changes[0], changes


def test_a_record_stamped_years_off_is_a_piece_of_its_own():
    """One record of a horizontal stamped four years late (a GPS glitch in an archive file):
    it is merged on its own, not on a buffer spanning the four years (188 GiB at 200 Hz, a
    MemoryError that failed the whole station), and the station prepares as without it."""
    from seqt_plugins.picker.prepare import _clusters

    clean = _stream(seconds=120.0, noise=50.0)
    glitch = _trace("E", seconds=2.0, start=T0 + 4 * 365.25 * 86400 + 60.0)
    assert [len(g) for g in _clusters(list(clean) + [glitch], 6.0)] == [3, 1]
    [reference] = prepare_stream(clean)
    [sta] = prepare_stream(clean + Stream([glitch]))
    assert len(sta.segments) == 1
    assert sta.segments[0].start == reference.segments[0].start
    assert np.array_equal(sta.segments[0].data, reference.segments[0].data)


def test_40hz_upsampled():
    [sta] = prepare_stream(_stream(sr=40.0, seconds=100.0))
    seg = sta.segments[0]
    assert seg.npts == pytest.approx(100 * FS, abs=3)
    for col, code in ((0, "E"), (1, "N"), (2, "Z")):
        assert _dominant(seg.data[300:-300, col]) == pytest.approx(FREQS[code], abs=0.05)


@pytest.mark.parametrize("present, chosen", [
    ((("HN", 100.0), ("EH", 100.0)), "EH"),  # seismometer before accelerometer at one rate
    ((("HN", 200.0), ("HH", 100.0)), "HH"),  # ... even when the accelerometer samples faster
    ((("BH", 20.0), ("HH", 100.0)), "HH"),
    ((("BH", 40.0), ("HN", 100.0)), "HN"),  # a 40 Hz channel lacks most of EqT's band
    ((("EL", 100.0), ("EP", 100.0)), "EL"),
])
def test_instrument_choice_prefers_a_full_band_seismometer(present, chosen):
    st = Stream([_trace(c, sr=sr, chan=prefix) for prefix, sr in present for c in "ZNE"])
    [sta] = prepare_stream(st)
    assert sta.channels == tuple(chosen + c for c in "ENZ")


def test_missing_horizontal_zero_filled_with_warning(caplog):
    caplog.set_level(logging.WARNING, logger="seqt_plugins.picker")
    [sta] = prepare_stream(_stream("ZN"))
    data = sta.segments[0].data
    assert np.all(data[:, 0] == 0)  # E missing
    assert np.abs(data[:, 1]).max() > 0 and np.abs(data[:, 2]).max() > 0
    assert sta.channels == ("", "HHN", "HHZ")
    assert "missing" in caplog.text and "zero-filled" in caplog.text


def test_z12_naming_maps_1_to_north_2_to_east():
    [sta] = prepare_stream(_stream("Z12"))
    data = sta.segments[0].data
    assert sta.channels == ("HH2", "HH1", "HHZ")
    assert _dominant(data[300:-300, 1]) == pytest.approx(FREQS["1"], abs=0.05)  # N column ← 1
    assert _dominant(data[300:-300, 0]) == pytest.approx(FREQS["2"], abs=0.05)  # E column ← 2


def test_z23_naming_and_inventory_rotation():
    from obspy.core.inventory import Channel, Inventory, Network, Station

    st = Stream([_trace("Z"), _trace("2", freq=5.0), _trace("3", freq=8.0)])
    [sta] = prepare_stream(st)
    assert sta.channels == ("HH3", "HH2", "HHZ")
    # Inventory: "2" points east (azimuth 90), "3" points north (azimuth 0): rotation swaps them.
    chans = [Channel("HHZ", "", 0, 0, 0, 0, azimuth=0, dip=-90, sample_rate=100),
             Channel("HH2", "", 0, 0, 0, 0, azimuth=90, dip=0, sample_rate=100),
             Channel("HH3", "", 0, 0, 0, 0, azimuth=0, dip=0, sample_rate=100)]
    inv = Inventory([Network("XX", stations=[Station("ABC", 0, 0, 0, channels=chans)])], source="test")
    [rot] = prepare_stream(st, inventory=inv)
    data = rot.segments[0].data
    assert _dominant(data[300:-300, 1]) == pytest.approx(8.0, abs=0.05)  # N ← channel 3
    assert _dominant(data[300:-300, 0]) == pytest.approx(5.0, abs=0.05)  # E ← channel 2


def test_masked_samples_are_gaps():
    st = _stream(seconds=200.0)
    for tr in st:
        data = np.ma.masked_array(tr.data, mask=np.zeros(tr.stats.npts, bool))
        data.mask[10000:10100] = True  # 1 s: interpolated
        data.mask[15000:18000] = True  # 30 s: splits
        tr.data = data
    [sta] = prepare_stream(st, max_gap=5.0)
    assert len(sta.segments) == 1  # the 20 s after the long gap is shorter than a window
    seg = sta.segments[0]
    assert seg.npts == pytest.approx(15000, abs=2)
    assert not np.ma.isMaskedArray(seg.data) and np.isfinite(seg.data).all()


def test_nans_are_gaps():
    st = _stream(seconds=200.0)
    for tr in st:
        tr.data[5000:5050] = np.nan
        tr.data[12000:13000] = np.inf
    [sta] = prepare_stream(st, max_gap=5.0)
    assert [seg.npts for seg in sta.segments] == [pytest.approx(12000, abs=2), pytest.approx(7000, abs=2)]
    assert all(np.isfinite(seg.data).all() for seg in sta.segments)


def test_corrupt_miniseed_one_line_error_naming_file(tmp_path):
    good = tmp_path / "good.mseed"
    _stream(seconds=70.0).write(str(good), format="MSEED")
    raw = bytearray(good.read_bytes())
    bad = tmp_path / "XX.ABC..HHZ.corrupt.mseed"
    bad.write_bytes(bytes(raw[:7]) + b"\xff" * 500)
    with pytest.raises(PrepareError) as err:
        read_waveforms([good, bad])
    msg = str(err.value)
    assert str(bad) in msg and "\n" not in msg


def test_station_without_z_picked_on_horizontals_with_warning(caplog):
    """A dead or missing vertical (CRL's borehole KOU): the horizontals are used, Z zero-filled,
    with a warning naming the station; its N and E samples are those of a full station."""
    caplog.set_level(logging.WARNING, logger="seqt_plugins.picker")
    st = _stream("NE", sta="NOZ") + _stream("ZNE", sta="OK")
    stations = prepare_stream(st)
    assert [s.station for s in stations] == ["NOZ", "OK"]
    noz, ok = stations
    assert noz.channels[2] == "" and noz.channels[:2] != ("", "")
    assert not noz.segments[0].data[:, 2].any() and noz.segments[0].data[:, :2].any()
    assert "NOZ" in caplog.text and "no vertical" in caplog.text and "zero-filled" in caplog.text


def test_station_with_neither_vertical_nor_horizontal_skipped(caplog):
    caplog.set_level(logging.WARNING, logger="seqt_plugins.picker")
    st = _stream("Z", sta="OK")
    for tr in _stream("Z", sta="ODD"):
        tr.stats.channel = "HHX"
        st += tr
    stations = prepare_stream(st)
    assert [s.station for s in stations] == ["OK"]
    assert "ODD" in caplog.text and "skipped" in caplog.text


@pytest.mark.parametrize("sr", [100.0, 200.0, 40.0])
def test_cuts_sharing_an_edge_prepare_identically_away_from_the_other_edge(sr):
    """A 10 min and a 20 min cut sharing the start edge: the prepared samples are identical
    except within EDGE_SETTLING s (taper + filter settling) of the 10 min cut's end, and the
    same holds for cuts sharing the end edge (offset near the start, taper of fixed length)."""
    from seqt_plugins.picker.prepare import EDGE_SETTLING, TAPER

    start = T0 + 0.0025  # off the 10 ms grid: the resampled grid is anchored absolutely
    n = int(1200 * sr)
    rng = np.random.default_rng(7)
    st = Stream()
    for c in "ZNE":  # a large offset, a random walk and noise
        x = 5e4 + 3 * np.cumsum(rng.standard_normal(n)) + 200 * rng.standard_normal(n)
        st += Trace(x, header={"network": "XX", "station": "ABC", "location": "", "channel": "HH" + c,
                               "sampling_rate": sr, "starttime": start})
    [whole] = prepare_stream(st)
    [head] = prepare_stream(st.slice(start, start + 600))
    [tail] = prepare_stream(st.slice(start + 600, None))
    w = whole.segments[0]
    settle = int(EDGE_SETTLING * FS)

    h = head.segments[0]
    assert h.start == w.start
    d = np.abs(w.data[: h.npts] - h.data).max(axis=1)
    # identical (to float32 rounding), true start edge included
    assert _same_up_to_float32_rounding(w.data[: h.npts - settle], h.data[: h.npts - settle])
    assert d[-settle:].max() > 1e-3 * np.abs(h.data).max()  # (the cut edge is tapered in the cut only)

    t = tail.segments[0]
    off = int(round((t.start - w.start) * FS))
    assert (t.start - w.start) * FS == pytest.approx(off, abs=1e-6)
    assert off + t.npts == w.npts
    # identical (to float32 rounding), true end edge included
    assert _same_up_to_float32_rounding(w.data[off + settle :], t.data[settle:])
    # the true edges are tapered over TAPER s, whatever the cut's length
    taper = int(TAPER * FS)
    assert not h.data[0].any() and not t.data[-1].any()
    assert np.abs(h.data[taper : taper + 100]).max() > 0


@pytest.mark.parametrize("odd", [0, 1, 3])
def test_half_sample_offset_data_keep_one_grid_whatever_the_cut(odd):
    """200 Hz data half a sample off the absolute grid (x.0025 s): cuts starting an odd number
    of input samples apart must still resample onto the same 100 Hz samples."""
    start = T0 + 0.0025
    sr = 200.0
    n = int(600 * sr)
    rng = np.random.default_rng(3)
    st = Stream([Trace(200 * rng.standard_normal(n), header={
        "network": "XX", "station": "ABC", "location": "", "channel": "HH" + c,
        "sampling_rate": sr, "starttime": start}) for c in "ZNE"])
    [whole] = prepare_stream(st)
    [tail] = prepare_stream(st.slice(start + 300 + odd / sr, None))
    w, t = whole.segments[0], tail.segments[0]
    off = (t.start - w.start) * FS
    assert off == pytest.approx(round(off), abs=1e-6)
    off = int(round(off))
    assert off + t.npts == w.npts
    from seqt_plugins.picker.prepare import EDGE_SETTLING

    settle = int(EDGE_SETTLING * FS)
    assert _same_up_to_float32_rounding(w.data[off + settle :], t.data[settle:])


@pytest.mark.parametrize("sr", [200.0, 40.0, 250.0])
def test_filters_designed_once_filter_as_obspy_and_scipy_bit_for_bit(sr):
    """The cached bandpass and anti-alias designs give exactly the samples of ObsPy's
    ``bandpass`` and scipy's ``resample_poly`` designing them on each call."""
    from obspy.signal.filter import bandpass
    from scipy.signal import resample_poly

    from seqt_plugins.picker.prepare import FREQMAX, FREQMIN, _bandpass, _rate_ratio, _to_100hz

    x = 3 * np.cumsum(np.random.default_rng(3).standard_normal(int(90 * sr)))
    up, down = _rate_ratio(sr)
    start, y = _to_100hz(T0, x, sr, "XX.ABC..HHZ")
    assert start == T0  # T0 lies on every grid here: nothing skipped
    np.testing.assert_array_equal(y, resample_poly(x, up, down, padtype="edge"))
    np.testing.assert_array_equal(_bandpass(y), bandpass(y, FREQMIN, FREQMAX, df=FS, corners=2, zerophase=True))


@pytest.mark.parametrize("sr", [100.0, 200.0, 250.0])
def test_components_prepared_together_equal_one_at_a_time(sr, monkeypatch):
    """Components that share rate, start and length are resampled and filtered as one (3, n)
    array (a third of the calls real time makes per pass); each row's samples are exactly those
    of preparing the component alone, and a component of another length falls back to that."""
    from seqt_plugins.picker import prepare
    from seqt_plugins.picker.prepare import _components_pieces

    calls = []
    real = prepare._prepared_pieces
    monkeypatch.setattr(prepare, "_prepared_pieces", lambda *a: calls.append(a[2]) or real(*a))

    st = _stream(sr=sr, seconds=90.0, noise=300.0)
    for seed, tr in enumerate(st):  # independent noise per component
        tr.data = tr.data + np.random.default_rng(seed + 10).standard_normal(tr.stats.npts) * 50
    short = st.copy()
    short.select(channel="HHN")[0].data = short.select(channel="HHN")[0].data[: -int(7 * sr)]
    for stream, expected_calls in ((st, 1), (short, 3)):
        calls.clear()
        (station,) = prepare_stream(stream)
        assert len(calls) == expected_calls, calls
        data = station.segments[0].data
        for col, code in enumerate("ENZ"):
            alone_traces = {code: list(stream.select(channel="HH" + code))}
            ((start, alone),) = _components_pieces([code], alone_traces, 5.0, "XX.ABC..HH")[code]
            assert start == station.segments[0].start
            np.testing.assert_array_equal(data[: len(alone), col], alone)


def test_segment_shorter_than_a_window_is_zero_padded_from_pad_from():
    """A 40-s record: skipped by default (it is more than 1 s short of a window), zero-padded
    after its end to one window from ``pad_from`` on (the picker's ``minLength``), its real
    length kept in ``valid``; a 20-s record stays skipped below that."""
    from seqt_plugins.picker.prepare import WINDOW

    assert prepare_stream(_stream(seconds=40.0)) == []
    [sta] = prepare_stream(_stream(seconds=40.0), pad_from=3000)
    [seg] = sta.segments
    assert seg.npts == WINDOW and seg.valid == 4000 and seg.start == T0
    assert np.abs(seg.data[: seg.valid]).max() > 0 and not seg.data[seg.valid:].any()
    assert prepare_stream(_stream(seconds=20.0), pad_from=3000) == []


def test_no_pick_or_detection_in_a_short_segments_padding():
    """The triggers read the padded window like any other, but what they find past the real
    samples (``Segment.valid``) is not data: neither picks nor detections come from there."""
    from seqt_plugins.picker import Picker
    from seqt_plugins.picker.prepare import WINDOW, Segment, StationData

    data = np.zeros((WINDOW, 3), np.float32)
    data[:4000] = np.random.default_rng(0).standard_normal((4000, 3))
    probs = np.zeros((3, WINDOW), np.float32)
    for at in (1000, 5000):  # one event in the data, one in the padding
        probs[0, at - 100: at + 800] = 0.9
        probs[1, at - 20: at + 20] = 0.8 * np.hanning(40)
        probs[2, at + 300: at + 340] = 0.8 * np.hanning(40)
    triggers = Picker()  # triggering loads no model

    def picked(segment):
        station = StationData("XX", "ABC", "", ("HHE", "HHN", "HHZ"), [segment])
        return triggers.picks_from_probabilities([(station, [probs])])

    picks, detections = picked(Segment(T0, data))
    assert sorted(round(p.time - T0) for p in picks) == [10, 13, 50, 53]  # unpadded: both events
    picks, detections = picked(Segment(T0, data, 4000))
    assert sorted(round(p.time - T0) for p in picks) == [10, 13]
    assert [round(d.start - T0) for d in detections] == [9]


def test_runs_of_one_repeated_value_are_gaps(caplog):
    """STEAD-style constant padding at the start, a 3-s hold (a telemetry drop-out filled with the
    last value) and zero fill at the end: the first and last are cut off, the hold is bridged
    like any short gap; EqT would take the step where data resume for an onset."""
    caplog.set_level(logging.INFO, logger="seqt_plugins.picker")
    st = _stream(seconds=300.0, noise=50.0)
    for tr in st:
        tr.data[:1000] = tr.data[1000]  # 10 s of padding
        tr.data[15000:15300] = tr.data[14999]  # 3 s held
        tr.data[28000:] = 0.0  # 20 s zero-filled
    [sta] = prepare_stream(st, max_gap=5.0)
    [seg] = sta.segments
    assert abs(seg.start - (T0 + 10.0)) < 0.011
    assert seg.npts == pytest.approx(27000, abs=2)
    assert "repeated value" in caplog.text and "interpolated" in caplog.text


def test_quantized_quiet_data_repeat_values_and_stay_data():
    """Old low-resolution data repeat a value for a few samples at a time; that is data."""
    st = _stream(seconds=120.0)
    rng = np.random.default_rng(1)
    for tr in st:
        tr.data = np.round(0.5 * rng.standard_normal(tr.stats.npts))  # mostly 0, runs of several samples
        assert np.mean(tr.data[1:] == tr.data[:-1]) > 0.3
    [sta] = prepare_stream(st, max_gap=5.0)
    assert [seg.npts for seg in sta.segments] == [pytest.approx(12000, abs=2)]


def test_flat_runs_equal_the_sample_by_sample_definition():
    """flat_runs looks at every third of a run's length first; it finds exactly the runs that
    comparing every sample with the next finds (random quantized data with planted runs)."""
    from seqt_plugins.picker.prepare import flat_runs

    def every_sample(x, flat, valid):
        same = x[1:] == x[:-1]
        if valid is not None:
            same &= valid[1:] & valid[:-1]
        d = np.diff(np.concatenate(([0], same.view(np.int8), [0])))
        starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        long = stops - starts + 1 >= flat
        return list(zip(starts[long].tolist(), (stops[long] + 1).tolist())) if len(x) >= flat else []

    rng = np.random.default_rng(7)
    for trial in range(3000):
        n = int(rng.integers(2, 400))
        x = np.round(rng.integers(1, 4) * rng.standard_normal(n) * rng.random())
        for _ in range(int(rng.integers(0, 4))):
            a = int(rng.integers(0, n))
            x[a:a + int(rng.integers(1, 150))] = rng.integers(-2, 3)
        valid = rng.random(n) > 0.02 if trial % 2 else None
        flat = int(rng.integers(2, 60))
        assert flat_runs(x, flat, valid) == every_sample(x, flat, valid), (trial, flat)


def test_streams_slower_than_eqt_needs_are_left_out(caplog):
    """A 1 Hz LH sensor beside a 100 Hz HH one: the HH one is prepared; a station with only LH
    channels gives nothing (EqT picked its resampled noise as arrivals), with one warning per
    stream naming it and its rate."""
    import logging

    import numpy as np
    from obspy import Stream, Trace, UTCDateTime

    from seqt_plugins.picker import prepare

    rng = np.random.default_rng(3)
    t0 = UTCDateTime(2024, 1, 1)

    def sensor(sta, band, rate, seconds=120):
        return [Trace(rng.standard_normal(int(seconds * rate)).astype(np.float32),
                      header=dict(network="XX", station=sta, channel=f"{band}{c}", sampling_rate=rate, starttime=t0))
                for c in "ZNE"]

    stream = Stream(sensor("BOTH", "HH", 100.0) + sensor("BOTH", "LH", 1.0, 600) + sensor("SLOW", "LH", 1.0, 600))
    prepare._warned_slow.clear()
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.picker"):
        stations = prepare.prepare_stream(stream)
        prepare.prepare_stream(stream)  # again, as each real-time pass does: no new warning
    assert [(s.station, tuple(s.channels)) for s in stations] == [("BOTH", ("HHE", "HHN", "HHZ"))]
    warned = sorted(r.getMessage() for r in caplog.records if "EqT needs" in r.getMessage())
    assert [w.split(":")[0] for w in warned] == [f"XX.{s}..LH{c}" for s in ("BOTH", "SLOW") for c in "ENZ"]
    assert all("1 Hz is below the 10 Hz" in w for w in warned)

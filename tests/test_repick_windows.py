"""The re-picker's event-local preparation: its windows equal those of preparing the whole stream.

``StreamWindows`` lays out each station's segments as ``prepare_stream`` of the whole stream
does and prepares only stretches around the windows asked for. The layout (stations, channels,
segment starts and lengths) must be identical, and stations where a cut could matter prepared
whole. The samples are identical up to float32 rounding: a cut's offset removal and filter
start from other float64 roundings (differences ~1e-16 relative that never die out exactly), so
about one sample in 10^5–10^6 rounds to the neighbouring float32; more than that, or by more than
one unit in the last place, would be a real difference.
"""

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from seqt_plugins.picker.prepare import FS, WINDOW, prepare_stream
from seqt_plugins.repicker.features import MARGIN, StreamWindows, global_index

T0 = UTCDateTime("2024-03-01T10:00:00")


def _trace(sta, code, sr, seconds, start=T0, chan="HH", seed=0, loc=""):
    n = int(round(seconds * sr))
    rng = np.random.default_rng(seed)
    x = 5e4 + 3 * np.cumsum(rng.standard_normal(n)) + 200 * rng.standard_normal(n)
    return Trace(x, header={"network": "XX", "station": sta, "location": loc, "channel": chan + code,
                            "sampling_rate": sr, "starttime": start})


def _station(sta, sr, seconds=900.0, start=T0, codes="ZNE", seed=0, **kw):
    return Stream([_trace(sta, c, sr, seconds, start=start, seed=seed + i, **kw) for i, c in enumerate(codes)])


def _gappy(sr=200.0):
    """A station whose vertical has a long gap (a second segment), a short interpolated gap,
    masked samples and a piece too short for a window; horizontals with their own gaps."""
    st = Stream()
    for i, c in enumerate("ZNE"):
        tr = _trace("GAP", c, sr, 1500.0, start=T0 + 0.0013, seed=10 + i)
        x = np.ma.masked_array(tr.data, mask=np.zeros(tr.stats.npts, dtype=bool))
        x.mask[int(400 * sr) : int(402 * sr)] = True  # 2 s: interpolated (max_gap 5 s)
        x.mask[int(700 * sr) : int(760 * sr)] = True  # 60 s: splits the data
        x.mask[int(800 * sr) : int(1000 * sr)] = True  # leaves a 40 s piece (too short) at 760–800 s
        if c == "E":
            x.mask[int(1200 * sr) : int(1230 * sr)] = True  # horizontal-only gap: zero-filled there
        tr.data = x
        st += tr
    return st


def _windows_of(sd, step=777):
    """Window starts across every segment: both ends and a stride through the middle."""
    for i, seg in enumerate(sd.segments):
        starts = set(range(0, seg.npts - WINDOW + 1, step)) | {0, seg.npts - WINDOW}
        for k in sorted(starts):
            yield i, k


def _assert_same_samples(got, ref, label, counts):
    """Equal but for isolated one-ulp float32 roundings (see the module doc)."""
    differ = got != ref
    assert np.all(np.abs(got - ref)[differ] <= np.spacing(np.maximum(np.abs(got), np.abs(ref)))[differ]), label
    counts[0] += int(differ.sum())
    counts[1] += differ.size


def _check_equal(stream, inventory=None, reserve=(), n_expected=None, **pad):
    whole = {sd.key: sd for sd in prepare_stream(stream, inventory=inventory, **pad)}
    sw = StreamWindows(stream, inventory=inventory, **pad)
    assert [sd.key for sd in sw.stations] == sorted(whole)
    assert not n_expected or len(sw.stations) == n_expected
    for key, i, k in reserve:
        sw.reserve(key, i, k)
    checked, counts = 0, [0, 0]
    for sd in sw.stations:
        ref = whole[sd.key]
        assert sd.channels == ref.channels
        assert [(s.start, s.npts, s.valid) for s in sd.segments] == [(s.start, s.npts, s.valid) for s in ref.segments]
        for i, k in _windows_of(sd):
            got = sw.window(sd.key, i, k)
            assert got.dtype == np.float32 and got.shape == (WINDOW, 3)
            _assert_same_samples(got, ref.segments[i].data[k : k + WINDOW], f"{sd.key} {i} {k}", counts)
            checked += 1
    assert counts[0] <= 1e-4 * max(counts[1], 1), f"{counts[0]} of {counts[1]} samples differ"
    return sw, checked


@pytest.mark.parametrize("sr", [100.0, 200.0, 40.0])
def test_local_windows_bit_identical_to_whole_stream(sr):
    stream = _station("AAA", sr, start=T0 + 0.0013) + _station("BBB", sr, seed=5, start=T0 + 37.0, seconds=600.0)
    sw, checked = _check_equal(stream, reserve=[("XX.AAA.", 0, 30000), ("XX.AAA.", 0, 36000)], n_expected=2)
    assert checked > 20 and not sw.whole
    # the two reserved windows share one merged stretch; the rest got stretches of their own
    assert sw.stretches_prepared < checked


def test_local_windows_with_gaps_masks_and_short_pieces():
    sw, checked = _check_equal(_gappy())
    [sd] = sw.stations
    assert len(sd.segments) == 2 and not sw.whole  # the 40 s piece is no segment, as in the whole run
    assert checked > 10


def test_short_pieces_padded_to_a_window_as_the_picker_pads_them():
    """With ``pad_from`` (the re-picker's minLength) the 40-s piece between two gaps, and a station
    whose record is 45 s long, are segments padded to one window, laid out and prepared as
    ``prepare_stream`` does; their window keys carry the real length."""
    from seqt_plugins.repicker.features import window_key

    stream = _gappy() + _station("SHO", 100.0, seconds=45.0, start=T0 + 100.0, seed=3)
    sw, checked = _check_equal(stream, pad_from=3000)
    gap, short = sw.stations
    assert [s.valid for s in gap.segments] == [None, 4000, None]
    assert [(s.npts, s.valid) for s in short.segments] == [(WINDOW, 4500)]
    assert window_key(short.key, short.segments[0], 0)[2] == 4500 and len(window_key(gap.key, gap.segments[0], 0)) == 2
    np.testing.assert_array_equal(sw.window(short.key, 0, 0)[4500:], 0.0)


def test_stations_where_a_cut_could_matter_are_prepared_whole():
    two_instruments = _station("TWO", 100.0, seconds=300.0) + _station("TWO", 100.0, seconds=300.0, chan="EH", seed=3)
    jitter = _station("JIT", 100.0, seconds=300.0, seed=7)
    late = jitter.select(channel="HHN")[0].copy()
    jitter.remove(jitter.select(channel="HHN")[0])
    first, second = late.slice(None, T0 + 150 - 0.01), late.slice(T0 + 150, None).copy()
    second.stats.starttime += 0.003  # 0.3 samples off the first trace's grid
    jitter += Stream([first, second])
    no_z = _station("NOZ", 100.0, seconds=300.0, codes="NE")
    short = _station("SHT", 100.0, seconds=50.0)
    stream = two_instruments + jitter + no_z + short + _station("OK", 100.0, seconds=300.0)
    sw, _ = _check_equal(stream)
    # a station without a vertical is picked on its horizontals (Z zero-filled), prepared whole
    assert sorted(sw.whole) == ["XX.JIT.", "XX.NOZ.", "XX.TWO."]
    assert [sd.key for sd in sw.stations] == ["XX.JIT.", "XX.NOZ.", "XX.OK.", "XX.TWO."]
    noz = next(sd for sd in sw.stations if sd.key == "XX.NOZ.")
    assert noz.channels == ("HHE", "HHN", "") and not noz.segments[0].data[:, 2].any()


def test_half_sample_offset_station_is_prepared_locally():
    """200 Hz samples half-way between the absolute 5 ms grid: the resampling numbers every cut's
    samples alike (half-up), so such a station needs no whole-record preparation."""
    half = _station("HLF", 200.0, seconds=300.0, start=T0 + 0.0025)
    sw, checked = _check_equal(half, reserve=[("XX.HLF.", 0, 12000)], n_expected=1)
    assert not sw.whole and checked > 5


def test_rotation_with_one_orientation_epoch_local_else_whole():
    from obspy.core.inventory import Channel, Inventory, Network, Station

    def inventory(z_end=None):
        chans = [Channel("HHZ", "", 0, 0, 0, 0, azimuth=0.0, dip=-90.0, sample_rate=100.0,
                         start_date=UTCDateTime(2020, 1, 1), end_date=z_end),
                 Channel("HHN", "", 0, 0, 0, 0, azimuth=30.0, dip=0.0, sample_rate=100.0,
                         start_date=UTCDateTime(2020, 1, 1)),
                 Channel("HHE", "", 0, 0, 0, 0, azimuth=120.0, dip=0.0, sample_rate=100.0,
                         start_date=UTCDateTime(2020, 1, 1))]
        return Inventory([Network("XX", [Station("ROT", 0, 0, 0, channels=chans)])], source="test")

    stream = _station("ROT", 100.0, seconds=400.0)
    sw, checked = _check_equal(stream, inventory=inventory())  # rotated, and still local
    assert not sw.whole and checked > 3
    sw, _ = _check_equal(stream, inventory=inventory(z_end=T0 + 200))  # the Z epoch ends inside the record
    assert sw.whole == ["XX.ROT."]


def test_stretches_reach_the_margin():
    stream = _station("AAA", 100.0, seconds=3600.0)
    sw = StreamWindows(stream)
    [sd] = sw.stations
    sw.reserve(sd.key, 0, 150000)
    sw.window(sd.key, 0, 150000)
    [(a, b, prepared)] = sw._stretches[sd.key]
    g = global_index(sd.segments[0].start) + 150000
    assert a == g - int(MARGIN * FS) and b == g + WINDOW + int(MARGIN * FS)
    assert prepared.segments[0].npts < WINDOW + 2 * MARGIN * FS + 2  # not the whole hour


def test_station_mostly_reserved_is_prepared_whole():
    stream = _station("AAA", 200.0, seconds=600.0)
    whole = prepare_stream(stream)[0]
    sw = StreamWindows(stream)
    [sd] = sw.stations
    for k in range(0, 54000, 3000):  # windows every 30 s: the stretches would cover it all
        sw.reserve(sd.key, 0, k)
    got = sw.window(sd.key, 0, 12345)
    assert sw.whole == [sd.key] and sw.stretches_prepared == 1
    np.testing.assert_array_equal(got, whole.segments[0].data[12345 : 12345 + WINDOW])


def test_repicker_local_preparation_same_picks(eqt_conservative):
    """Hengill events moved into the middle of a 20 min record made of the 5 min one repeated:
    the same re-picks whether the re-picker prepares stretches or the whole stream."""
    from conftest import require_shared

    import copy

    from seqt_plugins.repick_case import hengill_case
    from seqt_plugins.repicker import Repicker

    root = require_shared("data", "hengill")

    stream, inv, coords, ref, conf, ep, hidden = hengill_case(root, eqt_conservative)
    long = Stream()
    for tr in stream:
        t = tr.copy()
        t.data = np.tile(tr.data[: int(round(300 * tr.stats.sampling_rate))], 4)
        long += t
    ep = copy.deepcopy(type(ep)(picks=ep.picks, origins=ep.origins[:3], events=ep.events[:3]))
    for p in ep.picks:
        p.time += 600.0
    for o in ep.origins:
        o.time += 600.0
    out = {}
    for local in (True, False):
        rp = Repicker(model=eqt_conservative)
        rp.local_preparation = local
        rp.repick(ep, long, inventory=inv)
        out[local] = [(r.pick.public_id, r.pick.time, r.pick.probability, r.score) for r in rp.last_results]
        if local:
            assert 0 < rp.stretches_prepared <= 2 * len(long) / 3
    # same picks; the scores may differ in the 8th digit (a float32 rounding in a window, see above)
    assert out[True] and [a[:3] for a in out[True]] == [b[:3] for b in out[False]]
    np.testing.assert_allclose([a[3] for a in out[True]], [b[3] for b in out[False]], rtol=1e-6)

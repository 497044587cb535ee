"""The picker's overlapped pipeline equals the plain loop exactly.

``Picker.probabilities`` prepares stations and fills batches in a background thread while the
model runs (``prefetch``). The reference here is the plain loop it replaced: prepare every
station, plan all windows, then batch, predict and stack in order. A stand-in model whose
output depends on the window, its row in the batch and the batch's size makes any change of
batch composition visible; with the real EqT the same equality is checked by
tests/test_handover.py and the picking tests.
"""

import threading

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from seqt_plugins.picker import Picker
from seqt_plugins.picker import engine as picker_engine
from seqt_plugins.picker.prepare import FS, prepare_stream
from seqt_plugins.picker.stack import Stack
from seqt_plugins.picker.windows import batches, plan_windows

T0 = UTCDateTime("2024-03-01T00:00:00")


class _Echo:
    """Outputs from the vertical channel, shifted by the row's place in its batch."""

    name, xla = "echo", False

    def __init__(self, fail_at=None):
        self.calls, self.fail_at = [], fail_at

    def predict(self, x, batch_size=None):
        self.calls.append(len(x))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RuntimeError("model failed")
        n = len(x)
        shift = (np.arange(n, dtype=np.float32) / np.float32(7 * n))[:, None]
        z = x[..., 2]
        det = np.float32(1) / (np.float32(1) + np.exp(-z)) * np.float32(0.8) + shift
        return det.astype(np.float32), np.tanh(x[..., 0] ** 2).astype(np.float32), (np.abs(x[..., 1]) / 5 + shift).astype(np.float32)


def _stream():
    rng = np.random.default_rng(11)
    st = Stream()
    for sta, seconds, sr in (("A", 900.0, 100.0), ("B", 430.0, 40.0), ("C", 1300.0, 100.0)):
        for c in "ZNE":
            n = int(seconds * sr)
            data = rng.standard_normal(n) * 100
            tr = Trace(data, header={"network": "XX", "station": sta, "channel": "HH" + c, "sampling_rate": sr,
                                     "starttime": T0 + 0.37})
            if sta == "C":  # a long gap: two segments
                st += tr.slice(T0, T0 + 500) + tr.slice(T0 + 620, T0 + 1300)
            else:
                st += tr
    return st


def _reference(picker, stream):
    """The loop before the prefetch: all stations prepared, all windows planned, then the model."""
    o = picker.options
    stations = prepare_stream(stream, max_gap=o.max_gap)
    segments = [s.segments for s in stations]
    stacks = [[Stack(seg.npts, o.stacking, picker.blind, picker.blind_start, picker.twin) for seg in segs]
              for segs in segments]
    refs = plan_windows(segments, picker.step, int(round(o.edge_padding * FS)), picker.twin)
    for x, chunk in batches(segments, refs, o.batch_size):
        out = picker._predict(x[: len(chunk)])
        for k, r in enumerate(chunk):
            stacks[r.station][r.segment].add(r.start, out[0, k], out[1, k], out[2, k], r.twin)
    return [(st, [s.result() for s in sts]) for st, sts in zip(stations, stacks)]


@pytest.mark.parametrize("options", [dict(batch_size=7), dict(batch_size=13, stacking="mean", overlap=0.75),
                                     dict(batch_size=5, edge_padding=20.0)])
def test_prefetched_probabilities_equal_the_plain_loop(options):
    stream = _stream()
    model, ref_model = _Echo(), _Echo()
    got = Picker(model=model, **options).probabilities(stream)
    want = _reference(Picker(model=ref_model, **options), stream)
    assert model.calls == ref_model.calls and len(model.calls) > 8  # the same batches
    assert [s.key for s, _ in got] == ["XX.A.", "XX.B.", "XX.C."] and len(got[2][1]) == 2
    for (sa, pa), (sb, pb) in zip(got, want):
        assert sa.key == sb.key and [g.start for g in sa.segments] == [g.start for g in sb.segments]
        for a, b in zip(pa, pb):
            assert a.dtype == np.float32 and np.array_equal(a, b)


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "seqt-picker-prefetch"]


def test_model_and_preparation_errors_reach_the_caller_and_stop_the_thread(monkeypatch):
    stream = _stream()
    with pytest.raises(RuntimeError, match="model failed"):
        Picker(model=_Echo(fail_at=3), batch_size=4).probabilities(stream)
    assert not _prefetch_threads()

    real = picker_engine.iter_prepared

    def failing(*args, **kwargs):
        for k, station in enumerate(real(*args, **kwargs)):
            if k == 1:
                raise ValueError("second station unreadable")
            yield station

    monkeypatch.setattr(picker_engine, "iter_prepared", failing)
    model = _Echo()
    with pytest.raises(ValueError, match="second station unreadable"):
        Picker(model=model, batch_size=4).probabilities(stream)
    assert model.calls and not _prefetch_threads()  # the first station's batches ran


def test_a_first_windows_twin_is_averaged_where_that_window_is_alone():
    """The twin (the first window 0.5 s later) is averaged in over the first window's own
    stretch only: up to the next window's blinded start, or all of a one-window segment; in
    whatever order the two arrive."""
    from seqt_plugins.picker.prepare import WINDOW, Segment
    from seqt_plugins.picker.stack import twin_span
    from seqt_plugins.picker.windows import WindowRef, fill_batch, segment_windows

    assert twin_span(9000, 50, 1100) == (50, 1100) and twin_span(6000, 50, 1100) == (50, 6000)
    assert twin_span(9000, 0, 1100) == (0, 0)
    ones, twos = np.ones(WINDOW, np.float32), np.full(WINDOW, 3.0, np.float32)
    for order in ((False, True), (True, False)):
        st = Stack(9000, "max", blind=500, blind_start=1100, twin=50)
        for twin in order:
            start = 50 if twin else 0
            v = twos if twin else ones
            st.add(start, v, v, v, twin)
        st.add(3000, ones, ones, ones)
        st.add(3000 - 1, ones, ones, ones)  # off the grid, as an end window
        out = st.result()
        assert np.all(out[:, :50] == 1) and np.all(out[:, 50:1100] == 2) and np.all(out[:, 1100:5500] == 1)
    # a one-window record: the twin's end is the record's end mirrored, and all of it is averaged
    data = np.arange(WINDOW * 3, dtype=np.float32).reshape(WINDOW, 3)
    segs = [[Segment(T0, data)]]
    refs = segment_windows(0, 0, segs[0][0], step=3000, twin=50)
    assert refs == [WindowRef(0, 0, 0), WindowRef(0, 0, 50, True)]
    buf = np.zeros((2, WINDOW, 3), np.float32)
    raw = buf.copy()
    fill_batch(segs, refs, buf)
    raw[1, : WINDOW - 50] = data[50:]
    raw[1, WINDOW - 50 :] = data[::-1][1:51]
    assert np.allclose(buf[1], (raw[1] - raw[1].mean(axis=0)) / raw[1].std(axis=0), atol=1e-4)

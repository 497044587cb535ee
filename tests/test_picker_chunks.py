"""Chunked picking (``chunk_length``) equals picking the whole stream at once.

Same data as test_picker_shards.py: 2.5 hours tiled from the 5-minute Hengill recording of three
stations (200 Hz off the 10 ms grid, 200 Hz on it, 100 Hz off it). The chunk length 3641 s puts
the first chunk boundary 41 s into a tile, during the largest event of the recording, so picks
and detections right at a boundary are exercised. Real model, real weights.
"""

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from seqt_plugins.picker import Picker
from test_picker_shards import HOUR, TILE, _tiled, assert_same_picks


_same = assert_same_picks


def test_chunked_equals_whole(eqt_conservative):
    st, t0, first_hour = _tiled()
    whole_picker = Picker(model=eqt_conservative, chunk_length=0)
    chunk_picker = Picker(model=eqt_conservative, chunk_length=first_hour - t0)
    assert first_hour - t0 == 12 * TILE + 41.0
    chunks = list(chunk_picker._chunks(st))
    assert len(chunks) == 3  # 2.5 h in pieces of 3641 s

    whole, whole_dets = whole_picker.classify(st)
    chunked, chunked_dets = chunk_picker.classify(st)
    assert len(whole) > 50
    _same(whole, chunked)
    assert len(chunked_dets) == len(whole_dets)
    for w, c in zip(whole_dets, chunked_dets):
        assert w.waveform_id.nslc == c.waveform_id.nslc
        assert abs(w.start - c.start) <= 0.01 and abs(w.end - c.end) <= 0.01
        assert (w.p_pick_id is None) == (c.p_pick_id is None) and (w.s_pick_id is None) == (c.s_pick_id is None)
    # picks within 15 s of the first chunk boundary exist and survived
    assert [p for p in chunked if abs(p.time - first_hour) < 15]

    # a requested span is chunked too: only its picks, the same as the whole run's
    a, b = first_hour - 600.0, first_hour + HOUR + 300.0
    span = Picker(model=eqt_conservative, chunk_length=1800.0).pick(st, starttime=a, endtime=b)
    _same([p for p in whole if a <= p.time < b], span)


def test_chunks_cover_the_span_once():
    st, t0, _ = _tiled(hours=1.0)
    t1 = max(tr.stats.endtime for tr in st)
    picker = Picker(model="conservative", chunk_length=1000.0)  # model not loaded by _chunks
    pieces = list(picker._chunks(st))
    assert len(pieces) == int(np.ceil((t1 - t0) / 1000.0))
    assert pieces[0][1] is None and pieces[-1][2] is None  # open ends stay open
    inner = [p[2] for p in pieces[:-1]]
    assert inner == [p[1] for p in pieces[1:]]  # contiguous, no overlap
    assert [float(x - t0) for x in inner] == [1000.0 * k for k in range(1, len(pieces))]
    for k, (piece, a, b) in enumerate(pieces):
        lo = min(tr.stats.starttime for tr in piece)
        hi = max(tr.stats.endtime for tr in piece)
        assert lo <= max(t0, (a or t0) - picker.options.margin) + 0.01
        assert hi >= min(t1, (b or t1) + picker.options.margin) - 0.01
    # short streams and chunk_length 0 are picked whole
    assert [p[0] for p in Picker(model="conservative", chunk_length=0)._chunks(st)] == [st]
    assert [p[0] for p in Picker(model="conservative", chunk_length=7200.0)._chunks(st)] == [st]
    assert list(Picker(model="conservative")._chunks(Stream())) == [(Stream(), None, None)]


def test_chunks_of_sparse_records_cut_in_gaps():
    """Records days apart: pieces hold ≤ chunk_length of data and are cut where data resume."""
    t0 = UTCDateTime("2020-01-01")
    st = Stream()
    for k in range(5):
        for c in "ZNE":
            st += Trace(np.zeros(100_000, dtype=np.int32), header={"station": "A", "channel": f"HH{c}",
                                                                  "sampling_rate": 100.0, "starttime": t0 + k * 864000.0})
    picker = Picker(model="conservative", chunk_length=2500.0)
    pieces = list(picker._chunks(st))
    assert [p[1] for p in pieces[1:]] == [t0 + 2 * 864000.0, t0 + 4 * 864000.0]  # 2 + 2 + 1 records
    # traces: two records, plus the first `margin` seconds of the record after the cut
    assert [len(p[0]) for p in pieces] == [9, 9, 3]
    assert max(tr.stats.endtime for tr in pieces[0][0]) == t0 + 2 * 864000.0 + picker.options.margin
    # a few sparse records (5 × 1000 s ≤ chunk_length) are picked in one go, however far apart
    assert len(list(Picker(model="conservative", chunk_length=5000.0)._chunks(st))) == 1


def test_chunk_length_validated():
    import pytest

    with pytest.raises(ValueError):
        Picker(model="conservative", chunk_length=-1.0)
    with pytest.raises(ValueError):
        Picker(model="conservative", chunk_length=10.0)


def test_plain_graph_with_unpadded_tail_equals_xla(eqt_conservative):
    """Plain graphs (no XLA, the default) are fed unpadded tail batches, XLA graphs a padded one;
    both give the same picks."""
    from conftest import require_shared
    from obspy import read

    from seqt_plugins.eqt import load_eqt

    st = read(str(require_shared("data", "hengill", "mseed") / "*.mseed"))  # 20 stations, 5 min
    xla = load_eqt("conservative", xla=True, cache=False)
    assert xla.xla and not eqt_conservative.xla
    a = Picker(model=[xla], batch_size=64).pick(st)  # 200 windows: a tail batch of 8
    b = Picker(model=[eqt_conservative], batch_size=64).pick(st)
    assert len(a) > 100, len(a)
    _same(a, b)

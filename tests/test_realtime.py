"""Real-time picking over the SeedLink test double equals an offline run, each pick once."""

import logging

import pytest
from obspy import Stream, UTCDateTime, read

from conftest import require_shared
from servers import SeedLinkServer, records_512

STATIONS = ("2C.GAN02", "2C.BIT06", "ON.NESJV")
T0 = UTCDateTime(2018, 12, 30, 3, 0, 0)
T1 = UTCDateTime(2018, 12, 30, 3, 5, 0)


@pytest.fixture(scope="module")
def hengill_stream():
    mseed = require_shared("data", "hengill", "mseed")
    st = Stream()
    for code in STATIONS:
        for f in sorted(mseed.glob(f"{code}.*.mseed")):
            st += read(str(f))
    return st


@pytest.fixture(scope="module")
def picker(eqt_conservative):
    from seqt_plugins.picker import Picker

    return Picker(model=eqt_conservative)


@pytest.fixture(scope="module")
def offline(hengill_stream, picker):
    picks = picker.pick(hengill_stream)
    assert picks, "the hengill data should give picks"
    return picks


def match_offline(picks, offline):
    """Each pick equals one offline pick: same stream and phase, time within one sample (10 ms),
    and the same ID, up to the data's ends (the real-time buffer and the offline stream share
    an edge but differ in length; preparation does not depend on the length near an edge).
    """
    unmatched = list(offline)
    for p in picks:
        cands = [o for o in unmatched if o.waveform_id == p.waveform_id
                 and o.phase_hint == p.phase_hint and abs(o.time - p.time) <= 0.0105]
        assert len(cands) == 1, f"{p.public_id}: {len(cands)} offline picks match"
        o = cands[0]
        unmatched.remove(o)
        assert p.public_id == o.public_id
    assert not unmatched, f"offline picks never emitted: {[o.public_id for o in unmatched]}"


def test_realtime_equals_offline_each_pick_once(hengill_stream, picker, offline, caplog):
    from seqt_plugins.scale.realtime import run_realtime

    emitted = []
    with SeedLinkServer(rec for _t, _id, rec in records_512(hengill_stream)) as server:
        selectors = [f"{code}.*.*" for code in STATIONS]
        with caplog.at_level(logging.INFO, logger="seqt_plugins.scale"):
            picks = list(run_realtime(f"slink://{server.address}?timeout=10&retries=1", selectors,
                                      picker, starttime=T0, endtime=T1,
                                      on_pick=lambda p, lat: emitted.append((p, lat))))

    ids = [p.public_id for p in picks]
    assert len(ids) == len(set(ids)), "a pick was emitted twice"
    assert [p.public_id for p, _ in emitted] == ids  # the callback saw each pick once too
    match_offline(picks, offline)
    # picks came out while the stream was running, not only at the end
    latency_lines = [r.getMessage() for r in caplog.records if "latency" in r.getMessage()]
    assert len([m for m in latency_lines if m.startswith("pick ")]) == len(picks)
    assert any("latency median" in m for m in latency_lines)


def test_ring_buffer_emits_before_the_end_and_stays_bounded(hengill_stream, picker, offline):
    """Fed packet by packet, picks of closed regions come out before the stream ends and the
    buffer never holds much more than lookback + step + lookahead seconds."""
    from seqt_plugins.scale.realtime import RealtimePicker

    clock = {"now": 0.0}
    rt = RealtimePicker(picker, clock=lambda: clock["now"])
    packets = [read(__import__("io").BytesIO(rec))[0]
               for _t, _id, rec in records_512(hengill_stream.select(station="GAN02"))]
    early, widest = [], 0.0
    for tr in packets:
        clock["now"] = tr.stats.endtime.timestamp  # "now" = the data time: latency = data delay
        early.extend(rt.feed(tr))
        buf = rt.buffers["2C.GAN02."]
        span = buf.data_end - min(t.stats.starttime for q in buf.channels.values() for t in q)
        widest = max(widest, span)
    rest = rt.flush()
    assert early, "no pick was emitted before the end of the stream"
    assert widest <= rt.buffer_seconds + rt.step + 30  # whole packets of a few s each
    assert all(lat >= rt.lookahead for lat in rt.latencies[: len(early)])
    match_offline(early + rest, [p for p in offline if p.waveform_id.station == "GAN02"])

"""Real-time picking over the SeedLink test double equals an offline run, each pick once."""

import dataclasses
import io
import logging
import math

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


def packets_of(stream):
    """The 512-byte records of ``stream`` as Traces, in the order a SeedLink server sends them."""
    return [read(io.BytesIO(rec))[0] for _t, _id, rec in records_512(stream)]


def feed_all(rt, packets, delay=1.0, late=None):
    """Feed ``packets`` in arrival order (end time + ``delay``, + ``late[i]`` s for packet i)
    with the clock at the arrival; returns (picks before the end of the stream, after flush)."""
    late = late or {}
    arrivals = sorted(((tr.stats.endtime.timestamp + delay + late.get(i, 0.0), i) for i, tr in enumerate(packets)))
    clock = {"now": 0.0}
    rt.clock = lambda: clock["now"]
    early = []
    for t, i in arrivals:
        clock["now"] = t
        early += rt.feed(packets[i])
    return early, rt.flush()


class CountingModel:
    """Wraps ``picker._predict``: the number of windows of each model call."""

    def __init__(self, picker, monkeypatch):
        self.inner = picker._predict
        self.calls = []
        monkeypatch.setattr(picker, "_predict", self)

    def __call__(self, x):
        self.calls.append(len(x))
        return self.inner(x)


def test_each_window_encoded_once_stations_batched_together_picks_equal_offline(hengill_stream, picker, monkeypatch):
    """Fed packet by packet: the EqT windows are exactly those of the offline run (each encoded
    once), the three stations share each model call, the picks equal the offline picks and
    come out while the stream runs, and each station holds a bounded stretch of raw data."""
    from seqt_plugins.picker.prepare import FS, WINDOW
    from seqt_plugins.scale.realtime import RealtimePicker

    offline_model = CountingModel(picker, monkeypatch)
    offline = picker.pick(hengill_stream)
    monkeypatch.undo()
    model = CountingModel(picker, monkeypatch)
    rt = RealtimePicker(picker)
    packets = packets_of(hengill_stream)
    widest = {"span": 0.0}
    feed = rt.feed

    def watched(tr):
        out = feed(tr)
        widest["span"] = max(widest["span"], max(st.span() for st in rt.stations.values()))
        return out

    rt.feed = watched
    early, rest = feed_all(rt, packets)
    assert sum(model.calls) == rt.windows == sum(offline_model.calls)
    assert len(model.calls) <= rt.windows / len(STATIONS) + 2  # one call per step for all stations
    assert early, "no pick was emitted before the end of the stream"
    match_offline(early + rest, offline)
    # a pick waits at least for the end window a gap could still add, and the look-ahead
    assert min(rt.latencies[: len(early)]) >= (WINDOW - picker.blind_start) / FS + rt.lookahead
    assert widest["span"] <= rt.buffer_seconds + 5  # + one packet of a few s


def test_bindings_apply_per_station(hengill_stream, picker):
    """Per-station settings as the bindings give them: a station not picked, one with its own
    thresholds; real time equals offline picking through the same core."""
    from seqt_plugins.config.stations import StationSettings
    from seqt_plugins.picker.perstation import StationPicker
    from seqt_plugins.scale.realtime import RealtimePicker

    strict = dataclasses.replace(picker.options, p_threshold=0.9, s_threshold=0.5)
    settings = {"2C.BIT06": StationSettings(False, reason="detecEnable = false"),
                "2C.GAN02": StationSettings(options=strict)}
    offline = StationPicker(picker, settings).pick(hengill_stream)
    module_wide = [p for p in picker.pick(hengill_stream.select(station="GAN02"))]
    rt = RealtimePicker(picker, settings_for=settings)
    early, rest = feed_all(rt, packets_of(hengill_stream))
    picks = early + rest
    assert not [p for p in picks if p.waveform_id.station == "BIT06"]
    assert "2C.BIT06." not in rt.stations  # its packets were never kept
    gan02 = [p for p in picks if p.waveform_id.station == "GAN02"]
    assert gan02 and len(gan02) < len(module_wide)  # its own, stricter thresholds
    match_offline(picks, offline)


def test_gaps_split_or_are_interpolated_as_offline(hengill_stream, picker):
    """A 25 s gap on every channel of every station (segments end and start again), a 2 s gap on
    one station's vertical (interpolated) and a 30 s gap on one horizontal: real time equals
    offline picking of the same gappy data."""
    from seqt_plugins.scale.realtime import RealtimePicker

    t0 = T0

    def dropped(tr):
        s = tr.stats
        if s.endtime >= t0 + 100 and s.starttime < t0 + 125:
            return True
        if s.station == "NESJV" and s.channel == "HHZ" and t0 + 200 <= s.starttime < t0 + 201:
            return True
        return s.station == "GAN02" and s.channel == "HHN" and t0 + 150 <= s.starttime < t0 + 180

    packets = [tr for tr in packets_of(hengill_stream) if not dropped(tr)]
    assert len(packets) < len(packets_of(hengill_stream))
    offline = picker.pick(Stream([tr.copy() for tr in packets]))
    rt = RealtimePicker(picker)
    early, rest = feed_all(rt, packets)
    assert rt.late_packets == 0
    match_offline(early + rest, offline)


def test_a_dead_horizontal_does_not_stop_the_station(hengill_stream, picker, caplog):
    """GAN02's HHN stops after 100 s while HHZ and HHE go on (a failed component): the station
    keeps being picked as the data arrive, the dead horizontal zero-filled as offline picking of
    the same data does (same picks, same IDs), and its warning is logged once, not per pass.
    Before, the station waited for the dead channel and emitted nothing until the flush."""
    from seqt_plugins.scale.realtime import RealtimePicker

    def dropped(tr):
        return tr.stats.station == "GAN02" and tr.stats.channel == "HHN" and tr.stats.starttime > T0 + 100

    packets = [tr for tr in packets_of(hengill_stream) if not dropped(tr)]
    offline = picker.pick(Stream([tr.copy() for tr in packets]))
    rt = RealtimePicker(picker)
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.picker"):
        early, rest = feed_all(rt, packets)
    match_offline(early + rest, offline)
    end = max(tr.stats.endtime for tr in packets)
    due = [p for p in offline if p.waveform_id.station == "GAN02" and p.time < end - 120]
    assert len(due) >= 5
    assert {p.public_id for p in due} <= {p.public_id for p in early}
    missing = [r for r in caplog.records if "GAN02" in r.getMessage() and "missing" in r.getMessage()]
    assert len(missing) == 1, [r.getMessage() for r in missing]


def outage_replay(hengill_stream, picker, dropped, each=None, jitter=0.0):
    """Offline picks of the packets ``dropped`` leaves, GAN02's picks before 100 s among them,
    and a real-time replay of the same packets (arrival 1 s after each packet's end, plus a
    seeded random 0..``jitter`` s; clock at the arrival): (offline, before, {pick ID: clock at
    emission}, picks before the flush, the flush's picks, the picker). ``each(rt)`` runs after
    every packet."""
    import random

    from seqt_plugins.scale.realtime import RealtimePicker

    packets = [tr for tr in packets_of(hengill_stream) if not dropped(tr.stats)]
    offline = picker.pick(Stream([tr.copy() for tr in packets]))
    before = [p for p in offline if p.waveform_id.station == "GAN02" and p.time < T0 + 100]
    assert before and [p for p in offline if p.waveform_id.station == "GAN02" and p.time > T0 + 200], \
        "GAN02 should have picks on both sides of the outage"
    rt = RealtimePicker(picker)
    clock = {"now": 0.0}
    rt.clock = lambda: clock["now"]
    emitted_at, early = {}, []
    rng = random.Random(1)
    for t, i in sorted((tr.stats.endtime.timestamp + 1.0 + rng.uniform(0, jitter), i) for i, tr in enumerate(packets)):
        clock["now"] = t
        for p in rt.feed(packets[i]):
            emitted_at[p.public_id] = t
            early.append(p)
        if each is not None:
            each(rt)
    return offline, before, emitted_at, early, rt.flush(), rt


@pytest.mark.parametrize("jitter", [0.0, 1.0])
def test_a_stopped_vertical_closes_the_segment_and_picking_resumes_with_it(hengill_stream, picker, caplog, jitter):
    """GAN02's HHZ sends nothing from 100 s to 200 s while HHN and HHE go on. Offline picking
    of the same data ends the segment where the vertical ends and picks nothing until it
    resumes: real time does the same, emits the picks before the stop once the vertical is
    ``max_delay`` behind (not when it resumes, nor at the flush), keeps no more horizontal data
    meanwhile than it needs, and picks again from the vertical's return. Same picks, same IDs.
    With packets arriving up to 1 s out of order, the pass where the vertical resumes just
    after the cut has horizontals only: nothing is picked there (once, two picks on the
    horizontals alone came out that offline picking does not make)."""
    held = []

    def raw_seconds_held(rt):
        gan02 = rt.stations.get("2C.GAN02.")
        if gan02 is not None and gan02.lost is not None:
            firsts = [run.first() for runs in gan02.runs.values() for run in runs]
            held.append(max(gan02.ends.values()) - min(firsts))

    with caplog.at_level(logging.INFO, logger="seqt_plugins.scale"):
        offline, before, emitted_at, early, rest, rt = outage_replay(
            hengill_stream, picker,
            lambda s: s.station == "GAN02" and s.channel == "HHZ" and T0 + 100 < s.endtime and s.starttime < T0 + 200,
            raw_seconds_held, jitter=jitter)
    match_offline(early + rest, offline)
    # the picks before the stop came out while the vertical was away
    assert all(emitted_at.get(p.public_id, math.inf) < T0.timestamp + 200 for p in before)
    assert held and max(held) <= rt.max_delay + rt.margin + rt.step
    messages = [r.getMessage() for r in caplog.records if "GAN02..HHZ" in r.getMessage()]
    assert sum("no data after" in m for m in messages) == 1, messages
    assert sum("picked again" in m for m in messages) == 1, messages


@pytest.mark.parametrize("jitter", [0.0, 1.0])
def test_a_silent_station_is_closed_where_it_stopped_and_picked_again_when_it_resumes(hengill_stream, picker,
                                                                                       caplog, jitter):
    """GAN02 sends nothing from 100 s to 200 s (a telemetry outage) while the other stations go
    on. Offline picking ends its segment at the gap; real time closes it once the station has
    been silent for ``max_delay`` s of the clock and the others' data are that far ahead, so its
    picks before the outage are emitted then, not when it comes back; it is picked again from
    its return. Same picks, same IDs as offline."""
    with caplog.at_level(logging.INFO, logger="seqt_plugins.scale"):
        offline, before, emitted_at, early, rest, _ = outage_replay(
            hengill_stream, picker, lambda s: s.station == "GAN02" and T0 + 100 < s.endtime and s.starttime < T0 + 200,
            jitter=jitter)
    match_offline(early + rest, offline)
    assert all(emitted_at.get(p.public_id, math.inf) < T0.timestamp + 200 for p in before)
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("2C.GAN02.:")]
    assert sum("no data after" in m for m in messages) == 1, messages
    assert sum("data again" in m for m in messages) == 1, messages
    # no other station was taken for silent, and a station is not closed at the end of the stream
    assert sum("no data after" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("clock_ahead", [0.0, 8 * 365.25 * 86400], ids=["live", "playback"])
def test_a_packet_with_a_broken_time_stamp_is_dropped(hengill_stream, picker, offline, caplog, clock_ahead):
    """One HHN record of GAN02 stamped four years late (a GPS glitch), sent in the middle of
    the stream. Taken as the channel's newest data, it made the station's vertical look
    stopped and cost all 15 of GAN02's later picks. Live it is ahead of the clock too and is
    dropped at once; in a playback of old data (the clock years ahead) it waits for the
    channel's next packet, which continues the earlier data, and is dropped then. The picks
    equal offline picking without it."""
    from seqt_plugins.scale.realtime import RealtimePicker

    packets = packets_of(hengill_stream)
    k = next(i for i, tr in enumerate(packets) if tr.stats.station == "GAN02" and tr.stats.channel == "HHN"
             and tr.stats.starttime > T0 + 90)
    glitch = packets[k].copy()
    glitch.stats.starttime += 4 * 365.25 * 86400
    rt = RealtimePicker(picker)
    clock = {"now": 0.0}
    rt.clock = lambda: clock["now"]
    out = []
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.scale"):
        for t, i in sorted((tr.stats.endtime.timestamp + 1.0, i) for i, tr in enumerate(packets)):
            clock["now"] = t + clock_ahead
            out += rt.feed(packets[i])
            if i == k:
                out += rt.feed(glitch)
        out += rt.flush()
    match_offline(out, offline)
    dropped = [r.getMessage() for r in caplog.records if "2C.GAN02..HHN" in r.getMessage()]
    why = "of the clock" if not clock_ahead else "continued the earlier data"
    assert len(dropped) == 1 and why in dropped[0], dropped
    assert rt.future_packets == 1


def test_data_that_resume_after_an_outage_of_every_station_are_taken(hengill_stream, picker):
    """Every station silent from 100 s to 200 s (the network's link down): the first packets
    after it lie far ahead of all data but not of the clock; each is confirmed by its
    channel's next packet and nothing is lost. The picks equal offline picking of the same
    data."""
    from seqt_plugins.scale.realtime import RealtimePicker

    packets = [tr for tr in packets_of(hengill_stream)
               if not (T0 + 100 < tr.stats.endtime and tr.stats.starttime < T0 + 200)]
    offline = picker.pick(Stream([tr.copy() for tr in packets]))
    assert [p for p in offline if p.time > T0 + 200]
    rt = RealtimePicker(picker)
    early, rest = feed_all(rt, packets)
    match_offline(early + rest, offline)
    assert rt.future_packets == 0


def test_packets_received_again_are_ignored_quietly(hengill_stream, picker, offline, caplog):
    """A server that resends packets (a reconnection): every tenth packet comes again, 20 s
    after the first copy, when its time is prepared. Its data are held, so nothing is lost: it
    is ignored without the "late packet" warning, and the picks equal offline."""
    from seqt_plugins.scale.realtime import RealtimePicker

    packets = packets_of(hengill_stream)
    events = sorted([(tr.stats.endtime.timestamp + 1.0, i) for i, tr in enumerate(packets)]
                    + [(tr.stats.endtime.timestamp + 21.0, i) for i, tr in enumerate(packets) if i % 10 == 0])
    rt = RealtimePicker(picker)
    clock = {"now": 0.0}
    rt.clock = lambda: clock["now"]
    out = []
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.scale"):
        for t, i in events:
            clock["now"] = t
            out += rt.feed(packets[i].copy())
        out += rt.flush()
    match_offline(out, offline)
    # (copies that come before their time is prepared overlap the data they repeat, as offline)
    assert rt.late_packets == 0 and rt.duplicate_packets > len(packets) / 20
    assert not [r for r in caplog.records if "arrived after" in r.getMessage()]


def slow_channels(stream, station="GAN02"):
    """A long-period vertical (1 Hz) and a mass-position channel (0.1 Hz) of one station, as a
    SeedLink server streams them beside the seismometer."""
    import numpy as np

    out = Stream()
    z = stream.select(station=station, channel="*Z")[0]
    for code, rate in (("LHZ", 1.0), ("VM1", 0.1)):
        tr = z.copy()
        step = int(round(z.stats.sampling_rate / rate))
        tr.data = np.ascontiguousarray(z.data[::step]).astype(np.int32)
        tr.stats.sampling_rate, tr.stats.channel = rate, code
        out += tr
    return out


def test_slow_channels_of_a_station_are_left_out_once(hengill_stream, picker, offline, caplog):
    """LHZ and a mass position of a picked station: neither holds the station back nor makes
    a pick; one warning per stream, not one per packet; the picks equal offline's."""
    from seqt_plugins.scale.realtime import RealtimePicker

    slow = slow_channels(hengill_stream)
    packets = sorted(packets_of(hengill_stream) + packets_of(slow), key=lambda tr: tr.stats.endtime)
    rt = RealtimePicker(picker)
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.picker"):
        early, rest = feed_all(rt, packets)
    match_offline(early + rest, offline)
    assert rt.late_packets == 0
    warned = [r.getMessage() for r in caplog.records if "EqT needs" in r.getMessage()]
    assert sorted(w.split(":")[0] for w in warned) == ["2C.GAN02..LHZ", "2C.GAN02..VM1"], warned


def test_zero_fill_and_held_values_are_gaps_as_offline(hengill_stream, picker):
    """A 25 s zero-filled gap on every channel (as archives fill gaps) and a 3 s held value on
    one vertical (a telemetry drop-out): runs of one repeated value are gaps (prepare.FLAT_GAP),
    and real time, which sees such a run pass by pass, picks as offline picking does."""
    import numpy as np

    from seqt_plugins.scale.realtime import RealtimePicker

    packets = [tr.copy() for tr in packets_of(hengill_stream)]
    for tr in packets:
        s = tr.stats
        t = s.starttime.timestamp - T0.timestamp + np.arange(s.npts) / s.sampling_rate
        zero = (t >= 100) & (t < 125)
        hold = (t >= 200) & (t < 203) if (s.station, s.channel) == ("NESJV", "HHZ") else zero & False
        data = tr.data.astype(np.int32)
        data[zero] = 0
        data[hold] = 17
        tr.data = data
    offline = picker.pick(Stream([tr.copy() for tr in packets]))
    assert not [p for p in offline if T0 + 100 <= p.time <= T0 + 126], "no pick in or at the end of the zero fill"
    rt = RealtimePicker(picker)
    early, rest = feed_all(rt, packets)
    match_offline(early + rest, offline)


def test_a_piece_shorter_than_a_window_is_padded_and_picked_as_offline(hengill_stream, picker):
    """45 s of data between two long gaps (shorter than one window, longer than picker.minLength)
    holds the 03:02:15 event: offline picking zero-pads it to a window and picks it, with no pick
    in the padding, and real time picks it the same. The padding is zero on every component: a
    horizontal whose data run on past the vertical's end (NESJV here) is cut there, as real time
    cuts a station's channels (before, offline kept it and one S pick differed by 0.02 s)."""
    from seqt_plugins.scale.realtime import RealtimePicker

    a, b = T0 + 125, T0 + 170

    def dropped(tr):
        s = tr.stats
        return (s.endtime >= T0 + 95 and s.starttime < a) or (s.endtime >= b and s.starttime < T0 + 195)

    packets = [tr for tr in packets_of(hengill_stream) if not dropped(tr)]
    piece = Stream([tr.copy() for tr in packets]).slice(a - 5, b + 5)
    start = min(tr.stats.starttime for tr in piece)
    end = max(tr.stats.endtime for tr in piece)
    assert 30 < end - start < 60
    offline = picker.pick(Stream([tr.copy() for tr in packets]))
    inside = [p for p in offline if start <= p.time <= end]
    assert inside, "the short piece holds an event: it is picked"
    assert not [p for p in offline if end < p.time < T0 + 195], "no pick in the padding"
    rt = RealtimePicker(picker)
    early, rest = feed_all(rt, packets)
    match_offline(early + rest, offline)


def test_late_packets_used_while_they_can_be_dropped_after(hengill_stream, picker, caplog):
    """Packets that arrive late, but before the samples they change were prepared, are used
    (picks equal offline picking of all data); one that arrives after is dropped with a
    warning, and the picks equal offline picking of the data without it."""
    from seqt_plugins.scale.realtime import RealtimePicker

    packets = packets_of(hengill_stream)
    z = [i for i, tr in enumerate(packets) if tr.stats.station == "NESJV" and tr.stats.channel == "HHZ"
         and T0 + 95 < tr.stats.starttime < T0 + 140]
    rt = RealtimePicker(picker)
    early, rest = feed_all(rt, packets, late={z[2]: 8.0, z[5]: 20.0})
    assert rt.late_packets == 0
    match_offline(early + rest, picker.pick(hengill_stream))

    rt = RealtimePicker(picker)
    with caplog.at_level(logging.WARNING, logger="seqt_plugins.scale"):
        early, rest = feed_all(rt, packets, late={z[3]: 100.0})
    assert rt.late_packets == 1
    assert "arrived after its time was prepared; dropped" in caplog.text
    without = Stream([tr.copy() for i, tr in enumerate(packets) if i != z[3]])
    match_offline(early + rest, picker.pick(without))


def test_flush_emits_the_rest_and_a_new_stream_starts_afresh(hengill_stream, picker):
    """``flush`` emits the picks the end of the stream made final (the end windows), each
    once; a second stream fed afterwards is picked as on its own."""
    from seqt_plugins.scale.realtime import RealtimePicker

    first = hengill_stream.slice(T0, T0 + 150)
    second = hengill_stream.slice(T0 + 150, None)
    rt = RealtimePicker(picker)
    early, rest = feed_all(rt, packets_of(first))
    assert rest, "the stream's last minute holds picks"
    assert rt.flush() == []  # nothing left
    match_offline(early + rest, picker.pick(first))
    early, rest = feed_all(rt, packets_of(second))
    match_offline(early + rest, picker.pick(second))


def test_warm_up_builds_the_graphs_so_the_first_pass_traces_nothing():
    """seqtpick's real-time module warms its models at start, so the first pass over live data
    waits for no graph to be built (about 2 s per model on 2 cores)."""
    import numpy as np
    from obspy import Trace

    from seqt_plugins.eqt import load_eqt
    from seqt_plugins.picker import Picker

    model = load_eqt("conservative", cache=False)  # fresh: no graph built yet
    picker = Picker(model=model)
    assert not model._compiled
    picker.warm_up()
    tracings = {k: f.experimental_get_tracing_count() for k, f in model._compiled.items()}
    assert tracings and all(n == 1 for n in tracings.values())
    rng = np.random.default_rng(3)
    t0 = UTCDateTime(2024, 1, 1)
    noise = Stream([Trace(rng.standard_normal(12000).astype(np.float32),
                          {"network": "XX", "station": "A", "channel": f"HH{c}", "sampling_rate": 100.0,
                           "starttime": t0}) for c in "ZNE"])
    picker.pick(noise)
    assert {k: f.experimental_get_tracing_count() for k, f in model._compiled.items()} == tracings

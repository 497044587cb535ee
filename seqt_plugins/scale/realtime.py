"""Real-time picking: per-station streaming of record packets, each EqT window encoded once.

    rt = RealtimePicker(Picker(model="conservative"), on_pick=send)
    for trace in open_record_stream("slink://host:18000").stream_records(["2C.*.*.HH?"]):
        rt.feed(trace)                # picks that became final (also passed to on_pick)
    rt.flush()                        # at the end of the stream: the rest

or simply ``for pick in run_realtime("slink://host:18000", ["2C.*.*.HH?"], picker): ...``.

Each station keeps what an offline run over the same data would compute, grown as data
arrive, so nothing is computed twice:

* **prepared samples**: a station is *passed* each time its data end (the earliest end over
  its channels) crosses the next time of an absolute grid of ``step`` seconds (the window step,
  30 s at overlap 0.5; grid times fall where a window of the offline run becomes complete).
  A pass prepares only the raw data not prepared yet plus ``EDGE_SETTLING + max_gap`` seconds
  before it; prepared samples further than ``EDGE_SETTLING`` from the data end do not depend on
  where the data end (``picker.prepare``), so they are *final* and kept.
* **windows**: the windows of the offline run (``windows.window_starts``: on the absolute
  grid, plus one at the start and one at the end of each segment) are encoded once each, as
  soon as all their samples are final; the end window of a segment when a gap longer than
  ``max_gap`` (or ``flush``) ends it. The outputs are stacked into the station's probabilities.
* **one model call for all stations**: the windows of all stations passed at the same grid
  time go into shared batches (``batch_size`` rows). The first station that is passed waits
  until every other live station has reached that grid time too (they do within a packet or
  two), at most ``batch_wait`` seconds of the clock, or until a batch is full.
* **triggering**: stacked probabilities are final up to where no window still to come can
  reach (the next grid window, and the end window a gap could still add, one window before the
  data end); the triggers run on them with ``lookback`` seconds of context before the first
  pick not emitted and ``lookahead`` seconds after the last pick emitted (picks depend on at
  most a few seconds around them: peaks, merging, SNR, amplitude), so each pick is emitted
  once and equals the offline pick.

Latency (the clock at emission minus the pick time): at least one window minus the start
blinding (49 s, the end window a gap could still add) plus ``lookahead``, plus up to ``step``, the wait
for other stations (at most ``batch_wait``), the data's own delay and the computing time.

Late packets: a hole in a channel's data (a packet missing, the next one there) holds the
station's final samples back to the hole's start for up to ``max_delay`` seconds of data, so
that a packet arriving out of order fills it as it would offline; after that the hole is a
gap. A packet that arrives after the samples it changes were prepared is dropped with a
warning: the picks are then those of an offline run over the data that arrived in time. One
whose data are held already (a server resending after a reconnection) is ignored quietly. A
station waits for its slowest channel (its data end is the earliest over its channels), but
not for one more than ``max_delay`` behind the newest (a dead horizontal, a stalled second
sensor): that one is zero-filled from its end, as offline. The vertical picked on is always
waited for, since it alone defines the segments; once it is ``max_delay`` behind the other
components (it stopped), the station's segment is closed at its end and picked as at a flush,
and nothing more is picked there until it resumes, as offline. A whole station that stops (a
telemetry outage) is closed at its data end once it has sent nothing for ``max_delay`` seconds
of the clock while the other stations' data went ``max_delay`` seconds past it: offline
picking ends the segment at such a gap too, and its last picks are emitted then. Both
conditions, so that neither a slow computation nor a source that delivers the stations one
after another closes a station early. When it resumes, its channels are waited for (up to
``max_delay`` of the clock) as they come back one by one. Data that continue a closed segment
(a server's backfill of the outage) are late. A packet that ends more than ``max_delay`` after
both the newest data of any station and the clock has a broken time stamp (a GPS glitch) and
is dropped with a warning. Streams slower than 10 Hz
(``picker.prepare.MIN_SAMPLING_RATE``) are ignored.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from obspy import Stream, Trace, UTCDateTime

log = logging.getLogger("seqt_plugins.scale")

__all__ = ["RealtimePicker", "run_realtime"]


class _Segment:
    """One gap-free segment of a station as it grows, indexed in samples from its true start.

    ``data`` (prepared samples) and ``values`` (stacked outputs; sums and ``count`` for mean
    stacking) hold the samples [``base``, ``final_end``) that are final. Windows are encoded in
    increasing start order, as offline (the sums of mean stacking add up in the same order).
    """

    def __init__(self, start: UTCDateTime, step: int, blind: int, mean: bool, blind_start: Optional[int] = None,
                 twin: int = 0, *, pad_from: int):
        from ..picker.windows import global_index

        self.start = start
        self.step = step
        self.blind = blind
        self.blind_start = blind if blind_start is None else blind_start
        self.first_grid = (-global_index(start)) % step  # first window start on the absolute grid
        self.base = 0
        self.data = np.zeros((0, 3), dtype=np.float32)
        self.values = np.zeros((3, 0), dtype=np.float32)
        self.count = np.zeros(0, dtype=np.uint16) if mean else None
        self.known_end = 0  # samples prepared so far: the segment is at least this long
        self.npts: Optional[int] = None  # the length, once a gap or the end closed the segment
        self.valid: Optional[int] = None  # real samples of a segment zero-padded to one window
        # a segment closed this long or longer, but short of a window, is zero-padded to one
        # (the picker's pad_from, as offline preparation pads)
        self.pad_from = pad_from
        self.window0 = False  # the window at sample 0 is encoded (or queued)
        self.next_grid = self.first_grid  # the first grid window not encoded
        self.queued: List[int] = []  # window starts waiting for the batched model call
        self.twin = twin  # the first window's twin starts here (windows.segment_windows; 0: none)
        self.twin_state = 2 if twin <= 0 else 0  # 0 not queued, 1 queued, 2 stacked
        self.twin_out: Optional[np.ndarray] = None  # its outputs over twin_span
        self.emitted = 0  # picks before this sample have been emitted
        self.done = False  # closed, encoded, triggered: nothing left

    @property
    def final_end(self) -> int:
        return self.base + len(self.data)

    def extend(self, data: np.ndarray, offset: int, end: int) -> None:
        """Append the prepared samples [final_end, end) from ``data`` (sample 0 at ``offset``)."""
        new = data[self.final_end - offset: end - offset]
        self.data = np.concatenate([self.data, new]) if len(self.data) else new.copy()
        self.values = np.concatenate([self.values, np.zeros((3, len(new)), np.float32)], axis=1)
        if self.count is not None:
            self.count = np.concatenate([self.count, np.zeros(len(new), np.uint16)])

    def close(self, npts: int) -> bool:
        """The segment ends at ``npts``; False when it is too short for any window (as offline:
        from ``pad_from`` samples on it is zero-padded to a window, its padding not picked;
        shorter is skipped)."""
        from ..picker.prepare import WINDOW

        if npts < WINDOW:
            if npts < self.pad_from:
                self.npts, self.done = npts, True
                return False
            self.valid = npts
            pad = WINDOW - self.final_end
            self.data = np.concatenate([self.data, np.zeros((pad, 3), np.float32)])
            self.values = np.concatenate([self.values, np.zeros((3, pad), np.float32)], axis=1)
            if self.count is not None:
                self.count = np.concatenate([self.count, np.zeros(pad, np.uint16)])
            npts = WINDOW
        self.npts = npts
        return True

    def _encoded(self, k: int) -> bool:
        if k == 0 and self.window0:
            return True
        return k >= self.first_grid and (k - self.first_grid) % self.step == 0 and k < self.next_grid

    def queue_ready(self, pad: int) -> int:
        """Queue the windows whose samples are all final and not encoded yet; returns how many."""
        from ..picker.prepare import Segment, WINDOW
        from ..picker.windows import window_starts

        new = []
        if self.npts is None:
            if self.final_end >= WINDOW:
                if not self.window0:
                    new.append(0)
                    self.window0 = True
                while self.next_grid + WINDOW <= self.final_end:
                    if self.next_grid != 0:
                        new.append(self.next_grid)
                    self.next_grid += self.step
            if self.twin_state == 0 and self.final_end >= WINDOW + self.twin:
                self.twin_state = 1
        elif not self.done:
            starts = window_starts(Segment(self.start, np.empty((self.npts, 0), np.float32)), self.step, pad)
            new = [int(k) for k in starts if not self._encoded(int(k))]
            self.window0 = True
            self.next_grid = self.npts + pad + self.step  # every window of the segment is queued
            if self.twin_state == 0:  # a short segment's twin: its end mirrored (fill_batch)
                self.twin_state = 1
        self.queued.extend(new)
        return len(new) + (self.twin_state == 1)

    def add(self, k: int, out: np.ndarray, j: int, twin: bool = False) -> None:
        """Stack the outputs ``out[:, j]`` (3, WINDOW) of the window at ``k`` as ``Stack.add``:
        blinded at each edge that lies inside the segment; a twin's outputs are kept apart and
        averaged in by ``probabilities``."""
        from ..picker.prepare import WINDOW

        if twin:
            a, b = self.twin_span()
            self.twin_out = np.array(out[:, j, a - k : b - k])
            self.twin_state = 2
            return

        lo = self.blind_start if k > 0 else 0
        at_end = self.npts is not None and k + WINDOW >= self.npts
        hi = WINDOW if at_end else WINDOW - self.blind
        if self.npts is not None:
            hi = min(hi, self.npts - k)
        if hi <= lo:
            return
        a, b = k + lo - self.base, k + hi - self.base
        vals = self.values[:, a:b]
        if self.count is None:
            np.maximum(vals, out[:, j, lo:hi], out=vals)
        else:
            vals += out[:, j, lo:hi]
            self.count[a:b] += 1

    def stack_final(self) -> int:
        """Samples before this index have their stacked value: no window still to come covers them."""
        from ..picker.prepare import WINDOW

        if self.npts is not None:
            return self.npts if not self.queued and self.twin_state == 2 else 0
        bound = [self.final_end, self.next_grid + self.blind_start]
        if self.twin_state != 2:
            bound.append(self.twin)
        if not self.window0:
            bound.append(0)
        end_window = self.known_end - WINDOW  # the end window if a gap ended the segment now
        bound.append(end_window + self.blind_start if end_window > 0 else 0)
        return max(0, min(bound))

    def probabilities(self, a: int, b: int) -> np.ndarray:
        """(3, b - a) stacked D/P/S of samples [a, b), as ``Stack.result``."""
        v = self.values[:, a - self.base: b - self.base]
        ta, tb = self.twin_span()
        ta, tb = max(ta, a), min(tb, b)
        if self.count is None and (self.twin_out is None or tb <= ta):
            return v
        v = v.copy()
        if self.count is not None:
            cnt = self.count[a - self.base: b - self.base]
            covered = cnt > 0
            v[:, covered] /= cnt[covered]
        if self.twin_out is not None and tb > ta:
            from ..picker.stack import average_twin

            average_twin(v[:, ta - a: tb - a], self.twin_out[:, ta - self.twin: tb - self.twin])
        return v

    def twin_span(self) -> Tuple[int, int]:
        """``stack.twin_span`` of this segment: one still open is longer than its twin reaches."""
        from ..picker.prepare import WINDOW
        from ..picker.stack import twin_span

        return twin_span(self.npts if self.npts is not None else WINDOW + self.twin + 1, self.twin, self.blind_start)

    def trim(self, lookback: int) -> None:
        """Forget samples that neither a window still to come nor the triggers need."""
        from ..picker.prepare import WINDOW

        keep = self.emitted - lookback
        if self.npts is None:
            keep = min(keep, self.next_grid, self.known_end - WINDOW)
            if not self.window0:
                keep = 0
        if self.twin_state != 2:
            keep = 0
        keep = min(keep, self.final_end)
        if keep > self.base:
            cut = keep - self.base
            self.data = self.data[cut:].copy()
            self.values = self.values[:, cut:].copy()
            if self.count is not None:
                self.count = self.count[cut:].copy()
            self.base = keep


class _Run:
    """Contiguous samples of one channel: the packets that continue each other (the next one
    starts within half a sample of where the last ended, as libmseed joins a file's records)
    as one array, so preparing a minute of 1 s packets is one trace, not sixty."""

    __slots__ = ("start", "t0", "sr", "dropped", "parts", "npts", "end", "open")

    def __init__(self, trace: Trace, a: float, b: float):
        s = trace.stats
        self.start = s.starttime  # time of the first sample received
        self.t0 = a
        self.sr = float(s.sampling_rate)
        self.dropped = 0  # samples forgotten at the front
        self.parts = [trace.data]
        self.npts = len(trace.data)
        self.end = b
        self.open = not np.ma.isMaskedArray(trace.data)  # masked samples: kept as their own run

    def add(self, trace: Trace, a: float, b: float) -> bool:
        """Append the packet if it continues this run; False if it does not."""
        sr = self.sr
        if (not self.open or trace.stats.sampling_rate != sr or np.ma.isMaskedArray(trace.data)
                or abs(a - self.t0 - (self.dropped + self.npts) / sr) >= 0.5 / sr):
            return False
        self.parts.append(trace.data)
        self.npts += len(trace.data)
        self.end = b
        return True

    def data(self) -> np.ndarray:
        if len(self.parts) > 1:
            self.parts = [np.concatenate(self.parts)]
        return self.parts[0]

    def first(self) -> float:
        return self.t0 + self.dropped / self.sr

    def trace(self, header: dict, since: Optional[float], until: Optional[float] = None) -> Trace:
        """The samples from about ``since`` (a little before: whole samples) to ``until`` (its
        last sample at or before; None: all)."""
        i = max(0, int(math.floor((since - self.first()) * self.sr))) if since is not None else 0
        j = None if until is None else max(i, int(math.floor((until - self.first()) * self.sr + 1e-6)) + 1)
        head = dict(header, sampling_rate=self.sr, starttime=self.start + (self.dropped + i) / self.sr)
        return Trace(self.data()[i:j], header=head)

    def drop_before(self, t: float) -> None:
        i = int(math.floor((t - self.first()) * self.sr))
        if i > 0:
            self.parts = [self.data()[i:]]
            self.dropped += i
            self.npts -= i


class _Station:
    """Raw data, segments and schedule of one station (NET.STA.LOC)."""

    def __init__(self, key: str, max_delay: float):
        self.key = key
        self.max_delay = max_delay
        self.network, self.station, self.location = key.split(".")
        self.runs: Dict[str, List[_Run]] = {}  # channel -> runs of contiguous samples, by arrival
        self.ends: Dict[str, float] = {}  # channel -> latest end (timestamp)
        self.segments: List[_Segment] = []
        self.channels: Tuple[str, str, str] = ("", "", "")
        self.consumed: Optional[float] = None  # prepared samples before this time are final
        self.next_pass: Optional[float] = None
        self.ready_at: Optional[float] = None  # grid time of the pass waiting for the batch
        self.lost: Optional[float] = None  # where the vertical stopped, once its segment was closed there
        self.heard: float = -math.inf  # the clock at its last packet
        self.silent = False  # its segment was closed at its data end: no packet for a while
        # after a silence: the clock when data came again, and the channels heard since (the
        # others are waited for up to max_delay, not taken for dead: they resume in turn)
        self.resumed: Optional[float] = None
        self.since_resume: set = set()

    @property
    def data_end(self) -> float:
        """The end of the data common to the channels that still deliver (the slowest one's last
        sample). A channel more than ``max_delay`` behind the newest one has stopped: a dead
        horizontal, or another sensor of the station (an accelerometer beside the seismometer)
        that stalls. Waiting for it would stop the station's picking; it is zero-filled from its
        end on, as offline picking of the same data does, and packets it still sends for time
        already prepared are dropped as late. The vertical picked on is always waited for: it
        alone defines the segments, offline as here (see ``vertical_stopped``)."""
        newest = max(self.ends.values())
        vertical = self.channels[2]
        return min(end for channel, end in self.ends.items()
                   if end >= newest - self.max_delay or channel == vertical or self.awaited(channel))

    def awaited(self, channel: str) -> bool:
        """Whether the channel has yet to resume after the station's silence (within ``max_delay``
        of the clock): behind the others, but not stopped."""
        return (self.resumed is not None and channel not in self.since_resume
                and self.heard - self.resumed <= self.max_delay)

    def vertical_stopped(self) -> Optional[float]:
        """The end of the picked vertical's data where it lies more than ``max_delay`` behind the
        station's newest channel (the vertical failed, the horizontals go on), else None."""
        vertical = self.channels[2]
        end = self.ends.get(vertical) if vertical else None
        if end is not None and end < max(self.ends.values()) - self.max_delay and not self.awaited(vertical):
            return end
        return None

    def horizon(self, end: float) -> float:
        """``end``, or the start of the earliest hole in a channel's data younger than
        ``max_delay``: a late packet may still fill it, so nothing from there on is final."""
        h = end
        for runs in self.runs.values():
            if len(runs) < 2:
                continue
            ordered = sorted(runs, key=_Run.first)
            reach = ordered[0].end
            for run in ordered[1:]:
                if run.first() - reach > 1.5 / run.sr and reach >= end - self.max_delay:
                    h = min(h, reach)
                reach = max(reach, run.end)
        return h

    def previous_end(self, channel: str, a: float) -> Optional[float]:
        """The end of the channel's data that starts before ``a`` (None if there is none)."""
        ends = [run.end for run in self.runs.get(channel, ()) if run.first() <= a]
        return max(ends) if ends else None

    def piece_start(self, channel: str, t: float, max_gap: float) -> float:
        """Where the channel's data through ``t`` begins, gaps up to ``max_gap`` bridged (they
        are interpolated): the first sample whose preparation a change at ``t`` can reach."""
        start, reach = t, -math.inf
        for run in sorted(self.runs.get(channel, ()), key=_Run.first):
            first = run.first()
            if first > t:
                break
            if first - reach > max_gap:
                start = first
            reach = max(reach, run.end)
        return start

    def add(self, channel: str, trace: Trace, a: float, b: float) -> None:
        runs = self.runs.get(channel)
        if runs is None:
            runs = self.runs[channel] = []
        if not runs or not runs[-1].add(trace, a, b):
            runs.append(_Run(trace, a, b))
        if b > self.ends.get(channel, -math.inf):
            self.ends[channel] = b

    def stream(self, since: Optional[float], until: Optional[float] = None) -> Stream:
        """The raw data from ``since`` on (a little before: whole samples) until ``until`` (None:
        all), one trace per run."""
        out = Stream()
        for channel, runs in self.runs.items():
            header = {"network": self.network, "station": self.station, "location": self.location,
                      "channel": channel}
            out.traces.extend(run.trace(header, since, until) for run in runs
                              if (since is None or run.end >= since) and (until is None or run.first() <= until))
        return out

    def drop_before(self, t: float) -> None:
        for channel, runs in self.runs.items():
            runs[:] = [run for run in runs if run.end >= t]
            for run in runs:
                run.drop_before(t)

    def clear(self) -> None:
        self.runs = {}

    def span(self) -> float:
        """Seconds of raw data held (the earliest sample kept to the data end)."""
        firsts = [run.first() for runs in self.runs.values() for run in runs]
        return self.data_end - min(firsts) if firsts else 0.0


class RealtimePicker:
    """Per-station streaming picking, each window encoded once, each pick emitted once (see
    the module doc).

    ``picker``: a :class:`seqt_plugins.picker.Picker`. ``step``: seconds between passes of a
    station (default the picker's window step; playback may take longer steps, fewer passes
    and fuller batches). ``lookback``/``lookahead``: seconds of final probabilities the triggers
    see before the first pick not emitted and after the last pick emitted. ``batch_wait``:
    seconds of the clock a station ready for the model waits for the other stations.
    ``max_delay``: seconds of data a hole in a channel waits for a late packet.
    ``on_pick(pick, latency_s)`` is called for each emitted pick. ``settings_for``: the
    stations' bindings (see :class:`~seqt_plugins.picker.perstation.StationPicker`); packets
    of streams they do not pick are ignored.
    """

    def __init__(self, picker, *, step: Optional[float] = None, lookback: float = 10.0,
                 lookahead: float = 10.0, batch_wait: float = 10.0, max_delay: float = 30.0, inventory=None,
                 on_pick: Optional[Callable[[object, float], None]] = None,
                 clock: Callable[[], float] = time.time,
                 settings_for=None):
        from ..picker.perstation import StationPicker
        from ..picker.prepare import EDGE_SETTLING, FS, WINDOW
        from ..picker.triggers import P_AMP_WINDOW, SNR_WINDOW, S_AMP_WINDOW

        self.picker = picker
        # the one picking core: (network, station) -> StationSettings of its bindings
        self.core = StationPicker(picker, settings_for)
        o = picker.options
        self.step = float(step) if step is not None else picker.step / FS
        if not self.step >= 1.0:
            raise ValueError(f"step must be at least 1 s, not {step}")
        context = max(SNR_WINDOW, P_AMP_WINDOW, S_AMP_WINDOW) / FS + o.min_separation
        if lookback < context or lookahead < context:
            raise ValueError(f"lookback and lookahead must be at least {context:g} s (SNR, amplitude and "
                             "pick merging around a pick)")
        self.lookback = float(lookback)
        self.lookahead = float(lookahead)
        self.batch_wait = float(batch_wait)
        self.max_delay = float(max_delay)
        self.max_gap = float(o.max_gap)
        self.settle = EDGE_SETTLING  # prepared samples this far from a cut are final
        self.margin = EDGE_SETTLING + float(o.max_gap)  # raw data prepared before the first new sample
        self.window = WINDOW / FS
        self.inventory = inventory
        self.on_pick = on_pick
        self.clock = clock
        self.stations: Dict[str, _Station] = {}
        self._selects: Dict[Tuple[str, str, str, str], bool] = {}
        self._pending: Dict[str, _Station] = {}
        self._pending_since: Optional[float] = None
        self._newest = -math.inf  # the latest data end over all stations
        self._latest = -math.inf  # the latest end of any packet taken
        self._ahead: Dict[str, Trace] = {}  # per channel: a packet far ahead, until the next one tells
        self._checked = -math.inf  # the clock when silent stations were last looked for
        self._seen: "collections.OrderedDict[str, None]" = collections.OrderedDict()
        from ..picker.prepare import RepeatFilter

        self._repeats = RepeatFilter()  # each preparation message once, not once per pass
        self.latencies: List[float] = []
        self.emitted = 0
        self.late_packets = 0
        self.future_packets = 0  # dropped: ahead of every station's data and of the clock
        self.duplicate_packets = 0  # ignored: their time was prepared and their data are held
        self.passes = 0  # station passes (preparations)
        self.windows = 0  # EqT windows encoded
        self.batches = 0  # model calls

    @property
    def buffer_seconds(self) -> float:
        """Raw data a station holds at most, packets aside: prepared margin, settling, one step
        (and up to ``max_delay`` more while a hole waits for a late packet)."""
        return self.margin + self.settle + self.step

    # -- input ---------------------------------------------------------------------------------
    def feed(self, trace: Trace) -> List[object]:
        """Add one packet; returns the picks (sorted by time) that became final, of any station.

        A packet that ends more than ``max_delay`` after the newest data of every station has a
        broken time stamp (a GPS glitch) or starts the data anew after an outage of all of
        them. Taken as its channel's newest data, a glitch would make the station's other
        channels look stopped. Ahead of the clock too, it is dropped; otherwise it waits for
        its channel's next packet: one that follows it confirms it (both are taken), one that
        continues the earlier data drops it."""
        s = trace.stats
        sel = (s.network, s.station, s.location, s.channel)
        ok = self._selects.get(sel)
        if ok is None:
            from ..picker.prepare import too_slow

            # a long-period or state-of-health channel of a picked station (LHZ, mass positions)
            # would also hold the station's data end back to its own sparse packets
            ok = self._selects[sel] = self.core.selects(*sel) and not too_slow(trace.id, s.sampling_rate)
        if not ok or not len(trace.data):
            return []  # a stream the bindings do not pick
        out = []
        a, b = s.starttime.timestamp, s.endtime.timestamp
        held = self._ahead.pop(trace.id, None)
        if held is not None:
            if a >= held.stats.starttime.timestamp:
                out += self._take(held, sel)
            else:
                self._glitch(held, "the channel's next packet continued the earlier data")
        if self._latest > -math.inf and b > self._latest + self.max_delay:
            if b > self.clock() + self.max_delay:
                self._glitch(trace, "and of the clock")
            else:
                self._ahead[trace.id] = trace
            return out
        if not out:
            return self._take(trace, sel)
        out += self._take(trace, sel)
        return sorted(out, key=lambda p: (p.time, p.waveform_id.nslc))

    def _glitch(self, trace: Trace, why: str) -> None:
        s = trace.stats
        self.future_packets += 1
        log.warning("%s: packet %s–%s lies %.0f s after the newest data of every station %s (a time stamp "
                    "error?); dropped", trace.id, s.starttime, s.endtime, s.endtime.timestamp - self._latest, why)

    def _take(self, trace: Trace, sel: Tuple[str, str, str, str]) -> List[object]:
        """Add one packet (see ``feed``)."""
        s = trace.stats
        key = f"{sel[0]}.{sel[1]}.{sel[2]}"
        st = self.stations.get(key)
        if st is None:
            st = self.stations[key] = _Station(key, self.max_delay)
        a, b = s.starttime.timestamp, s.endtime.timestamp
        self._latest = max(self._latest, b)
        if st.consumed is not None:
            # the first prepared sample the packet changes: its own, or from the data before it
            # where it closes a gap short enough to be interpolated
            last = st.ends.get(sel[3])
            before = last if last is not None and a >= last else st.previous_end(sel[3], a)
            joins = before is not None and a - before <= self.max_gap
            changed = min(a, before) if joins else a
            if (changed - self.settle < st.consumed  # (in time order the data end is further on)
                    and max(changed - self.settle, st.piece_start(sel[3], before, self.max_gap) if joins else a)
                    < st.consumed):
                half = 0.5 / s.sampling_rate
                if any(run.first() <= a + half and run.end >= b - half for run in st.runs.get(sel[3], ())):
                    # data held already (a server resending after a reconnection): nothing is lost
                    self.duplicate_packets += 1
                    log.debug("%s: packet %s–%s received again; ignored", trace.id, s.starttime, s.endtime)
                    return []
                self.late_packets += 1
                log.warning("%s: packet %s–%s arrived after its time was prepared; dropped", trace.id,
                            s.starttime, s.endtime)
                return []
        st.add(sel[3], trace, a, b)
        now = self.clock()
        st.heard = now
        if st.silent:
            log.info("%s: data again (packet from %s); picked again", st.key, s.starttime)
            st.silent = False
            st.resumed, st.since_resume = now, set()
        if st.resumed is not None:
            st.since_resume.add(sel[3])
            if st.since_resume >= set(st.ends) or now - st.resumed > self.max_delay:
                st.resumed = None
        end = st.data_end
        self._newest = max(self._newest, end)
        out = []
        if now - self._checked >= 1.0:
            self._checked = now
            out += self._close_silent(now)
        if st.lost is not None:
            self._vertical_resumed(st, a)
        elif st.key not in self._pending and (stopped := st.vertical_stopped()) is not None:
            out += self._vertical_stopped(st, stopped)
        if st.lost is not None:  # nothing is picked until the vertical resumes: keep no more than needed then
            st.drop_before(max(st.ends.values()) - self.max_delay - self.margin)
        if st.next_pass is None:
            st.next_pass = self._next_grid_time(end)
        elif end >= st.next_pass and st.key not in self._pending:
            out += self._pass(st, final=False)
        while self._due():
            out += self._run_batch()
        return self._emit(out)

    def flush(self) -> List[object]:
        """Pick the rest of every station (end of the stream): all picks not yet emitted."""
        for trace in self._ahead.values():
            self._glitch(trace, "and no later packet of its channel came")
        self._ahead.clear()
        out = []
        for st in self.stations.values():
            if st.ends and st.lost is None and not st.silent:  # (closed where they stopped)
                out += self._pass(st, final=True)
        while self._pending:
            out += self._run_batch()
        for st in self.stations.values():  # the stream ended: what comes next starts anew
            st.segments = []
            st.clear()
            st.consumed = max(st.ends.values()) if st.ends else st.consumed
        return self._emit(out)

    # -- schedule ------------------------------------------------------------------------------
    def _next_grid_time(self, t: float) -> float:
        """The first pass time after ``t``: the grid of ``step`` seconds shifted so that a
        window on the absolute grid has just become final there."""
        offset = self.window + self.settle
        return (math.floor((t - offset) / self.step) + 1) * self.step + offset

    def _due(self) -> bool:
        """Whether the waiting stations go to the model now (see the module doc)."""
        if not self._pending:
            return False
        if sum(len(seg.queued) for st in self._pending.values() for seg in st.segments) >= self.picker.options.batch_size:
            return True
        if self.clock() - self._pending_since >= self.batch_wait:
            return True
        oldest = min(st.ready_at for st in self._pending.values())
        for st in self.stations.values():
            if st.key in self._pending or st.next_pass is None or not st.ends:
                continue
            # a live station that will reach the same grid time with its next packet(s)
            if st.next_pass <= oldest + 1e-6 and st.data_end >= self._newest - self.step:
                return False
        return True

    # -- core ----------------------------------------------------------------------------------
    def _pass(self, st: _Station, final: bool) -> List[object]:
        """Prepare the new data of a station, queue the windows that became final; the picks
        that are final already (no window to wait for) are returned."""
        from ..picker.prepare import FS

        self.passes += 1
        end = st.data_end
        crossed = st.next_pass if not final else -math.inf
        try:
            self._prepare(st, final)
        except Exception as exc:  # a bad packet must not stop the real-time loop
            log.error("%s: preparing data until %s failed: %s: %s", st.key, UTCDateTime(end),
                      type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            st.segments = []
            st.consumed = max(st.consumed or -math.inf, end - self.settle)
        st.next_pass = self._next_grid_time(end)
        if st.consumed is not None:
            st.drop_before(st.consumed - self.margin)
        pad = int(round(self.picker.options.edge_padding * FS))
        queued = sum(seg.queue_ready(pad) for seg in st.segments)
        if queued:
            if not self._pending:
                self._pending_since = self.clock()
            st.ready_at = crossed
            self._pending[st.key] = st
            return []
        return self._trigger(st)

    def _vertical_stopped(self, st: _Station, end: float) -> List[object]:
        """The picked vertical sends nothing while the other components go on. Offline picking of
        the same data ends the station's segment where the vertical ends (it alone defines the
        segments) and picks nothing after it, so the segment is closed there now, as at a flush:
        its picks are emitted instead of being held until the vertical resumes. ``end``: where
        the vertical's data end."""
        log.warning("%s.%s: no data after %s while the other components go on; the station's picking stops "
                    "there until it resumes", st.key, st.channels[2], UTCDateTime(end))
        out = self._pass(st, final=True)
        st.lost = end
        return out

    def _close_silent(self, now: float) -> List[object]:
        """A station that sent nothing for ``max_delay`` seconds of the clock while the other
        stations' data went ``max_delay`` seconds past its own (a telemetry outage, a station
        down): its segment is closed at its data end and picked, as offline picking closes it at
        the gap, so its last picks are emitted now rather than when it comes back or at the
        flush. Both conditions, so that neither a slow computation (the clock) nor a source
        that delivers the stations one after another (the data time) closes a station early."""
        out = []
        for st in self.stations.values():
            if (st.silent or st.lost is not None or not st.ends or st.key in self._pending
                    or now - st.heard <= self.max_delay or st.data_end >= self._newest - self.max_delay):
                continue
            log.warning("%s: no data after %s for %.0f s while the other stations' data go on; its picks until "
                        "then are emitted, and it is picked again when its data resume", st.key,
                        UTCDateTime(st.data_end), now - st.heard)
            out += self._pass(st, final=True)
            st.silent = True
        return out

    def _vertical_resumed(self, st: _Station, a: float) -> None:
        """Once the stopped vertical is back within ``max_delay``, picking goes on as after any
        gap (its old segment stays closed: packets that would continue it are late)."""
        if st.vertical_stopped() is None:
            log.info("%s.%s: data again (packet from %s); picked again", st.key, st.channels[2], UTCDateTime(a))
            st.lost = None

    def _prepare(self, st: _Station, final: bool) -> None:
        """Prepare the station's raw data from ``consumed - margin`` on and append the samples
        that became final to its segments; a segment is registered once it has final samples
        (before that, a late packet may still move its start), and closed at a gap or the end."""
        from ..picker.prepare import FS, NS_PER_SAMPLE, prepare_stream

        o = self.picker.options
        cut = st.consumed
        # The channels end where their last packets did. Samples that close to the end are not
        # final yet, so in a pass all channels end at the earliest (the station's data end):
        # with one start and length the three components are prepared in one go (prepare.py).
        stream = st.stream(cut - self.margin if cut is not None else None, None if final else st.data_end)
        vertical = st.channels[2]
        if vertical and not any(tr.stats.channel == vertical for tr in stream):
            # the vertical defines the segments, here as offline: where it has no data (it stopped,
            # or it resumes after this cut) nothing is picked, not the horizontals on their own
            prepared = []
        else:
            with self._repeats.applied():  # a pass repeats the station's warnings (a missing horizontal)
                prepared = prepare_stream(stream, max_gap=o.max_gap, inventory=self.inventory, min_length=1)
        pieces = prepared[0].segments if prepared else []
        if prepared:
            # a component without data in this pass (a dead horizontal) keeps its name, as offline
            # picking of the whole stream names it (an S pick goes on N where the station has one)
            new, old = prepared[0].channels, st.channels
            same = any(n and o and n[:-1] == o[:-1] for n, o in zip(new, old))
            st.channels = type(new)(n or (o if same else "") for n, o in zip(new, old))
        horizon = st.data_end if final else st.horizon(st.data_end)
        # Where the vertical's data run on, unbroken, past the cut above, the segment is at
        # least that long (as the uncut data said; the end window a gap could add waits for it).
        vertical_end = None
        if not final and st.channels[2] and horizon >= st.data_end:
            runs = st.runs.get(st.channels[2])
            if runs and runs[-1].first() <= st.data_end:
                vertical_end = runs[-1].end
        limit = horizon - self.settle  # prepared samples before this time are final
        if not final:  # data after a hole a late packet may still fill: not yet
            pieces = [p for p in pieces if p.start.timestamp < horizon]
        current = st.segments[-1] if st.segments and st.segments[-1].npts is None else None
        cut_ns = UTCDateTime(cut).ns if cut is not None else None
        consumed = cut if cut is not None else -math.inf
        waiting = math.inf  # the start of a segment without final samples yet
        half = NS_PER_SAMPLE // 2
        for i, piece in enumerate(pieces):
            piece_end = piece.start.ns + piece.npts * NS_PER_SAMPLE  # exclusive
            if cut_ns is not None and (piece_end < cut_ns or (piece_end == cut_ns and current is None)):
                continue  # prepared before (the end of a segment before a gap)
            closed = final or i < len(pieces) - 1 or piece_end / 1e9 < limit
            if current is not None and piece.start.ns <= current.start.ns + current.final_end * NS_PER_SAMPLE + half:
                seg, current = current, None  # the segment continues
            else:
                if current is not None:  # cannot happen with data in time order; end it cleanly
                    log.debug("%s: segment from %s ended at its prepared data", st.key, current.start)
                    self._close(st, current, current.final_end)
                    current = None
                seg = _Segment(piece.start, self.picker.step, self.picker.blind, o.stacking == "mean",
                               self.picker.blind_start, self.picker.twin, pad_from=self.picker.pad_from)
            offset = int(round((piece.start.ns - seg.start.ns) / NS_PER_SAMPLE))
            n = offset + piece.npts
            known = n
            if vertical_end is not None and i == len(pieces) - 1:
                known = max(n, int(math.floor((vertical_end - seg.start.timestamp) * FS)))
            if closed:
                good = n
            else:
                good = min(n, int(math.floor((limit - seg.start.timestamp) * FS + 1e-6)))
            if seg.final_end == 0 and good <= 0:
                waiting = min(waiting, piece.start.timestamp)
                continue  # nothing final: registered in a later pass
            if seg not in st.segments:
                st.segments.append(seg)
            seg.known_end = max(seg.known_end, known)
            if good > seg.final_end:
                seg.extend(piece.data, offset, good)
            if closed:
                self._close(st, seg, n)
                consumed = max(consumed, piece_end / 1e9)
            else:
                consumed = max(consumed, seg.start.timestamp + seg.final_end / FS)
        if current is not None:  # no piece continued it: the vertical's data ended before
            self._close(st, current, current.final_end)
        if not final and not (st.segments and st.segments[-1].npts is None):
            consumed = max(consumed, min(limit, waiting))  # no segment reaches there: a gap
        st.consumed = consumed

    def _close(self, st: _Station, seg: _Segment, npts: int) -> None:
        from ..picker.prepare import FS

        if not seg.close(npts):
            log.warning("%s: segment %s (%.1f s) shorter than one window and than %.1f s; skipped", st.key,
                        seg.start, npts / FS, seg.pad_from / FS)
            st.segments.remove(seg)

    def _run_batch(self) -> List[object]:
        """One model call (or more, of ``batch_size`` windows) for the windows of all waiting
        stations, then their triggers."""
        from ..picker.prepare import Segment
        from ..picker.windows import WindowRef, batches

        stations = list(self._pending.values())
        self._pending.clear()
        self._pending_since = None
        segs, refs = [], []
        for st in stations:
            for seg in st.segments:
                for k in seg.queued:
                    refs.append(WindowRef(len(segs), 0, k - seg.base))
                if seg.twin_state == 1:
                    refs.append(WindowRef(len(segs), 0, seg.twin - seg.base, True))
                segs.append(seg)
        try:
            pad = any(getattr(m, "xla", True) for m in self.picker.models)
            views = [[Segment(seg.start, seg.data)] for seg in segs]
            for x, chunk in batches(views, refs, self.picker.options.batch_size):
                out = self.picker._predict(x if pad else x[: len(chunk)])
                self.batches += 1
                self.windows += len(chunk)
                for j, r in enumerate(chunk):
                    seg = segs[r.station]
                    seg.add(r.start + seg.base, out, j, r.twin)
        except Exception as exc:
            log.error("EqT on %d window(s) of %d station(s) failed: %s: %s", len(refs), len(stations),
                      type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        for seg in segs:
            seg.queued = []
            if seg.twin_state == 1:  # stacked (or lost with its batch, as the other windows)
                seg.twin_state = 2
        out = []
        for st in stations:
            out += self._trigger(st)
            if st.ends and st.next_pass is not None and st.data_end >= st.next_pass:
                out += self._pass(st, final=False)  # it went on while waiting
        return out

    def _trigger(self, st: _Station) -> List[object]:
        """Emit the picks of a station whose probabilities became final."""
        from ..picker.prepare import FS, Segment, StationData

        lookback = int(round(self.lookback * FS))
        lookahead = int(round(self.lookahead * FS))
        out = []
        for seg in list(st.segments):
            if seg.queued or seg.twin_state == 1:
                continue
            final = seg.stack_final()
            until = seg.npts if seg.npts is not None else final - lookahead
            if until > seg.emitted:
                a = max(seg.base, seg.emitted - lookback)
                b = seg.npts if seg.npts is not None else final
                valid = None if seg.valid is None else seg.valid - a  # a short segment's padding: no pick
                piece = Segment(seg.start + a / FS, seg.data[a - seg.base: b - seg.base], valid)
                station = StationData(st.network, st.station, st.location, st.channels, [piece])
                try:
                    picks, _ = self.core.trigger((station, [seg.probabilities(a, b)]),
                                                 piece.time(seg.emitted - a),
                                                 piece.time(until - a) if seg.npts is None else None)
                except Exception as exc:
                    log.error("%s: triggering %s–%s failed: %s: %s", st.key, seg.start + seg.emitted / FS,
                              seg.start + until / FS, type(exc).__name__, exc)
                    picks = []
                seg.emitted = until
                out += picks
            if seg.npts is not None:
                seg.done = True
                st.segments.remove(seg)
            else:
                seg.trim(lookback)
        return out

    def _emit(self, picks: List[object]) -> List[object]:
        """Emit the picks that became final, sorted by time: logged with their latency, passed
        to ``on_pick``, returned."""
        if not picks:  # most packets make no pick final
            return picks
        picks.sort(key=lambda p: (p.time, p.waveform_id.nslc))
        out = []
        now = self.clock()
        for pick in picks:
            if pick.public_id in self._seen:  # a safety net: regions of time do not overlap
                log.warning("%s: pick emitted before; not again", pick.public_id)
                continue
            self._seen[pick.public_id] = None
            while len(self._seen) > 100000:
                self._seen.popitem(last=False)
            latency = now - pick.time.timestamp
            self.latencies.append(latency)
            self.emitted += 1
            w = pick.waveform_id
            st = self.stations.get(f"{w.network}.{w.station}.{w.location}")
            log.info("pick %s %s %s emitted, latency %.1f s (data until %s)", pick.public_id,
                     pick.phase_hint, pick.time, latency, UTCDateTime(st.data_end) if st else "-")
            if self.on_pick is not None:
                self.on_pick(pick, latency)
            out.append(pick)
        return out

    def latency_summary(self) -> Dict[str, float]:
        """Count, median, 90th and 95th percentiles and maximum of the emitted picks' latencies (s)."""
        if not self.latencies:
            return {"count": 0}
        v = sorted(self.latencies)

        def pct(q):
            return v[min(len(v) - 1, int(math.ceil(q * len(v))) - 1)]

        return {"count": len(v), "median": v[len(v) // 2], "p90": pct(0.9), "p95": pct(0.95), "max": v[-1]}


def run_realtime(source, selectors: Sequence, picker, *, starttime=None, endtime=None,
                 inventory=None, on_pick: Optional[Callable[[object, float], None]] = None,
                 **options) -> Iterator[object]:
    """Picks from a real-time record stream (URL or RecordStream), each once, as they become
    final; at the end of the stream (``endtime`` reached, or the caller stops) the rest.
    ``options`` go to :class:`RealtimePicker` (step, lookback, lookahead, batch_wait,
    settings_for)."""
    from ..io.records import open_record_stream

    rs = open_record_stream(source) if isinstance(source, str) else source
    rt = RealtimePicker(picker, inventory=inventory, on_pick=on_pick, **options)
    log.info("real-time picking of %s from %s: passes every %.0f s, raw data kept about %.0f s per station",
             ", ".join(map(str, selectors)), getattr(rs, "url", rs), rt.step, rt.buffer_seconds)
    try:
        for trace in rs.stream_records(selectors, starttime, endtime):
            yield from rt.feed(trace)
        yield from rt.flush()
    finally:
        summary = rt.latency_summary()
        if summary["count"]:
            log.info("%d picks emitted; latency median %.1f s, 95%% %.1f s, max %.1f s; %d windows encoded "
                     "in %d model calls", summary["count"], summary["median"], summary["p95"], summary["max"],
                     rt.windows, rt.batches)

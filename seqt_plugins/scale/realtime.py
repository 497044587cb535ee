"""Real-time picking: per-station ring buffers fed by record packets, each pick emitted once.

    rt = RealtimePicker(Picker(model="conservative"), on_pick=send)
    for trace in open_record_stream("slink://host:18000").stream_records(["2C.*.*.HH?"]):
        rt.feed(trace)                # picks whose window closed (also passed to on_pick)
    rt.flush()                        # at the end of the stream: the rest

or simply ``for pick in run_realtime("slink://host:18000", ["2C.*.*.HH?"], picker): ...``.

Time is cut into regions on an absolute grid of ``step`` seconds (the picker's window step,
30 s at overlap 0.5). A region [E, E + step) of a station is *closed* once the station's data
(the earliest end over its channels) reaches E + step + ``lookahead``; then the picker runs on
the buffer [E − ``lookback``, data end] and only the picks with time in the closed region(s) are
emitted. Every EqT window that covers a closed region (60 s, on the same absolute grid as an
offline run) lies inside the buffer, away from its edges (taper, filter transients, the extra
edge windows), so the stacked probabilities there, and thus the picks, are those of an
offline run over the same data; regions tile time, so a pick is emitted once (a pick ID or a
pick of the same station and phase within ``min_separation`` already emitted is dropped as a
safety net). The ring buffer of a station keeps ``lookback + step + lookahead`` seconds
(defaults 75 + 30 + 75 s), whole packets, older ones dropped.

Latency: each pick is logged at info level with its latency, the wall-clock time of emission
minus the pick time (``latencies`` keeps them; ``latency_summary()`` sums them up). It is at
least ``lookahead`` plus up to one ``step``, plus the data's own delay and the picking time.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from obspy import Stream, Trace, UTCDateTime

log = logging.getLogger("seqt_plugins.scale")

__all__ = ["RealtimePicker", "run_realtime"]


@dataclass
class _StationBuffer:
    key: str  # NET.STA.LOC
    channels: Dict[str, Deque[Trace]] = field(default_factory=dict)
    emitted_until: Optional[UTCDateTime] = None  # picks before this time have been emitted

    def add(self, trace: Trace) -> None:
        self.channels.setdefault(trace.stats.channel, collections.deque()).append(trace)

    @property
    def data_end(self) -> Optional[UTCDateTime]:
        """End of the data common to all channels (the slowest channel's last sample)."""
        ends = [max(tr.stats.endtime for tr in q) for q in self.channels.values() if q]
        return min(ends) if ends else None

    def stream(self, since: UTCDateTime) -> Stream:
        st = Stream([tr for q in self.channels.values() for tr in q if tr.stats.endtime >= since])
        if len(st) > 1:
            st.merge(method=-1)  # join contiguous packets exactly; the picker handles gaps
        return st

    def drop_before(self, t: UTCDateTime) -> None:
        for q in self.channels.values():
            while q and q[0].stats.endtime < t:
                q.popleft()


class RealtimePicker:
    """Per-station ring buffers and the picker, emitting each pick once (see module doc).

    ``picker``: a :class:`seqt_plugins.picker.Picker`. ``step``: region length in s (default
    the picker's window step). ``lookback``/``lookahead``: data kept before a region and needed
    after it (default 75 s each: one 60 s window plus filter settling and pick merging).
    ``on_pick(pick, latency_s)`` is called for each emitted pick. ``settings_for``: the
    stations' bindings (see :class:`~seqt_plugins.picker.perstation.StationPicker`); packets
    of streams they do not pick are ignored.
    """

    def __init__(self, picker, *, step: Optional[float] = None, lookback: float = 75.0,
                 lookahead: float = 75.0, inventory=None,
                 on_pick: Optional[Callable[[object, float], None]] = None,
                 clock: Callable[[], float] = time.time,
                 settings_for=None):
        from ..picker.prepare import FS, WINDOW

        from ..picker.perstation import StationPicker

        self.picker = picker
        # the one picking core: (network, station) -> StationSettings of its bindings
        self.core = StationPicker(picker, settings_for)
        self.step = float(step) if step is not None else picker.step / FS
        window = WINDOW / FS
        if lookback < window or lookahead < window:
            raise ValueError(f"lookback and lookahead must be at least one window ({window:g} s)")
        self.lookback = float(lookback)
        self.lookahead = float(lookahead)
        self.inventory = inventory
        self.on_pick = on_pick
        self.clock = clock
        self.min_separation = float(picker.options.min_separation)
        self.buffers: Dict[str, _StationBuffer] = {}
        self._last: Dict[Tuple[str, str], UTCDateTime] = {}  # (station, phase) → last pick time
        self._seen: "collections.OrderedDict[str, None]" = collections.OrderedDict()
        self.latencies: List[float] = []
        self.emitted = 0
        self.late_packets = 0
        self.runs = 0

    @property
    def buffer_seconds(self) -> float:
        return self.lookback + self.step + self.lookahead

    # -- input ---------------------------------------------------------------------------------
    def feed(self, trace: Trace) -> List[object]:
        """Add one packet; returns the picks (sorted by time) that became final."""
        s = trace.stats
        if not self.core.selects(s.network, s.station, s.location, s.channel):
            return []  # a stream the bindings do not pick
        key = f"{s.network}.{s.station}.{s.location}"
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = _StationBuffer(key)
        if buf.emitted_until is None:
            buf.emitted_until = s.starttime
        elif s.endtime < buf.emitted_until - self.lookback:
            self.late_packets += 1
            log.warning("%s: packet %s–%s arrived after its time was picked; dropped", trace.id,
                        s.starttime, s.endtime)
            return []
        buf.add(trace)
        end = buf.data_end
        if end is None:
            return []
        closed = math.floor((end.timestamp - self.lookahead) / self.step) * self.step
        if closed <= buf.emitted_until.timestamp:
            return []
        return self._run(buf, UTCDateTime(closed))

    def flush(self) -> List[object]:
        """Pick the rest of every buffer (end of the stream): all picks not yet emitted."""
        out = []
        for buf in self.buffers.values():
            if buf.emitted_until is not None and buf.data_end is not None:
                out.extend(self._run(buf, None))
        out.sort(key=lambda p: (p.time, p.waveform_id.nslc))
        return out

    # -- core ----------------------------------------------------------------------------------
    def _run(self, buf: _StationBuffer, until: Optional[UTCDateTime]) -> List[object]:
        since = buf.emitted_until
        stream = buf.stream(since - self.lookback)
        self.runs += 1
        try:
            picks = self.core.pick(stream, self.inventory, since, until)
        except Exception as exc:  # a bad packet must not stop the real-time loop
            log.error("%s: picking %s–%s failed: %s: %s", buf.key, since, until or "end",
                      type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            picks = []
        buf.emitted_until = until if until is not None else buf.data_end
        buf.drop_before(buf.emitted_until - self.lookback)
        return [p for p in picks if self._emit(p, buf)]

    def _emit(self, pick, buf: _StationBuffer) -> bool:
        if pick.public_id in self._seen:
            return False
        station = ".".join(pick.waveform_id.nslc.split(".")[:3])
        last = self._last.get((station, pick.phase_hint))
        if last is not None and abs(pick.time - last) < self.min_separation:
            log.debug("%s: within %.1f s of the last %s pick; not emitted again", pick.public_id,
                      self.min_separation, pick.phase_hint)
            return False
        self._last[(station, pick.phase_hint)] = pick.time
        self._seen[pick.public_id] = None
        while len(self._seen) > 100000:
            self._seen.popitem(last=False)
        latency = self.clock() - pick.time.timestamp
        self.latencies.append(latency)
        self.emitted += 1
        log.info("pick %s %s %s emitted, latency %.1f s (data until %s)", pick.public_id,
                 pick.phase_hint, pick.time, latency, buf.data_end)
        if self.on_pick is not None:
            self.on_pick(pick, latency)
        return True

    def latency_summary(self) -> Dict[str, float]:
        """Count, median, 90th percentile and maximum of the emitted picks' latencies (s)."""
        if not self.latencies:
            return {"count": 0}
        v = sorted(self.latencies)
        return {"count": len(v), "median": v[len(v) // 2],
                "p90": v[min(len(v) - 1, int(math.ceil(0.9 * len(v))) - 1)], "max": v[-1]}


def run_realtime(source, selectors: Sequence, picker, *, starttime=None, endtime=None,
                 inventory=None, on_pick: Optional[Callable[[object, float], None]] = None,
                 **options) -> Iterator[object]:
    """Picks from a real-time record stream (URL or RecordStream), each once, as they become
    final; at the end of the stream (``endtime`` reached, or the caller stops) the rest.
    ``options`` go to :class:`RealtimePicker` (step, lookback, lookahead)."""
    from ..io.records import open_record_stream

    rs = open_record_stream(source) if isinstance(source, str) else source
    rt = RealtimePicker(picker, inventory=inventory, on_pick=on_pick, **options)
    log.info("real-time picking of %s from %s: buffer %.0f s per station, step %.0f s",
             ", ".join(map(str, selectors)), getattr(rs, "url", rs), rt.buffer_seconds, rt.step)
    try:
        for trace in rs.stream_records(selectors, starttime, endtime):
            yield from rt.feed(trace)
        yield from rt.flush()
    finally:
        summary = rt.latency_summary()
        if summary["count"]:
            log.info("%d picks emitted; latency median %.1f s, 90%% %.1f s, max %.1f s",
                     summary["count"], summary["median"], summary["p90"], summary["max"])

"""Handing the picking pass's EqT features to a feature cache, so no window is encoded twice.

The re-picker needs, per event and station, one 60 s window's decoder taps and probabilities:
windows on an absolute grid (``repicker.windowStep``), prepared as the picker prepares them.
The picker's windows are the same windows (the same absolute grid at 50 % overlap, the same
preparation and normalisation), so the picking pass can run the tapped model as a multi-output
graph (``EqTModel.taps_batch``: probabilities bit for bit as ``predict``'s) and hand the
features of the windows around its detections to the re-picker's cache instead of the
re-picker encoding them again.

Which windows: all stations' windows whose start lies within ``before``/``after`` of a sample
where a window's (ensemble) P probability reached the picker's P threshold in a window whose
detection probability reached the detection threshold, on at least ``coincidence`` stations
within ``span`` seconds of each other (an event's P picks; its S picks follow within the
reach). The re-picker sets the reach from its search geometry and the catalog the coincidence
from its associator's minimum of P picks: single-station noise then keeps nothing (on 20
stations of noise, S at 0.1 alone made every few minutes a trigger). Windows a missed rule
leaves out are encoded by the re-picker as before. Deciding that for all stations at once needs the
windows of one time together, so with a hand-over the batches are cut in time order (every
station's windows of one time side by side) instead of station by station. The probabilities
stay bit-identical to the station-by-station order: EqT's result for a window depends on the
size of its batch (the last rows of a batch whose size is not a multiple of 8 are computed
apart), never on the other windows in it, so the station-by-station run's last, short batch
is run alone, first, and every other batch is full; a station's windows are still stacked in
time order (``mean`` stacking adds them in that order).

Only windows whose samples equal those of the whole record's preparation are handed over:
not those within ``EDGE_MARGIN`` of a piece's cut (``Picker._chunks``) and not edge-padded
ones. A window waits (as a view of its batch's outputs) until it is known whether a later
trigger needs it; its maps are copied when handed over (~1.4 MB for the 14 decoder taps).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .prepare import EDGE_SETTLING, FS, WINDOW
from .windows import WindowRef, global_index

log = logging.getLogger("seqt_plugins.picker")

# Samples of a window must lie this far from a cut of the piece (the re-picker's StreamWindows
# margin: beyond EDGE_SETTLING a cut no longer changes the prepared samples, 3 s for rounding).
EDGE_MARGIN = int(round((EDGE_SETTLING + 3.0) * FS))


def model_key(model) -> Optional[tuple]:
    """Identity of a loaded float32 EqT graph (``EqTModel.identity``); None for others."""
    return getattr(model, "identity", None)


@dataclass
class HandoverStats:
    """What the picking passes handed over (summed over pieces)."""

    windows: int = 0  # windows the tapped model ran on
    eligible: int = 0  # of those, on the grid and clear of cuts
    offered: int = 0  # near a trigger: offered to the sink
    accepted: int = 0  # taken by the sink
    keys: set = field(default_factory=set)  # keys of all windows the tapped model ran on


class FeatureHandover:
    """The picker's side of a hand-over: which windows, in which order, offered to ``sink``.

    ``sink``: an object with ``model`` (the EqT model whose taps are wanted), ``names`` (the
    taps) and ``offer(key, taps, outputs) -> bool`` (``outputs``: {model_key: (3, 6000)
    float32} for each model the picker ran); the re-picker's ``FeatureCache`` is one.
    ``grid``, ``before``, ``after`` in seconds; ``keep_keys``: record every window key the
    tapped model ran on (tests).
    """

    def __init__(self, sink, grid: float, before: float, after: float, coincidence: int = 1, span: float = 60.0,
                 keep_keys: bool = False):
        self.sink = sink
        self.names = tuple(sink.names)
        self.key = model_key(sink.model)
        self.grid = max(1, int(round(grid * FS)))
        self.before = int(round(before * FS))
        self.after = int(round(after * FS))
        self.coincidence = max(1, int(coincidence))
        self.span = int(round(span * FS))
        self.keep_keys = keep_keys
        self.stats = HandoverStats()

    def start(self, stations, refs: Sequence[WindowRef], batch_size: int, pad: bool,
              thresholds: Tuple[float, float], span=None) -> "_Pass":
        """One pass: ``thresholds`` (detection, P); ``span`` the (start, end) the piece was cut to."""
        return _Pass(self, stations, refs, batch_size, pad, thresholds, span)


class _Batch:
    """One batch's per-model outputs and tap maps (views), kept while a row may be handed over."""

    __slots__ = ("outputs", "maps")

    def __init__(self, outputs, maps):
        self.outputs, self.maps = outputs, maps


class _Pass:
    """One ``Picker.probabilities`` call with a hand-over (see the module doc)."""

    def __init__(self, owner: FeatureHandover, stations, refs, batch_size, pad, thresholds, span):
        self.owner = owner
        self.thresholds = thresholds
        n = len(refs)
        tail = 0 if pad else n % batch_size
        starts = [global_index(stations[r.station].segments[r.segment].start) + r.start for r in refs]
        order = sorted(range(n - tail), key=lambda i: (starts[i], i))
        # the short last batch of the station-by-station order first, alone; then full batches in time order
        self.groups = [[refs[i] for i in range(n - tail, n)], [refs[i] for i in order]]
        self.starts = {id(r): g for r, g in zip(refs, starts)}
        self.body_starts = [starts[i] for i in order]
        self.batch_size = batch_size
        lo, hi = span if span is not None else (None, None)
        self.lo = global_index(lo) if lo is not None else None
        self.hi = global_index(hi) if hi is not None else None
        self.stations = stations
        self.pending: List[Tuple[int, tuple, _Batch, int]] = []  # (start, key, batch, row)
        self.intervals: List[Tuple[int, int]] = []
        self.candidates: List[List] = []  # [first, last, station, confirmed]: P above threshold
        self.done = 0  # body windows processed

    def _eligible(self, r: WindowRef, g: int) -> bool:
        seg = self.stations[r.station].segments[r.segment]
        if r.twin:
            return False  # a second opinion off the grid (its end may be mirrored): not a window to reuse
        if not 0 <= r.start <= seg.npts - WINDOW:
            return False  # edge padding: zeros the re-picker never sees
        if seg.valid is not None:
            return False  # a short segment padded to one window: the re-picker keys it by its length
        if self.lo is not None and g - EDGE_MARGIN < self.lo:
            return False
        if self.hi is not None and g + WINDOW + EDGE_MARGIN > self.hi:
            return False
        return g % self.owner.grid == 0 or r.start == 0 or r.start == seg.npts - WINDOW

    def add(self, chunk: Sequence[WindowRef], body: bool, acc: np.ndarray, outputs: Dict[tuple, tuple],
            maps: Dict[str, np.ndarray]) -> None:
        """A batch's windows: their triggers, then which of the waiting windows go to the sink."""
        owner, stats = self.owner, self.owner.stats
        n = len(chunk)
        d_thr, p_thr = self.thresholds
        rows = np.flatnonzero((acc[0, :n].max(axis=1) >= d_thr) & (acc[1, :n].max(axis=1) >= p_thr))
        hot = acc[1, rows] >= p_thr
        first = np.argmax(hot, axis=1)
        last = WINDOW - 1 - np.argmax(hot[:, ::-1], axis=1)
        for k, a, b in zip(rows.tolist(), first.tolist(), last.tolist()):
            g = self.starts[id(chunk[k])]
            self.candidates.append([g + a, g + b, chunk[k].station, False])
        self._confirm()
        batch = _Batch(outputs, maps)
        for k, r in enumerate(chunk):
            g = self.starts[id(r)]
            st = self.stations[r.station]
            key = (st.key, g)
            stats.windows += 1
            if owner.keep_keys:
                stats.keys.add(key)
            if self._eligible(r, g):
                stats.eligible += 1
                self.pending.append((g, key, batch, k))
        if body:
            self.done += n
        self._settle()

    def _confirm(self) -> None:
        """Candidates with P on ``coincidence`` stations within ``span`` become triggers (intervals)."""
        owner, span = self.owner, self.owner.span
        for c in self.candidates:
            if c[3]:
                continue
            near = {o[2] for o in self.candidates if o[0] - span <= c[1] and c[0] <= o[1] + span}
            if len(near) >= owner.coincidence:
                c[3] = True
                self.intervals.append((c[0] - owner.before, c[1] + owner.after))

    def _settle(self) -> None:
        """Hand over the waiting windows a trigger reaches; drop those no later trigger can reach."""
        owner = self.owner
        nxt = self.body_starts[self.done] if self.done < len(self.body_starts) else None
        if nxt is not None:  # later windows start at nxt or after: their P samples cannot be earlier
            self.candidates = [c for c in self.candidates if c[1] + owner.span >= nxt]
        # a future trigger reaches back to the earliest unconfirmed candidate or the next window
        reach = None if nxt is None else min([nxt] + [c[0] for c in self.candidates if not c[3]]) - owner.before
        keep = []
        for item in self.pending:
            g = item[0]
            if any(a <= g <= b for a, b in self.intervals):
                self._offer(*item)
            elif reach is not None and g >= reach:
                keep.append(item)
        self.pending = keep
        if nxt is not None:
            low = min([nxt] + [item[0] for item in self.pending])
            self.intervals = [(a, b) for a, b in self.intervals if b >= low]

    def _offer(self, g: int, key: tuple, batch: _Batch, k: int) -> None:
        stats = self.owner.stats
        stats.offered += 1
        taps = {n: np.array(batch.maps[n][k], dtype=np.float32) for n in self.owner.names}
        outputs = {mk: np.stack([out[0][k], out[1][k], out[2][k]]).astype(np.float32) for mk, out in batch.outputs.items()}
        if self.owner.sink.offer(key, taps, outputs):
            stats.accepted += 1

    def finish(self) -> None:
        self.pending, self.intervals, self.candidates = [], [], []

"""EqT latent features of event windows, computed once per window and cached, and the windows' samples.

A window is 6000 samples (60 s at 100 Hz) of one prepared station segment. Its key is
(station key, absolute start time in 10 ms samples), so every event, template and search that
needs the same window reuses one EqT pass. Missing windows of a request are encoded together, in
batches, by one ``EqTModel.taps`` call; the LRU keeps ``cache_size`` windows (each ≈ 1.4 MB of
float32 for the 14 decoder taps of both branches).

``StreamWindows`` gives the samples: it prepares only stretches of the stream around the
windows the events need (see its doc), so the re-picker's cost does not grow with the record's
length when events are few.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from obspy import Stream, UTCDateTime

from ..picker import prepare as _prepare
from ..picker.prepare import (EDGE_SETTLING, FS, NS_PER_SAMPLE, PAD_LIMIT, WINDOW, RepeatFilter, StationData,
                              group_by_instrument, prepare_stream)
from ..picker.windows import global_index, merge_spans, normalize

log = logging.getLogger("seqt_plugins.repicker")


def tap_names(model, phase: str) -> List[str]:
    """The seven decoder taps of the phase's branch (P: conv1d_32–38, S: conv1d_39–45)."""
    return list(model.spec.decoder_conv_names(phase))


@dataclass
class WindowFeatures:
    """EqT outputs (3, 6000) — detection, P, S — and the named taps' maps (L, C) of one window."""

    probabilities: np.ndarray
    taps: Dict[str, np.ndarray]


# station key, global index of the first sample (10 ms units); a window of a zero-padded short
# segment adds its number of real samples, so it never stands for a full window starting there
# (the same station read longer in another group of origins)
WindowKey = Union[Tuple[str, int], Tuple[str, int, int]]

# Handed-over windows kept at most (~1.5 MB each with the 14 decoder taps and two models'
# outputs): about 1.5 GB, the windows around some ten isolated events on 20 stations, or about
# an hour of a dense record; beyond it windows are encoded again when the re-picker needs them.
HANDOVER_SIZE = 1024


def window_key(station_key: str, segment, start: int) -> WindowKey:
    g = global_index(segment.start) + int(start)
    return (station_key, g) if segment.valid is None else (station_key, g, int(segment.valid))


class FeatureCache:
    """LRU of ``WindowFeatures`` keyed by (station, window start); computes misses in batches.

    The picking pass can hand it the features it computed anyway (``offer``, see
    ``hand_over``): they wait outside the LRU until a request asks for their window, which then
    enters the LRU as an encoded window would, so the re-picker places its windows exactly as
    without them. ``encodes`` counts the windows the tapped model ran on here, per key.
    """

    def __init__(self, model, names: Sequence[str], size: int = 128, batch_size: int = 32,
                 probability_models: Optional[Sequence] = None, handover_size: int = HANDOVER_SIZE):
        self.model = model
        # the models whose probabilities (mean) a window reports: by default the tapped model's
        # own; the re-picker passes the picker's ensemble so its EqT path sees what the picker saw
        self.probability_models = list(probability_models) if probability_models else [model]
        self.names = list(names)
        self.size = int(size)
        self.batch_size = int(batch_size)
        self.handover_size = int(handover_size)
        self._store: "OrderedDict[WindowKey, WindowFeatures]" = OrderedDict()
        self._handed: Dict[WindowKey, Tuple[Dict[str, np.ndarray], Dict[tuple, np.ndarray]]] = {}
        self.hits = 0
        self.misses = 0
        self.encoded = 0
        self.encodes: Counter = Counter()
        self.handover_used = 0  # requests answered from handed-over features
        self.handover_refused = 0  # offers refused: the hand-over store was full

    # -- hand-over from the picking pass ---------------------------------------------------
    def offer(self, key: WindowKey, taps: Dict[str, np.ndarray], outputs: Dict[tuple, np.ndarray]) -> bool:
        """Keep a window's features from the picking pass: its taps (``names``) and each model's
        (3, 6000) outputs by ``model_key``. Refused when the window is known or the store full."""
        if key in self._store or key in self._handed or self.model_key(self.model) not in outputs:
            return False
        if len(self._handed) >= self.handover_size:
            if self.handover_refused == 0:
                log.info("hand-over store full (%d windows): later windows are encoded again when needed",
                         self.handover_size)
            self.handover_refused += 1
            return False
        self._handed[key] = ({n: taps[n] for n in self.names}, dict(outputs))
        return True

    @staticmethod
    def model_key(model):
        """``EqTModel.identity``: the key of a model's outputs in ``offer`` (None: not float32)."""
        return getattr(model, "identity", None)

    def drop_handover(self) -> int:
        """Forget the handed-over windows no request used (the picking pass's leftovers)."""
        n = len(self._handed)
        self._handed.clear()
        return n

    @property
    def handed_over(self) -> int:
        """Handed-over windows still waiting for a request."""
        return len(self._handed)

    def _from_handover(self, keys: List[WindowKey], missing) -> Dict[WindowKey, WindowFeatures]:
        """Features of handed-over windows; probability models the picker did not run are run here."""
        entries = [self._handed.pop(k) for k in keys]
        mkeys = [self.model_key(m) for m in self.probability_models]
        runs = [m for m, mk in zip(self.probability_models, mkeys) if any(mk not in e[1] for e in entries)]
        computed = {}
        if runs:
            x = np.stack([np.asarray(_samples(missing[k]), dtype=np.float32) for k in keys]).copy()
            normalize(x)
            bs = min(self.batch_size, len(x))
            for m in runs:
                computed[self.model_key(m)] = np.stack(m.predict(x, batch_size=bs), axis=1)  # (n, 3, 6000)
        outs = [np.stack([e[1][mk] if mk in e[1] else computed[mk][i] for i, e in enumerate(entries)]) for mk in mkeys]
        probs = outs[0] if len(outs) == 1 else np.mean(outs, axis=0)  # as get_many's mean of the models
        self.handover_used += len(keys)
        return {k: WindowFeatures(probs[i].astype(np.float32), e[0]) for i, (k, e) in enumerate(zip(keys, entries))}

    def get_many(self, requests: Sequence[Tuple[WindowKey, Union[np.ndarray, Callable[[], np.ndarray]]]]) -> List[WindowFeatures]:
        """Features of each (key, data (6000, 3)) request, in order; misses go through EqT together.

        ``data`` may be a function returning the samples: it is called for misses only, so a
        cached window needs no prepared data (nor does a handed-over one, unless a probability
        model has to run on it).
        """
        missing: "OrderedDict[WindowKey, np.ndarray]" = OrderedDict()
        cached: Dict[WindowKey, WindowFeatures] = {}  # taken now: storing the misses may evict them
        for key, data in requests:
            if key in self._store:
                self.hits += 1
                cached[key] = self._store[key]
                self._store.move_to_end(key)
            elif key not in missing:
                self.misses += 1
                missing[key] = data
        handed = [k for k in missing if k in self._handed]
        fresh: Dict[WindowKey, WindowFeatures] = self._from_handover(handed, missing) if handed else {}
        encode = [k for k in missing if k not in fresh]
        if encode:
            x = np.stack([np.asarray(_samples(missing[k]), dtype=np.float32) for k in encode]).copy()
            if x.shape[1:] != (WINDOW, 3):
                raise ValueError(f"windows must be ({WINDOW}, 3), not {x.shape[1:]}")
            normalize(x)
            bs = min(self.batch_size, len(x))
            # one batch at a time (the batches model.taps would form): only one batch's maps
            # (45 MB at 32 windows) exist besides the per-window copies, not every batch's;
            # taps_batch leaves them as TensorFlow's outputs, copied once below per window
            for b0 in range(0, len(x), bs):
                xb = x[b0: b0 + bs]
                (det, p, s), maps = self.model.taps_batch(self.names, xb)
                if self.probability_models != [self.model]:
                    outs = [(det, p, s) if m is self.model else m.predict(xb, batch_size=bs)
                            for m in self.probability_models]
                    det, p, s = (np.mean([o[k] for o in outs], axis=0) for k in range(3))
                for k, key in enumerate(encode[b0: b0 + bs]):
                    fresh[key] = WindowFeatures(
                        np.stack([det[k], p[k], s[k]]).astype(np.float32),
                        # copies: views would keep the whole batch's maps alive while one window is cached
                        {n: np.array(maps[n][k], dtype=np.float32) for n in self.names},
                    )
                del maps
            self.encoded += len(x)
            self.encodes.update(encode)
        out = []
        for key, _ in requests:
            if key in fresh:
                wf = fresh[key]
                self._put(key, wf)
            else:
                wf = cached[key]
            out.append(wf)
        return out

    def warm_up(self) -> None:
        """Run one window of noise through every model the cache uses, so that TensorFlow builds
        their graphs now: about 2 s per model on a 2-core CPU, which a daemon would otherwise
        spend while its first origin waits. Nothing is cached or counted."""
        x = np.random.default_rng(0).standard_normal((1, WINDOW, 3)).astype(np.float32)
        normalize(x)
        self.model.taps_batch(self.names, x)
        for m in self.probability_models:
            if m is not self.model:
                m.predict(x, batch_size=1)

    def _put(self, key: WindowKey, wf: WindowFeatures) -> None:
        if self.size <= 0:
            return
        self._store[key] = wf
        self._store.move_to_end(key)
        while len(self._store) > self.size:
            self._store.popitem(last=False)

    def has(self, key: WindowKey) -> bool:
        """Whether the window is in the LRU (handed-over windows not yet asked for are not)."""
        return key in self._store

    def discard(self, key: WindowKey) -> None:
        """Drop a window no later request will ask for (its memory goes now, not at eviction)."""
        self._store.pop(key, None)

    def __len__(self) -> int:
        return len(self._store)


def _samples(data):
    return data() if callable(data) else data


def hand_over(picker, repicker, coincidence: int = 1, coordinates=None, keep_keys: bool = False):
    """Let ``picker``'s next passes hand their EqT features to ``repicker``'s cache.

    The picker must run the re-picker's tapped model (float32, no Monte-Carlo passes) and
    prepare the data as the re-picker does (the same ``maxGap``; pass both the same inventory);
    otherwise nothing is handed over and None is returned. The windows handed over are those
    starting within the reach of the re-picker's search (``handover_reach``) around P
    probabilities at the picker's thresholds on ``coincidence`` stations (an associator's
    minimum of P picks) within the P travel time across the array (``coordinates``: {"NET.STA":
    (lat, lon, elevation)}; without them, across ``maxDistance``). Returns the picker's
    ``FeatureHandover``.
    """
    o = repicker.options
    models = picker.models
    key = FeatureCache.model_key(repicker.model)
    if (picker.options.mc_passes > 0 or key is None or picker.options.max_gap != o.max_gap
            or key not in [FeatureCache.model_key(m) for m in models]):
        log.info("EqT features not handed from the picker to the re-picker: the picker does not run the "
                 "re-picker's model %r in float32 on identically prepared data", getattr(repicker.model, "name", ""))
        return None
    before, after = handover_reach(o)
    return picker.hand_over(repicker.cache, grid=o.window_step, before=before, after=after, coincidence=coincidence,
                            span=_p_spread(coordinates, o), keep_keys=keep_keys)


def _p_spread(coordinates, options) -> float:
    """Seconds between an event's P arrivals at two stations, at most: their distance at vS (a
    slow lower bound of any P velocity), over the array's largest one or ``maxDistance``."""
    km = options.max_distance
    if coordinates:
        from obspy.geodetics import gps2dist_azimuth

        points = list(coordinates.values())
        km = max([gps2dist_azimuth(a[0], a[1], b[0], b[1])[0] / 1000.0 for i, a in enumerate(points)
                  for b in points[i + 1:]] + [0.0])
    return max(10.0, km / options.vs + options.tolerance)


def handover_reach(options) -> Tuple[float, float]:
    """Seconds before and after a picked arrival within which the re-picker's windows start.

    A station's window is centred on its picks and search intervals and snapped to the grid, so
    it starts 15–45 s before that centre. The centre lies after the origin time less the
    tolerances, and the origin precedes any pick of it by at most the P travel time over
    ``maxDistance``; it lies before the latest S interval's end over ``maxDistance``.
    """
    tol, frac = options.tolerance, options.tolerance_fraction
    s_reach = options.max_distance / options.vs * (1.0 + frac) + tol
    before = 0.75 * WINDOW / FS + options.max_distance / options.vp + tol + frac * options.max_distance / options.vs
    return before, max(0.0, s_reach - 0.25 * WINDOW / FS)


# --------------------------------------------------------------------------------------------
# the windows' samples: event-local preparation

# Data prepared beyond each side of a window. The picker's preparation makes two cuts of the
# same data bit-identical beyond EDGE_SETTLING (taper + high-pass settling + resampling FIR)
# from a cut edge they do not share; 3 s more is room for rounding to input samples.
MARGIN = EDGE_SETTLING + 3.0  # s
GRID_TOLERANCE = 0.1  # samples: traces of a component farther off a common grid are prepared whole
# A station whose reserved stretches add up to more than this fraction of its samples is prepared
# whole: the stretches' margins and overlaps would cost more (a dense record).
WHOLE_FRACTION = 0.6


@dataclass
class SegmentSpan:
    """Where a segment of the whole-stream preparation lies (start, length), without its samples."""

    start: UTCDateTime
    npts: int
    valid: Optional[int] = None  # as ``Segment.valid``: real samples of a segment padded to one window
    data = None  # samples come from ``StreamWindows.window``

    @property
    def real(self) -> int:
        return self.npts if self.valid is None else self.valid

    @property
    def end(self) -> UTCDateTime:
        return self.start + (self.npts - 1) / FS

    def time(self, index) -> UTCDateTime:
        return self.start + float(index) / FS


class StreamWindows:
    """Each station's segment layout as ``prepare_stream`` of the whole stream gives it, and any
    window's samples, prepared from a stretch of the raw data around it.

    Preparing a whole record costs time in proportion to its length (resampling, bandpass), while
    the re-picker needs a few 60 s windows per event. Instead:

    1. the layout: for each station, the instrument and components ``prepare_stream`` chooses and
       its segments' start and length, from the merged vertical samples (the gap rule) and the
       resampling's first and last output times, without filtering anything;
    2. ``reserve`` records the windows the events will use; stretches reaching ``MARGIN`` beyond
       them (overlapping ones merged) are prepared with ``prepare_stream`` on the first request
       of one of their windows. The preparation depends only on data within ``EDGE_SETTLING`` of
       a cut edge, and its sample grid is absolute, so those windows' samples are those of the
       whole stream (see below); a window outside the reserved stretches gets its own stretch.

    Stations where a cut could change the outcome are prepared whole at the start: several
    instruments with a vertical, several sampling rates in a component, traces of a component off
    a common sample grid, or inventory orientations that change inside the record (the rotation
    reads the orientation at a segment's start). ``local=False`` prepares every station whole.

    "Bit-identical" holds up to float32 rounding: a cut removes another offset and starts its
    filter elsewhere, which leaves float64 differences of ~1e-16 relative that never die out
    exactly, so about one sample in 10^5–10^6 rounds to the neighbouring float32
    (``tests/test_repick_windows.py`` measures it; the Hengill re-picks are identical).
    """

    def __init__(self, stream, max_gap: float = 5.0, inventory=None, local: bool = True, margin: float = MARGIN,
                 pad_from: int = WINDOW - PAD_LIMIT):
        self.max_gap, self.inventory, self.local = max_gap, inventory, local
        self.pad_from = pad_from  # samples: shorter segments are skipped, longer ones short of a window padded
        self.margin = int(round(margin * FS))  # samples
        self.seconds = 0.0  # time spent preparing (layout and stretches)
        self.stations: List[StationData] = []
        self.whole: List[str] = []  # keys of the stations prepared whole
        self.stretches_prepared = 0
        self._traces: Dict[str, Stream] = {}
        self._reserved: Dict[str, List[Tuple[int, int]]] = defaultdict(list)  # global sample spans
        self._stretches: Dict[str, List[Tuple[int, int, Optional[StationData]]]] = {}
        self._filter = RepeatFilter(min_level=logging.WARNING)
        t0 = time.perf_counter()
        for (net, sta, loc), instruments in sorted(group_by_instrument(stream).items()):
            layout = self._layout(net, sta, loc, instruments) if local else None
            if layout is None:
                traces = Stream([tr for trs in instruments.values() for tr in trs])
                prepared = prepare_stream(traces, max_gap=max_gap, inventory=inventory, pad_from=pad_from)
                self.stations.extend(prepared)
                self.whole.extend(sd.key for sd in prepared)
            elif layout is not False:
                self.stations.append(layout)
        self._by_key = {sd.key: sd for sd in self.stations}
        self.seconds += time.perf_counter() - t0

    # -- layout ----------------------------------------------------------------------------
    def _layout(self, net, sta, loc, instruments):
        """The station's ``StationData`` with ``SegmentSpan`` segments; None: prepare it whole;
        False: ``prepare_stream`` would skip it (no segment of ``pad_from`` samples)."""
        with_z = [k for k, trs in instruments.items() if any(tr.stats.channel[-1] == "Z" for tr in trs)]
        if len(with_z) != 1:
            return None  # no vertical (prepare_stream warns) or several instruments to rank
        prefix = with_z[0]
        traces = instruments[prefix]
        by_code = defaultdict(list)
        for tr in traces:
            by_code[tr.stats.channel[-1]].append(tr)
        for trs in by_code.values():
            if not _on_one_grid(trs):
                return None
        channels = ["", "", ""]
        for code, col in _prepare._component_map(by_code).items():
            channels[col] = prefix + code
        if not self._orientation_fixed(net, sta, loc, channels, traces):
            return None
        label = f"{net}.{sta}.{loc}.{prefix}Z"
        with self._quiet():
            sr, pieces = _prepare._merge_component(by_code["Z"], self.max_gap, label)
            spans = [self._span_100hz(start, x, sr, label) for start, x in pieces]
        # as prepare_stream: a segment from pad_from samples on but short of a window is padded
        segments = [SegmentSpan(s0, n) if n >= WINDOW else SegmentSpan(s0, WINDOW, n)
                    for s0, n in spans if n >= self.pad_from]
        key = f"{net}.{sta}.{loc}"
        if not segments:
            log.info("%s: no segment of at least %.0f s; station skipped", key, self.pad_from / FS)
            return False
        self._traces[key] = Stream(list(traces))
        return StationData(net, sta, loc, tuple(channels), segments)

    @staticmethod
    def _span_100hz(start: UTCDateTime, x: np.ndarray, sr: float, label: str) -> Tuple[UTCDateTime, int]:
        """Start and length at 100 Hz of a piece ``_to_100hz`` would resample, without resampling it.

        Its first output sample depends only on where the piece starts, its last one only on where
        it ends (the output grid is absolute): resampling a short head and tail gives both.
        """
        if abs(sr - FS) < 1e-9:
            return start, len(x)
        k = 4096  # > 2 × the largest decimation factor (1000) plus the 2 samples _to_100hz needs
        if len(x) <= 2 * k:
            s0, y = _prepare._to_100hz(start, x, sr, label)
            return s0, len(y) if len(y) >= 2 else 0
        s0, _ = _prepare._to_100hz(start, x[:k], sr, label)
        e0, y = _prepare._to_100hz(start + (len(x) - k) / sr, x[-k:], sr, label)
        end = e0 + (len(y) - 1) / FS
        return s0, int(round((end - s0) * FS)) + 1

    def _orientation_fixed(self, net, sta, loc, channels, traces) -> bool:
        """True when the rotation cannot depend on the time it reads the orientations at."""
        if self.inventory is None or not all(channels):
            return True
        t0 = min(tr.stats.starttime for tr in traces)
        t1 = max(tr.stats.endtime for tr in traces)
        for code in channels:
            try:
                epochs = [c for n in self.inventory.select(network=net, station=sta, location=loc, channel=code)
                          for s in n for c in s]
            except Exception:
                return False
            if not epochs:
                continue  # no orientation at any time: never rotated
            if len(epochs) > 1:
                return False
            c = epochs[0]
            if (c.start_date is not None and c.start_date > t0) or (c.end_date is not None and c.end_date < t1):
                return False
        return True

    # -- windows ---------------------------------------------------------------------------
    def reserve(self, key: str, segment: int, start: int) -> None:
        """A window (station, segment index, start sample) that will be asked for."""
        g = self._window_index(key, segment, start)
        if g is not None:
            self._reserved[key].append((g - self.margin, g + WINDOW + self.margin))

    def window(self, key: str, segment: int, start: int) -> np.ndarray:
        """Samples (6000, 3) float32 of a window of a station's segment (as ``prepare_stream``'s)."""
        sd = self._station(key)
        if sd.segments[segment].data is None and key not in self._stretches and self._mostly_reserved(key):
            t0 = time.perf_counter()
            self._prepare_whole(key)  # one pass is cheaper than stretches covering most of it
            self.seconds += time.perf_counter() - t0
        seg = sd.segments[segment]
        if seg.data is not None:  # prepared whole
            return seg.data[start : start + WINDOW]
        g = self._window_index(key, segment, start)
        t0 = time.perf_counter()
        try:
            out = self._from_stretch(key, g)
            if out is None:
                log.warning("%s: window at %s not found in its prepared stretch; preparing the station whole",
                            key, seg.time(start))
                self._prepare_whole(key)
                return self.window(key, segment, start)
            return out
        finally:
            self.seconds += time.perf_counter() - t0

    def _station(self, key: str) -> StationData:
        return self._by_key[key]

    def _mostly_reserved(self, key: str) -> bool:
        """Whether the reserved stretches cover more than WHOLE_FRACTION of the station's samples."""
        spans = merge_spans(self._reserved.get(key, []))
        total = sum(seg.npts for seg in self._station(key).segments)
        return sum(b - a for a, b in spans) > WHOLE_FRACTION * total

    def _window_index(self, key: str, segment: int, start: int) -> Optional[int]:
        seg = self._station(key).segments[segment]
        return None if seg.data is not None else global_index(seg.start) + int(start)

    def _from_stretch(self, key: str, g: int) -> Optional[np.ndarray]:
        if key not in self._stretches:
            self._stretches[key] = [(a, b, None) for a, b in merge_spans(self._reserved.pop(key, []))]
        stretches = self._stretches[key]
        lo, hi = g - self.margin, g + WINDOW + self.margin
        for i, (a, b, sd) in enumerate(stretches):
            if a <= lo and hi <= b:
                break
        else:
            log.debug("%s: window at sample %d not reserved: own stretch", key, g)
            stretches.append((lo, hi, None))
            i, (a, b, sd) = len(stretches) - 1, stretches[-1]
        if sd is None:
            sd = self._prepare_stretch(key, a, b)
            stretches[i] = (a, b, sd)
        for seg in sd.segments if sd is not None else []:
            k = g - global_index(seg.start)
            if 0 <= k and k + WINDOW <= seg.npts:
                return seg.data[k : k + WINDOW]
        return None

    def _prepare_stretch(self, key: str, a: int, b: int) -> Optional[StationData]:
        """``prepare_stream`` of the station's raw traces cut to global samples [a, b)."""
        t0 = UTCDateTime(ns=a * NS_PER_SAMPLE)
        t1 = UTCDateTime(ns=(b - 1) * NS_PER_SAMPLE)
        cut = Stream([tr.slice(t0, t1) for tr in self._traces[key]])  # views; empty ones keep the codes
        with self._quiet():
            out = prepare_stream(cut, max_gap=self.max_gap, inventory=self.inventory, pad_from=self.pad_from)
        self.stretches_prepared += 1
        return out[0] if out else None

    def _prepare_whole(self, key: str) -> None:
        self._stretches.setdefault(key, [])
        with self._quiet():
            [sd] = prepare_stream(self._traces[key], max_gap=self.max_gap, inventory=self.inventory,
                                  pad_from=self.pad_from)
        self._by_key[key].segments[:] = sd.segments  # the same layout, now with samples
        self.whole.append(key)
        self.stretches_prepared += 1

    def _quiet(self):
        return self._filter.applied()


def _on_one_grid(traces) -> bool:
    """Whether any cut of a component's traces is merged and resampled on the grid of the whole.

    One sampling rate, and every trace's start within GRID_TOLERANCE samples of the grid of the
    earliest one (the merge anchors its grid there, a cut at another trace). Where the samples
    sit on the absolute grid does not matter: the resampling numbers every cut's samples alike.
    """
    traces = [tr for tr in traces if tr.stats.npts > 0]
    if not traces:
        return True
    rates = {round(float(tr.stats.sampling_rate), 6) for tr in traces}
    if len(rates) != 1:
        return False
    sr = rates.pop()
    t0 = min(tr.stats.starttime for tr in traces)
    for tr in traces:
        f = ((tr.stats.starttime - t0) * sr) % 1.0
        if min(f, 1.0 - f) > GRID_TOLERANCE:
            return False
    return True

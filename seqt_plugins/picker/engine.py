"""``Picker``: prepare → windows → EqT → stack → triggers → pick objects.

    picker = Picker(model="conservative", overlap=0.5)
    probabilities = picker.annotate(stream)            # Stream: <NET.STA.LOC>.EQT_{D,P,S}
    picks = picker.pick(stream)                        # list of seqt_plugins.picks.Pick
    picks, detections = picker.classify(stream, starttime=t0, endtime=t1)

Windows of all stations are batched together, one model call per batch. For shards, pass the
shard's data with ``options.margin`` seconds on each side and ``starttime``/``endtime``: only
picks (and detections) whose time lies in [starttime, endtime) are returned, and they equal
those of a run over any longer stream.

``pick``/``classify`` use that same property to bound memory: a stream longer than
``options.chunk_length`` is picked piece by piece (each piece sliced with ``margin`` on both
sides, only its own [start, end) kept), so a station-day costs a few hours of arrays, not 24.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from ..memory import release_freed_memory
from ..picks.model import Amplitude, Pick, WaveformID, make_pick_id
from ..options import check_declared, option_values
from ..progress import progress
from .options import PickerOptions
from .prepare import FS, WINDOW, StationData, iter_prepared, pad_from_length, prepare_stream
from .handover import FeatureHandover, model_key
from .stack import Stack, effective_blinds
from .triggers import SNR_WINDOW, find_picks
from .windows import WindowRef, batches, fill_batch, merge_spans, plan_windows, segment_windows, step_samples

log = logging.getLogger("seqt_plugins.picker")

METHOD_ID = "EQTransformer"
PUBLISHED = ("original", "conservative")


@dataclass
class StationDetection:
    """A detection (event window) on one station."""

    waveform_id: WaveformID
    start: UTCDateTime
    end: UTCDateTime
    probability: float
    p_pick_id: Optional[str] = None
    s_pick_id: Optional[str] = None


class Picker:
    """EqT picking engine for Streams of any number of stations.

    ``model``: 'original', 'conservative', 'both', a weight-file path, a loaded ``EqTModel`` or
    a sequence of loaded models (combined with ``ensemble``). Other keyword arguments are
    ``PickerOptions`` fields; ``options=`` takes a whole ``PickerOptions``.
    """

    def __init__(self, model=None, options: Optional[PickerOptions] = None, **kwargs):
        values = option_values(PickerOptions, options, kwargs, "picker")
        self._models = None
        if model is not None and not isinstance(model, str):
            self._models = list(model) if isinstance(model, (list, tuple)) else [model]
            values["model"] = "+".join(getattr(m, "name", "model") for m in self._models)
        elif model is not None:
            values["model"] = model
        self.options = PickerOptions(**values)
        self._validate()
        self._handover = None  # FeatureHandover: see hand_over()
        self._span = None  # data span of the piece being picked (set by _chunks)

    # -- configuration -------------------------------------------------------------------------
    def _validate(self) -> None:
        o = self.options
        check_declared(o)  # values and ranges as declared in PickerOptions (as the config checks)
        if 0 < o.chunk_length < WINDOW / FS:
            raise ValueError(f"chunk_length must be 0 or at least one window ({WINDOW / FS:g} s)")
        if o.precision == "int8" and o.mc_passes > 0:
            raise ValueError("mc_passes needs precision float32 (the int8 model is deterministic)")
        self.step = step_samples(o.overlap)
        asked = (int(round(max(o.start_blinding, o.blinding) * FS)), int(round(o.blinding * FS)))
        self.blind_start, self.blind = effective_blinds(asked[0], asked[1], self.step)
        self.twin = int(round(o.start_twin * FS))  # samples: the first window's twin (windows.segment_windows)
        # samples: segments this long or longer (but short of a window) are padded to one window
        self.pad_from = pad_from_length(o.min_length)
        if (self.blind_start, self.blind) != asked:
            log.warning(
                "blinding reduced from %.2f/%.2f s to %.2f/%.2f s (window start/end) so that overlap %.2f "
                "still covers every sample", asked[0] / FS, asked[1] / FS, self.blind_start / FS, self.blind / FS,
                o.overlap,
            )

    @property
    def models(self):
        if self._models is None:
            from ..eqt import load_eqt

            name = self.options.model
            names = list(PUBLISHED) if name == "both" else [name]
            # Plain compiled graphs, not XLA: on the 2-core CPUs this runs on, XLA took ~25 % more
            # CPU time per window and ~150 MB more memory (measured with benchmarks/throughput.py).
            self._models = [load_eqt(n, precision=self.options.precision, xla=False) for n in names]
        return self._models

    def warm_up(self) -> None:
        """Load the models and run one window of noise through them, so that TensorFlow builds
        their graphs now (about 2 s per model on a 2-core CPU) and not in the first pass over
        live data, which a real-time module would otherwise deliver that much later."""
        self._predict(np.random.default_rng(0).standard_normal((1, WINDOW, 3)).astype(np.float32))

    # -- core ----------------------------------------------------------------------------------
    def _predict(self, x: np.ndarray) -> np.ndarray:
        """(3, len(x), 6000) float32 D/P/S of one batch, models combined with ``ensemble``."""
        return self._predict_features(x)[0]

    def _predict_features(self, x: np.ndarray, taps: Optional[FeatureHandover] = None):
        """``_predict``'s array, each model's own outputs ({model_key: (D, P, S)}) and the taps.

        With ``taps`` (a hand-over), its model runs as the multi-output graph (the same
        probabilities bit for bit) and the maps of its tap layers come back as well; without,
        the outputs dict is empty and the maps None.
        """
        o = self.options
        acc = None
        outputs, maps = {}, None
        for m in self.models:
            if o.mc_passes > 0:
                out, _std = m.predict_mc(x, passes=o.mc_passes, batch_size=len(x))
            elif taps is not None and model_key(m) == taps.key and maps is None:
                out, maps = m.taps_batch(taps.names, x)
            else:
                out = m.predict(x, batch_size=len(x))
            if taps is not None:
                outputs[model_key(m)] = out
            if acc is None:
                acc = np.stack(out)
            elif o.ensemble == "mean":
                for k in range(3):
                    acc[k] += out[k]
            else:
                for k in range(3):
                    np.maximum(acc[k], out[k], out=acc[k])
        if len(self.models) > 1 and o.ensemble == "mean":
            acc *= np.float32(1.0 / len(self.models))
        return acc, outputs, maps

    def probabilities(self, stream: Stream, inventory=None) -> List[Tuple[StationData, List[np.ndarray]]]:
        """Prepared stations and, per segment, the stacked (3, n) float32 D/P/S probabilities.

        With ``prefetch`` (the default) a background thread prepares the stations one after the
        other and fills and normalises the batches while EqT runs on the previous batch
        (TensorFlow and numpy release the GIL), so that work overlaps the model's instead of
        adding to it; the batches are the same, so are the probabilities.
        """
        o = self.options
        # XLA graphs are compiled for one batch shape, so they get the zero-padded tail batch;
        # plain graphs take any batch size, so padding rows would be wasted model time.
        pad = any(getattr(m, "xla", True) for m in self.models)
        stations: List[StationData] = []
        handover = None
        if self._handover is None:
            source = ((x, chunk, True) for x, chunk in self._station_batches(stream, inventory, stations))
            bar = progress(total=_estimate_windows(stream, self.step), desc="EqT", unit="win")
        else:  # the hand-over orders the batches by time: all windows are needed first
            stations.extend(prepare_stream(stream, max_gap=o.max_gap, inventory=inventory, pad_from=self.pad_from))
            segments = [st.segments for st in stations]
            refs = plan_windows(segments, self.step, int(round(o.edge_padding * FS)), self.twin)
            handover = self._handover_pass(stations, refs, pad)
            groups = [((), True)] if handover is None else [(handover.groups[0], False), (handover.groups[1], True)]
            source = ((x, chunk, body) for group, body in groups
                      for x, chunk in batches(segments, group, o.batch_size, buffers=3))
            bar = progress(total=len(refs), desc="EqT", unit="win")
        stacks, deferred, windows = {}, [], 0
        feed = _Prefetch(source) if self.prefetch else None
        try:
            for x, chunk, body in (feed if feed is not None else source):
                windows += len(chunk)
                if handover is None:
                    out = self._predict(x if pad else x[: len(chunk)])
                else:
                    out, outputs, maps = self._predict_features(x if pad else x[: len(chunk)], self._handover)
                    handover.add(chunk, body, out, outputs, maps)
                    del outputs, maps
                if not body:  # stacked last, so that each station's windows are added in time order
                    deferred.append((chunk, out))
                    continue
                self._stack(stacks, stations, chunk, out)
                bar.update(len(chunk))
        finally:
            if feed is not None:
                feed.close()
        for chunk, out in deferred:
            self._stack(stacks, stations, chunk, out)
            bar.update(len(chunk))
        if handover is not None:
            handover.finish()
        bar.close()
        log.info("%d station(s), %d window(s) of %d samples", len(stations), windows, WINDOW)
        return [(st, [(stacks.get((i, j)) or self._new_stack(seg.npts)).result()
                      for j, seg in enumerate(st.segments)]) for i, st in enumerate(stations)]

    #: Prepare stations and fill batches in a background thread while EqT runs (see probabilities).
    prefetch = True

    def _stack(self, stacks, stations, chunk, out) -> None:
        for k, r in enumerate(chunk):
            stack = stacks.get((r.station, r.segment))
            if stack is None:
                npts = stations[r.station].segments[r.segment].npts
                stack = stacks[(r.station, r.segment)] = self._new_stack(npts)
            stack.add(r.start, out[0, k], out[1, k], out[2, k], r.twin)

    def _new_stack(self, npts: int) -> Stack:
        return Stack(npts, self.options.stacking, self.blind, self.blind_start, self.twin)

    def _station_batches(self, stream, inventory, stations: List[StationData]):
        """Normalised batches (x, windows) in the order of ``plan_windows`` over all stations,
        each station prepared when its windows are next; prepared stations go to ``stations``."""
        o = self.options
        pad = int(round(o.edge_padding * FS))
        ring = [np.zeros((o.batch_size, WINDOW, 3), dtype=np.float32) for _ in range(3)]
        segments: List[list] = []
        pending: List[WindowRef] = []
        n = 0
        for st in iter_prepared(stream, max_gap=o.max_gap, inventory=inventory, pad_from=self.pad_from):
            i = len(stations)
            stations.append(st)
            segments.append(st.segments)
            for j, seg in enumerate(st.segments):
                pending.extend(segment_windows(i, j, seg, self.step, pad, self.twin))
            while len(pending) >= o.batch_size:
                chunk, pending = pending[: o.batch_size], pending[o.batch_size :]
                yield fill_batch(segments, chunk, ring[n % 3]), chunk
                n += 1
        if pending:
            yield fill_batch(segments, pending, ring[n % 3]), pending

    # -- hand-over to the re-picker ------------------------------------------------------------
    def hand_over(self, sink=None, grid: float = 30.0, before: float = 90.0, after: float = 60.0,
                  coincidence: int = 1, span: float = 60.0, keep_keys: bool = False):
        """Offer the EqT features of the windows around detections to ``sink`` (None: stop).

        ``sink`` (the re-picker's ``FeatureCache``, see ``seqt_plugins.repicker.features.
        hand_over``) names the model whose decoder taps it wants; that model must be one of
        this picker's float32 models, without Monte-Carlo passes. Windows starting on multiples
        of ``grid`` s within ``before``/``after`` s of a P probability at the picker's
        thresholds on ``coincidence`` stations within ``span`` s are offered
        (``seqt_plugins.picker.handover``). The picks are unchanged. Returns the
        ``FeatureHandover`` (its ``stats`` count what was handed over).
        """
        if sink is None:
            self._handover = None
            return None
        key = model_key(sink.model)
        if self.options.mc_passes > 0 or key is None or key not in [model_key(m) for m in self.models]:
            raise ValueError(f"cannot hand features of {getattr(sink.model, 'name', sink.model)!r} over: "
                             f"not one of this picker's float32 models ({self.options.model}) without mcPasses")
        self._handover = FeatureHandover(sink, grid, before, after, coincidence, span, keep_keys=keep_keys)
        return self._handover

    def _handover_pass(self, stations, refs, pad):
        if self._handover is None or not refs:
            return None
        o = self.options
        where_p = (max(o.detection_threshold, o.p_detection_threshold), o.p_threshold)  # where a P pick can be
        return self._handover.start(stations, refs, o.batch_size, pad, where_p, self._span)

    # -- public API ----------------------------------------------------------------------------
    def annotate(self, stream: Stream, inventory=None, starttime=None, endtime=None) -> Stream:
        """Stream of stacked probability traces, channels EQT_D, EQT_P, EQT_S, 100 Hz, float32."""
        out = Stream()
        for st, probs in self.probabilities(stream, inventory):
            for seg, pr in zip(st.segments, probs):
                for k, name in enumerate(("D", "P", "S")):
                    tr = Trace(
                        data=pr[k].copy(),
                        header={
                            "network": st.network, "station": st.station, "location": st.location,
                            "channel": f"EQT_{name}", "sampling_rate": FS, "starttime": seg.start,
                        },
                    )
                    out += tr
        if starttime is not None or endtime is not None:
            out.trim(starttime, endtime)
        return out

    def pick(self, stream: Stream, inventory=None, starttime=None, endtime=None) -> List[Pick]:
        """Picks (P and S) of all stations, sorted by time and station."""
        return self.classify(stream, inventory, starttime, endtime)[0]

    def classify(self, stream: Stream, inventory=None, starttime=None, endtime=None) -> Tuple[List[Pick], List[StationDetection]]:
        """Picks and detections; with starttime/endtime only those within [starttime, endtime)."""
        picks, detections = [], []
        for piece, a, b in self._chunks(stream, starttime, endtime):
            results = self.probabilities(piece, inventory)
            p, d = self.picks_from_probabilities(results, a, b)
            del results, piece  # this piece's arrays go before the next one is prepared
            release_freed_memory()
            picks += p
            detections += d
        picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint))
        detections.sort(key=lambda d: (d.start, d.waveform_id.nslc))
        return picks, detections

    def _chunks(self, stream: Stream, starttime=None, endtime=None):
        """(stream piece, start, end) to pick; the whole stream when its data are short enough.

        The pieces are those of ``pieces`` over the traces' spans; each is sliced with
        ``margin`` seconds on both sides, and the shard property makes its picks in
        [start, end) equal those of the whole run.
        """
        spans = [(tr.stats.starttime, tr.stats.endtime) for tr in stream if tr.stats.npts]
        bounds = self.pieces(spans, starttime, endtime)
        try:
            # the span the data of each piece was cut to: the hand-over skips windows near its cuts
            if len(bounds) == 1:
                self._span = self.read_span(starttime, endtime)
                yield stream, starttime, endtime
                return
            for k, (start, end) in enumerate(bounds):
                self._span = self.read_span(start, end)
                piece = stream.slice(*self._span)
                log.debug("chunk %d/%d: %s – %s", k + 1, len(bounds), start, end)
                yield piece, start, end
        finally:
            self._span = None

    def read_span(self, start, end):
        """The data span a piece [start, end) needs: ``margin`` seconds more on both sides."""
        margin = self.options.margin
        return (UTCDateTime(start) - margin if start is not None else None,
                UTCDateTime(end) + margin if end is not None else None)

    def pieces(self, spans, starttime=None, endtime=None,
               length: Optional[float] = None) -> List[Tuple[Optional[UTCDateTime], Optional[UTCDateTime]]]:
        """Cut [starttime, endtime) into pieces of at most ``length`` (default ``chunk_length``)
        s of covered time.

        ``spans`` are (start, end) of the data (traces, or a record stream's index). Cuts fall
        every ``chunk_length`` seconds inside a long span, and otherwise at the start of the
        span that would overflow the piece (in a gap), so sparse records (event files years
        apart) stay together in few pieces and still share batches. Open ends stay open
        (None); one piece means "pick it whole".
        """
        lo = UTCDateTime(starttime).ns if starttime is not None else None
        hi = UTCDateTime(endtime).ns if endtime is not None else None
        clipped = []
        for a, b in spans:
            a, b = UTCDateTime(a).ns, UTCDateTime(b).ns
            a, b = max(a, lo) if lo is not None else a, min(b, hi) if hi is not None else b
            if a < b:
                clipped.append((a, b))
        limit = int(round((self.options.chunk_length if length is None else length) * 1e9))
        if limit <= 0 or not clipped:
            return [(starttime, endtime)]
        cuts, filled = [], 0
        for a, b in merge_spans(clipped):
            if filled > 0 and filled + (b - a) > limit:
                cuts.append(a)  # in the gap before this span
                filled = 0
            pos = a
            while filled + (b - pos) > limit:
                pos += limit - filled
                cuts.append(pos)
                filled = 0
            filled += b - pos
        bounds = [starttime] + [UTCDateTime(ns=c) for c in cuts] + [endtime]
        return list(zip(bounds[:-1], bounds[1:]))

    def picks_from_probabilities(self, results, starttime=None, endtime=None) -> Tuple[List[Pick], List[StationDetection]]:
        """Trigger on the output of ``probabilities`` (lets one annotation serve many thresholds)."""
        o = self.options
        t0 = UTCDateTime(starttime) if starttime is not None else None
        t1 = UTCDateTime(endtime) if endtime is not None else None

        def inside(t):
            return (t0 is None or t >= t0) and (t1 is None or t < t1)

        picks, detections = [], []
        for st, probs in results:
            zchan = st.channels[2] or st.channels[1] or st.channels[0]  # P on a horizontal without Z
            schan = st.channels[1] or st.channels[0] or zchan
            for seg, pr in zip(st.segments, probs):
                dets, phase_picks = find_picks(
                    pr, seg.data, o.detection_threshold, o.p_threshold, o.s_threshold,
                    int(round(o.min_separation * FS)), o.p_detection_threshold,
                    o.p_threshold * o.strong_p_factor if o.p_threshold < 1.0 else 0.0, o.strong_detection,
                )
                ids = {}
                valid = seg.real  # no pick in a short segment's padding
                for pp in phase_picks:
                    if pp.index >= valid:
                        continue
                    t = seg.time(pp.index)
                    wid = WaveformID(st.network, st.station, st.location, zchan if pp.phase == "P" else schan)
                    pid = make_pick_id(t, wid, pp.phase)
                    ids[(pp.phase, pp.index)] = pid
                    if not inside(t):
                        continue
                    picks.append(
                        Pick(
                            public_id=pid, time=t, waveform_id=wid, phase_hint=pp.phase,
                            time_uncertainty=pp.uncertainty, method_id=METHOD_ID,
                            evaluation_mode="automatic", probability=pp.probability,
                            snr=pp.snr, amplitude=pp.amplitude,
                        )
                    )
                for det in dets:
                    t = seg.time(det.on)
                    if det.on >= valid or not inside(t):
                        continue
                    detections.append(
                        StationDetection(
                            WaveformID(st.network, st.station, st.location, zchan), t, seg.time(min(det.off, valid - 1)),
                            det.probability,
                            ids.get(("P", det.p)) if det.p is not None else None,
                            ids.get(("S", det.s)) if det.s is not None else None,
                        )
                    )
        picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint))
        detections.sort(key=lambda d: (d.start, d.waveform_id.nslc))
        return picks, detections


#: The snr amplitude's time window: noise before and signal after the pick (triggers.snr_db).
SNR_SECONDS = SNR_WINDOW / FS


def amplitudes_of(picks: Sequence[Pick]) -> List[Amplitude]:
    """One ``snr`` Amplitude per pick with an SNR, as scautopick writes it: a linear ratio.

    Pick.snr is in dB (``triggers.snr_db``); SeisComP's ``snr`` amplitude (scautopick, read by
    scautoloc's ``minPickSNR``) is the plain ratio, so the value is 10^(dB/20). The picker's
    peak amplitude is not written: it has no SeisComP amplitude type.
    """
    out = []
    for p in picks:
        if p.snr is not None:
            ratio = float(10.0 ** (p.snr / 20.0))
            out.append(Amplitude(public_id=f"{p.public_id}.snr", type="snr", value=ratio, pick_id=p.public_id,
                                 snr=ratio, waveform_id=p.waveform_id, reference_time=p.time,
                                 window_begin=SNR_SECONDS, window_end=SNR_SECONDS))
    return out


def _estimate_windows(stream: Stream, step: int) -> int:
    """About how many windows a stream has (a progress bar's total before its stations are prepared)."""
    spans = {}
    for tr in stream:
        key = tr.id.rsplit(".", 1)[0]
        a, b = spans.get(key, (tr.stats.starttime, tr.stats.endtime))
        spans[key] = (min(a, tr.stats.starttime), max(b, tr.stats.endtime))
    return sum(int(max(0.0, b - a - WINDOW / FS) * FS) // step + 2 for a, b in spans.values() if b - a >= WINDOW / FS)


class _Prefetch:
    """Iterates a generator in a background thread, one item ahead of the consumer.

    The consumer's exceptions stop the thread (``close``); the producer's are raised in the
    consumer. One item waits in the queue while the consumer holds another and the producer
    fills a third: ``Picker`` rotates three batch buffers.
    """

    _DONE = object()

    def __init__(self, source):
        self._queue: "queue.Queue" = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name="seqt-picker-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source) -> None:
        try:
            for item in source:
                if not self._put((True, item)):
                    return
        except BaseException as exc:  # handed to the consumer
            self._put((False, exc))
            return
        self._put((False, self._DONE))

    def __iter__(self):
        while True:
            ok, item = self._queue.get()
            if not ok:
                if item is self._DONE:
                    return
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        self._thread.join()


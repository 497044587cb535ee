"""``Repicker``: an event's confident picks as templates → the arrivals EqT missed elsewhere.

    from seqt_plugins.repicker import Repicker
    rp = Repicker(model="conservative", z_threshold=5.0)      # RepickerOptions fields
    out = rp.repick(event_parameters, stream, inventory)       # a copy with the re-picks added
    results = rp.last_results                                   # RepickResult per new pick

Per origin (the preferred origin of each event, or every origin when there are no events):

1. the origin's associated picks (its arrivals) give, per station, the P and S picks; an origin
   without arrivals (a catalogue export) takes, where station coordinates are known, the input
   pick nearest each station-phase's predicted arrival inside its search interval (at least
   ``MIN_PREDICTED`` of them, a P among them);
2. templates of phase X: stations with P and S picks (P→S cut) whose X pick has a probability
   ≥ ``template_min_probability``, the most probable ``max_templates``; with
   ``phase_only_templates`` also stations with only X (a fixed window around the pick);
3. search stations for X: every station with waveforms and no X pick in its search interval;
   the interval is the predicted arrival window where coordinates are known (origin, station
   coordinates, the phase's moveout fitted to the origin's own picks (``fit_moveout``) or vP/vS
   with their median offset, ± tolerance + tolerance_fraction · travel time), else the template
   picks ± p_range/s_range;
4. each station gets one 60 s window around its intervals, snapped to ``window_step`` so events
   close in time share windows; their EqT features come from the ``FeatureCache`` (one batched
   EqT pass for all misses). A first pass over all origins (steps 1–4 without EqT) plans the
   windows: ``StreamWindows`` prepares only stretches of the stream around them, giving the
   samples of the whole stream's preparation there (up to a rare float32 rounding, see there),
   and the windows of several origins are encoded together (EqT is far cheaper per window in
   large batches);
5. template path (``correlation``): all templates × search windows of the phase at once
   (``scoring.score_batched``), or the Siamese head in ``mode="siamese"``; complementary path
   (``eqt_max``): EqT's own probability maximum in the interval ≥ ``eqt_threshold``, used where
   the template path found nothing; last, for P only (``onset``): the energy onset in the
   interval (``onset.onset_ratio`` ≥ ``onset_threshold``) where EqT's detection reaches
   ``detection_threshold`` around it;
6. each re-pick: method ID "S-EqT", ID ``make_pick_id(..., "SEQTR")``, its probability, the
   best template's pick as reference, evaluation mode automatic, and an arrival of the origin.

Siamese mode uses ``seqt_plugins.repicker.siamese`` (``load_siamese_head(path)`` per branch,
``tap_names(branch)``: the branch's 7 decoder and the 10 encoder taps, ``score_pairs(head,
template_feats, search_feats, tP, tS, branch)``) through ``_SiameseAdapter``: one call per template
scores it against all search windows of the phase (``batched=False``: one pair per call); the fused
traces of the templates are combined by their maximum, kept when > ``siamese_threshold``. The head
was trained on P→S template cuts only, so phase-only templates and the best-pick fallback are not
used in this mode; the template's P pick must lie at least one sample into the shortest tap (47).
The template enhancement follows the authors' training order (Lt division first, see
``correlation``); with ``divide_by_length`` false, ε = 0.01 as tutorial_02.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from obspy import UTCDateTime

from ..picker.prepare import FS, NS_PER_SAMPLE, WINDOW, StationData, pad_from_length
from ..picker.options import PickerOptions
from ..picker.windows import global_index
from ..picks.model import Arrival, Comment, EventParameters, Origin, Pick, WaveformID, make_pick_id
from .features import FeatureCache, StreamWindows, tap_names, window_key
from ..geo import coordinates_from_inventory, predicted_window, station_geometry
from ..options import option_values
from ..progress import progress
from .options import RepickerOptions
from .onset import onset_ratio
from .scoring import Template, prepare_template, probability_from_z, score_batched, score_pair

log = logging.getLogger("seqt_plugins.repicker")

METHOD_ID = "S-EqT"
ID_TAG = "SEQTR"
# Waveforms a shell reads for a group of origins: from READ_BEFORE s before the first origin
# time to READ_AFTER s after the last, groups spanning at most READ_CHUNK s (benchmarks/memory.py)
READ_BEFORE, READ_AFTER = 60.0, 120.0
READ_CHUNK = 900.0


class RepickerError(RuntimeError):
    """A configuration the re-picker cannot run with (one line)."""


@dataclass
class RepickResult:
    """Bookkeeping of one re-pick (for evaluation and logs)."""

    origin_id: str
    pick: Pick
    path: str  # "correlation", "siamese" or "eqtmax"
    score: float  # z-score, head probability or EqT probability
    n_templates: int


@dataclass
class SearchRecord:
    """What one station-phase search saw (kept when ``Repicker.keep_searches`` is set), so a
    benchmark can tell where a missed arrival was lost: interval, window, templates, scores."""

    origin_id: str
    network: str
    station: str
    phase: str
    interval: Tuple[UTCDateTime, UTCDateTime]
    window_start: UTCDateTime
    searched: Tuple[int, int]  # [i0, i1) samples of the window actually searched
    templates: List[str]  # "NET.STA:full" or "NET.STA:phase-only"
    template_trace: Optional[np.ndarray]  # (6000,) combined template score, None without templates
    eqt_trace: np.ndarray  # (6000,) EqT probability of the phase
    result: Optional[str] = None  # path of the re-pick made, if any
    eqt_searched: Tuple[int, int] = (0, 0)  # [e0, i1) samples the EqT path searched (no start zone; none when off)
    onset_trace: Optional[np.ndarray] = None  # (6000,) onset energy ratio of the phase (onset.onset_ratio)
    onset_searched: Tuple[int, int] = (0, 0)  # [a0, i1) samples the onset path searched


@dataclass
class _Station:
    data: StationData
    key: str  # NET.STA.LOC
    coords: Optional[Tuple[float, float, float]]
    picks: Dict[str, Pick] = field(default_factory=dict)  # phase → best associated pick
    intervals: Dict[str, Tuple[UTCDateTime, UTCDateTime]] = field(default_factory=dict)
    predicted: Dict[str, UTCDateTime] = field(default_factory=dict)
    geometry: object = None
    segment: int = -1
    start: int = 0  # window start in the segment

    def window_time(self, index: float) -> UTCDateTime:
        return self.data.segments[self.segment].time(self.start + index)

    def frac(self, t: UTCDateTime) -> float:
        seg = self.data.segments[self.segment]
        return ((t - seg.start) * FS - self.start) / WINDOW

    @property
    def real(self) -> int:
        """Samples of the window that hold data: fewer than WINDOW in a padded short segment."""
        return max(0, min(WINDOW, self.data.segments[self.segment].real - self.start))

    @property
    def valid(self) -> Optional[int]:
        """``real`` where the window is padded, else None (the scoring's argument)."""
        return None if self.real >= WINDOW else self.real


def phase_of(name: Optional[str]) -> Optional[str]:
    """P, S or None from a phase name (Pg, Pn, P → P; Sg, Sn, S → S)."""
    if not name:
        return None
    c = name.strip()[:1].upper()
    return c if c in ("P", "S") else None


@dataclass
class _Plan:
    """One origin's stations (with their search intervals), searched stations and templates per phase."""

    stations: Dict[str, _Station]
    search: Dict[str, List[_Station]]
    templates: Dict[str, List[Tuple[_Station, bool]]]
    skipped: Dict[str, Dict[str, int]]  # station-phases not searched, per phase and reason (NOT_SEARCHED)

    def needed(self) -> Dict[str, _Station]:
        """Stations that need a window: searched ones and template ones."""
        out: Dict[str, _Station] = {}
        for ph in "PS":
            for st in self.search[ph]:
                out.setdefault(st.key, st)
            for st, _ in self.templates[ph]:
                out.setdefault(st.key, st)
        return out


class Repicker:
    """Re-picking engine (see module doc). ``model``: weight name/path or a loaded ``EqTModel``."""

    # Prepare only stretches around the events' windows (False: the whole stream, as before).
    local_preparation = True

    def __init__(self, model=None, options: Optional[RepickerOptions] = None, **kwargs):
        values = option_values(RepickerOptions, options, kwargs, "re-picker")
        self._model = None
        if model is not None and not isinstance(model, str):
            self._model = model
        elif model is not None:
            values["model"] = model
        self.options = RepickerOptions(**values)
        self.options.validate()
        self._cache: Optional[FeatureCache] = None
        self._source: Optional[StreamWindows] = None
        self._head = None
        self.last_results: List[RepickResult] = []
        self.timings: Dict[str, float] = {}
        self.stretches_prepared = 0  # stretches of the stream prepared by the last repick
        self.keep_searches = False  # keep a SearchRecord per station-phase search (diagnostics)
        self.search_counts: Dict[str, int] = defaultdict(int)  # of the last repick(): searched, and why not
        self.last_searches: List[SearchRecord] = []

    @property
    def pad_from(self) -> int:
        """Samples from which a segment short of a window is padded to one (``min_length``)."""
        return pad_from_length(self.options.min_length)

    # -- lazily loaded parts ---------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            from ..eqt import load_eqt

            self._model = load_eqt(self.options.model)
        return self._model

    @property
    def head(self):
        """The Siamese heads {"P": head, "S": head} in mode 'siamese' (else None)."""
        if self._head is None and self.options.mode == "siamese":
            try:
                from . import siamese
            except ImportError as exc:
                raise RepickerError(
                    f"mode 'siamese' needs seqt_plugins.repicker.siamese, which is not available ({exc}); "
                    f"use mode 'correlation'") from None
            o = self.options
            if not o.siamese_p or not o.siamese_s:
                raise RepickerError("mode 'siamese' needs the head's weight files (repicker.siameseP, repicker.siameseS)")
            self._head = _SiameseAdapter(siamese, siamese.load_siamese_head(o.siamese_p),
                                         siamese.load_siamese_head(o.siamese_s), o.divide_by_length)
        return self._head

    @property
    def probability_models(self):
        """The models whose mean probability the EqT-maximum path reads (``eqt_model``); the
        tapped model itself where it is one of them (its outputs come with the taps)."""
        from ..eqt import load_eqt

        name = self.options.eqt_model
        wanted = ["original", "conservative"] if name == "both" else [name]
        own = getattr(self.model, "name", self.options.model)
        return [self.model if n in (own, self.options.model) else load_eqt(n) for n in wanted]

    def names(self, phase: str) -> List[str]:
        if self.options.mode == "siamese":
            return list(self.head.tap_names(phase))
        return tap_names(self.model, phase)

    @property
    def cache(self) -> FeatureCache:
        if self._cache is None:
            names = list(dict.fromkeys(self.names("P") + self.names("S")))
            self._cache = FeatureCache(self.model, names, self.options.cache_size, self.options.batch_size,
                                       self.probability_models)
        return self._cache

    # -- public API ------------------------------------------------------------------------
    def repick(self, event_parameters: EventParameters, stream, inventory=None, coordinates=None,
               batched: bool = True) -> EventParameters:
        """A copy of ``event_parameters`` with the re-picks added as picks and as arrivals.

        ``stream``: ObsPy Stream with the array's waveforms (any rate; prepared as seqtpick does);
        ``inventory`` (ObsPy Inventory) or ``coordinates`` ({"NET.STA": (lat, lon, elev_m)})
        enable the geometric search windows; ``batched=False`` scores one pair at a time.
        """
        _ = self.head  # fail early in siamese mode
        out = copy.deepcopy(event_parameters)
        coords = dict(coordinates or {})
        if inventory is not None:
            coords.update(coordinates_from_inventory(inventory))
        source = StreamWindows(stream, max_gap=self.options.max_gap, inventory=inventory,
                               local=self.local_preparation, pad_from=self.pad_from)
        self._source = source
        stations = source.stations
        self.timings = {"prepare": source.seconds, "events": 0.0, "eqt": 0.0}
        self.last_results = []
        self.last_searches = []
        self.search_counts = defaultdict(int)
        origins = self.origins_to_process(out)
        if not origins:
            log.warning("no origin in the event parameters: nothing to re-pick")
            return out
        picks_by_id = {p.public_id: p for p in out.picks}
        known_ids = set(picks_by_id)
        planned = self._plan_windows(origins, picks_by_id, stations, coords, out.picks)
        for i, origin in enumerate(progress(origins, desc="re-pick", unit="ev")):
            t1 = time.perf_counter()
            if batched:
                self._prefetch(planned, i)
            results = self.repick_origin(origin, picks_by_id, stations, coords, out.picks, batched=batched)
            self.timings["events"] += time.perf_counter() - t1
            for r in results:
                if r.pick.public_id in known_ids:
                    continue
                known_ids.add(r.pick.public_id)
                out.picks.append(r.pick)
                picks_by_id[r.pick.public_id] = r.pick
            self.last_results.extend(results)
            if self._cache is not None and i < len(origins) - 1:  # the last origin's stay (the next call may reuse them)
                for key in self._expiring.pop(i, ()):
                    self._cache.discard(key)
        self.timings["prepare"] = source.seconds
        self.stretches_prepared = source.stretches_prepared
        self._source = None  # the prepared stretches are not kept
        c = self.search_counts
        skipped = {ph: {r: c[f"{ph} {r}"] for r in NOT_SEARCHED} for ph in "PS"}
        log.info("%d re-pick(s) for %d origin(s); searched %d P and %d S station-phases%s%s", len(self.last_results),
                 len(origins), c["searched P"], c["searched S"],
                 f" ({c['origins not searched']} origin(s) not searched at all)" if c["origins not searched"] else "",
                 _not_searched(skipped))
        return out

    def _plan_windows(self, origins, picks_by_id, stations, coords, all_picks) -> List[List[tuple]]:
        """Steps 1–4 for every origin without EqT: per origin, the windows it will newly ask for
        (window key, station key, segment, start). They are reserved in the stream source, whose
        stretches around them are then prepared once, and encoded ahead in large batches.

        The real pass places the same windows unless an earlier origin's re-pick took a station
        out of a search (its window may then move) or a window left the cache; such a window is
        prepared and encoded when asked for (its samples are the same either way).
        """
        planned = set()

        def has(key):
            return key in planned or (self._cache is not None and self._cache.has(key))

        out = []
        last_use: Dict[tuple, int] = {}
        for i, origin in enumerate(origins):
            windows = []
            plan = self._plan(origin, picks_by_id, stations, coords, all_picks, quiet=True)
            for st in (plan.needed().values() if plan is not None else ()):
                if not self._place_window(st, plan.search, has):
                    continue
                key = window_key(st.key, st.data.segments[st.segment], st.start)
                if not has(key):
                    self._source.reserve(st.key, st.segment, st.start)
                    windows.append((key, st.key, st.segment, st.start))
                planned.add(key)
                last_use[key] = i
            out.append(windows)
        # after origin i, the windows no later origin uses leave the cache: memory stays that
        # of the windows still ahead (a day of origins no longer fills the whole LRU)
        self._expiring = defaultdict(list)
        for key, i in last_use.items():
            self._expiring[i].append(key)
        return out

    def _prefetch(self, planned: List[List[tuple]], i: int) -> None:
        """Encode origin i's planned windows together with those of the next origins.

        EqT's cost per window falls steeply with the batch (on the 2-core CPU: 13 windows a call
        cost twice as much each as 104), and one origin needs only ten-odd new windows; up to
        half the cache (at most 8 batches) is encoded at once, so nothing is evicted before use.
        """
        cache, o = self.cache, self.options
        if cache.size <= 0 or not any(not cache.has(w[0]) for w in planned[i]):
            return
        limit = max(o.batch_size, min(cache.size // 2, 8 * o.batch_size))
        reqs, seen = [], set()
        for windows in planned[i:]:
            new = [w for w in windows if w[0] not in seen and not cache.has(w[0])]
            if reqs and len(reqs) + len(new) > limit:
                break
            reqs.extend(new)
            seen.update(w[0] for w in new)
        source = self._source
        t0, prep0 = time.perf_counter(), source.seconds
        cache.get_many([(key, (lambda k=k, g=g, a=a: source.window(k, g, a))) for key, k, g, a in reqs])
        self.timings["eqt"] += time.perf_counter() - t0 - (source.seconds - prep0)

    @staticmethod
    def origins_to_process(ep: EventParameters) -> List[Origin]:
        """Preferred origin of each event (else its first), plus origins of no event."""
        by_id = {o.public_id: o for o in ep.origins}
        chosen, claimed = [], set()
        for ev in ep.events:
            ids = [i for i in ev.origin_ids if i in by_id]
            claimed.update(ids)
            oid = ev.preferred_origin_id if ev.preferred_origin_id in by_id else (ids[0] if ids else None)
            if oid is None:
                log.warning("event %s: no origin in the input: skipped", ev.public_id)
                continue
            if by_id[oid] not in chosen:
                chosen.append(by_id[oid])
        if not ep.events:
            return list(ep.origins)
        return chosen

    def repick_origin(self, origin: Origin, picks_by_id: Dict[str, Pick], prepared: Sequence[StationData],
                      coords: Dict[str, Tuple[float, float, float]], all_picks: Sequence[Pick],
                      batched: bool = True) -> List[RepickResult]:
        """Re-picks of one origin; the origin's arrivals are extended in place."""
        plan = self._plan(origin, picks_by_id, prepared, coords, all_picks)
        if plan is None:
            self.search_counts["origins not searched"] += 1
            return []
        stations, search, templates = plan.stations, plan.search, plan.templates
        usable = {}
        for key, st in plan.needed().items():
            if self._place_window(st, search):
                usable[key] = st
        feats = self._features(list(usable.values()), batched)
        results: List[RepickResult] = []
        searched = {}
        for ph in "PS":
            srch = [st for st in search[ph] if st.key in usable]
            plan.skipped[ph]["no data window"] += len(search[ph]) - len(srch)
            searched[ph] = len(srch)
            self.search_counts[f"searched {ph}"] += len(srch)
            for reason, n in plan.skipped[ph].items():
                self.search_counts[f"{ph} {reason}"] += n
            if not srch:
                continue
            tmpl = []
            for st, full in templates[ph]:
                if st.key not in usable:
                    continue
                t = self._template(st, ph, full, feats[st.key].taps)
                if t is not None:
                    tmpl.append(t)
            results.extend(self._search_phase(origin, ph, tmpl, srch, feats, batched))
        for r in results:
            st = stations[_nsl_key(r.pick.waveform_id, stations)]
            g = st.geometry
            origin.arrivals.append(Arrival(
                pick_id=r.pick.public_id, phase=r.pick.phase_hint,
                distance=g.distance_deg if g is not None else None,
                azimuth=g.azimuth if g is not None else None,
                time_residual=(r.pick.time - st.predicted[r.pick.phase_hint]) if r.pick.phase_hint in st.predicted else None,
                time_weight=0.0,
            ))
        log.info("origin %s: %d template(s) P, %d S; searched %d P, %d S%s; %d re-pick(s)", origin.public_id,
                 len(templates["P"]), len(templates["S"]), searched["P"], searched["S"], _not_searched(plan.skipped),
                 len(results))
        return results

    def _plan(self, origin: Origin, picks_by_id: Dict[str, Pick], prepared: Sequence[StationData],
              coords: Dict[str, Tuple[float, float, float]], all_picks: Sequence[Pick],
              quiet: bool = False) -> Optional[_Plan]:
        """Steps 1–3 of one origin (None: nothing to search); ``quiet``: no log (the reserving pass)."""
        o = self.options
        warn = (lambda *a: None) if quiet else log.warning
        info = (lambda *a: None) if quiet else log.info
        assoc: List[Tuple[str, Pick]] = []
        for a in origin.arrivals:
            p = picks_by_id.get(a.pick_id)
            ph = phase_of(a.phase) or phase_of(p.phase_hint if p else None)
            if p is not None and ph is not None:
                assoc.append((ph, p))
        if not assoc and not origin.arrivals and coords:
            assoc = self._picks_by_prediction(origin, all_picks, coords)
            if assoc:
                info("origin %s has no arrivals: %d pick(s) inside their predicted intervals taken as its "
                     "picks", origin.public_id, len(assoc))
        if not assoc:
            warn("origin %s has no associated P or S picks in the input: nothing to re-pick", origin.public_id)
            return None
        # stations with waveforms
        by_nsl = {(s.network, s.station, s.location): s for s in prepared}
        by_ns = defaultdict(list)
        for s in prepared:
            by_ns[(s.network, s.station)].append(s)
        stations: Dict[str, _Station] = {}

        def station_of(wid: WaveformID) -> Optional[_Station]:
            sd = by_nsl.get((wid.network, wid.station, wid.location or ""))
            if sd is None and len(by_ns.get((wid.network, wid.station), [])) >= 1:
                sd = by_ns[(wid.network, wid.station)][0]
            if sd is None:
                return None
            if sd.key not in stations:
                stations[sd.key] = _Station(sd, sd.key, coords.get(f"{sd.network}.{sd.station}"))
            return stations[sd.key]

        missing = set()
        for ph, p in assoc:
            st = station_of(p.waveform_id)
            if st is None:
                missing.add(f"{p.waveform_id.network}.{p.waveform_id.station}")
                continue
            cur = st.picks.get(ph)
            if cur is None or _prob(p) > _prob(cur):
                st.picks[ph] = p
        if missing:
            warn("origin %s: no waveforms for picked station(s) %s", origin.public_id, ",".join(sorted(missing)))
        if not stations:
            warn("origin %s: none of its picked stations has waveforms: nothing to re-pick", origin.public_id)
            return None
        for sd in prepared:
            station_of(WaveformID(sd.network, sd.station, sd.location))

        # search intervals
        ref_times = {ph: [st.picks[ph].time for st in stations.values() if ph in st.picks] for ph in "PS"}
        ranges = {"P": o.p_range, "S": o.s_range}
        velocity = {"P": o.vp, "S": o.vs}
        all_by_station = defaultdict(list)
        for p in all_picks:
            all_by_station[(p.waveform_id.network, p.waveform_id.station)].append(p)
        search: Dict[str, List[_Station]] = {"P": [], "S": []}
        associated = {(st.data.network, st.data.station, ph) for st in stations.values() for ph in st.picks}
        skipped = {"P": defaultdict(int), "S": defaultdict(int)}
        for st in stations.values():
            if st.coords is not None:
                st.geometry = station_geometry(origin, st.coords)
        # How well the straight-ray prediction explains the origin's own picks: per phase, a line
        # fitted to their travel times against distance (fit_moveout; else their median offset
        # from vP/vS) places the search windows (velocity or origin-time bias), and an
        # origin whose picks scatter more than max_residual_spread (median absolute deviation)
        # predicts nothing reliable, so it is not searched (a ghost or mislocated event would
        # only add wrong picks).
        moveout = {ph: (0.0, 1.0 / velocity[ph]) for ph in "PS"}  # (intercept s, slowness s/km)
        spreads = []
        for ph in "PS":
            obs = [(st.geometry.hypocentral_km, st.picks[ph].time - origin.time)
                   for st in stations.values() if ph in st.picks and st.geometry is not None]
            if len(obs) >= 2:
                d, t = np.array(obs).T
                moveout[ph] = fit_moveout(d, t, velocity[ph], fit=o.fit_moveout)
                a, b = moveout[ph]
                spreads.extend(np.abs(t - a - b * d))
        if len(spreads) >= 3 and float(np.median(spreads)) > o.max_residual_spread:
            warn("origin %s: its picks scatter by %.2f s (median) around the predicted arrivals, more than "
                 "repicker.maxResidualSpread: not searched", origin.public_id, float(np.median(spreads)))
            return None
        for st in stations.values():
            if st.geometry is not None and st.geometry.epicentral_km > o.max_distance:
                for ph in "PS":
                    if ph not in st.picks:
                        skipped[ph]["beyond maxDistance"] += 1
                continue
            for ph in "PS":
                if st.geometry is not None:
                    a, b = moveout[ph]
                    tt = b * st.geometry.hypocentral_km
                    mid = UTCDateTime(origin.time) + a + tt
                    half = o.tolerance + o.tolerance_fraction * tt
                    lo, hi = mid - half, mid + half
                    st.predicted[ph] = mid
                    exist = (lo - EXIST_MARGIN, hi + EXIST_MARGIN)
                elif ref_times[ph]:
                    lo, hi = min(ref_times[ph]) - ranges[ph], max(ref_times[ph]) + ranges[ph]
                    exist = (min(ref_times[ph]) - o.exist_range, max(ref_times[ph]) + o.exist_range)
                else:
                    if ph not in st.picks:
                        skipped[ph]["no coordinates"] += 1
                    continue
                st.intervals[ph] = (lo, hi)
                if ph in st.picks:
                    continue
                if (st.data.network, st.data.station, ph) in associated:
                    # another sensor of the station (a seismometer beside an accelerometer)
                    # holds this origin's pick of the phase
                    skipped[ph]["already picked"] += 1
                    continue
                if any(phase_of(p.phase_hint) == ph and exist[0] <= p.time <= exist[1]
                       for p in all_by_station[(st.data.network, st.data.station)]):
                    skipped[ph]["already picked"] += 1
                    continue
                search[ph].append(st)

        # templates
        templates: Dict[str, List[Tuple[_Station, bool]]] = {}
        for ph in "PS":
            full, single = [], []
            for st in stations.values():
                p = st.picks.get(ph)
                if p is None or _prob(p) < o.template_min_probability:
                    continue
                if "P" in st.picks and "S" in st.picks and st.picks["S"].time > st.picks["P"].time:
                    full.append(st)
                elif o.phase_only_templates:
                    single.append(st)
            full.sort(key=lambda s: (-_prob(s.picks[ph]), s.key))
            single.sort(key=lambda s: (-_prob(s.picks[ph]), s.key))
            chosen = [(s, True) for s in full[: o.max_templates]]
            if o.phase_only_templates and o.mode == "correlation":  # the head knows P→S cuts only
                chosen += [(s, False) for s in single[: max(0, o.max_templates - len(chosen))]]
            if not chosen and full + single == [] and o.mode == "correlation":
                # no pick reaches the threshold: the most probable one, so an event with only
                # weak picks is still searched
                cands = [s for s in stations.values() if ph in s.picks and ("P" in s.picks and "S" in s.picks or o.phase_only_templates)]
                if cands:
                    best = max(cands, key=lambda s: _prob(s.picks[ph]))
                    chosen = [(best, "P" in best.picks and "S" in best.picks and best.picks["S"].time > best.picks["P"].time)]
            templates[ph] = chosen
        if not search["P"] and not search["S"]:
            info("origin %s: every station with waveforms has its P and S: nothing to search", origin.public_id)
            return None
        return _Plan(stations, search, templates, skipped)

    # -- steps -----------------------------------------------------------------------------
    def _picks_by_prediction(self, origin: Origin, all_picks: Sequence[Pick],
                             coords: Dict[str, Tuple[float, float, float]]) -> List[Tuple[str, Pick]]:
        """An origin without arrivals (a catalogue export, a locator that writes none): per
        station and phase, the pick nearest its straight-ray prediction inside the search
        interval (tolerance + toleranceFraction), when at least MIN_PREDICTED of them fit."""
        o = self.options
        velocity = {"P": o.vp, "S": o.vs}
        nearest: Dict[Tuple[str, str, str], Tuple[float, Pick]] = {}
        windows: Dict[Tuple[str, str, str], Optional[tuple]] = {}  # one prediction per station-phase
        for p in all_picks:
            ph = phase_of(p.phase_hint)
            if ph is None:
                continue
            key = (p.waveform_id.network, p.waveform_id.station, ph)
            if key not in windows:
                c = coords.get(f"{key[0]}.{key[1]}")
                windows[key] = None if c is None else predicted_window(
                    origin, station_geometry(origin, c), velocity[ph], o.tolerance, o.tolerance_fraction)
            if windows[key] is None:
                continue
            lo, mid, hi = windows[key]
            if lo <= p.time <= hi:
                off = abs(p.time - mid)
                if key not in nearest or off < nearest[key][0]:
                    nearest[key] = (off, p)
        if len(nearest) < MIN_PREDICTED or not any(k[2] == "P" for k in nearest):
            return []
        return [(k[2], p) for k, (_, p) in sorted(nearest.items())]

    def _place_window(self, st: _Station, search, has=None) -> bool:
        """Choose the station's window: around its intervals and picks, snapped to window_step.

        ``has(key)``: whether a window is encoded already (default: the feature cache).
        """
        if has is None and self._cache is not None:
            has = self._cache.has
        times = [t for p in st.picks.values() for t in (p.time,)]
        for ph in "PS":
            if st in search[ph] and ph in st.intervals:
                times.extend(st.intervals[ph])
        if not times:
            return False
        a, b = min(times), max(times)
        centre = a + (b - a) / 2.0
        step_ns = int(round(self.options.window_step * 1e9))
        start_ns = int(round(((centre - WINDOW / FS / 2).ns) / step_ns)) * step_ns
        start_ns = (start_ns // (NS_PER_SAMPLE)) * NS_PER_SAMPLE
        # a window already encoded (another event's) that covers the span with the edge margin
        # on both sides is reused: same grid, no new EqT pass
        margin_ns = int(round((self.options.edge + 1.0) * 1e9))
        lo_ns, hi_ns = a.ns - margin_ns, b.ns + margin_ns
        grid = [g * step_ns for g in range(-(-(hi_ns - WINDOW * NS_PER_SAMPLE) // step_ns), lo_ns // step_ns + 1)]
        grid.sort(key=lambda g: abs(g - start_ns))
        for i, seg in enumerate(st.data.segments):
            if seg.npts < WINDOW or not (seg.start <= centre <= seg.end):
                continue
            g0 = global_index(seg.start)
            k = min(max(int(start_ns // NS_PER_SAMPLE - g0), 0), seg.npts - WINDOW)
            if has is not None:
                for g in [start_ns] + grid:  # the usual window first when it is there
                    kg = int(g // NS_PER_SAMPLE - g0)
                    if 0 <= kg <= seg.npts - WINDOW and has(window_key(st.key, seg, kg)):
                        k = kg
                        break
            st.segment, st.start = i, k
            return True
        log.debug("%s: no data segment around %s", st.key, centre)
        return False

    def _features(self, sts: List[_Station], batched: bool):
        """EqT features of the stations' windows; samples are prepared for cache misses only."""
        source = self._source
        reqs = []
        for st in sts:
            seg = st.data.segments[st.segment]
            # samples at hand, or prepared on a cache miss only
            data = self._window_samples(st) if seg.data is not None else (lambda st=st: self._window_samples(st))
            reqs.append((window_key(st.key, seg, st.start), data))
        t0 = time.perf_counter()
        prep0 = source.seconds if source is not None else 0.0
        if batched:
            out = self.cache.get_many(reqs)
        else:
            out = [self.cache.get_many([r])[0] for r in reqs]
        prep = (source.seconds if source is not None else 0.0) - prep0  # stretches prepared on the way
        self.timings["eqt"] = self.timings.get("eqt", 0.0) + time.perf_counter() - t0 - prep
        return {st.key: f for st, f in zip(sts, out)}

    def _window_samples(self, st: _Station) -> np.ndarray:
        """The prepared samples (6000, 3) of a station's search window."""
        seg = st.data.segments[st.segment]
        if seg.data is not None:
            return seg.data[st.start : st.start + WINDOW]
        return self._source.window(st.key, st.segment, st.start)

    def _template(self, st: _Station, ph: str, full: bool, maps) -> Optional[Template]:
        o = self.options
        p = st.picks[ph]
        pf = st.frac(p.time)
        if full:
            s0, s1 = st.frac(st.picks["P"].time), st.frac(st.picks["S"].time)
        else:
            s0, s1 = pf - o.phase_only_before * FS / WINDOW, pf + o.phase_only_after * FS / WINDOW
        shortest = min(m.shape[0] for m in maps.values())  # 94 (decoder taps), 47 with encoder taps
        if not (0 < s0 and s1 < st.real / WINDOW) or s0 * shortest < 1:
            log.debug("%s: %s template outside its window: not used", st.key, ph)
            return None
        return Template(st.key, ph, p.public_id, _prob(p), s0, s1, pf, maps, full)

    def _search_phase(self, origin, ph, tmpl: List[Template], srch: List[_Station], feats, batched) -> List[RepickResult]:
        o = self.options
        names = self.names(ph)
        tpl_trace = None
        if tmpl and o.correlation:
            searches = [feats[st.key].taps for st in srch]
            valid = [st.valid for st in srch]
            if o.mode == "siamese":
                tpl_trace = np.asarray(self.head.predict(ph, tmpl, searches, batched, valid=valid)).max(axis=0)
            else:
                prepared = [prepare_template(t, names, divide=o.divide_by_length) for t in tmpl]
                if batched:
                    traces = score_batched(prepared, searches, names, valid=valid)
                else:
                    traces = np.stack([np.stack([score_pair(t, s, names, valid=v) for s, v in zip(searches, valid)])
                                       for t in prepared])
                tpl_trace = traces.mean(axis=0)
        edge = int(round(o.edge * FS))
        tol = {"P": int(round(PROMINENCE_EXCLUSION["P"] * FS)), "S": int(round(PROMINENCE_EXCLUSION["S"] * FS))}
        ref = max(tmpl, key=lambda t: t.probability).pick_id if tmpl else None
        results = []
        for k, st in enumerate(srch):
            lo, hi = st.intervals[ph]
            # START_ZONE: the EqT path never reads a window's first seconds; the template path
            # does not search them for P in a window that starts its data (a short event file)
            i0 = max(edge, int(math.ceil((lo - st.window_time(0)) * FS)))
            e0 = max(i0, START_ZONE)
            a0 = i0  # the onset path reads the whole interval: it has no start-zone artefacts
            if st.start == 0 and ph == "P":
                i0 = e0
            # a padded short segment's real end is a window edge too
            i1 = min(st.real - edge, int(math.floor((hi - st.window_time(0)) * FS)) + 1)
            found = None
            if i1 > i0 and tpl_trace is not None:
                tr = tpl_trace[k]
                j = i0 + int(np.argmax(tr[i0:i1]))
                v = float(tr[j])
                if o.mode == "siamese" and v > o.siamese_threshold:
                    found = (j, v, v, "siamese")
                elif o.mode == "correlation" and (v >= o.z_threshold or (
                        0 < o.z_prominent <= v and v - _best_elsewhere(tr, i0, i1, j, tol[ph]) >= o.prominence)):
                    found = (j, probability_from_z(v, o.z_threshold), v, "correlation")
            if i1 > e0 and found is None and o.eqt_max:
                pr = feats[st.key].probabilities[1 if ph == "P" else 2]
                j = e0 + int(np.argmax(pr[e0:i1]))
                v = float(pr[j])
                # a maximum on the interval's edge that still rises outside it is the flank of a
                # peak outside the interval (another arrival), not an arrival inside it
                flank = (j == e0 and j > 0 and pr[j - 1] > v) or (j == i1 - 1 and j + 1 < WINDOW and pr[j + 1] > v)
                if v >= o.eqt_threshold and not flank:
                    found = (j, v, v, "eqtmax")
            ratio = None
            onset = o.onset and ph == "P"
            if i1 > a0 and (self.keep_searches or (found is None and onset)):
                ratio = onset_ratio(self._window_samples(st), ph)
            if i1 > a0 and found is None and onset:
                j = a0 + int(np.argmax(ratio[a0:i1]))
                v = float(ratio[j])
                # as for the EqT path: a maximum that the ratio just outside the interval
                # exceeds is the flank of an onset outside it (another arrival, or this one
                # picked already beside a late prediction), not an onset inside it
                near = ratio[max(0, j - ONSET_LOCAL) : j + ONSET_LOCAL + 1]
                # EqT must see an earthquake at the station there (its detection), though it
                # gave no P: an energy jump alone is as often another event's arrival or a glitch.
                # (Tried as a second bar of the template path too, z >= 4 where detected: on the
                # labelled arrays 16 right / 3 wrong re-picks against 15 / 2, so not used there.)
                detection = feats[st.key].probabilities[0][max(0, j - DETECTION_AROUND[0]) : j + DETECTION_AROUND[1]]
                if v >= o.onset_threshold and v >= float(near.max()) and float(detection.max()) >= o.detection_threshold:
                    found = (j, probability_from_z(v - 1.0, o.onset_threshold - 1.0), v, "onset")
            if self.keep_searches:
                self.last_searches.append(SearchRecord(
                    origin.public_id, st.data.network, st.data.station, ph, (lo, hi), st.window_time(0), (i0, i1),
                    [f"{t.station}:{'full' if t.full else 'phase-only'}" for t in tmpl],
                    None if tpl_trace is None else np.array(tpl_trace[k]),
                    np.array(feats[st.key].probabilities[1 if ph == "P" else 2]),
                    None if found is None else found[3], (e0, max(e0, i1)) if o.eqt_max else (0, 0), ratio,
                    (a0, max(a0, i1))))
            if found is None:
                continue
            j, prob, score, path = found
            sd = st.data
            chan = (sd.channels[2] or sd.channels[1] or sd.channels[0]) if ph == "P" else (
                sd.channels[1] or sd.channels[0] or sd.channels[2])
            wid = WaveformID(sd.network, sd.station, sd.location, chan)
            t = st.window_time(j)
            pick = Pick(
                public_id=make_pick_id(t, wid, ph, ID_TAG), time=t, waveform_id=wid, phase_hint=ph,
                method_id=METHOD_ID, evaluation_mode="automatic", probability=round(prob, 4),
                reference_pick_id=ref, comments=[Comment(f"{path} {score:.3f}", "repickScore")],
            )
            results.append(RepickResult(origin.public_id, pick, path, score, len(tmpl)))
        return results


class _SiameseAdapter:
    """The engine's view of the Siamese heads: tap names and (nT, nS, 6000) fused traces."""

    def __init__(self, module, head_p, head_s, divide: bool):
        self.module, self.heads, self.divide = module, {"P": head_p, "S": head_s}, divide

    def tap_names(self, phase: str) -> List[str]:
        return list(self.module.tap_names(phase))

    def predict(self, phase: str, templates: Sequence[Template], searches: Sequence[Dict[str, np.ndarray]],
                batched: bool = True, valid: Optional[Sequence[Optional[int]]] = None) -> np.ndarray:
        """Fused traces (nT, nS, 6000) of full (P→S) templates × search windows' tap maps.

        ``batched``: one head call per template over all searches, else one call per pair;
        ``valid``: per search, the real samples of a padded window (None: a full one).
        """
        valid = [None] * len(searches) if valid is None else list(valid)
        names = self.tap_names(phase)
        eps = 1e-3 if self.divide else 1e-2  # the authors' training (with /Lt) / their tutorial_02 (without)
        out = np.zeros((len(templates), len(searches), WINDOW), dtype=np.float32)
        for j, t in enumerate(templates):
            if not t.full:
                raise ValueError(f"{t.station}: the Siamese head needs a P→S template")
            tf = {n: t.maps[n][None] for n in names}
            tP, tS = t.start_frac * WINDOW, t.end_frac * WINDOW  # the template's P and S pick samples
            groups = [list(range(len(searches)))] if batched else [[k] for k in range(len(searches))]
            for ks in groups:
                sf = {n: np.stack([searches[k][n] for k in ks]) for n in names}
                out[j, ks] = self.module.score_pairs(self.heads[phase], tf, sf, tP, tS, phase, eps=eps,
                                                     divide=self.divide, valid=[valid[k] for k in ks])
        return out


# A window's first samples, as the picker's default start blinding (PickerOptions.start_blinding:
# the original model's spurious P peaks at whole seconds 4-11 s into a window), which the EqT
# path never reads. The template path skips them for P only, and only in a window that starts
# its data segment: on the labelled arrays cut to 90-s event files with the first P 5 s after
# the file start (every window then starts at the data start), its P re-picks of the picker's
# misses were 0 right and 4 wrong, and leave-one-out P 39 right and 6 wrong as recorded (S: 32
# and 0, so S is searched there); skipping the zone in every window lost 5 of 39 leave-one-out
# P on the whole records for 1 wrong fewer (benchmarks/accuracy.py --sets arrays,arrays90
# --leave-one-out).
START_ZONE = int(round(PickerOptions().start_blinding * FS))
# The onset path's maximum must be the ratio's maximum within this many samples on either side,
# inside the interval or not (0.5 s, the P tolerance).
ONSET_LOCAL = 50
# Samples before and after an onset where EqT's detection is read (0.5 s, 2 s): a P arrival
# starts the detection.
DETECTION_AROUND = (50, 200)
# A station holding a pick of the phase this close outside its predicted window (s) has that
# arrival already: on the labelled ISNet record cut to 90 s, an origin 2 s late put the window
# 0.1 s after the picker's P at VDS3 and COL3, and the onset path re-picked the same arrivals.
EXIST_MARGIN = 1.0

# An origin without arrivals takes the input picks nearest its predictions as its own: at least
# this many station-phases (a P among them), as a locator needs to fix an origin at all.
MIN_PREDICTED = 4

# Why a station-phase without a pick of the origin was not searched, in log order: a pick of the
# phase the origin does not use already lies in its predicted interval, it is farther than
# maxDistance, it has no coordinates and the origin no pick of the phase to search around, or no
# window of its data holds the interval.
NOT_SEARCHED = ("already picked", "beyond maxDistance", "no coordinates", "no data window")


# Moveout fit (repicker.fitMoveout): at least this many picks of the phase, spread over at least
# MOVEOUT_SPAN km of hypocentral distance, and an apparent velocity within a factor
# MOVEOUT_FACTOR of vP/vS; otherwise the constant velocity with the picks' median offset.
MOVEOUT_MIN = 4
MOVEOUT_SPAN = 5.0  # km
MOVEOUT_FACTOR = 1.6


def fit_moveout(distance_km: np.ndarray, travel_s: np.ndarray, velocity: float,
                fit: bool = True) -> Tuple[float, float]:
    """(intercept, slowness) of travel time ≈ intercept + slowness · hypocentral distance from an
    origin's own picks of one phase: a Theil–Sen line (the median of the pairwise slopes, robust
    to a wrong pick), so the search windows of the other stations follow the array's real
    velocity (a slow shallow crust puts far stations' arrivals later than vP/vS predict, beyond
    what a constant offset corrects). Few picks, too little distance spread or an implausible
    slope, or ``fit`` false: the constant velocity with the median offset."""
    d, t = np.asarray(distance_km, float), np.asarray(travel_s, float)
    fallback = (float(np.median(t - d / velocity)), 1.0 / velocity)
    if not fit or len(d) < MOVEOUT_MIN or np.ptp(d) < MOVEOUT_SPAN:
        return fallback
    i, j = np.triu_indices(len(d), k=1)
    dd = d[j] - d[i]
    ok = np.abs(dd) >= 1.0
    if ok.sum() < MOVEOUT_MIN:
        return fallback
    slope = float(np.median((t[j] - t[i])[ok] / dd[ok]))
    if not 1.0 / (velocity * MOVEOUT_FACTOR) <= slope <= MOVEOUT_FACTOR / velocity:
        return fallback
    return float(np.median(t - slope * d)), slope


def _not_searched(skipped: Dict[str, Dict[str, int]]) -> str:
    """'; not searched: P 3 already picked, ...' (empty when every candidate was searched)."""
    parts = [f"{ph} {skipped[ph][r]} {r}" for ph in "PS" for r in NOT_SEARCHED if skipped[ph].get(r)]
    return "; not searched: " + ", ".join(parts) if parts else ""


# Half-width around a candidate peak that is not "elsewhere" when its prominence is measured: the
# spread of one arrival's score peak (the pick tolerances of benchmarks/accuracy.py).
PROMINENCE_EXCLUSION = {"P": 0.5, "S": 1.0}  # s


def _best_elsewhere(trace: np.ndarray, i0: int, i1: int, j: int, half: int) -> float:
    """The highest score in [i0, i1) farther than ``half`` samples from j (0 when none is)."""
    parts = [trace[i0:max(i0, j - half)], trace[min(i1, j + half + 1):i1]]
    vals = [float(p.max()) for p in parts if len(p)]
    return max(vals) if vals else 0.0


def _prob(p: Pick) -> float:
    return 1.0 if p.probability is None else float(p.probability)


def _nsl_key(wid: WaveformID, stations: Dict[str, _Station]) -> str:
    key = f"{wid.network}.{wid.station}.{wid.location}"
    if key in stations:
        return key
    for k, st in stations.items():
        if st.data.network == wid.network and st.data.station == wid.station:
            return k
    raise KeyError(key)


def origin_groups(origins, pre: Optional[float] = None, post: Optional[float] = None, chunk: Optional[float] = None):
    """Origins sorted by time, in consecutive groups whose span [first − pre, last + post]
    stays within ``chunk`` seconds (an origin alone may exceed it): a shell reads one group's
    waveforms at a time, so a day of origins never loads a day of every channel. Defaults:
    READ_BEFORE, READ_AFTER, READ_CHUNK."""
    pre = READ_BEFORE if pre is None else pre
    post = READ_AFTER if post is None else post
    chunk = READ_CHUNK if chunk is None else chunk
    group = []
    for o in sorted(origins, key=lambda o: (o.time, o.public_id)):
        if group and (o.time + post) - (group[0].time - pre) > chunk:
            yield group
            group = []
        group.append(o)
    if group:
        yield group


def repick_in_groups(repicker, event_parameters: EventParameters, origins, read, inventory=None, coordinates=None,
                     on_group=None):
    """Re-pick ``origins`` of ``event_parameters`` one group at a time (``origin_groups``).

    ``read(group, t0, t1)`` gives the group's waveforms (an ObsPy Stream; empty: the group is
    left as it is). Each call gets the group's origins and only the picks it can use (those of
    their arrivals and every pick within the group's waveform span), not the whole input: the
    engine copies its input, and a day of an array's picks copied per group cost memory and
    time. Later groups see earlier groups' re-picks. ``on_group(group, stream, part, results)``
    is called after each group. Returns (the input with the re-picks added as picks and
    arrivals, every ``RepickResult``, whether any group had waveforms); the re-picks are those
    of one call on all origins with each group's waveforms.
    """
    import dataclasses

    from ..memory import release_freed_memory

    picks = list(event_parameters.picks)
    done: Dict[str, Origin] = {}
    results: List[RepickResult] = []
    any_data = False
    for group in origin_groups(origins):
        t0, t1 = min(o.time for o in group) - READ_BEFORE, max(o.time for o in group) + READ_AFTER
        stream = read(group, t0, t1)
        if not len(stream):
            continue
        any_data = True
        wanted = {a.pick_id for o in group for a in o.arrivals}
        subset = [p for p in picks if p.public_id in wanted or t0 <= p.time <= t1]
        known = {p.public_id for p in subset}
        part = repicker.repick(dataclasses.replace(event_parameters, picks=subset, origins=list(group), events=[],
                                                   amplitudes=[]),
                               stream, inventory=inventory, coordinates=coordinates)
        picks += [p for p in part.picks if p.public_id not in known]
        ids = {o.public_id for o in group}
        done.update({o.public_id: o for o in part.origins if o.public_id in ids})
        group_results = list(repicker.last_results)
        results += group_results
        if on_group is not None:
            on_group(group, stream, part, group_results)
        del stream, part
        release_freed_memory()  # this group's arrays go back to the system before the next read
    out = dataclasses.replace(event_parameters, picks=picks,
                              origins=[done.get(o.public_id, o) for o in event_parameters.origins])
    return out, results, any_data

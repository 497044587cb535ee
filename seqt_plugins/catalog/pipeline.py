"""The standalone catalog: pick with EqT → associate → re-pick every event → associate again.

    from seqt_plugins.catalog import build_catalog, write_csv_summary
    ep = build_catalog(stream, inventory, "velocity_model.txt")
    write_csv_summary(ep, "catalog.csv")

Inside SeisComP the host associates and locates; this pipeline is for running without it.

1. :class:`~seqt_plugins.picker.Picker` picks P and S on every station, handing the EqT
   features of the windows around its detections to the re-picker (``hand_over``), so that
   step 3 encodes no window the picker encoded;
2. :class:`~.associate.Associator` (PyOcto) groups them into events → first-pass origins
   (tag ``SEQTA1``), each with its arrivals;
3. :class:`~seqt_plugins.repicker.Repicker` re-picks around each first-pass origin: new picks
   (method ``S-EqT``), each an arrival of that origin;
4. the associator runs again on all picks (EqT + re-picks) → second-pass origins (``SEQTA2``).

The result: all picks, both passes' origins, and one event per first-pass origin whose preferred
origin is the second-pass origin sharing the most picks with it (the first-pass one when none
does). A second-pass origin sharing no pick with a first-pass one becomes an event of its own.
IDs derive from content (see :mod:`.associate`), so reruns give the same file.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from ..picks.model import Event, EventParameters, Origin, Pick
from .associate import Associator, Coordinates, event_id_for, phase_of
from .options import AssociatorOptions
from .velocity import LayeredModel, read_layered_model

log = logging.getLogger("seqt_plugins.catalog")

REPICK_METHOD = "S-EqT"
FIRST_TAG, SECOND_TAG = "SEQTA1", "SEQTA2"


@dataclass
class CatalogStages:
    """What each stage produced (for plots, logs and tests)."""

    picks: List[Pick] = field(default_factory=list)  # EqT
    first: Optional[EventParameters] = None  # first association
    repicked: Optional[EventParameters] = None  # first association + re-picks
    repick_results: list = field(default_factory=list)  # Repicker.last_results
    second: Optional[EventParameters] = None  # second association
    catalog: Optional[EventParameters] = None
    seconds: Dict[str, float] = field(default_factory=dict)  # wall time of "pick" and "repick"


def station_coordinates(inventory=None, coordinates: Optional[Coordinates] = None) -> Coordinates:
    from ..geo import coordinates_from_inventory

    out = dict(coordinates or {})
    if inventory is not None:
        out.update(coordinates_from_inventory(inventory))
    return out


class CatalogPipeline:
    """The pipeline with its three engines; ``run`` keeps each stage in ``self.stages``.

    ``picker``/``repicker``: ready engines (e.g. sharing one loaded model), else built from
    ``picker_options``/``repicker_options`` (and ``model``: a loaded EqT model or weight name
    used by both). ``velocity_model``: a layered model file or :class:`LayeredModel` (None:
    ``associator_options.velocity_model``, else constant vP/vS). ``handover``: the picker
    hands its EqT features to the re-picker where their models allow it (the re-picks are
    those without it; ``False`` makes the re-picker encode its windows itself).
    """

    def __init__(self, velocity_model: Union[str, os.PathLike, LayeredModel, None] = None,
                 picker_options=None, repicker_options=None,
                 associator_options: Optional[AssociatorOptions] = None, *, picker=None, repicker=None,
                 model=None, repick: bool = True, handover: bool = True):
        from ..picker import Picker
        from ..repicker import Repicker

        layered = velocity_model if isinstance(velocity_model, LayeredModel) else (
            read_layered_model(velocity_model) if velocity_model else None)
        self.associator = Associator(associator_options, layered_model=layered)
        self.picker = picker if picker is not None else Picker(model=model, options=picker_options)
        self.repicker = repicker if repicker is not None else (
            Repicker(model=model if model is not None and not isinstance(model, str) else None, options=repicker_options)
            if repick else None)
        self.stages = CatalogStages()
        self.handover = handover
        self.last_handover = None  # the picker's FeatureHandover of the last run (its stats)

    def run(self, stream, inventory=None, coordinates: Optional[Coordinates] = None,
            starttime=None, endtime=None) -> EventParameters:
        coords = station_coordinates(inventory, coordinates)
        st = self.stages = CatalogStages()
        self.last_handover = None
        if self.repicker is not None and self.handover:
            from ..repicker.features import hand_over

            # an event has the associator's minimum of P picks: windows are kept around such coincidences
            self.last_handover = hand_over(self.picker, self.repicker, coincidence=self.associator.options.n_p_picks,
                                           coordinates=coords)
        t0 = time.perf_counter()
        try:
            st.picks = self.picker.pick(stream, inventory=inventory, starttime=starttime, endtime=endtime)
        finally:
            if self.last_handover is not None:
                self.picker.hand_over(None)
        st.seconds["pick"] = time.perf_counter() - t0
        log.info("EqT: %d pick(s)", len(st.picks))
        return self._associate_repick_associate(coords, lambda: self._repick_whole(stream, inventory, coords))

    def run_in_pieces(self, read, pieces, inventory=None, coordinates: Optional[Coordinates] = None) -> EventParameters:
        """``run`` for spans too long to hold in memory: the same catalog, read piece by piece.

        ``read(t0, t1)``: every channel's records in [t0, t1] (an ObsPy Stream); ``pieces``:
        the [start, end) spans to pick, e.g. ``picker.pieces(data_spans, begin, end)``. Each
        piece is read with the picker's margin on both sides (its picks equal those of one
        whole run), the picks of all pieces are associated together, and the re-picker reads
        the waveforms of one group of origins at a time (``origin_groups``), as seqtrepick
        does. No features are handed over between the stages here (the picks and re-picks are
        the same; the re-picker encodes its windows itself).
        """
        from ..memory import release_freed_memory

        coords = station_coordinates(inventory, coordinates)
        st = self.stages = CatalogStages()
        self.last_handover = None
        t0 = time.perf_counter()
        for a, b in pieces:
            lo, hi = self.picker.read_span(a, b)
            stream = read(lo, hi)
            if len(stream):
                st.picks += self.picker.pick(stream, inventory=inventory, starttime=a, endtime=b)
            del stream
            release_freed_memory()
        st.picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint or ""))
        st.seconds["pick"] = time.perf_counter() - t0
        log.info("EqT: %d pick(s) in %d piece(s)", len(st.picks), len(pieces))
        return self._associate_repick_associate(coords, lambda: self._repick_groups(read, inventory, coords))

    def _associate_repick_associate(self, coords, repick) -> EventParameters:
        """Steps 2–4 of the module doc on ``self.stages.picks``; ``repick()`` re-picks the first pass."""
        st = self.stages
        st.first = self.associator.associate(st.picks, coords, tag=FIRST_TAG)
        log.info("first association: %d event(s)", len(st.first.events))
        if self.repicker is None or not st.first.origins:
            if self.repicker is not None:
                self.repicker.cache.drop_handover()
            st.repicked, st.repick_results, st.second = st.first, [], None
            st.catalog = merge_passes(st.first, None)
            return st.catalog
        t0 = time.perf_counter()
        st.repicked, st.repick_results = repick()
        st.seconds["repick"] = time.perf_counter() - t0
        log.info("re-picking: %d new pick(s)", len(st.repick_results))
        st.second = self.associator.associate(st.repicked.picks, coords, tag=SECOND_TAG, keep_picks=False)
        log.info("second association: %d event(s)", len(st.second.events))
        st.catalog = merge_passes(st.repicked, st.second)
        return st.catalog

    def _repick_whole(self, stream, inventory, coords):
        cache = self.repicker.cache
        used0, encoded0 = cache.handover_used, cache.encoded
        try:
            repicked = self.repicker.repick(self.stages.first, stream, inventory=inventory, coordinates=coords)
        finally:
            unused = cache.drop_handover()
        if self.last_handover is not None:
            log.info("EqT features of %d window(s) handed from the picker to the re-picker: %d used, %d not; "
                     "%d window(s) encoded by the re-picker", self.last_handover.stats.accepted,
                     cache.handover_used - used0, unused, cache.encoded - encoded0)
        return repicked, list(self.repicker.last_results)

    def _repick_groups(self, read, inventory, coords):
        """The first pass re-picked one group of origins at a time (their waveforms read each)."""
        from ..repicker.engine import repick_in_groups

        first = self.stages.first
        out, results, _ = repick_in_groups(self.repicker, first, self.repicker.origins_to_process(first),
                                           lambda group, t0, t1: read(t0, t1), inventory=inventory,
                                           coordinates=coords)
        return out, results


def build_catalog(stream, inventory, velocity_model=None, picker_options=None, repicker_options=None,
                  associator_options: Optional[AssociatorOptions] = None, *, picker=None, repicker=None,
                  model=None, coordinates: Optional[Coordinates] = None, starttime=None, endtime=None,
                  repick: bool = True, handover: bool = True) -> EventParameters:
    """Pick → associate → re-pick → associate again (see the module doc); the catalog."""
    pipeline = CatalogPipeline(velocity_model, picker_options, repicker_options, associator_options,
                               picker=picker, repicker=repicker, model=model, repick=repick, handover=handover)
    return pipeline.run(stream, inventory, coordinates, starttime, endtime)


def _pick_set(origin: Origin) -> set:
    return {a.pick_id for a in origin.arrivals}


def merge_passes(first: EventParameters, second: Optional[EventParameters]) -> EventParameters:
    """One event per first-pass origin, preferring the second-pass origin that shares the most
    picks with it; second-pass origins sharing none become events of their own."""
    firsts = sorted(first.origins, key=lambda o: (o.time.timestamp, o.public_id))
    seconds = sorted(second.origins, key=lambda o: (o.time.timestamp, o.public_id)) if second else []
    overlaps: List[Tuple[int, str, str]] = []
    for o2 in seconds:
        s2 = _pick_set(o2)
        for o1 in firsts:
            n = len(s2 & _pick_set(o1))
            if n:
                overlaps.append((n, o1.public_id, o2.public_id))
    overlaps.sort(key=lambda x: (-x[0], x[1], x[2]))
    match: Dict[str, str] = {}
    taken = set()
    for n, id1, id2 in overlaps:
        if id1 in match or id2 in taken:
            continue
        match[id1] = id2
        taken.add(id2)
    by_id = {o.public_id: o for o in firsts + seconds}
    events = []
    for o1 in firsts:
        ids = [o1.public_id] + ([match[o1.public_id]] if o1.public_id in match else [])
        events.append(Event(public_id=event_id_for(o1.public_id), preferred_origin_id=ids[-1], origin_ids=ids,
                            type="earthquake"))
    for o2 in seconds:
        if o2.public_id not in taken:
            events.append(Event(public_id=event_id_for(o2.public_id), preferred_origin_id=o2.public_id,
                                origin_ids=[o2.public_id], type="earthquake"))
    events.sort(key=lambda e: (by_id[e.preferred_origin_id].time.timestamp, e.public_id))
    picks = sorted(first.picks, key=lambda p: (p.time.timestamp, p.waveform_id.nslc, p.phase_hint or "", p.public_id))
    origins = sorted(firsts + seconds, key=lambda o: (o.time.timestamp, o.public_id))
    return EventParameters(picks=picks, amplitudes=list(first.amplitudes), origins=origins, events=events,
                           public_id=first.public_id)


# -- summaries --------------------------------------------------------------------------------

CSV_COLUMNS = ("event_id", "origin_id", "time", "latitude", "longitude", "depth_km", "n_p", "n_s",
               "n_repicks", "n_repicks_located")


@dataclass
class EventSummary:
    event_id: str
    origin: Origin
    n_p: int
    n_s: int
    n_repicks: int  # re-picks that are arrivals of any origin of the event
    n_repicks_located: int  # ... of its preferred origin

    def row(self) -> Dict[str, object]:
        o = self.origin
        return {"event_id": self.event_id, "origin_id": o.public_id, "time": o.time.isoformat() + "Z",
                "latitude": f"{o.latitude:.5f}", "longitude": f"{o.longitude:.5f}",
                "depth_km": "" if o.depth is None else f"{o.depth / 1000.0:.2f}",
                "n_p": self.n_p, "n_s": self.n_s, "n_repicks": self.n_repicks,
                "n_repicks_located": self.n_repicks_located}


def summarize(ep: EventParameters) -> List[EventSummary]:
    """One summary per event (by preferred origin time)."""
    origins = {o.public_id: o for o in ep.origins}
    repicks = {p.public_id for p in ep.picks if p.method_id == REPICK_METHOD}
    out = []
    for ev in ep.events:
        o = origins.get(ev.preferred_origin_id)
        if o is None:
            continue
        phases = [phase_of(a.phase) for a in o.arrivals]
        all_ids = {a.pick_id for oid in ev.origin_ids if oid in origins for a in origins[oid].arrivals}
        out.append(EventSummary(ev.public_id, o, phases.count("P"), phases.count("S"), len(all_ids & repicks),
                                len(_pick_set(o) & repicks)))
    out.sort(key=lambda s: (s.origin.time.timestamp, s.event_id))
    return out


def csv_summary(ep: EventParameters) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for s in summarize(ep):
        writer.writerow(s.row())
    return buf.getvalue()


def write_csv_summary(ep: EventParameters, path) -> None:
    """The CSV summary (one row per event, columns :data:`CSV_COLUMNS`), written atomically."""
    from ..io.atomic import atomic_write

    with atomic_write(path, "w") as handle:
        handle.write(csv_summary(ep))

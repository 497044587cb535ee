"""Association: picks + station coordinates + a velocity model → events, origins, arrivals.

    from seqt_plugins.catalog import Associator, AssociatorOptions
    assoc = Associator(AssociatorOptions(velocity_model="velocity_model.txt"))
    ep = assoc.associate(picks, coordinates)   # EventParameters: the picks, one origin per event

PyOcto (Münchmeyer 2024) does the work: a space-partitioning search for the origins that explain
the most picks within the velocity model's tolerance, then a location of each. The search area is
the stations' bounding box plus ``margin`` (a transverse Mercator projection centred on it, from
``OctoAssociator.from_area``); the velocity model is the 1-D layered file (travel-time table
cached, see :mod:`.velocity`) or constant vP/vS.

Picks are matched to stations by NET.STA (the location code is ignored, as a sensor's picks
are the station's). IDs are derived from content, never from counters or the clock:
``Origin/20181230.030040.12-SEQTA-64.0412N21.3011W-5.2`` (origin time to 0.01 s, epicentre to
1e-4°, depth to 0.1 km, the ``tag``) and ``Event/<the same>``; arrivals
``<origin id>/<pick id>``. Rerunning gives identical output.
"""

from __future__ import annotations

import logging
import math
from typing import Dict, List, Optional, Sequence, Tuple

from obspy import UTCDateTime

from ..picks.model import Arrival, Comment, Event, EventParameters, Origin, Pick
from ..options import option_values
from .options import AssociatorOptions
from .velocity import LayeredModel, pyocto_velocity_model, read_layered_model

log = logging.getLogger("seqt_plugins.catalog")

Coordinates = Dict[str, Tuple[float, float, float]]  # NET.STA → (lat, lon, elevation m)
METHOD_ID = "PyOcto"
KM_PER_DEG = 111.19492664455873


class AssociationError(RuntimeError):
    """Association cannot run (one line): no coordinates, PyOcto missing, ..."""


def _stamp(t: UTCDateTime) -> str:
    t = UTCDateTime(t)
    centis = int(round(t.microsecond / 1e4))
    if centis == 100:
        t = UTCDateTime(t.timestamp - t.microsecond / 1e6 + 1)
        centis = 0
    return t.strftime("%Y%m%d.%H%M%S") + f".{centis:02d}"


def make_origin_id(time: UTCDateTime, latitude: float, longitude: float, depth_m: Optional[float],
                   tag: str = "SEQTA") -> str:
    """Deterministic origin ID from the origin's content (time 0.01 s, 1e-4°, 0.1 km)."""
    ns = "N" if latitude >= 0 else "S"
    ew = "E" if longitude >= 0 else "W"
    depth = "" if depth_m is None else f"-{depth_m / 1000.0:.1f}"
    return f"Origin/{_stamp(time)}-{tag}-{abs(latitude):.4f}{ns}{abs(longitude):.4f}{ew}{depth}"


def event_id_for(origin_id: str) -> str:
    return "Event/" + origin_id.split("/", 1)[-1]


def phase_of(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    c = name.strip()[:1].upper()
    return c if c in ("P", "S") else None


def distance_azimuth(lat0: float, lon0: float, lat1: float, lon1: float) -> Tuple[float, float]:
    """Epicentral distance (degrees) and azimuth (degrees from north) from point 0 to point 1."""
    from obspy.geodetics import gps2dist_azimuth

    dist_m, az, _ = gps2dist_azimuth(lat0, lon0, lat1, lon1)
    return dist_m / 1000.0 / KM_PER_DEG, az


class Associator:
    """PyOcto association with :class:`AssociatorOptions` (or keyword overrides of them).

    ``layered_model``: a :class:`LayeredModel` to use instead of reading ``options.velocity_model``.
    """

    def __init__(self, options: Optional[AssociatorOptions] = None, layered_model: Optional[LayeredModel] = None,
                 **kwargs):
        self.options = AssociatorOptions(**option_values(AssociatorOptions, options, kwargs, "associator"))
        self.options.validate()
        if layered_model is None and self.options.velocity_model:
            layered_model = read_layered_model(self.options.velocity_model)
        self.model = layered_model
        self._warned_unplaced: set = set()  # stations named as missing from the inventory

    # -- search area -------------------------------------------------------------------------
    def area(self, coordinates: Coordinates) -> Tuple[Tuple[float, float], Tuple[float, float]]:
        lats = [c[0] for c in coordinates.values()]
        lons = [c[1] for c in coordinates.values()]
        m = self.options.margin / KM_PER_DEG
        lat0 = 0.5 * (min(lats) + max(lats))
        mlon = m / max(0.05, math.cos(math.radians(lat0)))
        return (min(lats) - m, max(lats) + m), (min(lons) - mlon, max(lons) + mlon)

    def _octo(self, coordinates: Coordinates):
        try:
            import pyocto
        except ImportError as exc:  # pragma: no cover - setup.py requires it
            raise AssociationError(f"association needs the pyocto package ({exc})") from None
        o = self.options
        lat, lon = self.area(coordinates)
        # horizontal extent of the area (its diagonal) bounds every source-station distance
        height = (lat[1] - lat[0]) * KM_PER_DEG
        width = (lon[1] - lon[0]) * KM_PER_DEG * math.cos(math.radians(0.5 * (lat[0] + lat[1])))
        diagonal = math.hypot(width, height)
        elevations = [c[2] for c in coordinates.values()]
        zdist = o.max_depth + max(0.0, max(elevations) / 1000.0) + 1.0
        model = pyocto_velocity_model(self.model, o.tolerance, xdist=diagonal + 5.0, zdist=zdist,
                                      delta=o.grid_spacing, vp=o.vp, vs=o.vs, cache_dir=o.cache_dir or None)
        slowest = min(o.vs, self.model.surface_vs) if self.model is not None else o.vs
        time_before = o.time_before or math.hypot(diagonal, o.max_depth) / slowest
        kwargs = dict(
            min_node_size=o.min_node_size, min_node_size_location=o.min_node_size_location,
            pick_match_tolerance=o.pick_match_tolerance, min_interevent_time=o.min_interevent_time,
            n_picks=o.n_picks, n_p_picks=o.n_p_picks, n_s_picks=o.n_s_picks,
            n_p_and_s_picks=o.n_p_and_s_picks, min_pick_fraction=o.min_pick_fraction,
            n_threads=o.threads or None)
        return pyocto.OctoAssociator.from_area(lat=lat, lon=lon, zlim=(o.min_depth, o.max_depth),
                                               velocity_model=model, time_before=time_before, **kwargs)

    # -- association -------------------------------------------------------------------------
    def associate(self, picks: Sequence[Pick], coordinates: Coordinates, tag: str = "SEQTA",
                  keep_picks: bool = True) -> EventParameters:
        """Event parameters: the picks (all of them with ``keep_picks``), one origin per located
        event with its arrivals (phase, distance, azimuth, residual), and one event per origin."""
        import pandas as pd

        coordinates = dict(coordinates)
        usable = [(i, p) for i, p in enumerate(picks)
                  if phase_of(p.phase_hint) and f"{p.waveform_id.network}.{p.waveform_id.station}" in coordinates]
        dropped = len(picks) - len(usable)
        if dropped:
            # a station missing from the inventory is an operator's mistake worth a warning that
            # names it (its picks would silently never make an event); once per station and process
            unplaced = sorted({f"{p.waveform_id.network}.{p.waveform_id.station}" for p in picks}
                              - set(coordinates) - self._warned_unplaced)
            if unplaced:
                self._warned_unplaced.update(unplaced)
                log.warning("%s: no coordinates in the inventory; %s picks are not associated",
                            ", ".join(unplaced), "its" if len(unplaced) == 1 else "their")
            log.info("%d pick(s) without a P/S phase or station coordinates are not associated", dropped)
        ep = EventParameters(picks=list(picks) if keep_picks else [])
        if not coordinates:
            raise AssociationError("no station coordinates: give an inventory")
        if not usable:
            return ep
        octo = self._octo(coordinates)
        used_stations = sorted({f"{p.waveform_id.network}.{p.waveform_id.station}" for _, p in usable})
        stations = pd.DataFrame([{"id": s, "latitude": coordinates[s][0], "longitude": coordinates[s][1],
                                  "elevation": coordinates[s][2]} for s in used_stations])
        stations = octo.transform_stations(stations)
        # sorted input, so the result does not depend on the order the picks came in
        usable.sort(key=lambda ip: (ip[1].time.timestamp, ip[1].waveform_id.nslc, ip[1].phase_hint or ""))
        frame = pd.DataFrame({
            "station": [f"{p.waveform_id.network}.{p.waveform_id.station}" for _, p in usable],
            "phase": [phase_of(p.phase_hint) for _, p in usable],
            "time": [p.time.timestamp for _, p in usable],
        })
        events, assignments = octo.associate(frame, stations)
        if len(events) == 0:
            log.info("association: %d pick(s), no event", len(usable))
            return ep
        events = octo.transform_events(events)
        by_event: Dict[int, List[Tuple[int, float]]] = {}
        for row in assignments.itertuples(index=False):
            by_event.setdefault(int(row.event_idx), []).append((int(row.pick_idx), float(row.residual)))
        origins = []
        for row in events.itertuples(index=False):
            t = UTCDateTime(float(row.time))
            lat, lon, depth_km = float(row.latitude), float(row.longitude), float(row.z)
            depth_m = round(depth_km * 1000.0, 1)
            oid = make_origin_id(t, lat, lon, depth_m, tag)
            origin = Origin(public_id=oid, time=t, latitude=round(lat, 6), longitude=round(lon, 6), depth=depth_m,
                            method_id=METHOD_ID, evaluation_mode="automatic",
                            comments=[Comment(f"velocity model: {self.model.name if self.model else 'constant'}",
                                              id="velocityModel")])
            arrivals = []
            for pick_idx, residual in sorted(by_event.get(int(row.idx), []),
                                             key=lambda pr: (usable[pr[0]][1].time.timestamp, pr[0])):
                p = usable[pick_idx][1]
                c = coordinates[f"{p.waveform_id.network}.{p.waveform_id.station}"]
                dist, az = distance_azimuth(lat, lon, c[0], c[1])
                arrivals.append(Arrival(pick_id=p.public_id, phase=phase_of(p.phase_hint),
                                        public_id=f"{oid}/{p.public_id}", distance=round(dist, 6),
                                        azimuth=round(az, 3), time_residual=round(residual, 4), time_weight=1.0))
            origin.arrivals = arrivals
            origins.append(origin)
        origins.sort(key=lambda o: (o.time.timestamp, o.public_id))
        ep.origins = origins
        ep.events = [Event(public_id=event_id_for(o.public_id), preferred_origin_id=o.public_id,
                           origin_ids=[o.public_id], type="earthquake") for o in origins]
        log.info("association: %d pick(s) → %d event(s), %d associated", len(usable), len(origins),
                 sum(len(o.arrivals) for o in origins))
        return ep

"""Origins from picks alone, without an associator: a robust grid-search locator.

For short event records (one earthquake per file, perhaps a smaller one beside it) and arrays
whose depth range or size an associator's search area does not fit (a 138 km deep Antilles
event, a Chilean array), an origin is searched directly:

1. hypocentres on a grid over the stations' bounding box (plus ``margin`` km) and ``depths``,
   straight rays at constant ``vp``/``vs`` in a local flat-earth frame;
2. for each hypocentre the origin time is the median of (pick time − travel time), and the
   misfit the sum of the residuals clipped at ``clip`` s (so picks of another event, or wrong
   picks, cost a constant instead of pulling the solution);
3. the best node is refined on finer grids around it; picks within ``keep`` s of the final
   prediction become the origin's arrivals; with fewer than ``min_p`` P and ``min_picks`` picks
   there is no origin;
4. ``locate_events`` repeats this on the picks left over, so a record with a second event gets
   a second origin. Where the first try finds nothing, the picks may mix several events (one
   record held four within 80 s): each P pick in turn then anchors a time window as long as
   an S wave needs to cross the area searched, and the window whose picks locate with the
   most arrivals gives the first origin.

Constant velocities make the depth and the origin time trade off; the point is an origin good
enough to predict where the other stations' arrivals lie (what the re-picker needs), not a
catalogue location.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..picks.model import Arrival, Origin, Pick

Coordinates = Dict[str, Tuple[float, float, float]]
KM_PER_DEG = 111.19492664455873
VP, VS = 6.0, 3.45  # km/s
MARGIN = 50.0  # km searched beyond the stations' bounding box
KEEP = 2.0  # s: picks this close to the prediction are arrivals


def _phase(p: Pick) -> Optional[str]:
    c = (p.phase_hint or "").strip()[:1].upper()
    return c if c in ("P", "S") else None


def _one_per_station_phase(picks: Sequence[Pick]) -> List[Pick]:
    """The most probable pick per station and phase (a locator wants one of each)."""
    best: Dict[Tuple[str, str, str], Pick] = {}
    for p in picks:
        ph = _phase(p)
        if ph is None:
            continue
        key = (p.waveform_id.network, p.waveform_id.station, ph)
        cur = best.get(key)
        if cur is None or (p.probability or 1.0) > (cur.probability or 1.0):
            best[key] = p
    return list(best.values())


def locate(picks: Sequence[Pick], coordinates: Coordinates, vp: float = VP, vs: float = VS,
           depths: Tuple[float, float] = (0.0, 200.0), margin: float = MARGIN, clip: float = 2.0,
           keep: float = KEEP, min_picks: int = 4, min_p: int = 3,
           origin_id: Optional[str] = None) -> Optional[Origin]:
    """One origin from ``picks`` (see the module doc), or None when too few picks fit."""
    rows = []
    for p in _one_per_station_phase(picks):
        c = coordinates.get(f"{p.waveform_id.network}.{p.waveform_id.station}")
        if c is not None:
            rows.append((p, c))
    if sum(1 for p, _ in rows if _phase(p) == "P") < min_p or len(rows) < min_picks:
        return None
    lat0 = float(np.mean([c[0] for _, c in rows]))
    lon0 = float(np.mean([c[1] for _, c in rows]))
    coslat = math.cos(math.radians(lat0))
    sx = np.array([(c[1] - lon0) * KM_PER_DEG * coslat for _, c in rows])
    sy = np.array([(c[0] - lat0) * KM_PER_DEG for _, c in rows])
    sz = np.array([-c[2] / 1000.0 for _, c in rows])
    slow = np.array([1.0 / (vp if _phase(p) == "P" else vs) for p, _ in rows])
    t_ref = min(p.time for p, _ in rows)
    tobs = np.array([p.time - t_ref for p, _ in rows])

    def evaluate(x, y, z):
        d = np.sqrt((x[:, None] - sx) ** 2 + (y[:, None] - sy) ** 2 + (z[:, None] - sz) ** 2)
        t0 = np.median(tobs - d * slow, axis=1)
        res = tobs - t0[:, None] - d * slow
        cost = np.minimum(np.abs(res), clip).sum(axis=1)
        return cost, t0

    half = max(np.ptp(sx), np.ptp(sy)) / 2.0 + margin
    cx, cy = (sx.max() + sx.min()) / 2.0, (sy.max() + sy.min()) / 2.0
    cz, hz = (depths[0] + depths[1]) / 2.0, (depths[1] - depths[0]) / 2.0
    best = None
    for _ in range(6):  # coarse to fine: 21 x 21 x 11 nodes, each pass around the best one
        gx = np.linspace(cx - half, cx + half, 21)
        gy = np.linspace(cy - half, cy + half, 21)
        gz = np.clip(np.linspace(cz - hz, cz + hz, 11), depths[0], depths[1])
        X, Y, Z = np.meshgrid(gx, gy, gz, indexing="ij")
        cost, t0 = evaluate(X.ravel(), Y.ravel(), Z.ravel())
        k = int(np.argmin(cost))
        best = (X.ravel()[k], Y.ravel()[k], Z.ravel()[k], t0[k])
        cx, cy, cz = best[0], best[1], best[2]
        half, hz = half / 4.0, max(hz / 4.0, 0.25)
    x, y, z, t0 = best
    d = np.sqrt((x - sx) ** 2 + (y - sy) ** 2 + (z - sz) ** 2)
    res = tobs - t0 - d * slow
    kept = [i for i in range(len(rows)) if abs(res[i]) <= keep]
    if sum(1 for i in kept if _phase(rows[i][0]) == "P") < min_p or len(kept) < min_picks:
        return None
    lat = lat0 + y / KM_PER_DEG
    lon = lon0 + x / (KM_PER_DEG * coslat)
    time = t_ref + float(t0)
    origin = Origin(public_id=origin_id or f"Origin/{time.strftime('%Y%m%d.%H%M%S.%f')[:-4]}.SEQTL",
                    time=time, latitude=float(lat), longitude=float(lon), depth=float(z) * 1000.0,
                    method_id="seqt-gridsearch", evaluation_mode="automatic")
    for i in kept:
        p, c = rows[i]
        epi = math.hypot(x - sx[i], y - sy[i])
        az = (math.degrees(math.atan2(sx[i] - x, sy[i] - y)) + 360.0) % 360.0
        origin.arrivals.append(Arrival(pick_id=p.public_id, phase=_phase(p), distance=epi / KM_PER_DEG,
                                       azimuth=az, time_residual=float(res[i]), time_weight=1.0))
    return origin


def _locate_in_windows(picks: Sequence[Pick], coordinates: Coordinates, **kwargs) -> Optional[Origin]:
    """``locate`` on the picks of one time window at a time, each anchored at a P pick (from
    just before it to as long as an S wave needs to cross the stations' area plus the search
    margin, at most 60 s); the origin with the most arrivals (the earliest of equals), or None."""
    located = [c for p in picks if (c := coordinates.get(f"{p.waveform_id.network}.{p.waveform_id.station}"))]
    if not located:
        return None
    lat = [c[0] for c in located]
    lon = [c[1] for c in located]
    coslat = math.cos(math.radians(float(np.mean(lat))))
    aperture = math.hypot(np.ptp(lat) * KM_PER_DEG, np.ptp(lon) * KM_PER_DEG * coslat)
    span = min(60.0, (aperture + 2.0 * kwargs.get("margin", MARGIN)) / kwargs.get("vs", VS))
    lead = kwargs.get("keep", KEEP)
    best, tried = None, set()
    for anchor in sorted({p.time.timestamp for p in picks if _phase(p) == "P"}):
        window = [p for p in picks if anchor - lead <= p.time.timestamp <= anchor + span]
        ids = frozenset(p.public_id for p in window)
        if ids in tried:  # P picks close together often open the same window: located once
            continue
        tried.add(ids)
        o = locate(window, coordinates, **kwargs)
        if o is not None and (best is None or len(o.arrivals) > len(best.arrivals)):
            best = o
    return best


def locate_events(picks: Sequence[Pick], coordinates: Coordinates, max_events: int = 5, **kwargs) -> List[Origin]:
    """Origins of up to ``max_events`` events among ``picks`` (each located, its picks removed)."""
    left = list(picks)
    out: List[Origin] = []
    for _ in range(max_events):
        o = locate(left, coordinates, **kwargs)
        if o is None and not out:  # the best picks of each station-phase may mix events
            o = _locate_in_windows(left, coordinates, **kwargs)
        if o is None:
            break
        used = {a.pick_id for a in o.arrivals}
        out.append(o)
        # the station-phases this origin took are not offered to the next one either, so a
        # station's second-best pick of the same arrival cannot make a ghost event
        taken = {(p.waveform_id.network, p.waveform_id.station, _phase(p), round(p.time.timestamp))
                 for p in left if p.public_id in used}
        left = [p for p in left if p.public_id not in used and
                (p.waveform_id.network, p.waveform_id.station, _phase(p), round(p.time.timestamp)) not in taken]
    return sorted(out, key=lambda o: o.time)

"""The hidden-arrivals case on the Hengill record: how a re-picker is judged.

Used by ``benchmarks/repick_quality.py`` and ``benchmarks/repick.py`` and by the re-pick tests,
so both measure the same thing (the tests assert levels the benchmark measured).

(a) EqT (Picker defaults) at normal thresholds → reference picks.
(b) The same probabilities at a deliberately high threshold (:data:`HIGH`: detection 0.5, P 0.7,
    S 0.7) → the "confident" picks; reference picks absent from them are the hidden arrivals.
(c) Events: for each listed first-trigger time T (:data:`EVENT_TIMES`, the data set's README),
    the confident P picks in [T − 1.5 s, T + 5 s] are located by a grid search (homogeneous
    vP 6.0 / vS 3.4 km/s, the re-picker's defaults; 0.5 km × 0.5 km × 1 km, origin time = mean
    residual), then every confident pick with |residual| ≤ 1.5 s (P) / 2.5 s (S) is associated.
    Events with fewer than 3 associated P picks are dropped.
(d) Hidden arrivals of an event: reference picks at stations/phases the event lacks, within
    2.5 s (P) / 3.5 s (S) of the prediction. :func:`score`: a re-pick recovers one when it lies
    within 0.5 s (P) / 1.0 s (S) of it; a re-pick with no reference pick of its phase and
    station within that tolerance is "wrong" (it may be a real arrival EqT missed even at
    normal thresholds, so "wrong" is an upper bound).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from obspy import UTCDateTime, read, read_inventory

from .picks.model import Arrival, Event, EventParameters, Origin

EVENT_TIMES = ["03:00:05", "03:00:15", "03:00:40", "03:01:18", "03:01:43", "03:02:13", "03:03:00",
               "03:03:19", "03:03:55", "03:04:29"]
HIGH = dict(detection_threshold=0.5, p_threshold=0.7, s_threshold=0.7)
VP, VS = 6.0, 3.4
TOL = {"P": 0.5, "S": 1.0}


def load_hengill(root: Path):
    stream = read(str(root / "mseed" / "*.mseed"))
    inv = read_inventory(str(root / "stations.xml"))
    coords = {}
    for net in inv:
        for sta in net:
            coords[f"{net.code}.{sta.code}"] = (sta.latitude, sta.longitude, sta.elevation)
    return stream, inv, coords


def reference_and_confident(stream, model):
    from seqt_plugins.picker import Picker

    normal = Picker(model=model)
    results = normal.probabilities(stream)
    ref, _ = normal.picks_from_probabilities(results)
    conf, _ = Picker(model=model, **HIGH).picks_from_probabilities(results)
    return ref, conf


def _xy(coords, lat0, lon0):
    lat, lon = coords[0], coords[1]
    return (lon - lon0) * 111.19 * np.cos(np.radians(lat0)), (lat - lat0) * 111.19


def locate(picks, coords):
    """Grid search: (lat, lon, depth m, origin time) minimising the RMS of the P/S residuals."""
    lat0, lon0 = 64.05, -21.3
    sx, sy, tt_obs, vel = [], [], [], []
    t_ref = min(p.time for p in picks)
    for p in picks:
        c = coords.get(f"{p.waveform_id.network}.{p.waveform_id.station}")
        if c is None:
            continue
        x, y = _xy(c, lat0, lon0)
        sx.append(x), sy.append(y), tt_obs.append(p.time - t_ref), vel.append(VP if p.phase_hint == "P" else VS)
    sx, sy, tt_obs, vel = map(np.asarray, (sx, sy, tt_obs, vel))
    gx = np.arange(-25, 25.01, 0.5)
    gy = np.arange(-20, 20.01, 0.5)
    gz = np.arange(0.0, 12.01, 1.0)
    X, Y, Z = np.meshgrid(gx, gy, gz, indexing="ij")
    d = np.sqrt((X[..., None] - sx) ** 2 + (Y[..., None] - sy) ** 2 + Z[..., None] ** 2)
    tt = d / vel
    t0 = (tt_obs - tt).mean(axis=-1)
    res = tt_obs - tt - t0[..., None]
    rms = np.sqrt((res ** 2).mean(axis=-1))
    i = np.unravel_index(np.argmin(rms), rms.shape)
    x, y, z = X[i], Y[i], Z[i]
    lat = lat0 + y / 111.19
    lon = lon0 + x / (111.19 * np.cos(np.radians(lat0)))
    return float(lat), float(lon), float(z * 1000.0), t_ref + float(t0[i])


def predicted(origin, coords, key, phase):
    c = coords[key]
    x, y = _xy(c, 64.05, -21.3)
    ox, oy = _xy((origin.latitude, origin.longitude), 64.05, -21.3)
    d = np.sqrt((x - ox) ** 2 + (y - oy) ** 2 + (origin.depth / 1000.0) ** 2)
    return origin.time + d / (VP if phase == "P" else VS)


def build_events(confident, reference, coords, day="2018-12-30"):
    """EventParameters (confident picks, located origins with arrivals) and the hidden arrivals."""
    ep = EventParameters(picks=list(confident))
    hidden = []
    used = set()
    for k, hhmmss in enumerate(EVENT_TIMES):
        T = UTCDateTime(f"{day}T{hhmmss}")
        ps = [p for p in confident if p.phase_hint == "P" and T - 1.5 <= p.time <= T + 5 and p.public_id not in used]
        if len(ps) < 3:
            continue
        lat, lon, depth, t0 = locate(ps, coords)
        origin = Origin(public_id=f"Origin/hengill/{k}", time=t0, latitude=lat, longitude=lon, depth=depth,
                        method_id="gridsearch", evaluation_mode="automatic")
        # relocate once with the associated P and S picks
        for _ in range(2):
            assoc = []
            for p in confident:
                key = f"{p.waveform_id.network}.{p.waveform_id.station}"
                if key not in coords or p.public_id in used:
                    continue
                r = p.time - predicted(origin, coords, key, p.phase_hint)
                if abs(r) <= (1.5 if p.phase_hint == "P" else 2.5):
                    assoc.append(p)
            if len(assoc) >= 4:
                lat, lon, depth, t0 = locate(assoc, coords)
                origin.latitude, origin.longitude, origin.depth, origin.time = lat, lon, depth, t0
        have = set()
        for p in assoc:
            key = (p.waveform_id.network, p.waveform_id.station, p.phase_hint)
            if key in have:
                continue
            have.add(key)
            used.add(p.public_id)
            origin.arrivals.append(Arrival(pick_id=p.public_id, phase=p.phase_hint))
        if sum(1 for a in origin.arrivals if a.phase == "P") < 3:
            continue
        ep.origins.append(origin)
        ep.events.append(Event(public_id=f"Event/hengill/{k}", preferred_origin_id=origin.public_id,
                               origin_ids=[origin.public_id]))
        for p in reference:
            key = f"{p.waveform_id.network}.{p.waveform_id.station}"
            if key not in coords or (p.waveform_id.network, p.waveform_id.station, p.phase_hint) in have:
                continue
            r = p.time - predicted(origin, coords, key, p.phase_hint)
            if abs(r) <= (2.5 if p.phase_hint == "P" else 3.5):
                hidden.append((origin.public_id, p))
    return ep, hidden


def score(results, hidden, reference):
    """(recovered P, hidden P, recovered S, hidden S, wrong, total re-picks)."""
    rec = {"P": 0, "S": 0}
    tot = {"P": 0, "S": 0}
    by_origin = {}
    for r in results:
        by_origin.setdefault(r.origin_id, []).append(r.pick)
    for oid, h in hidden:
        ph = h.phase_hint
        tot[ph] += 1
        if any(p.phase_hint == ph and p.waveform_id.station == h.waveform_id.station
               and abs(p.time - h.time) <= TOL[ph] for p in by_origin.get(oid, [])):
            rec[ph] += 1
    wrong = 0
    for r in results:
        p = r.pick
        if not any(q.phase_hint == p.phase_hint and q.waveform_id.station == p.waveform_id.station
                   and abs(q.time - p.time) <= TOL[p.phase_hint] for q in reference):
            wrong += 1
    return rec["P"], tot["P"], rec["S"], tot["S"], wrong, len(results)


def scarce(ep, hidden, phase, k):
    """The events with ``phase`` picks kept at only the k most probable stations of each origin.

    Removed picks leave the input (picks and arrivals) and become hidden arrivals themselves (they
    are confident EqT picks). Returns (event parameters, hidden, extra reference picks).
    """
    out = copy.deepcopy(ep)
    by_id = {p.public_id: p for p in out.picks}
    drop, extra, new_hidden = set(), [], list(hidden)
    for o in out.origins:
        xs = [a for a in o.arrivals if a.phase == phase and a.pick_id in by_id]
        xs.sort(key=lambda a: (-(by_id[a.pick_id].probability or 1.0), by_id[a.pick_id].waveform_id.station))
        for a in xs[k:]:
            drop.add(a.pick_id)
            new_hidden.append((o.public_id, by_id[a.pick_id]))
            extra.append(by_id[a.pick_id])
        o.arrivals = [a for a in o.arrivals if a.pick_id not in drop]
    out.picks = [p for p in out.picks if p.public_id not in drop]
    return out, new_hidden, extra


_CASE = {}


def hengill_case(root: Path, model):
    """(stream, inventory, coords, reference picks, confident picks, events EP, hidden): cached per process."""
    key = (str(root), id(model))
    if key not in _CASE:
        stream, inv, coords = load_hengill(root)
        ref, conf = reference_and_confident(stream, model)
        ep, hidden = build_events(conf, ref, coords)
        _CASE[key] = (stream, inv, coords, ref, conf, ep, hidden)
    return _CASE[key]

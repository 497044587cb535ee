"""The grid-search locator behind the benchmarks' origins (seqt_plugins.catalog.locate), on
synthetic picks whose travel times are computed here, so the truth is known (its fallback for
picks of several events is tested on real picks in test_accuracy_labelled.py)."""

import math

from obspy import UTCDateTime

from seqt_plugins.catalog.locate import KM_PER_DEG, locate_events
from seqt_plugins.picks.model import Pick, WaveformID

VP, VS = 6.0, 3.45
LAT0, LON0 = 38.0, 22.0


def _array():
    """Twelve stations on a 60 x 60 km grid (4 x 3), at sea level."""
    coords = {}
    for i in range(4):
        for j in range(3):
            coords[f"XX.S{i}{j}"] = (LAT0 + 20.0 * j / KM_PER_DEG,
                                     LON0 + 20.0 * i / (KM_PER_DEG * math.cos(math.radians(LAT0))), 0.0)
    return coords


def _picks(coords, x_km, y_km, depth_km, t0, tag, probability):
    out = []
    coslat = math.cos(math.radians(LAT0))
    for code, (lat, lon, _elev) in coords.items():
        sx, sy = (lon - LON0) * KM_PER_DEG * coslat, (lat - LAT0) * KM_PER_DEG
        d = math.sqrt((sx - x_km) ** 2 + (sy - y_km) ** 2 + depth_km ** 2)
        net, sta = code.split(".")
        for ph, v in (("P", VP), ("S", VS)):
            out.append(Pick(f"{tag}/{sta}/{ph}", t0 + d / v, WaveformID(net, sta, "", "HHZ"), ph,
                            probability=probability(sta)))
    return out


def test_one_event_is_located_where_it_is():
    coords = _array()
    t0 = UTCDateTime(2020, 1, 1, 0, 0, 0)
    picks = _picks(coords, 25.0, 15.0, 10.0, t0, "A", lambda s: 0.8)
    origins = locate_events(picks, coords, vp=VP, vs=VS)
    assert len(origins) == 1
    o = origins[0]
    x = (o.longitude - LON0) * KM_PER_DEG * math.cos(math.radians(LAT0))
    y = (o.latitude - LAT0) * KM_PER_DEG
    assert abs(o.time - t0) < 0.5 and math.hypot(x - 25.0, y - 15.0) < 3.0
    assert len(o.arrivals) == 24

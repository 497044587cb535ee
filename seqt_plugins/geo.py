"""Where a phase can arrive: distances from an origin and a constant-velocity search window.

A straight ray in a homogeneous half-space: hypocentral distance = √(epicentral² + (depth +
station elevation)²), travel time = distance / v. The window is the predicted time ±
(tolerance + tolerance_fraction · travel time), which absorbs the model's error (Hengill's 1-D
model has 3.3–7 km/s P; defaults vP 6.0, vS 3.4 km/s, ±1.5 s + 10 %) and the origin's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Tuple

from obspy import UTCDateTime
from obspy.geodetics import gps2dist_azimuth

Coordinates = Dict[str, Tuple[float, float, float]]  # "NET.STA" → (lat, lon, elevation m)


def coordinates_from_inventory(inventory) -> Coordinates:
    """NET.STA → (latitude, longitude, elevation in m) of every station of an ObsPy Inventory."""
    coords: Coordinates = {}
    if inventory is None:
        return coords
    for net in inventory:
        for sta in net:
            if sta.latitude is None or sta.longitude is None:
                continue
            coords[f"{net.code}.{sta.code}"] = (float(sta.latitude), float(sta.longitude), float(sta.elevation or 0.0))
    return coords


@dataclass
class StationGeometry:
    epicentral_km: float
    hypocentral_km: float
    azimuth: float  # from the origin to the station, degrees

    @property
    def distance_deg(self) -> float:
        return self.epicentral_km / 111.19492664455873


def station_geometry(origin, coords: Tuple[float, float, float]) -> StationGeometry:
    lat, lon, elev = coords
    dist_m, az, _ = gps2dist_azimuth(origin.latitude, origin.longitude, lat, lon)
    depth_km = (origin.depth or 0.0) / 1000.0
    vertical = depth_km + elev / 1000.0
    epi = dist_m / 1000.0
    return StationGeometry(epi, math.hypot(epi, vertical), az)


def predicted_window(origin, geometry: StationGeometry, velocity: float, tolerance: float,
                     fraction: float) -> Tuple[UTCDateTime, UTCDateTime, UTCDateTime]:
    """(earliest, predicted, latest) arrival time of a phase travelling at ``velocity`` km/s."""
    tt = geometry.hypocentral_km / velocity
    half = tolerance + fraction * tt
    t = UTCDateTime(origin.time) + tt
    return t - half, t, t + half

"""Catalog figures: a map of the events and stations, and a record section per event.

The record sections are drawn by :func:`seqt_plugins.plotbase.plot_record_section` (the
same drawing as ``seqtrepick --plot``): the preferred origin's arrivals and the re-picks of any of
the event's origins, EqT picks and re-picks in different colours. Matplotlib's Agg backend.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..picks.model import EventParameters
from ..plotbase import plot_record_section, safe_name, save_figure

Coordinates = Dict[str, Tuple[float, float, float]]


def plot_map(ep: EventParameters, coordinates: Coordinates, path, title: Optional[str] = None) -> Path:
    """Map PNG: stations (triangles, labelled) and the preferred origins' epicentres (circles
    coloured by depth, sized by the number of arrivals)."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    origins = {o.public_id: o for o in ep.origins}
    preferred = [origins[e.preferred_origin_id] for e in ep.events if e.preferred_origin_id in origins]
    fig, ax = plt.subplots(figsize=(8, 7))
    try:
        lats = [c[0] for c in coordinates.values()] + [o.latitude for o in preferred]
        lat0 = sum(lats) / len(lats) if lats else 0.0
        if coordinates:
            ax.scatter([c[1] for c in coordinates.values()], [c[0] for c in coordinates.values()], marker="^",
                       s=60, c="tab:blue", edgecolors="k", label="stations", zorder=3)
            for key, c in sorted(coordinates.items()):
                ax.annotate(key.split(".", 1)[-1], (c[1], c[0]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        if preferred:
            depths = [(o.depth or 0.0) / 1000.0 for o in preferred]
            sizes = [20 + 4 * len(o.arrivals) for o in preferred]
            sc = ax.scatter([o.longitude for o in preferred], [o.latitude for o in preferred], c=depths, s=sizes,
                            cmap="viridis_r", edgecolors="k", label="events", zorder=4)
            fig.colorbar(sc, ax=ax, label="depth (km)")
            for o in preferred:
                ax.annotate(o.time.strftime("%H:%M:%S"), (o.longitude, o.latitude), fontsize=7, color="0.3",
                            xytext=(3, -9), textcoords="offset points")
        ax.set_aspect(1.0 / max(0.05, math.cos(math.radians(lat0))))
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.set_title(title or f"{len(preferred)} event(s), {len(coordinates)} station(s)")
        ax.legend(loc="best", fontsize=8)
        ax.grid(color="0.9")
        path = save_figure(fig, path)
    finally:
        plt.close(fig)
    return path


def plot_event_sections(ep: EventParameters, stream, out_dir, coordinates: Optional[Coordinates] = None,
                        **kwargs) -> List[Path]:
    """One record-section PNG per event in ``out_dir``: the preferred origin, with the re-picks
    made for any of the event's origins added to its marks."""
    picks = {p.public_id: p for p in ep.picks}
    origins = {o.public_id: o for o in ep.origins}
    out = []
    for ev in ep.events:
        o = origins.get(ev.preferred_origin_id)
        if o is None:
            continue
        shown = copy.copy(o)
        have = {a.pick_id for a in o.arrivals}
        extra = [a for oid in ev.origin_ids if oid != o.public_id and oid in origins for a in origins[oid].arrivals
                 if a.pick_id not in have and picks.get(a.pick_id) is not None
                 and picks[a.pick_id].method_id == "S-EqT"]
        shown.arrivals = list(o.arrivals) + extra
        path = Path(out_dir) / f"{safe_name(ev.public_id)}.png"
        out.append(plot_record_section(path, stream, shown, picks, coordinates, **kwargs))
    return out


def plot_catalog(ep: EventParameters, stream, out_dir, coordinates: Optional[Coordinates] = None) -> List[Path]:
    """``map.png`` and one record section per event in ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    paths = [plot_map(ep, coordinates or {}, out_dir / "map.png")]
    return paths + plot_event_sections(ep, stream, out_dir, coordinates)

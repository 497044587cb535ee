"""Catalog figures: a map of the events and stations, and a record section per event.

The map has a km scale bar, a legend for its symbols (size: arrivals; colour: depth, with a
colour bar as tall as the map) and labels placed so that none overlaps another or a symbol.
The record sections are drawn by :func:`seqt_plugins.plotbase.plot_record_section` (the
same drawing as ``seqtrepick --plot``): the preferred origin's arrivals and the re-picks of any of
the event's origins, EqT picks and re-picks in different colours, titled with the event ID the
file is named after and the preferred origin drawn.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..picks.model import EventParameters
from ..plotbase import KM_PER_DEG, new_figure, plot_record_section, plural, safe_name, save_figure, utc_label

Coordinates = Dict[str, Tuple[float, float, float]]


def _nice(x: float) -> float:
    """The largest of 1, 2, 5 × 10^k not above ``x`` (a scale bar or legend value)."""
    if x <= 0:
        return 1.0
    k = math.floor(math.log10(x))
    return max(m * 10.0 ** k for m in (1, 2, 5) if m * 10.0 ** k <= x)


def _marker_size(n_arrivals: int) -> float:
    """Scatter area (points²) of an event marker: grows with its number of arrivals."""
    return 20.0 + 4.0 * n_arrivals


def _scale_bar(ax, lat0: float, obstacles) -> None:
    """A km scale bar (about a fifth of the map's width) in the corner with fewest symbols."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    km_per_deg_lon = KM_PER_DEG * max(0.05, math.cos(math.radians(lat0)))
    km = _nice((x1 - x0) * km_per_deg_lon / 5.0)
    length = km / km_per_deg_lon
    corners = []
    for fx in (0.04, 0.96):
        for fy in (0.05, 0.95):
            bx = x0 + fx * (x1 - x0) - (length if fx > 0.5 else 0.0)
            by = y0 + fy * (y1 - y0)
            crowd = sum(1 for (x, y) in obstacles if bx - 0.02 * (x1 - x0) <= x <= bx + length + 0.02 * (x1 - x0)
                        and abs(y - by) <= 0.08 * (y1 - y0))
            corners.append((crowd, fy, fx, bx, by))
    _, fy, _, bx, by = min(corners)
    ax.plot([bx, bx + length], [by, by], color="k", lw=3, solid_capstyle="butt", zorder=6)
    ax.text(bx + length / 2, by + (0.015 if fy < 0.5 else -0.015) * (y1 - y0), f"{km:g} km", ha="center",
            va="bottom" if fy < 0.5 else "top", fontsize=8, zorder=6)


def _place_labels(fig, ax, items, symbols) -> int:
    """Place text labels beside their points without overlapping each other, the symbols, the
    other texts and lines drawn on the axes, or the axes' edge: each label tries rings of
    positions around its symbol (a thin leader line from the third ring on); a label with no
    free place is left out. ``items``: ((x, y) data, text, text style, symbol radius in points);
    ``symbols``: ((x, y) data, radius in points). Returns how many were left out."""
    from matplotlib.transforms import Bbox

    # the final layout (constrained layout settles on the second pass): display coordinates
    # below are those written
    fig.draw_without_rendering()
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken = [t.get_window_extent(renderer) for t in ax.texts] + [ln.get_window_extent(renderer) for ln in ax.lines]
    for xy, r_pt in symbols:
        x, y = ax.transData.transform(xy)
        r = r_pt * fig.dpi / 72.0
        taken.append(Bbox.from_extents(x - r, y - r, x + r, y + r))
    omitted = 0
    directions = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
    for (x, y), text, style, radius0 in items:
        placed = False
        for ring, gap in enumerate((1.5, 5, 10, 18, 28, 40)):
            for dx, dy in directions:
                radius = radius0 + gap
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                offset = (dx * radius * (0.75 if dy else 1.0), dy * radius * (0.75 if dx else 1.0))
                label = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va,
                                    annotation_clip=False, zorder=7, **style)
                label.set_in_layout(False)
                box = label.get_window_extent(renderer).padded(1.5)
                inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
                if inside and not any(box.overlaps(b) for b in taken):
                    taken.append(box)
                    placed = True
                    if ring >= 2:  # far from its symbol: a leader line says whose label it is
                        label.remove()
                        label = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=ha,
                                            va=va, annotation_clip=False, zorder=7, arrowprops={
                                                "arrowstyle": "-", "lw": 0.5, "color": "0.45",
                                                "shrinkA": 1, "shrinkB": radius0}, **style)
                        label.set_in_layout(False)
                    break
                label.remove()
            if placed:
                break
        omitted += not placed
    return omitted


def map_figure(ep: EventParameters, coordinates: Coordinates, title: Optional[str] = None):
    """The map as a matplotlib Figure: stations (triangles, labelled) and the preferred origins'
    epicentres (circles coloured by depth, sized by the number of arrivals, labelled with their
    time), a km scale bar, a legend for the symbols and a colour bar as tall as the map."""
    from matplotlib.lines import Line2D

    origins = {o.public_id: o for o in ep.origins}
    preferred = sorted((origins[e.preferred_origin_id] for e in ep.events if e.preferred_origin_id in origins),
                       key=lambda o: o.time)
    lons = [c[1] for c in coordinates.values()] + [o.longitude for o in preferred]
    lats = [c[0] for c in coordinates.values()] + [o.latitude for o in preferred]
    lat0 = sum(lats) / len(lats) if lats else 0.0
    coslat = max(0.05, math.cos(math.radians(lat0)))
    limits = None
    if lons:
        padx, pady = max(0.08 * (max(lons) - min(lons)), 0.01), max(0.08 * (max(lats) - min(lats)), 0.01)
        limits = (min(lons) - padx, max(lons) + padx), (min(lats) - pady, max(lats) + pady)
    # a figure of the map's own shape: no empty bands around a wide or tall map
    ratio = 1.0 if limits is None else (limits[1][1] - limits[1][0]) / ((limits[0][1] - limits[0][0]) * coslat)
    fig = new_figure((8.5, min(11.0, max(4.0, 6.2 * ratio + 2.0))))
    ax = fig.subplots()
    if limits is not None:
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    ax.set_aspect(1.0 / coslat)
    handles = []
    if coordinates:
        ax.scatter(lons[:len(coordinates)], lats[:len(coordinates)], marker="^", s=60, c="tab:blue",
                   edgecolors="k", zorder=3)
        handles.append(Line2D([], [], ls="", marker="^", markersize=math.sqrt(60), color="tab:blue",
                              markeredgecolor="k", label="station"))
    sizes = [_marker_size(len(o.arrivals)) for o in preferred]
    if preferred:
        depths = [(o.depth or 0.0) / 1000.0 for o in preferred]
        sc = ax.scatter([o.longitude for o in preferred], [o.latitude for o in preferred], c=depths, s=sizes,
                        cmap="viridis_r", edgecolors="k", zorder=4, alpha=0.9)
        cax = ax.inset_axes([1.03, 0.0, 0.035, 1.0])  # exactly the map's height
        fig.colorbar(sc, cax=cax, label="event depth (km)")
        counts = [len(o.arrivals) for o in preferred]
        step = 5 if max(counts) >= 15 else 1
        shown = sorted({max(1, int(round(n / step)) * step) for n in np.linspace(min(counts), max(counts), 3)})
        for n in shown:
            handles.append(Line2D([], [], ls="", marker="o", markersize=math.sqrt(_marker_size(n)), color="0.75",
                                  markeredgecolor="k", label=f"event, {plural(n, 'arrival')}"))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    span = (f", {utc_label(preferred[0].time)[:19]} – {utc_label(preferred[-1].time)[11:]}" if preferred else "")
    ax.set_title(title or f"{plural(len(preferred), 'event')}{span}, {plural(len(coordinates), 'station')}",
                 fontsize=10)
    ax.grid(color="0.92", zorder=0)
    points = [(c[1], c[0]) for c in coordinates.values()] + [(o.longitude, o.latitude) for o in preferred]
    _scale_bar(ax, lat0, points)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False,
                   title="symbols: size = arrivals of the event's preferred origin, colour = depth",
                   title_fontsize=8)
    symbols = [(xy, math.sqrt(size) / 2.0) for xy, size in zip(points, [60.0] * len(coordinates) + sizes)]
    items = [((c[1], c[0]), key.split(".", 1)[-1], {"fontsize": 7}, math.sqrt(60.0) / 2.0)
             for key, c in sorted(coordinates.items())]
    items += [((o.longitude, o.latitude), o.time.strftime("%H:%M:%S"), {"fontsize": 7, "color": "0.25",
               "style": "italic"}, math.sqrt(size) / 2.0) for o, size in zip(preferred, sizes)]
    omitted = _place_labels(fig, ax, items, symbols)
    if omitted:
        ax.text(0.99, 0.01, f"{plural(omitted, 'label')} left out (no free place)", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7, color="0.4")
    return fig


def plot_map(ep: EventParameters, coordinates: Coordinates, path, title: Optional[str] = None) -> Path:
    """Write the map (:func:`map_figure`) to ``path`` as PNG, atomically; returns the path."""
    return save_figure(map_figure(ep, coordinates, title), path)


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
        # titled by the event, as the file is named, then the origin drawn
        options = dict(kwargs)
        title = options.pop("title", None) or f"{ev.public_id}\npreferred origin {o.public_id}"
        out.append(plot_record_section(path, stream, shown, picks, coordinates, title=title, **options))
    return out


def plot_catalog(ep: EventParameters, stream, out_dir, coordinates: Optional[Coordinates] = None) -> List[Path]:
    """``map.png`` and one record section per event in ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    paths = [plot_map(ep, coordinates or {}, out_dir / "map.png")]
    return paths + plot_event_sections(ep, stream, out_dir, coordinates)

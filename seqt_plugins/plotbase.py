"""Shared plot helpers: atomic PNG writing, file names from IDs, time labels, the record section.

:func:`plot_record_section` draws one origin, stations sorted by epicentral distance (labelled
in km when known: from the arrival, else from ``coordinates``), over the span from ``pre`` s
before the origin to ``post`` s after its last arrival. Each station is a pair of traces,
band-passed (2-30 Hz by default, stated in the title) on one amplitude scale whose peak (counts)
is written at the right: the vertical, where P is marked, above a horizontal (the one S was
picked on), where S is marked. The picker's picks (EqT: P blue, S green) and the re-picks (method
S-EqT: P red, S orange, thicker) differ in colour; the legend counts each. Time runs in s after
the origin time, and on the top axis in s after its whole minute (UTC). The title's first line
is the ID the file is named after.

It sits below its users (``seqtrepick --plot`` via :mod:`seqt_plugins.repicker.plot`, the
catalog's :mod:`seqt_plugins.catalog.plot`, the picker's :mod:`seqt_plugins.modules.plotting`),
so none of them imports another sideways; there is one implementation. Figures are built
outside pyplot (:func:`new_figure`) and returned, so they can be checked before being written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

#: Method ID of re-picks (as :data:`seqt_plugins.repicker.engine.METHOD_ID`).
REPICK_METHOD = "S-EqT"
COLOURS = {("pick", "P"): "tab:blue", ("pick", "S"): "tab:green",
           ("repick", "P"): "tab:red", ("repick", "S"): "tab:orange"}
KM_PER_DEG = 111.19492664455873


def _phase(name: Optional[str]) -> Optional[str]:
    c = (name or "").strip()[:1].upper()
    return c if c in ("P", "S") else None


def save_figure(fig, path, dpi: int = 100) -> Path:
    """Lay out and write a figure as PNG atomically (a crash never leaves half an image). The
    figure's title goes into the PNG's Title text as well (image viewers show it; tests check
    it against the file name)."""
    from seqt_plugins.io.atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:  # figures of new_figure lay themselves out
        fig.tight_layout()
    metadata = {"Software": "seqt-plugins"}
    title = figure_title(fig)
    if title:
        metadata["Title"] = title
    with atomic_write(path) as handle:
        fig.savefig(handle, format="png", dpi=dpi, metadata=metadata)
    return path


def figure_title(fig) -> str:
    """The figure's title: its suptitle, else the first axes' title."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        return sup.get_text()
    return fig.axes[0].get_title() if fig.axes else ""


def new_figure(figsize: Tuple[float, float]):
    """A matplotlib Figure outside pyplot (Agg canvas): no display, no global figure list to
    leak into, and the caller can inspect it before it is written. Constrained layout keeps
    legends and colour bars outside the axes inside the image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer, for measuring text before writing
    return fig


def plural(n: int, word: str, words: Optional[str] = None) -> str:
    """'1 pick', '2 picks' (``words`` for an irregular plural)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def round_reference(t, step: float = 60.0):
    """``t`` floored to a whole ``step`` seconds (default the minute): a time axis reads
    '12.5 s after 14:52:00', not 'after 14:52:03.240000'."""
    from obspy import UTCDateTime

    return UTCDateTime(np.floor(UTCDateTime(t).timestamp / step) * step)


def utc_label(t, decimals: int = 0) -> str:
    """'2005-07-23 14:52:00 UTC' (``decimals`` digits of the second)."""
    from obspy import UTCDateTime

    t = UTCDateTime(round(UTCDateTime(t).timestamp, max(decimals, 0)))
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    if decimals > 0:
        text += f"{t.microsecond / 1e6:.{decimals}f}"[1:]
    return text + " UTC"


def safe_name(text: str) -> str:
    """A file name from an ID: runs of characters other than letters, digits, '.', '-' → '_';
    no leading dot (an empty network code must not make a hidden file)."""
    return re.sub(r"[^A-Za-z0-9.\-]+", "_", text).lstrip(".").strip("_") or "origin"


def _distance_km(origin, coords: Optional[Tuple[float, float, float]]) -> Optional[float]:
    if coords is None:
        return None
    from obspy.geodetics import gps2dist_azimuth

    return gps2dist_azimuth(origin.latitude, origin.longitude, coords[0], coords[1])[0] / 1000.0


def _display_trace(stream, net: str, sta: str, channel: str, t0, t1, freqmin: float, freqmax: float):
    """One channel of a station in [t0, t1], band-passed (4 corners, zero phase); None without
    data."""
    part = stream.select(network=net, station=sta, channel=channel).slice(t0 - 5.0, t1 + 5.0).copy()
    if not len(part):
        return None
    part.merge(method=1, fill_value=0)
    tr = part[0]
    tr.data = tr.data.astype(np.float64)
    if tr.stats.npts < 10:
        return None
    tr.detrend("demean")
    tr.taper(0.05)
    nyq = tr.stats.sampling_rate / 2.0
    if nyq > freqmin * 2:
        tr.filter("bandpass", freqmin=freqmin, freqmax=min(freqmax, 0.9 * nyq), corners=4, zerophase=True)
    tr.trim(t0, t1)
    return tr if tr.stats.npts else None


def _channels(stream, net: str, sta: str, s_channels: Iterable[str]) -> Tuple[Optional[str], Optional[str]]:
    """(vertical, horizontal) channel codes of a station: P is read on the vertical, S on a
    horizontal (the one an S pick was made on, else N/1 before E/2)."""
    codes = sorted({tr.stats.channel for tr in stream.select(network=net, station=sta)})
    vertical = next((c for c in codes if c[-1:] in ("Z", "3")), None)
    horizontals = [c for c in codes if c[-1:] in ("N", "1", "E", "2")]
    picked = [c for c in s_channels if c in horizontals]
    horizontals.sort(key=lambda c: "N1E2".find(c[-1:]))
    return vertical, (picked or horizontals or [None])[0]


def _origin_line(origin) -> str:
    """'2018-12-30 03:00:39.01 UTC, 64.0339° N 21.3895° W, 2.7 km deep'."""
    lat, lon = origin.latitude, origin.longitude
    where = f"{abs(lat):.4f}° {'N' if lat >= 0 else 'S'} {abs(lon):.4f}° {'E' if lon >= 0 else 'W'}"
    depth = f", {origin.depth / 1000.0:.1f} km deep" if origin.depth is not None else ""
    return f"{utc_label(origin.time, 2)}, {where}{depth}"


def record_section_figure(stream, origin, picks: Dict[str, object],
                          coordinates: Optional[Dict[str, Tuple[float, float, float]]] = None,
                          title: Optional[str] = None, pre: float = 2.0, post: float = 4.0,
                          freqmin: float = 2.0, freqmax: float = 30.0, stations: Optional[Iterable[str]] = None):
    """The record section of ``origin`` as a matplotlib Figure (see :func:`plot_record_section`).

    Each station is a pair of traces on one amplitude scale (its peak in counts at the right):
    the vertical, where P is marked, above a horizontal, where S is marked.
    """
    from matplotlib.lines import Line2D

    coordinates = coordinates or {}
    marks: Dict[str, List[Tuple[object, str, str, str]]] = {}  # NET.STA → (time, phase, kind, channel)
    dist: Dict[str, float] = {}
    for a in origin.arrivals:
        p = picks.get(a.pick_id)
        ph = _phase(a.phase) or _phase(getattr(p, "phase_hint", None))
        if p is None or ph is None:
            continue
        key = f"{p.waveform_id.network}.{p.waveform_id.station}"
        kind = "repick" if p.method_id == REPICK_METHOD else "pick"
        marks.setdefault(key, []).append((p.time, ph, kind, p.waveform_id.channel or ""))
        if a.distance is not None:
            dist.setdefault(key, float(a.distance) * KM_PER_DEG)
    wanted = set(stations) if stations is not None else set(marks)
    if stations is None and coordinates:
        wanted |= {f"{tr.stats.network}.{tr.stats.station}" for tr in stream}
    for key in wanted:
        if key not in dist:
            d = _distance_km(origin, coordinates.get(key))
            if d is not None:
                dist[key] = d
    times = [m[0] for ms in marks.values() for m in ms]
    t0 = origin.time - pre
    t1 = (max(times) if times else origin.time + 10.0) + post
    if t1 - t0 < 8.0:
        t1 = t0 + 8.0

    def order(key):  # by distance, then by first mark; stations without either last
        first = min((m[0] for m in marks.get(key, [])), default=None)
        return (dist.get(key, np.inf), first.timestamp if first is not None else np.inf, key)

    rows = []  # (NET.STA, vertical trace, horizontal trace)
    for key in sorted(wanted, key=order):
        net, sta = key.split(".", 1)
        z, h = _channels(stream, net, sta, [m[3] for m in marks.get(key, []) if m[1] == "S"])
        ztr = _display_trace(stream, net, sta, z, t0, t1, freqmin, freqmax) if z else None
        htr = _display_trace(stream, net, sta, h, t0, t1, freqmin, freqmax) if h else None
        if ztr is not None or htr is not None or key in marks:
            rows.append((key, ztr, htr))
    fig = new_figure((10, max(3.5, 0.62 * len(rows) + 2.2)))
    ax = fig.subplots()
    half = 0.22  # each trace's half height; the vertical sits above its row centre, the horizontal below
    minor, minor_labels = [], []
    for i, (key, ztr, htr) in enumerate(rows):
        peak = max((float(np.max(np.abs(tr.data))) for tr in (ztr, htr) if tr is not None), default=0.0) or 1.0
        for tr, centre, colour in ((ztr, i - half, "0.15"), (htr, i + half, "0.45")):
            if tr is None:
                continue
            x = tr.times() + (tr.stats.starttime - origin.time)
            ax.plot(x, centre - half * tr.data / peak, color=colour, lw=0.5)
            minor.append(centre)
            minor_labels.append(tr.stats.channel[-1:])
        if ztr is not None or htr is not None:
            ax.text(1.004, i, f"±{peak:.0f}" if peak < 1e6 else f"±{peak:.2e}", transform=ax.get_yaxis_transform(),
                    fontsize=6, va="center", ha="left", color="0.3")
        for t, ph, kind, _ in marks.get(key, []):
            lo, hi = (i - 2 * half, i) if ph == "P" else (i, i + 2 * half)  # P on Z, S on the horizontal
            ax.plot([t - origin.time] * 2, [lo, hi], color=COLOURS[(kind, ph)],
                    lw=2.2 if kind == "repick" else 1.4, solid_capstyle="butt")
    labels = [f"{k}  {dist[k]:.1f} km" if k in dist else k for k, _, _ in rows]
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.tick_params(axis="y", which="major", length=0, pad=12)
    ax.set_yticks(minor, minor_labels, minor=True)  # component letters between the label and the trace
    ax.tick_params(axis="y", which="minor", labelsize=6, length=2, pad=1, labelcolor="0.35")
    ax.text(1.004, -0.5, "peak\ncounts", transform=ax.get_yaxis_transform(), fontsize=6, va="bottom", ha="left",
            color="0.3")
    ax.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(t0 - origin.time, t1 - origin.time)
    ax.set_xlabel(f"s after the origin time {utc_label(origin.time, 2)}")
    ref = round_reference(origin.time)
    shift = origin.time - ref
    top = ax.secondary_xaxis("top", functions=(lambda x: x + shift, lambda x: x - shift))
    top.set_xlabel(f"s after {utc_label(ref)}", fontsize=8)
    top.tick_params(labelsize=7)
    ax.tick_params(axis="x", labelsize=8)
    n_arr = sum(len(m) for m in marks.values())
    band = f"band-pass {freqmin:g}–{freqmax:g} Hz (4 corners, zero phase)"
    ax.set_title(f"{title or origin.public_id}\n{_origin_line(origin)}, {plural(n_arr, 'arrival')} shown\n"
                 f"{band}; per station: vertical (P marks) above a horizontal (S marks), "
                 f"both on one scale, its peak (counts) at the right", fontsize=8)
    handles = []
    for kind in ("pick", "repick"):
        for ph in ("P", "S"):
            n = sum(1 for ms in marks.values() for m in ms if m[1] == ph and m[2] == kind)
            if n or kind == "pick":
                where = "vertical" if ph == "P" else "horizontal"
                name = "re-pick (S-EqT)" if kind == "repick" else "pick (EqT)"
                handles.append(Line2D([], [], color=COLOURS[(kind, ph)], lw=2.2 if kind == "repick" else 1.4,
                                      label=f"{ph} {name} on the {where}: {n}"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, frameon=False)
    ax.grid(axis="x", color="0.9")
    return fig


def plot_record_section(path, stream, origin, picks: Dict[str, object],
                        coordinates: Optional[Dict[str, Tuple[float, float, float]]] = None,
                        title: Optional[str] = None, pre: float = 2.0, post: float = 4.0,
                        freqmin: float = 2.0, freqmax: float = 30.0, stations: Optional[Iterable[str]] = None) -> Path:
    """Write the record section of ``origin`` to ``path`` (PNG, atomically); returns the path.

    ``picks``: pick ID → Pick (to find the arrivals' picks); ``coordinates``: NET.STA → (lat,
    lon, elevation m), for distances of stations without arrivals; ``stations``: NET.STA to show
    (default: those with arrivals and, with coordinates, every station of the stream);
    ``title``: the first title line (default the origin's public ID, as the file name of
    :func:`seqt_plugins.repicker.plot.plot_repicks`).
    """
    fig = record_section_figure(stream, origin, picks, coordinates, title=title, pre=pre, post=post,
                                freqmin=freqmin, freqmax=freqmax, stations=stations)
    return save_figure(fig, path)

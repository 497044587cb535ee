"""Shared plot helpers: atomic PNG writing, file names from IDs, and the record section.

:func:`plot_record_section` draws one origin: one trace per station, sorted by distance, picks
marked. Each station's vertical component (else its first) is band-passed (2-30 Hz by default)
and normalised, drawn at its rank by epicentral distance (labelled with the distance in km when
known: from the arrival, else from ``coordinates``), over the span from ``pre`` s before the
origin to ``post`` s after its last arrival. The origin's arrivals are marked at their pick times:
the picker's picks (EqT: P blue, S green) and the re-picks (method S-EqT: P red, S orange,
thicker) in different colours; P solid, S dashed. Matplotlib's Agg backend: no display needed.

It sits below its users (``seqtrepick --plot`` via :mod:`seqt_plugins.repicker.plot`, the
catalog's :mod:`seqt_plugins.catalog.plot`, the picker's :mod:`seqt_plugins.modules.plotting`),
so none of them imports another sideways; there is one implementation.
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
    """Lay out and write a figure as PNG atomically (a crash never leaves half an image)."""
    from seqt_plugins.io.atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic_write(path) as handle:
        fig.savefig(handle, format="png", dpi=dpi)
    return path


def safe_name(text: str) -> str:
    """A file name from an ID: runs of characters other than letters, digits, '.', '-' → '_';
    no leading dot (an empty network code must not make a hidden file)."""
    return re.sub(r"[^A-Za-z0-9.\-]+", "_", text).lstrip(".").strip("_") or "origin"


def _distance_km(origin, coords: Optional[Tuple[float, float, float]]) -> Optional[float]:
    if coords is None:
        return None
    from obspy.geodetics import gps2dist_azimuth

    return gps2dist_azimuth(origin.latitude, origin.longitude, coords[0], coords[1])[0] / 1000.0


def _display_trace(stream, net: str, sta: str, t0, t1, freqmin: float, freqmax: float):
    """The station's vertical trace (else its first) in [t0, t1], band-passed; None without data."""
    sel = stream.select(network=net, station=sta)
    if not len(sel):
        return None
    vertical = [tr for tr in sel if tr.stats.channel[-1:] in ("Z", "3")]
    chan = (vertical or list(sel))[0].stats.channel
    part = sel.select(channel=chan).slice(t0 - 5.0, t1 + 5.0).copy()
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
        tr.filter("bandpass", freqmin=freqmin, freqmax=min(freqmax, 0.9 * nyq), zerophase=True)
    tr.trim(t0, t1)
    return tr if tr.stats.npts else None


def plot_record_section(path, stream, origin, picks: Dict[str, object],
                        coordinates: Optional[Dict[str, Tuple[float, float, float]]] = None,
                        title: Optional[str] = None, pre: float = 2.0, post: float = 4.0,
                        freqmin: float = 2.0, freqmax: float = 30.0, stations: Optional[Iterable[str]] = None) -> Path:
    """Write the record section of ``origin`` to ``path`` (PNG); returns the path.

    ``picks``: pick ID → Pick (to find the arrivals' picks); ``coordinates``: NET.STA → (lat,
    lon, elevation m), for distances of stations without arrivals; ``stations``: NET.STA to show
    (default: those with arrivals and, with coordinates, every station of the stream).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    coordinates = coordinates or {}
    marks: Dict[str, List[Tuple[object, str, str]]] = {}  # NET.STA → (time, phase, kind)
    dist: Dict[str, float] = {}
    for a in origin.arrivals:
        p = picks.get(a.pick_id)
        ph = _phase(a.phase) or _phase(getattr(p, "phase_hint", None))
        if p is None or ph is None:
            continue
        key = f"{p.waveform_id.network}.{p.waveform_id.station}"
        kind = "repick" if p.method_id == REPICK_METHOD else "pick"
        marks.setdefault(key, []).append((p.time, ph, kind))
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
    times = [t for m in marks.values() for t, _, _ in m]
    t0 = origin.time - pre
    t1 = (max(times) if times else origin.time + 10.0) + post
    if t1 - t0 < 8.0:
        t1 = t0 + 8.0
    # by distance, then by first mark; stations without either last
    def order(key):
        first = min((t for t, _, _ in marks.get(key, [])), default=None)
        return (dist.get(key, np.inf), first.timestamp if first is not None else np.inf, key)

    rows = []
    for key in sorted(wanted, key=order):
        net, sta = key.split(".", 1)
        tr = _display_trace(stream, net, sta, t0, t1, freqmin, freqmax)
        if tr is not None or key in marks:
            rows.append((key, tr))
    height = max(3.0, 0.45 * len(rows) + 1.5)
    fig, ax = plt.subplots(figsize=(10, height))
    try:
        for i, (key, tr) in enumerate(rows):
            if tr is not None:
                x = tr.times() + (tr.stats.starttime - origin.time)
                y = tr.data
                scale = np.max(np.abs(y)) or 1.0
                ax.plot(x, i + 0.45 * y / scale, color="0.25", lw=0.5)
            for t, ph, kind in marks.get(key, []):
                ax.plot([t - origin.time] * 2, [i - 0.45, i + 0.45], color=COLOURS[(kind, ph)],
                        lw=2.2 if kind == "repick" else 1.4, ls="-" if ph == "P" else "--")
        labels = [f"{k}  {dist[k]:.1f} km" if k in dist else k for k, _ in rows]
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
        ax.invert_yaxis()
        ax.set_xlim(t0 - origin.time, t1 - origin.time)
        ax.set_xlabel(f"seconds after the origin time {origin.time.isoformat()}")
        depth = f", {origin.depth / 1000.0:.1f} km deep" if origin.depth is not None else ""
        ax.set_title(title or f"{origin.public_id}\n{origin.latitude:.4f}, {origin.longitude:.4f}{depth}", fontsize=9)
        handles = [Line2D([], [], color=COLOURS[(k, ph)], lw=2.2 if k == "repick" else 1.4,
                          ls="-" if ph == "P" else "--", label=f"{'re-pick' if k == 'repick' else 'EqT'} {ph}")
                   for k in ("pick", "repick") for ph in ("P", "S")]
        ax.legend(handles=handles, loc="upper right", fontsize=7, ncol=2)
        ax.grid(axis="x", color="0.9")
        path = save_figure(fig, path)
    finally:
        plt.close(fig)
    return path

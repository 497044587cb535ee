"""``--plot DIR``: one PNG per detection with the three components and the D/P/S probabilities.

A detection is a run of the detection probability above the threshold (runs closer than
``merge`` seconds are joined); the plot spans the run with ``pad`` seconds either side and marks
the picks inside it. Uses matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from seqt_plugins.plotbase import safe_name, save_figure


def _kind(trace) -> str:
    """'D', 'P' or 'S' for a probability trace (channel 'EQT_D', 'D', 'Detection', 'P', ...)."""
    name = trace.stats.channel.split("_")[-1].upper()
    return name[:1] if name[:1] in ("D", "P", "S") else ""


def detection_spans(annotations, threshold: float, merge: float = 2.0) -> List[Tuple[object, object]]:
    """(start, end) UTCDateTimes of the runs of the detection trace above ``threshold``."""
    spans = []
    for tr in annotations:
        if _kind(tr) != "D":
            continue
        above = np.asarray(tr.data) > threshold
        if not above.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
        dt = tr.stats.delta
        for a, b in zip(edges[::2], edges[1::2]):
            spans.append((tr.stats.starttime + a * dt, tr.stats.starttime + (b - 1) * dt))
    spans.sort(key=lambda s: s[0])
    merged: List[List] = []
    for a, b in spans:
        if merged and a - merged[-1][1] <= merge:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _display_filter(stream, freqmin: float = 1.0, freqmax: float = 45.0):
    """A copy band-passed as EqT sees it (1-45 Hz), so the plot shows what was picked."""
    out = stream.copy()
    out.merge(method=1, fill_value=0)
    for tr in out:
        tr.data = tr.data.astype(np.float64)
        tr.detrend("demean")
        tr.taper(0.01)
        nyq = tr.stats.sampling_rate / 2.0
        if nyq > freqmin * 2:
            tr.filter("bandpass", freqmin=freqmin, freqmax=min(freqmax, 0.9 * nyq), zerophase=True)
    return out


def probability_traces(station, probabilities, sampling_rate: float = 100.0):
    """Stream of D/P/S traces (channels EQT_D, EQT_P, EQT_S) from one station's entry of
    ``Picker.probabilities`` (a StationData and one (3, n) array per segment)."""
    from obspy import Stream, Trace

    out = Stream()
    for seg, pr in zip(station.segments, probabilities):
        for k, name in enumerate(("D", "P", "S")):
            out += Trace(data=np.asarray(pr[k]), header={
                "network": station.network, "station": station.station, "location": station.location,
                "channel": f"EQT_{name}", "sampling_rate": sampling_rate, "starttime": seg.start})
    return out


def plot_detections(stream, annotations, picks: Sequence, directory, threshold: float = 0.3,
                    pad: float = 10.0, detections: Optional[Sequence[Tuple]] = None) -> List[Path]:
    """Write one PNG per detection into ``directory``; returns their paths.

    ``stream`` holds the sensor's components (shown band-passed 1-45 Hz), ``annotations`` its
    D/P/S probability traces (channel suffixes _D, _P, _S), ``picks`` the picks to mark.

    ``detections`` are (start, end) times (e.g. from ``Picker.classify``); without them the
    runs of the D trace above ``threshold`` are used.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    components = sorted(_display_filter(stream), key=lambda tr: ("ZNE12".find(tr.stats.channel[-1:]) % 10, tr.id))
    spans = list(detections) if detections is not None else detection_spans(annotations, threshold)
    for start, end in spans:
        t0, t1 = start - pad, end + pad
        inside = [p for p in picks if t0 <= p.time <= t1]
        ref = components[0] if components else next(iter(annotations))
        sensor = f"{ref.stats.network}.{ref.stats.station}.{ref.stats.location}.{ref.stats.channel[:2]}"
        n = len(components) + 1
        fig, axes = plt.subplots(n, 1, figsize=(10, 1.6 * n + 0.6), sharex=True)
        axes = np.atleast_1d(axes)
        for ax, tr in zip(axes, components):
            part = tr.slice(t0, t1)
            if len(part.data):
                x = part.times(reftime=t0)
                ax.plot(x, part.data, "k", lw=0.6)
            ax.set_ylabel(tr.stats.channel, rotation=0, ha="right")
            ax.set_yticks([])
        ax = axes[-1]
        colours: Dict[str, str] = {"D": "tab:green", "P": "tab:blue", "S": "tab:red"}
        for tr in annotations:
            kind = _kind(tr)
            if not kind:
                continue
            part = tr.slice(t0, t1)
            if len(part.data):
                ax.plot(part.times(reftime=t0), part.data, color=colours[kind], lw=1.0, label=kind)
        ax.axhline(threshold, color="tab:green", ls=":", lw=0.8)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("probability")
        ax.legend(loc="upper right", fontsize="small", ncol=3)
        for p in inside:
            colour = colours.get((p.phase_hint or "")[:1].upper(), "grey")
            for a in axes:
                a.axvline(p.time - t0, color=colour, lw=1.0, ls="--")
        ax.set_xlabel(f"seconds after {t0.isoformat()}")
        axes[0].set_title(f"{sensor}  detection {start.strftime('%Y-%m-%d %H:%M:%S')} – "
                          f"{end.strftime('%H:%M:%S')}  ({len(inside)} picks)")
        path = save_figure(fig, directory / f"{safe_name(sensor)}_{start.strftime('%Y%m%dT%H%M%S')}.png", dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths

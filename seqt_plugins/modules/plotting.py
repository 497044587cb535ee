"""``--plot DIR``: one PNG per detection with the three components and the D/P/S probabilities.

A detection is a run of the detection probability above the threshold (runs closer than
``merge`` seconds are joined); the plot spans the run with ``pad`` seconds either side. The
components are band-passed as EqT sees them (1-45 Hz, stated on the figure) and share one
amplitude axis in counts, so noise does not look like signal; P is marked on the vertical, S on
the horizontals; the probabilities carry their thresholds, and a legend explains every line.
Time runs in s after a whole minute (UTC).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from seqt_plugins.picker.prepare import FREQMAX, FREQMIN
from seqt_plugins.plotbase import new_figure, plural, round_reference, safe_name, save_figure, utc_label


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


def _display_filter(stream, freqmin: float = FREQMIN, freqmax: float = FREQMAX):
    """A copy band-passed as EqT sees it (1-45 Hz, 2 corners, zero phase), so the plot shows what
    was picked; returns (stream, the band actually applied, or None where the Nyquist frequency
    left none)."""
    out = stream.copy()
    out.merge(method=1, fill_value=0)
    band = None
    for tr in out:
        tr.data = tr.data.astype(np.float64)
        tr.detrend("demean")
        tr.taper(0.01)
        nyq = tr.stats.sampling_rate / 2.0
        if nyq > freqmin * 2:
            band = (freqmin, min(freqmax, 0.9 * nyq))
            tr.filter("bandpass", freqmin=band[0], freqmax=band[1], corners=2, zerophase=True)
    return out, band


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


def _component_order(tr) -> Tuple[int, str]:
    """Z first, then N/E (1/2): P is read on the vertical, S on the horizontals."""
    return ("Z3NE12".find(tr.stats.channel[-1:]) % 10, tr.id)


def _is_horizontal(channel: str) -> bool:
    return channel[-1:] in ("N", "E", "1", "2")


def _sensor(components, annotations) -> str:
    """NET.STA.LOC.CH of the figure (its components', else its probabilities')."""
    head = sorted(components, key=_component_order)[0] if len(components) else next(iter(annotations))
    return f"{head.stats.network}.{head.stats.station}.{head.stats.location}.{head.stats.channel[:2]}"


def detection_figure(stream, annotations, picks: Sequence, start, end, thresholds: Dict[str, float],
                     pad: float = 10.0, filtered=None):
    """The figure of one detection [start, end]: a panel per component on one amplitude scale
    (counts), P marked on the vertical, S on the horizontals, and the D/P/S probabilities with
    their thresholds; time in s after a whole minute (UTC). Returns a matplotlib Figure.

    ``thresholds``: 'D', 'P', 'S' → the probability each needs (absent keys are not drawn);
    ``filtered``: the result of :func:`_display_filter` when the caller draws several detections.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    components, band = filtered if filtered is not None else _display_filter(stream)
    components = sorted(components, key=_component_order)
    t0, t1 = start - pad, end + pad
    ref = round_reference(t0)
    inside = sorted((p for p in picks if t0 <= p.time <= t1), key=lambda p: p.time)
    sensor = _sensor(components, annotations)
    # P is read on the vertical, S on the horizontals; a sensor lacking one shows it on the others
    has_h = any(_is_horizontal(tr.stats.channel) for tr in components)
    has_v = any(not _is_horizontal(tr.stats.channel) for tr in components)
    n = len(components) + 1
    fig = new_figure((11, 1.55 * n + 1.3))
    axes = fig.subplots(n, 1, sharex=True)
    axes = np.atleast_1d(axes)
    peak = 0.0
    parts = [tr.slice(t0, t1) for tr in components]
    for part in parts:
        if len(part.data):
            peak = max(peak, float(np.max(np.abs(part.data))))
    colours: Dict[str, str] = {"D": "tab:green", "P": "tab:blue", "S": "tab:red"}
    names = {"D": "detection", "P": "P", "S": "S"}
    for ax, tr, part in zip(axes, components, parts):
        if len(part.data):
            ax.plot(part.times(reftime=ref), part.data, "k", lw=0.5)
        ax.set_ylim(-1.08 * (peak or 1.0), 1.08 * (peak or 1.0))  # one scale for all components
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
        ax.yaxis.get_offset_text().set_fontsize(7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("counts", fontsize=8)
        ax.text(0.005, 0.93, tr.stats.channel, transform=ax.transAxes, fontsize=8, fontweight="bold",
                va="top", ha="left", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        for p in inside:
            phase = (p.phase_hint or "")[:1].upper()
            horizontal = _is_horizontal(tr.stats.channel)
            if (phase == "P" and (not horizontal or not has_v)) or (phase == "S" and (horizontal or not has_h)):
                ax.axvline(p.time - ref, color=colours[phase], lw=1.3)
                ax.text(p.time - ref, 0.97, f" {phase}", transform=ax.get_xaxis_transform(), color=colours[phase],
                        fontsize=9, fontweight="bold", va="top", ha="left")
    ax = axes[-1]
    handles = []
    for tr in annotations:
        kind = _kind(tr)
        if not kind:
            continue
        part = tr.slice(t0, t1)
        if len(part.data):
            ax.plot(part.times(reftime=ref), part.data, color=colours[kind], lw=1.0)
    for kind in ("D", "P", "S"):
        if any(_kind(tr) == kind for tr in annotations):
            handles.append(Line2D([], [], color=colours[kind], lw=1.0, label=f"{names[kind]} probability (EqT)"))
    for kind in ("D", "P", "S"):
        if kind in thresholds and thresholds[kind] is not None:
            # the detection threshold dashed and below, so that an equal P threshold stays visible
            style = {"ls": "--", "lw": 1.4, "zorder": 1} if kind == "D" else {"ls": ":", "lw": 1.2, "zorder": 2}
            ax.axhline(thresholds[kind], color=colours[kind], **style)
            handles.append(Line2D([], [], color=colours[kind], ls=style["ls"], lw=style["lw"],
                                  label=f"{names[kind]} threshold {thresholds[kind]:.2f}"))
    ax.axvspan(start - ref, end - ref, color="tab:green", alpha=0.08, lw=0)
    handles.append(Patch(color="tab:green", alpha=0.15, label="detection span"))
    for p in inside:
        phase = (p.phase_hint or "")[:1].upper()
        if phase in ("P", "S"):
            ax.axvline(p.time - ref, color=colours[phase], lw=1.3)
    for phase, where in (("P", "vertical"), ("S", "horizontals")):
        if any((p.phase_hint or "")[:1].upper() == phase for p in inside):
            handles.append(Line2D([], [], color=colours[phase], lw=1.3, label=f"{phase} pick (on the {where})"))
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("probability", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    ax.set_xlim(t0 - ref, t1 - ref)
    ax.set_xlabel(f"s after {utc_label(ref)}")
    for a in axes:
        a.grid(axis="x", color="0.9", lw=0.6)
    counts = ", ".join(f"{p.phase_hint} {p.time.strftime('%H:%M:%S.%f')[:11]}" for p in inside)
    fig.suptitle(f"{sensor}   detection {start.strftime('%Y-%m-%d %H:%M:%S')}–{end.strftime('%H:%M:%S')} UTC   "
                 f"{plural(len(inside), 'pick')}{': ' + counts if counts else ''}", fontsize=10)
    filt = (f"band-pass {band[0]:g}–{band[1]:g} Hz (2 corners, zero phase), as EqT sees them" if band
            else "unfiltered")
    axes[0].set_title(f"waveforms {filt}; raw counts, one amplitude scale for all components",
                      fontsize=8, color="0.3")
    return fig


def plot_detections(stream, annotations, picks: Sequence, directory, threshold: float = 0.3,
                    pad: float = 10.0, detections: Optional[Sequence[Tuple]] = None,
                    p_threshold: Optional[float] = None, s_threshold: Optional[float] = None) -> List[Path]:
    """Write one PNG per detection into ``directory`` (atomically); returns their paths.

    ``stream`` holds the sensor's components, ``annotations`` its D/P/S probability traces
    (channel suffixes _D, _P, _S), ``picks`` the picks to mark; ``threshold``, ``p_threshold``
    and ``s_threshold`` are drawn on the probabilities (the last two when given).

    ``detections`` are (start, end) times (e.g. from ``Picker.classify``); without them the
    runs of the D trace above ``threshold`` are used.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    thresholds = {"D": threshold, "P": p_threshold, "S": s_threshold}
    filtered = _display_filter(stream)
    paths = []
    spans = list(detections) if detections is not None else detection_spans(annotations, threshold)
    for start, end in spans:
        fig = detection_figure(stream, annotations, picks, start, end, thresholds, pad=pad, filtered=filtered)
        name = f"{safe_name(_sensor(filtered[0], annotations))}_{start.strftime('%Y%m%dT%H%M%S')}.png"
        paths.append(save_figure(fig, directory / name, dpi=90))
    return paths

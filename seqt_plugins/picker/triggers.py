"""Detections and phase picks from stacked, continuous EqT probability traces.

The rules are those of EqT's original predictors (Mousavi et al.'s ``mseed_predictor`` /
``predictor``, whose picks the published weights were tuned for), applied to a whole segment
instead of to one 60 s window:

1. **Events**: runs of the detection trace ≥ ``detection_threshold`` (on = off threshold);
   ``off`` is the run's last sample; runs shorter than 10 samples are ignored. The event's
   probability is ``mean(D[on:off])``.
2. **Peaks**: samples with ``x[i] > x[i-1]``, ``x[i+1] <= x[i]`` and ``x[i] >= threshold``.
   Stacking makes small steps where the covering window changes, which can add spurious
   local maxima on a flank; so peaks of one phase closer than ``min_separation`` are reduced to
   the highest (earliest on ties) *before* association. This is also the merging of picks of one
   phase on one station (the original only dropped events starting within 2 s).
3. **Association** per event: S = the earliest S peak with on < s < off; P = the most probable
   P peak with on − 100 < p < S − 10 (or < off without S). Keep the event if it has P or S.
   A pick shared by several events is reported once.
4. **Every peak inside an event is a pick**: one run of the detection trace often holds two
   earthquakes (a foreshock seconds before the main shock, a swarm, the next event's P in the
   previous one's coda), and rule 3 keeps one P and one S per run, so the second event's
   arrivals were lost (measured on the labelled arrays: 6 of 52 P, 3 of 36 S). All P peaks in
   [on − 100, off) and all S peaks in (on, off) are therefore picked; rule 3 still says which
   P and S belong to the detection itself. SeisBench's EqT picks peaks the same way (per phase,
   independently of the detection); the precision cost on the labelled sets is in the README
   ("Accuracy against analyst picks").

Each pick carries:

- ``probability``: the stacked probability at the pick, rounded to 3 decimals;
- ``uncertainty`` (s): the Gaussian-equivalent standard deviation of the probability peak,
  full width at half maximum / 2.355, at least one sample (0.01 s). EqT was trained on labels of
  fixed width, so a confident, sharp peak gives ~0.05–0.1 s and a broad, hesitant one more.
  With ``mc_passes > 0`` the traces are the Monte-Carlo means, whose peaks widen where the
  passes disagree, so the same measure includes the dropout spread;
- ``snr`` (dB): 20·log10(p95(x[i:i+1 s]) / p95(x[i−1 s:i])) over all three components of the
  band-passed (1–45 Hz) data: the original predictor's formula, but on the continuous
  filtered data rather than on one normalised window (whose per-channel scaling distorts the
  ratio); None when a side has no positive value;
- ``amplitude``: the peak absolute amplitude of the band-passed data (input units, e.g.
  counts) over all components in [pick, pick + 2 s] for P (ending at S when S is earlier) and
  [pick, pick + 3 s] for S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

MIN_EVENT_SAMPLES = 10  # off − on ≥ 10: the original predictors drop shorter detections
P_LEAD = 100  # P may precede the detection onset by up to 1 s
PS_GAP = 10  # P must precede S by more than 0.1 s
SNR_WINDOW = 100  # 1 s
P_AMP_WINDOW = 200
S_AMP_WINDOW = 300


@dataclass
class PhasePick:
    phase: str
    index: int
    probability: float
    uncertainty: float  # s
    snr: Optional[float] = None
    amplitude: Optional[float] = None


@dataclass
class Detection:
    on: int
    off: int  # last sample above threshold (inclusive)
    probability: float
    p: Optional[int] = None
    s: Optional[int] = None


def trigger_runs(d: np.ndarray, threshold: float) -> List[Tuple[int, int]]:
    """[on, off] of every run of ``d >= threshold`` (off inclusive)."""
    above = np.asarray(d) >= threshold
    if not above.any():
        return []
    edges = np.diff(np.concatenate(([0], above.view(np.int8), [0])))
    ons = np.flatnonzero(edges == 1)
    offs = np.flatnonzero(edges == -1) - 1
    return list(zip(ons.tolist(), offs.tolist()))


def local_peaks(x: np.ndarray, threshold: float) -> np.ndarray:
    """Indices i (0 < i < n−1) with x[i] > x[i−1], x[i+1] <= x[i], x[i] >= threshold."""
    x = np.asarray(x)
    if len(x) < 3:
        return np.zeros(0, dtype=np.int64)
    mid = x[1:-1]
    ok = (mid > x[:-2]) & (x[2:] <= mid) & (mid >= threshold)
    return np.flatnonzero(ok) + 1


def suppress(peaks: np.ndarray, x: np.ndarray, distance: int) -> np.ndarray:
    """Keep the highest peak (earliest on ties) within ``distance`` samples; returns sorted indices."""
    peaks = np.asarray(peaks, dtype=np.int64)
    if distance <= 0 or len(peaks) < 2:
        return peaks
    order = np.lexsort((peaks, -x[peaks]))  # by probability desc, then time asc
    kept = []
    taken = np.zeros(len(peaks), dtype=bool)
    for k in order:
        if taken[k]:
            continue
        p = peaks[k]
        kept.append(p)
        lo, hi = np.searchsorted(peaks, [p - distance + 1, p + distance], side="left")
        taken[lo:hi] = True
    return np.sort(np.asarray(kept, dtype=np.int64))


def associate(runs, d, p_trace, s_trace, p_peaks, s_peaks) -> List[Detection]:
    """Rule 3 of the module docstring (the original predictors' association) on continuous
    traces; peaks are sorted index arrays."""
    dets = []
    for on, off in runs:
        if off - on < MIN_EVENT_SAMPLES:
            continue
        s_idx = None
        lo, hi = np.searchsorted(s_peaks, [on + 1, off])
        if hi > lo:
            s_idx = int(s_peaks[lo])
        p_hi = (s_idx - PS_GAP) if s_idx is not None else off
        lo, hi = np.searchsorted(p_peaks, [on - P_LEAD + 1, p_hi])
        p_idx = None
        if hi > lo:
            cand = p_peaks[lo:hi]
            p_idx = int(cand[np.argmax(p_trace[cand])])  # argmax: first of equal maxima
        if p_idx is None and s_idx is None:
            continue
        prob = float(np.round(np.mean(d[on:off]), 3))
        dets.append(Detection(on, off, prob, p_idx, s_idx))
    return dets


def peak_uncertainty(x: np.ndarray, i: int) -> float:
    """Gaussian-equivalent σ (s) of the probability peak at i: FWHM / 2.355, ≥ 0.01 s."""
    half = x[i] / 2.0
    n = len(x)
    left = i
    while left > 0 and x[left - 1] >= half:
        left -= 1
    right = i
    while right < n - 1 and x[right + 1] >= half:
        right += 1
    fwhm = (right - left + 1) / 100.0
    return round(max(0.01, fwhm / 2.3548), 3)


def snr_db(data: np.ndarray, i: int, w: int = SNR_WINDOW) -> Optional[float]:
    if i - w < 0 or i + w > len(data):
        w = min(i, len(data) - i)
        if w < 10:
            return None
    after = np.percentile(data[i : i + w], 95)
    before = np.percentile(data[i - w : i], 95)
    return _snr_value(after, before)


def _snr_value(after, before) -> Optional[float]:
    if after <= 0 or before <= 0:
        return None
    return round(float(20.0 * np.log10(after / before)), 1)


def percentile_rows(rows: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(row, q)`` of each row of a float32 array, bit for bit (float64).

    One call for all picks instead of two ``np.percentile`` calls per pick (most of the
    triggers' time on busy records). Written out because numpy interpolates the two float32
    neighbours of a single row in float64 (scalar promotion) but those of a 2-D array in
    float32: here the neighbours' difference is taken in float32 and the interpolation done in
    float64, as for one row (numpy's "linear" method; tests/test_picker_triggers.py compares).
    """
    rows = np.asarray(rows)
    n = rows.shape[1]
    virtual = (n - 1) * np.true_divide(q, 100)
    if virtual >= n - 1:
        return rows.max(axis=1).astype(np.float64)
    lo = int(np.floor(virtual))
    gamma = virtual - lo
    part = np.partition(rows, [lo, lo + 1], axis=1)
    a, b = part[:, lo], part[:, lo + 1]
    diff = (b - a).astype(np.float64)
    if gamma >= 0.5:
        return b.astype(np.float64) - diff * (1 - gamma)
    return a.astype(np.float64) + diff * gamma


def snr_many(data: np.ndarray, indices, w: int = SNR_WINDOW) -> List[Optional[float]]:
    """``snr_db(data, i, w)`` of each index; those with full windows on both sides together."""
    out: List[Optional[float]] = [None] * len(indices)
    full = []
    for k, i in enumerate(indices):
        if i - w < 0 or i + w > len(data):
            out[k] = snr_db(data, i, w)
        else:
            full.append(k)
    if full:
        idx = np.asarray([indices[k] for k in full], dtype=np.int64)[:, None] + np.arange(w)
        after = percentile_rows(data[idx].reshape(len(full), -1), 95)
        before = percentile_rows(data[idx - w].reshape(len(full), -1), 95)
        for k, a, b in zip(full, after, before):
            out[k] = _snr_value(a, b)
    return out


def peak_amplitude(data: np.ndarray, i: int, length: int) -> Optional[float]:
    part = data[i : i + max(1, length)]
    if len(part) == 0:
        return None
    return float(np.abs(part).max())


def p_peak_candidates(d: np.ndarray, p: np.ndarray, p_threshold: float, p_threshold_strong: float = 0.0,
                      strong_detection: float = 1.0) -> np.ndarray:
    """P peaks from ``p_threshold`` on, and from ``p_threshold_strong`` on inside a detection run
    that reaches ``strong_detection`` (rules 1 and 3 with that threshold): where EqT is sure an
    earthquake is at the station, a weaker P peak still marks its onset. Off unless
    0 < ``p_threshold_strong`` < ``p_threshold``."""
    if not 0.0 < p_threshold_strong < p_threshold:
        return local_peaks(p, p_threshold)
    peaks = local_peaks(p, p_threshold_strong)
    if not len(peaks):
        return peaks
    return peaks[(p[peaks] >= p_threshold) | p_peaks_in_runs(peaks, d, strong_detection)]


def p_peaks_in_runs(peaks: np.ndarray, d: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of the (sorted) P peaks that lie in a detection run at ``threshold`` of at least
    MIN_EVENT_SAMPLES, a P allowed up to P_LEAD before the run (rules 1 and 3)."""
    keep = np.zeros(len(peaks), dtype=bool)
    for on, off in trigger_runs(d, threshold):
        if off - on >= MIN_EVENT_SAMPLES:
            keep[np.searchsorted(peaks, on - P_LEAD + 1):np.searchsorted(peaks, off)] = True
    return keep


def find_picks(
    probs: np.ndarray,
    data: np.ndarray,
    detection_threshold: float,
    p_threshold: float,
    s_threshold: float,
    min_separation: int,
    p_detection_threshold: float = 0.0,
    p_threshold_strong: float = 0.0,
    strong_detection: float = 1.0,
) -> Tuple[List[Detection], List[PhasePick]]:
    """Detections and picks of one segment. ``probs`` (3, n): D, P, S; ``data`` (n, 3) filtered.
    ``p_detection_threshold``: a P peak is kept only where the detection trace reaches this in
    its event too (rules 1 and 3 with this threshold; no effect at or below
    ``detection_threshold``): a P pick needs EqT to be sure an earthquake is there.
    ``p_threshold_strong``/``strong_detection``: see ``p_peak_candidates``."""
    d, p, s = probs
    runs = trigger_runs(d, detection_threshold)
    if not runs:
        return [], []
    p_peaks = suppress(p_peak_candidates(d, p, p_threshold, p_threshold_strong, strong_detection), p, min_separation)
    if p_detection_threshold > detection_threshold and len(p_peaks):
        p_peaks = p_peaks[p_peaks_in_runs(p_peaks, d, p_detection_threshold)]
    s_peaks = suppress(local_peaks(s, s_threshold), s, min_separation)
    dets = associate(runs, d, p, s, p_peaks, s_peaks)
    picks = {}
    inside = [(phase, int(i)) for on, off in runs if off - on >= MIN_EVENT_SAMPLES
              for phase, peaks, lo, hi in (("P", p_peaks, on - P_LEAD + 1, off), ("S", s_peaks, on + 1, off))
              for i in peaks[np.searchsorted(peaks, lo):np.searchsorted(peaks, hi)]]
    # the SNR of every pick's sample at once: the detections' P and S and all peaks inside events
    at = sorted({i for d in dets for i in (d.p, d.s) if i is not None} | {i for _, i in inside})
    snr = dict(zip(at, snr_many(data, at)))
    for det in dets:
        if det.p is not None and ("P", det.p) not in picks:
            end = P_AMP_WINDOW if det.s is None else max(1, min(P_AMP_WINDOW, det.s - det.p))
            picks[("P", det.p)] = PhasePick(
                "P", det.p, round(float(p[det.p]), 3), peak_uncertainty(p, det.p),
                snr[det.p], peak_amplitude(data, det.p, end),
            )
        if det.s is not None and ("S", det.s) not in picks:
            picks[("S", det.s)] = PhasePick(
                "S", det.s, round(float(s[det.s]), 3), peak_uncertainty(s, det.s),
                snr[det.s], peak_amplitude(data, det.s, S_AMP_WINDOW),
            )
    for phase, i in inside:  # rule 4: the other peaks inside events
        if (phase, i) in picks:
            continue
        if phase == "P":
            nxt = [q for q in s_peaks[np.searchsorted(s_peaks, i + 1):][:1]]
            end = P_AMP_WINDOW if not nxt else max(1, min(P_AMP_WINDOW, int(nxt[0]) - i))
            picks[("P", i)] = PhasePick("P", i, round(float(p[i]), 3), peak_uncertainty(p, i),
                                        snr[i], peak_amplitude(data, i, end))
        else:
            picks[("S", i)] = PhasePick("S", i, round(float(s[i]), 3), peak_uncertainty(s, i),
                                        snr[i], peak_amplitude(data, i, S_AMP_WINDOW))
    return dets, sorted(picks.values(), key=lambda pk: (pk.index, pk.phase))

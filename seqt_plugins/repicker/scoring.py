"""Training-free scoring: latent-feature correlations → one z-score trace per search window.

The rule (a refinement of spec ``seqt.md`` §11, chosen with ``benchmarks/repick_quality.py``):

1. Per template and tap (the seven decoder taps of the phase's branch): cut the template
   (P→S for a full template, a fixed window around the pick for a phase-only one), enhance both
   maps (§3), correlate per channel (§4), average over channels.
2. Turn each tap's trace into a z-score over the window's inner 5,600 samples (scaled to the tap
   length): absolute correlation values depend on the template's length and content and did not
   separate good from bad re-picks, the peak's prominence over the rest of the window does.
3. Move each correlation index to the arrival it implies: the template's own pick lands on the
   arrival, arrival = i − ⌊(Lt−1)/2⌋ + (t_pick·L − s); resample to 100 Hz by linear
   interpolation on the continuous coordinate u = sample·L/6000.
4. Average over the taps, then over the templates (evidence from several stations adds up; one
   template's spurious peak is diluted).
5. The pick is the maximum inside the search interval (geometry window, window edges excluded);
   it is kept when z ≥ ``z_threshold``. Its probability is 1 − 2^(−z/z_threshold): 0.5 at the
   threshold, → 1 for strong peaks (a monotone, bounded stand-in: no calibration is claimed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np

from .correlation import WINDOW, correlate_batch, correlate_pair, cut_bounds, enhance_search, enhance_template

INNER = (200, 5800)


@dataclass
class Template:
    """One template: its window's tap maps and where the cut and the pick lie (window fractions)."""

    station: str
    phase: str
    pick_id: str
    probability: float
    start_frac: float  # cut start (tP for a full template)
    end_frac: float  # cut end (tS for a full template)
    pick_frac: float  # the searched phase's pick
    maps: Dict[str, np.ndarray]
    full: bool = True


@dataclass
class PreparedTemplate:
    """Enhanced cut per tap and the lag offsets of step 3."""

    cuts: Dict[str, np.ndarray]
    centre: Dict[str, int]
    offset: Dict[str, float]


def prepare_template(t: Template, names: Sequence[str], divide: bool = True, eps: float = 1e-3) -> PreparedTemplate:
    cuts, centre, offset = {}, {}, {}
    for n in names:
        F = t.maps[n]
        L = F.shape[0]
        s, e = cut_bounds(t.start_frac, t.end_frac, L)
        e = max(e, s + 1)
        cuts[n] = enhance_template(F[s:e], eps=eps, divide=divide)
        centre[n] = (e - s - 1) // 2
        offset[n] = t.pick_frac * L - s
    return PreparedTemplate(cuts, centre, offset)


def zscore(c: np.ndarray) -> np.ndarray:
    """z-score along the last axis, statistics over the inner 5,600 of 6,000 samples (scaled)."""
    L = c.shape[-1]
    i0 = int(INNER[0] * L // WINDOW)
    i1 = max(i0 + 2, int(-(-INNER[1] * L // WINDOW)))
    inner = c[..., i0:i1]
    sd = inner.std(axis=-1, keepdims=True)
    sd = np.where(sd > 0, sd, 1.0)
    return (c - inner.mean(axis=-1, keepdims=True)) / sd


def to_arrival_trace(z: np.ndarray, centre: int, offset: float) -> np.ndarray:
    """Tap trace(s) (..., L) → 100 Hz trace(s) (..., 6000) indexed by implied arrival sample.

    Linear interpolation (``np.interp``'s rule, zero outside the trace), all rows at once.
    """
    L = z.shape[-1]
    u = np.arange(WINDOW) * (L / WINDOW)  # continuous tap coordinate of each 100 Hz sample
    i = u + centre - offset  # correlation index whose implied arrival is u
    flat = np.asarray(z, dtype=np.float64).reshape(-1, L)
    if L < 2:
        out = np.stack([np.interp(i, np.arange(L), row, left=0.0, right=0.0) for row in flat])
        return out.reshape(z.shape[:-1] + (WINDOW,))
    valid = (i >= 0) & (i <= L - 1)
    j = np.clip(np.floor(i).astype(np.int64), 0, L - 2)
    w = np.where(valid, i - j, 0.0)
    a = flat[:, j]
    out = a + (flat[:, j + 1] - a) * w
    out[:, ~valid] = 0.0
    return out.reshape(z.shape[:-1] + (WINDOW,))


def score_batched(templates: Sequence[PreparedTemplate], searches: Sequence[Dict[str, np.ndarray]],
                  names: Sequence[str], eps: float = 1e-3) -> np.ndarray:
    """All templates × searches: (nT, nS, 6000) tap-mean z traces (steps 1–4 without the template mean)."""
    nT, nS = len(templates), len(searches)
    total = np.zeros((nT, nS, WINDOW))
    if nT == 0 or nS == 0:
        return total
    for n in names:
        S = enhance_search(np.stack([s[n] for s in searches]), eps=eps)
        c = correlate_batch([t.cuts[n] for t in templates], S)  # (nT, nS, L)
        z = zscore(c)
        for j, t in enumerate(templates):
            total[j] += to_arrival_trace(z[j], t.centre[n], t.offset[n])
    return total / len(names)


def score_pair(template: PreparedTemplate, search: Dict[str, np.ndarray], names: Sequence[str],
               eps: float = 1e-3) -> np.ndarray:
    """One template × one search window (the reference path): (6000,) tap-mean z trace."""
    total = np.zeros(WINDOW)
    for n in names:
        S = enhance_search(search[n], eps=eps)
        c = correlate_pair(template.cuts[n], S).mean(axis=1)
        total += to_arrival_trace(zscore(c), template.centre[n], template.offset[n])
    return total / len(names)


def probability_from_z(z: float, threshold: float) -> float:
    return float(1.0 - 2.0 ** (-max(z, 0.0) / max(threshold, 1e-9)))

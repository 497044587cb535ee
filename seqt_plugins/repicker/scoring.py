"""Training-free scoring: latent-feature correlations → one z-score trace per search window.

S-EqT's paper scores pairs with a trained head and gives no rule for the raw correlations; this
one was chosen with ``benchmarks/repick_quality.py`` (EqT arrivals hidden on Hengill, re-picked):

1. Per template and tap (the seven decoder taps of the phase's branch): cut the template
   (P→S for a full template, a fixed window around the pick for a phase-only one), enhance both
   maps and correlate per channel as S-EqT does (:mod:`.correlation`), average over channels.
2. Turn each tap's trace into a robust z-score (median, MAD) over the window's inner 5,600
   samples (scaled to the tap length): absolute correlation values depend on the template's length and content and did not
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

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse

from .correlation import (WINDOW, correlate_mean_cf, correlate_pair, cut_bounds, enhance_search, enhance_search_cf,
                          enhance_template, fft_length, real_length)

INNER = (200, 5800)
MAD_TO_SIGMA = 1.4826  # the MAD of Gaussian noise times this is its standard deviation


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
    """Enhanced cut per tap and the lag offsets of step 3.

    ``cuts_cf``: the cuts channels first (C, Lt), as the batched correlation takes them;
    ``lengths``: each tap's length L. ``arrival_matrix`` is built once per template and tap set.
    """

    cuts: Dict[str, np.ndarray]
    centre: Dict[str, int]
    offset: Dict[str, float]
    cuts_cf: Dict[str, np.ndarray] = field(default_factory=dict)
    lengths: Dict[str, int] = field(default_factory=dict)
    _arrival: Dict[Tuple[str, ...], sparse.csr_matrix] = field(default_factory=dict, repr=False)

    def arrival_matrix(self, names: Sequence[str]) -> sparse.csr_matrix:
        key = tuple(names)
        if key not in self._arrival:
            self._arrival[key] = arrival_matrix([self.lengths[n] for n in names], [self.centre[n] for n in names],
                                                [self.offset[n] for n in names])
        return self._arrival[key]


def prepare_template(t: Template, names: Sequence[str], divide: bool = True, eps: float = 1e-3) -> PreparedTemplate:
    cuts, centre, offset, cuts_cf, lengths = {}, {}, {}, {}, {}
    for n in names:
        F = t.maps[n]
        L = F.shape[0]
        s, e = cut_bounds(t.start_frac, t.end_frac, L)
        e = max(e, s + 1)
        cuts[n] = enhance_template(F[s:e], eps=eps, divide=divide)
        cuts_cf[n] = np.ascontiguousarray(cuts[n].T)
        centre[n] = (e - s - 1) // 2
        offset[n] = t.pick_frac * L - s
        lengths[n] = L
    return PreparedTemplate(cuts, centre, offset, cuts_cf, lengths)


def zscore(c: np.ndarray, length: Optional[int] = None) -> np.ndarray:
    """Robust z-score along the last axis, over the inner 5,600 of 6,000 samples (scaled).

    Median and median absolute deviation, not mean and standard deviation: a window that holds
    an event correlates strongly with the template at that station's other arrivals (its S, its
    coda, a second event), and those peaks inflated the standard deviation so much that a real
    but weak arrival never stood out. Measured with ``benchmarks/accuracy.py`` on the labelled
    arrays: the picker's misses recovered rose from 1 to 3 of 5 P (ensemble picker) and from 1 to
    3 of 12 P (conservative picker) with no wrong re-pick, leave-one-out P from 24 to 27 of 28
    (conservative picker), the same at SNR ÷ 3.

    ``length``: of a window padded after its data, the tap samples over real data
    (``correlation.real_length``): the statistics skip the padding as they skip the edges.
    """
    L = c.shape[-1]
    i0 = int(INNER[0] * L // WINDOW)
    i1 = max(i0 + 2, int(-(-INNER[1] * L // WINDOW)))
    if length is not None and length < L:  # a padded window: the inner part of its real samples
        i1 = max(i0 + 2, min(i1, int(length) - (L - i1)))
    inner = c[..., i0:i1]
    centre = np.median(inner, axis=-1, keepdims=True)
    sd = MAD_TO_SIGMA * np.median(np.abs(inner - centre), axis=-1, keepdims=True)
    sd = np.where(sd > 0, sd, 1.0)
    return (c - centre) / sd


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


def arrival_matrix(lengths: Sequence[int], centres: Sequence[int], offsets: Sequence[float]) -> sparse.csr_matrix:
    """``to_arrival_trace`` of several taps, summed, as one sparse (6000, ΣL) matrix.

    Row u holds, for each tap, the two interpolation weights of the correlation samples whose
    implied arrival is u (zero where it falls outside the trace), columns offset by the lengths
    of the taps before. ``M @ concat(z_taps)`` resamples and sums all taps in one pass instead
    of one gather-and-blend per tap and pair; each row has the same number of entries (2 per
    tap), so the CSR arrays are built directly, without sorting.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    k = len(lengths)
    if k == 0 or lengths.min() < 2:
        raise ValueError(f"tap lengths must be at least 2, not {lengths.tolist()}")
    u = np.arange(WINDOW, dtype=np.float64)[:, None]
    # the expression of to_arrival_trace, one column per tap: (u·L/6000 + centre) − offset
    i = u * (lengths / WINDOW) + np.asarray(centres, dtype=np.float64) - np.asarray(offsets, dtype=np.float64)
    valid = (i >= 0) & (i <= lengths - 1)
    j = np.clip(np.floor(i).astype(np.int64), 0, lengths - 2)
    w = np.where(valid, i - j, 0.0)
    cols = np.empty((WINDOW, k, 2), dtype=np.int64)  # row u: (tap, lower/upper sample)
    cols[..., 0] = j + (np.cumsum(lengths) - lengths)
    cols[..., 1] = cols[..., 0] + 1
    vals = np.empty((WINDOW, k, 2))
    vals[..., 0] = np.where(valid, 1.0 - w, 0.0)
    vals[..., 1] = w
    indptr = np.arange(0, WINDOW * 2 * k + 1, 2 * k)
    return sparse.csr_matrix((vals.ravel(), cols.ravel(), indptr), shape=(WINDOW, int(lengths.sum())))


def score_batched(templates: Sequence[PreparedTemplate], searches: Sequence[Dict[str, np.ndarray]],
                  names: Sequence[str], eps: float = 1e-3, valid: Optional[Sequence[Optional[int]]] = None) -> np.ndarray:
    """All templates × searches: (nT, nS, 6000) tap-mean z traces (steps 1–4 without the template mean).

    Per tap: the search maps are enhanced once (channels first) and correlated with every
    template through FFTs, then z-scored; per template, one sparse product resamples and sums
    the z traces of all taps (``arrival_matrix``). ``valid``: per search, the real samples of a
    window padded after its data (None: a full window); its enhancement and z-score skip the
    padding.
    """
    valid = [None] * len(searches) if valid is None else list(valid)
    padded = [k for k, v in enumerate(valid) if v is not None and v < WINDOW]
    nT, nS = len(templates), len(searches)
    total = np.zeros((nT, nS, WINDOW))
    if nT == 0 or nS == 0:
        return total
    zs = []
    for n in names:
        L, C = searches[0][n].shape
        cuts = [t.cuts_cf[n] for t in templates]
        S = np.zeros((nS, C, fft_length(L, cuts)))  # zero-padded for the FFT, enhanced in place
        for k, s in enumerate(searches):
            S[k, :, :L] = s[n].T
        if not padded:
            enhance_search_cf(S[..., :L], eps)
        else:  # one map at a time (views: in place), each to its own real length
            for k in range(nS):
                enhance_search_cf(S[k, :, :L], eps, real_length(valid[k], L))
        c = correlate_mean_cf(cuts, S, L)  # (nT, nS, L)
        z = zscore(c)
        for k in padded:
            z[:, k] = zscore(c[:, k], real_length(valid[k], L))
        zs.append(z)
    for j, t in enumerate(templates):
        z = np.concatenate([zn[j] for zn in zs], axis=-1)  # (nS, ΣL)
        total[j] = (t.arrival_matrix(names) @ z.T).T
    total /= len(names)
    return total


def score_pair(template: PreparedTemplate, search: Dict[str, np.ndarray], names: Sequence[str],
               eps: float = 1e-3, valid: Optional[int] = None) -> np.ndarray:
    """One template × one search window (the reference path): (6000,) tap-mean z trace."""
    total = np.zeros(WINDOW)
    for n in names:
        length = real_length(valid, search[n].shape[0]) if valid is not None else None
        S = enhance_search(search[n], eps=eps, length=length)
        c = correlate_pair(template.cuts[n], S).mean(axis=1)
        total += to_arrival_trace(zscore(c, length), template.centre[n], template.offset[n])
    return total / len(names)


def probability_from_z(z: float, threshold: float) -> float:
    return float(1.0 - 2.0 ** (-max(z, 0.0) / max(threshold, 1e-9)))

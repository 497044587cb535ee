"""S-EqT's template cut, enhancement and correlation (spec ``seqt.md`` §3–4), batched and per pair.

Feature maps are (L, C) arrays (time, channel) of one tapped layer. ``correlate_pair`` is the
reference: the spec's formula, one template and one search window at a time, by direct sums.
``correlate_batch`` scores all templates × all search windows of an event in one call through
FFTs, templates zero-padded to the longest (padding at the end leaves every template's centre
``⌊(Lt−1)/2⌋`` unchanged, because the output index is shifted per template).
"""

from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import numpy as np
from scipy import fft as sfft

WINDOW = 6000


def cut_bounds(start_frac: float, end_frac: float, L: int) -> Tuple[int, int]:
    """Template cut [s, e) in a tap of length L from window fractions (spec §3).

    For a P→S template ``start_frac``/``end_frac`` are tP/tS (pick sample / 6000):
    s = ⌊tP·L⌋ − 1, e = ⌊tS·L⌋ + 1, clipped to [0, L].
    """
    s = int(math.floor(start_frac * L)) - 1
    e = int(math.floor(end_frac * L)) + 1
    return max(0, s), min(L, e)


def edge_width(L: int) -> int:
    """h = ⌊200·L/6000⌋ + 1: the clamped edge of a search map."""
    return int(math.floor(200 * L / WINDOW)) + 1


def _unit(y: np.ndarray, eps: float) -> np.ndarray:
    y = -y
    y = y - y.mean(axis=-2, keepdims=True)
    m = np.abs(y).max(axis=-2, keepdims=True)
    m = np.where(m < eps, 1.0, m)
    return y / m


def enhance_search(F: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Search-map enhancement per channel: y = x − max x, clamp edges, negate, demean, /max|y|.

    ``F``: (..., L, C); returns float64 of the same shape.
    """
    y = np.asarray(F, dtype=np.float64)
    y = y - y.max(axis=-2, keepdims=True)
    L = y.shape[-2]
    h = edge_width(L)
    if 0 < h < L:
        y = y.copy()
        y[..., :h, :] = y[..., h : h + 1, :]
        y[..., L - h :, :] = y[..., L - h : L - h + 1, :]
    return _unit(y, eps)


def enhance_template(T: np.ndarray, eps: float = 1e-3, divide: bool = True) -> np.ndarray:
    """Template enhancement: as the search's without edge clamping, then / Lt (training)."""
    y = np.asarray(T, dtype=np.float64)
    y = y - y.max(axis=-2, keepdims=True)
    y = _unit(y, eps)
    if divide:
        y = y / y.shape[-2]
    return y


def correlate_pair(T: np.ndarray, S: np.ndarray) -> np.ndarray:
    """C[i, c] = Σ_k T[k, c] · S[i + k − ⌊(Lt−1)/2⌋, c], zero padding, i = 0 … L−1 (spec §4).

    The reference implementation: direct sums, one pair. T (Lt, C), S (L, C) → (L, C).
    """
    Lt, C = T.shape
    L = S.shape[0]
    m = (Lt - 1) // 2
    out = np.zeros((L, C), dtype=np.float64)
    for k in range(Lt):
        shift = k - m  # out[i] += T[k] * S[i + shift]
        i0, i1 = max(0, -shift), min(L, L - shift)
        if i1 > i0:
            out[i0:i1] += T[k] * S[i0 + shift : i1 + shift]
    return out


def correlate_batch(templates: Sequence[np.ndarray], searches: np.ndarray, channel_mean: bool = True) -> np.ndarray:
    """All templates × all search maps at once (FFT). Same values as ``correlate_pair``.

    ``templates``: list of (Lt_j, C); ``searches``: (nS, L, C).
    Returns (nT, nS, L) channel means when ``channel_mean`` (the mean commutes with the
    correlation, so channels are summed in the frequency domain), else (nT, nS, L, C).
    """
    searches = np.asarray(searches, dtype=np.float64)
    nS, L, C = searches.shape
    nT = len(templates)
    if nT == 0 or nS == 0:
        shape = (nT, nS, L) if channel_mean else (nT, nS, L, C)
        return np.zeros(shape)
    lmax = max(t.shape[0] for t in templates)
    n = sfft.next_fast_len(L + lmax, real=True)
    tpad = np.zeros((nT, n, C))
    for j, t in enumerate(templates):
        tpad[j, : t.shape[0]] = t
    Tf = np.conj(sfft.rfft(tpad, axis=1))
    Sf = sfft.rfft(searches, n=n, axis=1)
    if channel_mean:
        prod = np.einsum("tfc,sfc->tsf", Tf, Sf) / C
        r = sfft.irfft(prod, n=n, axis=-1)  # r[d] = Σ_k T[k] S[k + d] (circular, no wrap overlap)
    else:
        prod = Tf[:, None] * Sf[None]
        r = np.moveaxis(sfft.irfft(prod, n=n, axis=2), 2, -2)  # (nT, nS, n, C)
    out = np.empty((nT, nS, L) + (() if channel_mean else (C,)))
    idx = np.arange(L)
    for j, t in enumerate(templates):
        m = (t.shape[0] - 1) // 2
        out[j] = np.take(r[j], (idx - m) % n, axis=1)
    return out

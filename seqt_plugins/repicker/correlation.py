"""S-EqT's template cut, enhancement and correlation (Xiao et al. 2021): the one implementation.

Both template-matching paths use these functions: the training-free correlation mode
(``scoring``) and the Siamese head's input preparation (``siamese.head_inputs``).

Feature maps are (L, C) arrays (time, channel) of one tapped layer. ``correlate_pair`` is the
reference: the formula itself, one template and one search window at a time, by direct sums.
``correlate`` shares one template among any number of search maps (FFT); ``correlate_batch``
scores all templates × all search windows of an event in one call through FFTs, templates
zero-padded to the longest (padding at the end leaves every template's centre ``⌊(Lt−1)/2⌋``
unchanged, because the output index is shifted per template). The correlation mode's hot path
works channels first (``enhance_search_cf``, ``correlate_mean_cf``): time on contiguous rows.

Template enhancement order: the plain reading tests ``max|y| < ε`` on the cut as it is and
divides by Lt at the end (``divide_first=False``, the default, used by the correlation mode). The authors'
training code divides the cut by Lt *before* that test as well (``divide_first=True``): the
per-channel scaling cancels for every channel except near-flat ones (max|y| < ε·Lt), which are
then left unscaled. The published Siamese heads were trained that way, so the Siamese path uses it.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np
from scipy import fft as sfft

WINDOW = 6000


def cut_bounds(start_frac: float, end_frac: float, L: int, strict: bool = False) -> Tuple[int, int]:
    """Template cut [s, e) in a tap of length L from window fractions, one sample wider than the
    picks on each side, as the authors cut it.

    For a P→S template ``start_frac``/``end_frac`` are tP/tS (pick sample / 6000):
    s = ⌊tP·L⌋ − 1, e = ⌊tS·L⌋ + 1, clipped to [0, L]; with ``strict`` a cut that needs
    clipping (or is shorter than 2) raises ValueError instead (the Siamese head's inputs).
    """
    s = int(math.floor(start_frac * L)) - 1
    e = int(math.floor(end_frac * L)) + 1
    if strict:
        if s < 0 or e > L or e - s < 2:
            raise ValueError(
                f"template picks at {start_frac * WINDOW:g} and {end_frac * WINDOW:g} samples give cut [{s}, {e}) "
                f"outside a tap of length {L}")
        return s, e
    return max(0, s), min(L, e)


def cut_template(F: np.ndarray, start_frac: float, end_frac: float, strict: bool = False) -> np.ndarray:
    """``F[s:e]`` of a tap map (L, C) for the cut of ``cut_bounds`` (at least one sample)."""
    s, e = cut_bounds(start_frac, end_frac, F.shape[0], strict)
    return np.asarray(F[s : max(e, s + 1)])


def edge_width(L: int) -> int:
    """h = ⌊200·L/6000⌋ + 1: the clamped edge of a search map."""
    return int(math.floor(200 * L / WINDOW)) + 1


def _unit(y: np.ndarray, eps: float) -> np.ndarray:
    y = -y
    y = y - y.mean(axis=-2, keepdims=True)
    m = np.abs(y).max(axis=-2, keepdims=True)
    m = np.where(m < eps, 1.0, m)
    return y / m


def enhance_search(F: np.ndarray, eps: float = 1e-3, length: Optional[int] = None) -> np.ndarray:
    """Search-map enhancement per channel: y = x − max x, clamp edges, negate, demean, /max|y|.

    ``F``: (..., L, C); returns float64 of the same shape (a view of a channels-first array).
    ``length``: as ``enhance_search_cf``'s.
    """
    x = np.ascontiguousarray(np.swapaxes(np.asarray(F), -1, -2), dtype=np.float64)
    return np.swapaxes(enhance_search_cf(x, eps, length), -1, -2)


def real_length(valid: Optional[int], L: int) -> int:
    """Tap samples of a map of length L that lie over ``valid`` real 100 Hz samples of a window
    padded after its data (None: all L), never fewer than the clamped edges need."""
    if valid is None or valid >= WINDOW:
        return L
    return min(L, max(-(-int(valid) * L // WINDOW), 2 * edge_width(L) + 2))


def enhance_search_cf(x: np.ndarray, eps: float = 1e-3, length: Optional[int] = None) -> np.ndarray:
    """``enhance_search`` in place on a float64 channels-first array (..., C, L); returns ``x``.

    The steps reduce to one affine map per channel: negating and subtracting max x cancel in the
    demeaning, so y = (mean(x̃) − x̃) / max(mean − min x̃, max x̃ − mean) for the clamped x̃, whose
    extrema are those of the unclamped interior. Channels-first keeps every reduction and the
    FFT that follows on contiguous rows (the (L, C) layout made them strided, and slow).

    ``length`` (a map of a window padded after its data, see ``real_length``): the map ends
    there: its end is clamped from ``length − h`` over the padding, and the scaling is taken
    over the first ``length`` samples, so zeros that are not data weigh in neither.
    """
    L = x.shape[-1]
    n = L if length is None else int(length)
    h = edge_width(L)
    if 0 < h < n:
        x[..., :h] = x[..., h : h + 1]
        x[..., n - h :] = x[..., n - h : n - h + 1]
    real = x[..., :n]
    mean = real.mean(axis=-1, keepdims=True)
    m = np.maximum(mean - real.min(axis=-1, keepdims=True), real.max(axis=-1, keepdims=True) - mean)
    m = np.where(m < eps, 1.0, m)
    x -= mean
    x /= -m
    return x


def enhance_template(T: np.ndarray, eps: float = 1e-3, divide: bool = True, divide_first: bool = False) -> np.ndarray:
    """Template enhancement: as the search's without edge clamping, then / Lt (training).

    ``divide=False``: no /Lt (tutorial_02). ``divide_first`` (only with ``divide``): also divide
    the cut by Lt before the enhancement, as the authors' training code does, so the ``max|y| < ε``
    test sees x/Lt (see the module doc). ``T``: (..., Lt, C); returns float64 of the same shape.
    """
    y = np.asarray(T, dtype=np.float64)
    lt = y.shape[-2]
    if divide and divide_first:
        y = y / lt
    y = y - y.max(axis=-2, keepdims=True)
    y = _unit(y, eps)
    if divide:
        y = y / lt
    return y


def correlate_pair(T: np.ndarray, S: np.ndarray) -> np.ndarray:
    """C[i, c] = Σ_k T[k, c] · S[i + k − ⌊(Lt−1)/2⌋, c], zero padding, i = 0 … L−1: the authors'
    depthwise convolution (template as filter, 'same' padding), no sum over channels.

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


def correlate(T: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``correlate_pair`` of one template with many search maps at once, via FFT.

    ``T`` (Lt, C); ``S`` (..., L, C), every leading index a search map sharing the template.
    Returns float64 (..., L, C).
    """
    t = np.asarray(T, dtype=np.float64)
    s = np.asarray(S, dtype=np.float64)
    lt, L = t.shape[0], s.shape[-2]
    n = sfft.next_fast_len(L + lt, real=True)
    # r[d] = Σ_k T[k]·S[k + d]; the output is r[i − m] (negative lags wrap to the end, unmixed
    # because n ≥ L + Lt).
    r = sfft.irfft(np.conj(sfft.rfft(t, n=n, axis=0)) * sfft.rfft(s, n=n, axis=-2), n=n, axis=-2)
    return np.take(r, _lag_index(L, lt, n), axis=-2)


def _lag_index(L: int, lt: int, n: int) -> np.ndarray:
    """Indices into a circular correlation of length n giving outputs i = 0 … L−1 (lag i − m)."""
    return (np.arange(L) - (lt - 1) // 2) % n


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
    if channel_mean:
        return correlate_mean_cf([np.asarray(t, dtype=np.float64).T for t in templates],
                                 np.ascontiguousarray(searches.transpose(0, 2, 1)))
    lmax = max(t.shape[0] for t in templates)
    n = sfft.next_fast_len(L + lmax, real=True)
    tpad = np.zeros((nT, n, C))
    for j, t in enumerate(templates):
        tpad[j, : t.shape[0]] = t
    Tf = np.conj(sfft.rfft(tpad, axis=1))
    Sf = sfft.rfft(searches, n=n, axis=1)
    prod = Tf[:, None] * Sf[None]
    r = np.moveaxis(sfft.irfft(prod, n=n, axis=2), 2, -2)  # (nT, nS, n, C)
    out = np.empty((nT, nS, L, C))
    for j, t in enumerate(templates):
        out[j] = np.take(r[j], _lag_index(L, t.shape[0], n), axis=1)
    return out


def fft_length(L: int, templates: Sequence[np.ndarray]) -> int:
    """FFT length for correlating maps of length L with templates (..., Lt_j) without wrap-around.

    Outputs i = 0 … L−1 read lags d = i − m (m = ⌊(Lt−1)/2⌋) of the circular correlation; its
    aliases d ± n must miss the linear correlation's support [−(Lt−1), L−1], which needs
    n ≥ L + Lt − 1 − m = L + ⌈(Lt−1)/2⌉ (and n ≥ L + m, implied); L + Lt would be more than needed.
    """
    lmax = max(t.shape[-1] for t in templates)
    return sfft.next_fast_len(max(L + lmax // 2, lmax), real=True)


def correlate_mean_cf(templates: Sequence[np.ndarray], searches: np.ndarray, L: Optional[int] = None) -> np.ndarray:
    """Channel-mean ``correlate_pair`` of every template × search map, channels first.

    ``templates``: list of (C, Lt_j); ``searches``: float64 (nS, C, L), or already zero-padded
    to ``fft_length`` (then ``L`` gives the maps' length; padding in place saves a copy).
    Returns (nT, nS, L). The channel sum of the spectral products is one small
    (nT × C) · (C × nS) matrix product per frequency (a batched matmul, faster than the
    equivalent einsum); templates are zero-padded at the end to the longest, which leaves each
    template's centre ⌊(Lt−1)/2⌋ unchanged because the output lag is applied per template.
    """
    nS, C, n_in = searches.shape
    L = n_in if L is None else L
    nT = len(templates)
    if nT == 0 or nS == 0:
        return np.zeros((nT, nS, L))
    n = fft_length(L, templates)
    tpad = np.zeros((nT, C, n))
    for j, t in enumerate(templates):
        tpad[j, :, : t.shape[-1]] = t
    Tf = sfft.rfft(tpad, axis=-1)
    np.conjugate(Tf, out=Tf)
    Sf = sfft.rfft(searches if n_in == n else searches[..., :L], n=n, axis=-1)
    prod = np.matmul(np.ascontiguousarray(Tf.transpose(2, 0, 1)), np.ascontiguousarray(Sf.transpose(2, 1, 0)))
    prod /= C
    r = sfft.irfft(prod.transpose(1, 2, 0), n=n, axis=-1)  # r[d] = Σ_k T[k] S[k + d] (circular, no wrap overlap)
    out = np.empty((nT, nS, L))
    for j, t in enumerate(templates):
        m = (t.shape[-1] - 1) // 2  # output i is lag i − m: negative lags wrap to the end of r
        if m >= L:
            out[j] = np.take(r[j], _lag_index(L, t.shape[-1], n), axis=-1)
            continue
        if m:
            out[j, :, :m] = r[j, :, n - m :]
        out[j, :, m:] = r[j, :, : L - m]
    return out

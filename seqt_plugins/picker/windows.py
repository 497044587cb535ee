"""Sliding windows anchored to absolute time, normalisation, and batching across stations.

Window starts are the samples whose absolute time is a multiple of the step (counted in
10 ms samples since 1970), so every cut of the same data (hourly shards with a margin, a whole
day) lays the same windows over the same samples. Each segment also gets a window at its very
start and one ending at its very end, so no sample is left uncovered (the original predictor
drops the tail); those edge windows only influence the first and last minute of a segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Sequence, Tuple

import numpy as np

from .prepare import NS_PER_SAMPLE, WINDOW, Segment


def step_samples(overlap: float) -> int:
    """Window step in samples for an overlap fraction (0 ≤ overlap < 1)."""
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), not {overlap}")
    return max(1, int(round(WINDOW * (1.0 - overlap))))


def global_index(t) -> int:
    """Index of the 10 ms sample nearest to ``t`` on the absolute grid (the windows' anchor)."""
    return int((t.ns + NS_PER_SAMPLE // 2) // NS_PER_SAMPLE)


def merge_spans(spans):
    """Union of [a, b) spans, overlapping or touching ones merged, in order."""
    out = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def window_starts(segment: Segment, step: int, pad: int = 0) -> np.ndarray:
    """Start indices of the windows of a segment (sorted, unique); empty if it is too short.

    With ``pad`` > 0, windows also reach up to ``pad`` samples beyond the segment's end
    (zero-filled there), so an arrival in a record's last seconds sits early in some window:
    EqT finds arrivals late in a window poorly. Measured on the labelled records, this picks
    more arrivals near record ends but doubles the false picks there (the step from data to
    zeros looks like an arrival), so it is off by default (``PickerOptions.edge_padding``).
    Padding before the start was worse still (60 more false P on 154 records).
    """
    n = segment.npts
    if n < WINDOW:
        return np.zeros(0, dtype=np.int64)
    g0 = global_index(segment.start)  # global sample index of data[0]
    first = (-g0) % step
    grid = np.arange(first, n - WINDOW + 1, step, dtype=np.int64)
    starts = [[0], grid, [n - WINDOW]]
    if pad > 0:
        hi = n - WINDOW + int(pad)
        starts += [[hi], np.arange(first, hi + 1, step, dtype=np.int64)]
    return np.unique(np.concatenate(starts).astype(np.int64))


def normalize(x: np.ndarray) -> np.ndarray:
    """EqT normalisation in place: per window and channel, demean and divide by std (0 → 1).

    ``x`` (windows, samples, channels) float32. Sums over the sample axis are einsums, not
    strided ``mean``/``std`` reductions (several times slower, and a squared copy of the
    batch) and not BLAS: numpy's OpenBLAS worker thread spins for a while after each
    multithreaded call (a ones-vector ``matmul`` here was one) and took a core from the EqT
    call that follows; a sum whose result depends on BLAS's thread count would also make the
    probabilities depend on the machine's.
    """
    n = x.shape[1]
    if len(x) == 0:
        return x
    mean = np.einsum("bij->bj", x)[:, None, :]  # (windows, 1, channels)
    mean *= x.dtype.type(1.0 / n)
    x -= mean
    std = np.einsum("bij,bij->bj", x, x)[:, None, :]
    std *= x.dtype.type(1.0 / n)
    np.sqrt(std, out=std)
    std[std == 0] = 1.0
    x /= std
    return x


@dataclass(frozen=True)
class WindowRef:
    """Where a window comes from: station index, segment index, start sample; ``twin``: the
    second opinion on a segment's first window (see ``segment_windows``)."""

    station: int
    segment: int
    start: int
    twin: bool = False


def segment_windows(station: int, index: int, segment: Segment, step: int, pad: int = 0,
                    twin: int = 0) -> List[WindowRef]:
    """The windows of one segment (``window_starts``), and with ``twin`` > 0 the *twin* of its
    first window: the window starting ``twin`` samples later. A segment's first seconds are
    seen by its first window only (every later window blinds its own start), and there the
    published models put spurious peaks at whole seconds after the window's start; the twin's
    peaks fall elsewhere, so the two windows' mean keeps an arrival and halves an artefact
    (``Stack``). A twin reaching past a short segment's end is filled with the segment's end
    mirrored (``fill_batch``)."""
    refs = [WindowRef(station, index, int(s)) for s in window_starts(segment, step, pad)]
    if twin > 0 and refs:
        refs.append(WindowRef(station, index, int(twin), True))
    return refs


def plan_windows(segments: Sequence[Sequence[Segment]], step: int, pad: int = 0, twin: int = 0) -> List[WindowRef]:
    """All windows of all stations' segments, station by station (``pad``, ``twin``: see
    ``window_starts``, ``segment_windows``)."""
    refs = []
    for i, segs in enumerate(segments):
        for j, seg in enumerate(segs):
            refs.extend(segment_windows(i, j, seg, step, pad, twin))
    return refs


def batches(
    segments: Sequence[Sequence[Segment]], refs: Sequence[WindowRef], batch_size: int, buffers: int = 1
) -> Iterator[Tuple[np.ndarray, Sequence[WindowRef]]]:
    """Normalised float32 batches (batch_size, 6000, 3), windows of all stations mixed.

    The last batch is padded with zero windows to the full size (one compiled shape); only the
    first ``len(refs_of_batch)`` rows are real. Batches are filled into ``buffers`` arrays in
    turn: a consumer running ahead of its producer (``Picker``'s prefetch) needs three.
    """
    ring = [np.zeros((batch_size, WINDOW, 3), dtype=np.float32) for _ in range(buffers)]
    for k, b in enumerate(range(0, len(refs), batch_size)):
        chunk = refs[b : b + batch_size]
        yield fill_batch(segments, chunk, ring[k % buffers]), chunk


def fill_batch(segments: Sequence[Sequence[Segment]], chunk: Sequence[WindowRef], buf: np.ndarray) -> np.ndarray:
    """``buf`` (batch_size, 6000, 3) with the chunk's windows, normalised, zero rows after them."""
    for k, r in enumerate(chunk):
        data = segments[r.station][r.segment].data
        if 0 <= r.start and r.start + WINDOW <= len(data):
            buf[k] = data[r.start : r.start + WINDOW]
        elif r.twin:  # a twin reaching beyond a short segment: its end mirrored there
            part = data[r.start :]
            buf[k, : len(part)] = part
            buf[k, len(part) :] = data[::-1][1 : WINDOW - len(part) + 1]
        else:  # a window reaching beyond the segment: zeros there
            a, b = max(r.start, 0), min(r.start + WINDOW, len(data))
            buf[k] = 0.0
            buf[k, a - r.start : b - r.start] = data[a:b]
    if len(chunk) < len(buf):
        buf[len(chunk) :] = 0.0
    normalize(buf[: len(chunk)])
    return buf

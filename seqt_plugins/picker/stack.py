"""Stacking overlapping window outputs into continuous probability traces.

Each window's outputs are blinded over ``blind_start`` samples at its start and ``blind``
samples at its end wherever that edge lies inside the segment (the segment's own first and last
samples keep their only window's values), then combined sample by sample with ``max`` or
``mean`` over the windows that cover the sample.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .prepare import WINDOW

STACKING = ("max", "mean")


def effective_blinds(blind_start: int, blind_end: int, step: int):
    """(start, end) blinding, each ≤ the one asked for, that still leave every sample covered:
    a window's end must reach past the next window's blinded start (start + end ≤ WINDOW − step);
    the end keeps at most half of that room, the start takes the rest."""
    room = max(0, WINDOW - step)
    end = int(max(0, min(blind_end, room // 2)))
    start = int(max(0, min(max(blind_start, end), room - end)))
    return start, end


class Stack:
    """Stacked detection, P and S probabilities of one segment (float32 arrays of length n)."""

    def __init__(self, npts: int, method: str = "max", blind: int = 500, blind_start: Optional[int] = None,
                 twin: int = 0):
        if method not in STACKING:
            raise ValueError(f"stacking must be one of {STACKING}, not {method!r}")
        self.npts = int(npts)
        self.method = method
        self.blind = int(blind)
        self.blind_start = self.blind if blind_start is None else int(blind_start)
        self.values = np.zeros((3, self.npts), dtype=np.float32)
        self.count = np.zeros(self.npts, dtype=np.uint16) if method == "mean" else None
        self.twin_span = twin_span(self.npts, twin, self.blind_start)
        self.twin: Optional[np.ndarray] = None  # the twin's outputs over twin_span
        self._done = False

    def add(self, start: int, det: np.ndarray, p: np.ndarray, s: np.ndarray, twin: bool = False) -> None:
        """Add one window's outputs (each length 6000) starting at sample ``start``; a twin
        (``windows.segment_windows``) is kept apart and averaged with the first window in
        ``result``, whatever the order the two came in."""
        if twin:
            a, b = self.twin_span[0] - start, self.twin_span[1] - start
            self.twin = np.stack([det[a:b], p[a:b], s[a:b]])
            return
        lo = self.blind_start if start > 0 else 0
        hi = WINDOW - (self.blind if start + WINDOW < self.npts else 0)
        # a window reaching beyond the segment's end (edge padding) adds only its samples inside it
        lo, hi = max(lo, -start), min(hi, self.npts - start)
        if hi <= lo:
            return
        a, b = start + lo, start + hi
        out = self.values[:, a:b]
        if self.method == "max":
            np.maximum(out[0], det[lo:hi], out=out[0])
            np.maximum(out[1], p[lo:hi], out=out[1])
            np.maximum(out[2], s[lo:hi], out=out[2])
        else:
            out[0] += det[lo:hi]
            out[1] += p[lo:hi]
            out[2] += s[lo:hi]
            self.count[a:b] += 1

    def result(self) -> np.ndarray:
        """(3, n) float32: detection, P, S."""
        if self.method == "mean" and not self._done:
            covered = self.count > 0
            self.values[:, covered] /= self.count[covered]
            self.count = None
            self._done = True
        if self.twin is not None:
            a, b = self.twin_span
            average_twin(self.values[:, a:b], self.twin)
            self.twin = None
        return self.values


def average_twin(values: np.ndarray, twin: np.ndarray) -> None:
    """``values`` (the first window's, in place) become the mean with the twin's: one
    expression for offline and real-time stacking, so both give the same floats."""
    values += twin
    values *= 0.5


def twin_span(npts: int, twin: int, blind_start: int):
    """[a, b) samples of a segment where its first window's twin is averaged in: from the
    twin's start up to where the next window's blinded start ends (the whole segment when it
    is one window long: no other window covers any of it)."""
    if twin <= 0:
        return (0, 0)
    b = npts if npts <= WINDOW else min(blind_start, npts)
    return (min(twin, b), b)

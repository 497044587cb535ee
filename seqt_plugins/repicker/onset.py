"""Onset path: the energy jump of an arrival inside its predicted window.

Where EqT's features do not respond (a small event's arrival at a noisy station: its P and S
probabilities stay near zero and the template correlation stands no higher there than elsewhere
in the interval), the located origin still says when the arrival is due, to a second or two. An
analyst then looks for the onset inside that window: the sample after which the signal is
clearly stronger than before. ``onset_ratio`` is that measure, per sample of a prepared window:

    ratio(j) = sqrt( mean(e[j : j + after]) / mean(e[j - before : j]) )

with ``e`` the energy of the phase's components (P: the vertical; S: both horizontals), after a
3–20 Hz bandpass (a small local event's band, above the microseism that the 1 Hz high-pass of
EqT's preparation leaves), ``after`` 0.5 s (P) / 1 s (S) and ``before`` 2 s. Its maximum inside
the search interval is the onset; the re-pick is kept where the ratio reaches a threshold
(``repicker.onsetThreshold``). Only the predicted window is searched, so a noise burst elsewhere
in the minute cannot become a pick.
"""

from __future__ import annotations

import functools

import numpy as np

from ..picker.prepare import FS

BAND = (3.0, 20.0)  # Hz
AFTER = {"P": 0.5, "S": 1.0}  # s of signal after the candidate onset
BEFORE = 2.0  # s of noise (P) or P coda (S) before it


@functools.lru_cache(maxsize=None)
def _band_sos() -> np.ndarray:
    from scipy.signal import butter

    sos = butter(2, BAND, btype="band", fs=FS, output="sos")
    sos.setflags(write=False)
    return sos


def phase_energy(window: np.ndarray, phase: str) -> np.ndarray:
    """Energy (n,) of the components that carry ``phase`` in a prepared window (n, 3), columns
    E, N, Z; a zero-filled component is skipped (the other ones are used instead)."""
    from scipy.signal import sosfiltfilt

    cols = [2] if phase == "P" else [0, 1]
    live = [c for c in range(3) if np.any(window[:, c])]
    use = [c for c in cols if c in live] or live
    if not use:
        return np.zeros(window.shape[0])
    x = sosfiltfilt(np.array(_band_sos()), np.asarray(window[:, use], dtype=np.float64), axis=0)
    return (x * x).sum(axis=1)


def onset_ratio(window: np.ndarray, phase: str) -> np.ndarray:
    """Amplitude ratio (n,) of the ``after`` seconds following each sample to the ``BEFORE``
    seconds preceding it; 0 where either span leaves the window."""
    e = phase_energy(window, phase)
    n = len(e)
    na, nb = int(round(AFTER[phase] * FS)), int(round(BEFORE * FS))
    out = np.zeros(n)
    if n < na + nb + 1:
        return out
    c = np.concatenate(([0.0], np.cumsum(e)))
    j = np.arange(nb, n - na + 1)
    after = (c[j + na] - c[j]) / na
    before = (c[j] - c[j - nb]) / nb
    floor = max(float(e.mean()), 1e-30) * 1e-6  # a dead stretch is no onset
    out[j] = np.sqrt(after / np.maximum(before, floor))
    return out

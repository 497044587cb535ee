"""EqT latent features of event windows, computed once per window and cached.

A window is 6000 samples (60 s at 100 Hz) of one prepared station segment. Its key is
(station key, absolute start time in 10 ms samples), so every event, template and search that
needs the same window reuses one EqT pass. Missing windows of a request are encoded together, in
batches, by one ``EqTModel.taps`` call; the LRU keeps ``cache_size`` windows (each ≈ 1.4 MB of
float32 for the 14 decoder taps of both branches).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..picker.prepare import NS_PER_SAMPLE, WINDOW
from ..picker.windows import normalize

log = logging.getLogger("seqt_plugins.repicker")


def tap_names(model, phase: str) -> List[str]:
    """The seven decoder taps of the phase's branch (P: conv1d_32–38, S: conv1d_39–45)."""
    return list(model.spec.decoder_conv_names(phase))


@dataclass
class WindowFeatures:
    """EqT outputs (3, 6000) — detection, P, S — and the named taps' maps (L, C) of one window."""

    probabilities: np.ndarray
    taps: Dict[str, np.ndarray]


WindowKey = Tuple[str, int]  # station key, global index of the first sample (10 ms units)


def window_key(station_key: str, segment, start: int) -> WindowKey:
    g0 = (segment.start.ns + NS_PER_SAMPLE // 2) // NS_PER_SAMPLE
    return station_key, int(g0 + start)


class FeatureCache:
    """LRU of ``WindowFeatures`` keyed by (station, window start); computes misses in batches."""

    def __init__(self, model, names: Sequence[str], size: int = 128, batch_size: int = 32):
        self.model = model
        self.names = list(names)
        self.size = int(size)
        self.batch_size = int(batch_size)
        self._store: "OrderedDict[WindowKey, WindowFeatures]" = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.encoded = 0

    def get_many(self, requests: Sequence[Tuple[WindowKey, np.ndarray]]) -> List[WindowFeatures]:
        """Features of each (key, data (6000, 3)) request, in order; misses go through EqT together."""
        missing: "OrderedDict[WindowKey, np.ndarray]" = OrderedDict()
        for key, data in requests:
            if key in self._store:
                self.hits += 1
            elif key not in missing:
                self.misses += 1
                missing[key] = data
        fresh: Dict[WindowKey, WindowFeatures] = {}
        if missing:
            x = np.stack([np.asarray(d, dtype=np.float32) for d in missing.values()]).copy()
            if x.shape[1:] != (WINDOW, 3):
                raise ValueError(f"windows must be ({WINDOW}, 3), not {x.shape[1:]}")
            normalize(x)
            (det, p, s), maps = self.model.taps(self.names, x, batch_size=min(self.batch_size, len(x)))
            self.encoded += len(x)
            for k, key in enumerate(missing):
                fresh[key] = WindowFeatures(
                    np.stack([det[k], p[k], s[k]]).astype(np.float32),
                    {n: np.asarray(maps[n][k], dtype=np.float32) for n in self.names},
                )
        out = []
        for key, _ in requests:
            if key in fresh:
                wf = fresh[key]
                self._put(key, wf)
            else:
                wf = self._store[key]
                self._store.move_to_end(key)
            out.append(wf)
        return out

    def _put(self, key: WindowKey, wf: WindowFeatures) -> None:
        if self.size <= 0:
            return
        self._store[key] = wf
        self._store.move_to_end(key)
        while len(self._store) > self.size:
            self._store.popitem(last=False)

    def has(self, key: WindowKey) -> bool:
        return key in self._store

    def __len__(self) -> int:
        return len(self._store)

"""Picking with per-station thresholds: the trigger stage of each station with its own options.

The probabilities depend only on the module-wide options (model, overlap, stacking, ...); the
thresholds a binding may change (detection, P, S) are read by the trigger stage alone. So the
model runs once over all stations, and each station is triggered with ``options_for(network,
station)``. Used by archive reprocessing and real time; seqtpick's playback does the same per
piece (``SeqtPick.pick_stream``).
"""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple

from .engine import Picker


def trigger_picker(picker: Picker, options) -> Picker:
    """``picker`` itself, or a picker with ``options`` for triggering (no model of its own)."""
    if options is None or options == picker.options:
        return picker
    return Picker(options=options)


def classify_per_station(picker: Picker, stream, inventory=None, starttime=None, endtime=None,
                         options_for: Optional[Callable[[str, str], object]] = None) -> Tuple[List, List]:
    """As :meth:`Picker.classify`, each station triggered with ``options_for(net, sta)``."""
    if options_for is None:
        return picker.classify(stream, inventory, starttime, endtime)
    picks, detections = [], []
    for piece, a, b in picker._chunks(stream, starttime, endtime):
        for result in picker.probabilities(piece, inventory):
            st = result[0]
            p, d = trigger_picker(picker, options_for(st.network, st.station)).picks_from_probabilities([result], a, b)
            picks += p
            detections += d
    picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint))
    detections.sort(key=lambda d: (d.start, d.waveform_id.nslc))
    return picks, detections


def pick_per_station(picker: Picker, stream, inventory=None, starttime=None, endtime=None,
                     options_for: Optional[Callable[[str, str], object]] = None) -> List:
    return classify_per_station(picker, stream, inventory, starttime, endtime, options_for)[0]

"""Pick and event-parameter objects exchanged with the host (SCML / QuakeML)."""

from .model import (  # noqa: F401
    Amplitude,
    Arrival,
    Comment,
    CreationInfo,
    Event,
    EventParameters,
    Origin,
    Pick,
    WaveformID,
    make_pick_id,
)

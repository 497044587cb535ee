"""Plain dataclasses for picks and the event parameters around them.

These are the currency between the cores (picker, re-picker) and the XML layer. They hold
only what SCML 0.11-0.14 and QuakeML 1.2 can express, plus ``probability`` and
``reference_pick_id``, which the XML layer carries as comments so they survive a round-trip.
Times are ``obspy.UTCDateTime`` (microsecond precision is kept end to end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from obspy import UTCDateTime


@dataclass
class WaveformID:
    network: str
    station: str
    location: str = ""
    channel: str = ""

    @property
    def nslc(self) -> str:
        return f"{self.network}.{self.station}.{self.location}.{self.channel}"


@dataclass
class CreationInfo:
    agency_id: Optional[str] = None
    author: Optional[str] = None
    creation_time: Optional[UTCDateTime] = None


@dataclass
class Comment:
    text: str
    id: Optional[str] = None


@dataclass
class Pick:
    public_id: str
    time: UTCDateTime
    waveform_id: WaveformID
    phase_hint: Optional[str] = None
    time_uncertainty: Optional[float] = None
    time_lower_uncertainty: Optional[float] = None
    time_upper_uncertainty: Optional[float] = None
    method_id: Optional[str] = None
    filter_id: Optional[str] = None
    evaluation_mode: Optional[str] = "automatic"
    evaluation_status: Optional[str] = None
    creation_info: Optional[CreationInfo] = None
    # Not in the schemas: travel as comments (ids "probability", "referencePickID").
    probability: Optional[float] = None
    reference_pick_id: Optional[str] = None
    comments: List[Comment] = field(default_factory=list)
    # Optional measurements of the picker (None when unknown); ``amplitudes_of`` in
    # seqt_plugins.picker turns them into Amplitude objects (types "snr" and "peak").
    snr: Optional[float] = None  # dB, signal-to-noise ratio around the pick
    amplitude: Optional[float] = None  # peak absolute amplitude after the pick (filtered input units)


@dataclass
class Amplitude:
    """An amplitude that belongs to a pick, e.g. its SNR (type "snr", a linear ratio)."""

    public_id: str
    type: str
    value: float
    pick_id: Optional[str] = None
    snr: Optional[float] = None
    unit: Optional[str] = None
    waveform_id: Optional[WaveformID] = None
    creation_info: Optional[CreationInfo] = None
    # The measurement's time window (SCML/QuakeML timeWindow): a reference time (the pick's,
    # for an snr amplitude) and how far it reaches before (``window_begin``, s) and after it.
    # SeisComP (scautoloc) needs the reference time of every amplitude.
    reference_time: Optional[UTCDateTime] = None
    window_begin: Optional[float] = None
    window_end: Optional[float] = None


@dataclass
class Arrival:
    pick_id: str
    phase: str
    public_id: Optional[str] = None
    distance: Optional[float] = None  # degrees
    azimuth: Optional[float] = None
    time_residual: Optional[float] = None
    time_weight: Optional[float] = None
    creation_info: Optional[CreationInfo] = None


@dataclass
class Origin:
    public_id: str
    time: UTCDateTime
    latitude: float
    longitude: float
    depth: Optional[float] = None  # metres, as in both schemas
    arrivals: List[Arrival] = field(default_factory=list)
    method_id: Optional[str] = None
    evaluation_mode: Optional[str] = None
    evaluation_status: Optional[str] = None
    creation_info: Optional[CreationInfo] = None
    comments: List[Comment] = field(default_factory=list)


@dataclass
class Event:
    public_id: str
    preferred_origin_id: Optional[str] = None
    origin_ids: List[str] = field(default_factory=list)
    type: Optional[str] = None
    creation_info: Optional[CreationInfo] = None
    comments: List[Comment] = field(default_factory=list)


@dataclass
class EventParameters:
    picks: List[Pick] = field(default_factory=list)
    amplitudes: List[Amplitude] = field(default_factory=list)
    origins: List[Origin] = field(default_factory=list)
    events: List[Event] = field(default_factory=list)
    public_id: Optional[str] = None


def make_pick_id(time: UTCDateTime, waveform_id: WaveformID, phase: str, method: str = "SEQT") -> str:
    """Deterministic pick ID from content, scautopick style plus the phase.

    ``20240301.101502.37-SEQT-P-XX.ABC..HHZ``: the same pick gets the same ID on every rerun
    and on every worker, so resumed and distributed runs merge without duplicates.
    """
    t = UTCDateTime(time)
    centis = int(round(t.microsecond / 1e4))
    if centis == 100:  # rounding carried into the next second
        t = UTCDateTime(t.timestamp - t.microsecond / 1e6 + 1)
        centis = 0
    stamp = t.strftime("%Y%m%d.%H%M%S") + f".{centis:02d}"
    return f"{stamp}-{method}-{phase}-{waveform_id.nslc}"

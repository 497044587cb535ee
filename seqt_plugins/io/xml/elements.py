"""lxml element builders shared by the SCML (:mod:`.scml`) and QuakeML (:mod:`.quakeml`) layouts.

Both formats build Pick, Origin, Arrival, Event, CreationInfo and WaveformID from the same
rules and with the same child order; only these differ, and are passed in:

- ``ident``: model ID → the ID text written (SCML: unchanged; QuakeML: :func:`common.to_quakeml_id`),
- ``comment(parent, text, cid)``: SCML writes the comment ID as an ``<id>`` child, QuakeML as an
  ``id`` attribute,
- per object, the one field that differs (SCML depth in km, the arrival weight's element name,
  the arrival's publicID that only QuakeML has).

Amplitudes differ in child order (each XSD fixes its own), so each format keeps its own amplitude
builder and shares only the common tail (:func:`amplitude_tail`).
"""

from __future__ import annotations

from lxml import etree

from ...picks.model import Amplitude, Arrival, CreationInfo, Event, Origin, Pick, WaveformID
from .common import format_float, format_time

E = etree.Element
SE = etree.SubElement


def same_id(model_id: str) -> str:
    """The SCML ``ident``: IDs are written as they are."""
    return model_id


def text(parent, tag: str, value: str):
    SE(parent, tag).text = value


def real(parent, tag: str, value: str):
    """``<tag><value>value</value></tag>`` (a RealQuantity with only its value)."""
    text(SE(parent, tag), "value", value)


def require_id(obj, what: str) -> str:
    if not obj.public_id:
        raise ValueError(f"{what} without publicID")
    return obj.public_id


def creation_info(parent, ci: CreationInfo):
    el = SE(parent, "creationInfo")
    if ci.agency_id is not None:
        text(el, "agencyID", ci.agency_id)
    if ci.author is not None:
        text(el, "author", ci.author)
    if ci.creation_time is not None:
        text(el, "creationTime", format_time(ci.creation_time))


def waveform_id(parent, wid: WaveformID):
    SE(
        parent,
        "waveformID",
        networkCode=wid.network,
        stationCode=wid.station,
        locationCode=wid.location or "",
        channelCode=wid.channel or "",
    )


def pick_comments(p: Pick):
    """The pick's comments as (text, id), with the schema-less fields first."""
    out = []
    if p.probability is not None:
        out.append((format_float(p.probability), "probability"))
    if p.reference_pick_id is not None:
        out.append((p.reference_pick_id, "referencePickID"))
    out.extend((c.text, c.id) for c in p.comments)
    return out


def check_pick(p: Pick):
    if not p.public_id:
        raise ValueError("pick without publicID")
    if p.time is None:
        raise ValueError(f"pick {p.public_id!r} has no time")
    if p.waveform_id is None or p.waveform_id.network is None or not p.waveform_id.station:
        raise ValueError(f"pick {p.public_id!r} has no waveform ID (network and station)")


def pick(p: Pick, ident, comment):
    """Pick: time, waveformID, filterID, methodID, phaseHint, evaluationMode, evaluationStatus,
    creationInfo, comment* (the same sequence in SCML and QuakeML)."""
    check_pick(p)
    el = E("pick", publicID=ident(p.public_id))
    t = SE(el, "time")
    text(t, "value", format_time(p.time))
    if p.time_uncertainty is not None:
        text(t, "uncertainty", format_float(p.time_uncertainty))
    if p.time_lower_uncertainty is not None:
        text(t, "lowerUncertainty", format_float(p.time_lower_uncertainty))
    if p.time_upper_uncertainty is not None:
        text(t, "upperUncertainty", format_float(p.time_upper_uncertainty))
    waveform_id(el, p.waveform_id)
    if p.filter_id is not None:
        text(el, "filterID", ident(p.filter_id))
    if p.method_id is not None:
        text(el, "methodID", ident(p.method_id))
    if p.phase_hint is not None:
        text(el, "phaseHint", p.phase_hint)
    if p.evaluation_mode is not None:
        text(el, "evaluationMode", p.evaluation_mode)
    if p.evaluation_status is not None:
        text(el, "evaluationStatus", p.evaluation_status)
    if p.creation_info is not None:
        creation_info(el, p.creation_info)
    for value, cid in pick_comments(p):
        comment(el, value, cid)
    return el


def time_window(parent, a: Amplitude, quakeml: bool = False):
    """timeWindow (reference, begin, end; QuakeML: begin, end, reference) when the amplitude has
    a reference time; begin/end default to 0."""
    if a.reference_time is None:
        return
    from .common import format_float, format_time

    el = SE(parent, "timeWindow")
    parts = [("reference", format_time(a.reference_time)),
             ("begin", format_float(a.window_begin or 0.0)), ("end", format_float(a.window_end or 0.0))]
    if quakeml:
        parts = parts[1:] + parts[:1]
    for tag, value in parts:
        text(el, tag, value)


def amplitude_tail(el, a: Amplitude, ident):
    """The amplitude's last children, the same in both formats: pickID, waveformID, creationInfo."""
    if a.pick_id is not None:
        text(el, "pickID", ident(a.pick_id))
    if a.waveform_id is not None:
        waveform_id(el, a.waveform_id)
    if a.creation_info is not None:
        creation_info(el, a.creation_info)


def arrival(parent, a: Arrival, ident, weight_tag: str, **attrs):
    """Arrival: pickID, phase, azimuth, distance, timeResidual, weight, creationInfo.  The weight
    is ``weight`` in SCML and ``timeWeight`` in QuakeML; ``attrs`` is QuakeML's publicID."""
    el = SE(parent, "arrival", **attrs)
    text(el, "pickID", ident(a.pick_id))
    text(el, "phase", a.phase)
    if a.azimuth is not None:
        text(el, "azimuth", format_float(a.azimuth))
    if a.distance is not None:
        text(el, "distance", format_float(a.distance))
    if a.time_residual is not None:
        text(el, "timeResidual", format_float(a.time_residual))
    if a.time_weight is not None:
        text(el, weight_tag, format_float(a.time_weight))
    if a.creation_info is not None:
        creation_info(el, a.creation_info)


def origin(o: Origin, ident, depth_text, comment):
    """Origin up to its comments: time, latitude, longitude, depth, methodID, evaluationMode,
    evaluationStatus, creationInfo, comment*.  The caller appends the arrivals.
    ``depth_text(metres)`` is the depth value as the format writes it."""
    el = E("origin", publicID=ident(require_id(o, "origin")))
    t = SE(el, "time")
    text(t, "value", format_time(o.time))
    real(el, "latitude", format_float(o.latitude))
    real(el, "longitude", format_float(o.longitude))
    if o.depth is not None:
        real(el, "depth", depth_text(o.depth))
    if o.method_id is not None:
        text(el, "methodID", ident(o.method_id))
    if o.evaluation_mode is not None:
        text(el, "evaluationMode", o.evaluation_mode)
    if o.evaluation_status is not None:
        text(el, "evaluationStatus", o.evaluation_status)
    if o.creation_info is not None:
        creation_info(el, o.creation_info)
    for c in o.comments:
        comment(el, c.text, c.id)
    return el


def event_children(parent, e: Event, ident, comment):
    """The event's own children: preferredOriginID, type, creationInfo, comment*."""
    if e.preferred_origin_id is not None:
        text(parent, "preferredOriginID", ident(e.preferred_origin_id))
    if e.type is not None:
        text(parent, "type", e.type)
    if e.creation_info is not None:
        creation_info(parent, e.creation_info)
    for c in e.comments:
        comment(parent, c.text, c.id)

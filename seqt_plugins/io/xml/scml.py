"""SeisComP XML (SCML 0.11-0.14): element builders for the writers.

Children are emitted in the XSD's fixed sequence order (see ``sc3ml_0.13.xsd``):

- Pick: time, waveformID, filterID, methodID, phaseHint, evaluationMode, evaluationStatus,
  creationInfo, comment*.
- Amplitude: type, amplitude, snr, unit, pickID, waveformID, creationInfo.
- Origin: time, latitude, longitude, depth, methodID, evaluationMode, evaluationStatus,
  creationInfo, comment*, arrival*.  SCML depth is in **km** (the model and QuakeML use m).
- Arrival: pickID, phase, azimuth, distance, timeResidual, weight, creationInfo.  SCML arrivals
  have no publicID, so ``Arrival.public_id`` does not survive SCML.
- Event: preferredOriginID, type, creationInfo, comment*, originReference*.

Elements are built without a namespace and written inside the namespaced root, whose default
namespace they inherit (this keeps every pick from re-declaring ``xmlns``).  Pick, Amplitude,
Origin, Arrival, Event and Comment are the same in 0.11-0.14, so one builder serves all.
"""

from __future__ import annotations

import math
from decimal import Decimal

from lxml import etree

from ...picks.model import Amplitude, Arrival, CreationInfo, Event, Origin, Pick, WaveformID
from .common import format_float, format_time, parse_float

_E = etree.Element
_SE = etree.SubElement


def _text(parent, tag: str, value: str):
    _SE(parent, tag).text = value


def creation_info(parent, ci: CreationInfo):
    el = _SE(parent, "creationInfo")
    if ci.agency_id is not None:
        _text(el, "agencyID", ci.agency_id)
    if ci.author is not None:
        _text(el, "author", ci.author)
    if ci.creation_time is not None:
        _text(el, "creationTime", format_time(ci.creation_time))


def comment(parent, text: str, cid):
    el = _SE(parent, "comment")
    _text(el, "text", text)
    if cid is not None:
        _text(el, "id", cid)


def waveform_id(parent, wid: WaveformID):
    _SE(
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


def pick(p: Pick):
    check_pick(p)
    el = _E("pick", publicID=p.public_id)
    t = _SE(el, "time")
    _text(t, "value", format_time(p.time))
    if p.time_uncertainty is not None:
        _text(t, "uncertainty", format_float(p.time_uncertainty))
    if p.time_lower_uncertainty is not None:
        _text(t, "lowerUncertainty", format_float(p.time_lower_uncertainty))
    if p.time_upper_uncertainty is not None:
        _text(t, "upperUncertainty", format_float(p.time_upper_uncertainty))
    waveform_id(el, p.waveform_id)
    if p.filter_id is not None:
        _text(el, "filterID", p.filter_id)
    if p.method_id is not None:
        _text(el, "methodID", p.method_id)
    if p.phase_hint is not None:
        _text(el, "phaseHint", p.phase_hint)
    if p.evaluation_mode is not None:
        _text(el, "evaluationMode", p.evaluation_mode)
    if p.evaluation_status is not None:
        _text(el, "evaluationStatus", p.evaluation_status)
    if p.creation_info is not None:
        creation_info(el, p.creation_info)
    for text, cid in pick_comments(p):
        comment(el, text, cid)
    return el


def amplitude(a: Amplitude):
    if not a.public_id:
        raise ValueError("amplitude without publicID")
    el = _E("amplitude", publicID=a.public_id)
    _text(el, "type", a.type)
    if a.value is not None:
        q = _SE(el, "amplitude")
        _text(q, "value", format_float(a.value))
    if a.snr is not None:
        _text(el, "snr", format_float(a.snr))
    if a.unit is not None:
        _text(el, "unit", a.unit)
    if a.pick_id is not None:
        _text(el, "pickID", a.pick_id)
    if a.waveform_id is not None:
        waveform_id(el, a.waveform_id)
    if a.creation_info is not None:
        creation_info(el, a.creation_info)
    return el


def metres_to_km(depth_m: float) -> str:
    """Exact decimal shift of the float's shortest text, so km → m gives back the same float."""
    text = format_float(depth_m)
    if text in ("NaN", "INF", "-INF"):
        return text
    return format(Decimal(text).scaleb(-3), "f")


def km_to_metres(text: str) -> float:
    value = parse_float(text)
    if not math.isfinite(value):
        return value
    return float(Decimal(text.strip()).scaleb(3))


def _arrival(parent, a: Arrival):
    el = _SE(parent, "arrival")
    _text(el, "pickID", a.pick_id)
    _text(el, "phase", a.phase)
    if a.azimuth is not None:
        _text(el, "azimuth", format_float(a.azimuth))
    if a.distance is not None:
        _text(el, "distance", format_float(a.distance))
    if a.time_residual is not None:
        _text(el, "timeResidual", format_float(a.time_residual))
    if a.time_weight is not None:
        _text(el, "weight", format_float(a.time_weight))
    if a.creation_info is not None:
        creation_info(el, a.creation_info)


def _real(parent, tag, value: str):
    q = _SE(parent, tag)
    _text(q, "value", value)


def origin(o: Origin):
    if not o.public_id:
        raise ValueError("origin without publicID")
    el = _E("origin", publicID=o.public_id)
    t = _SE(el, "time")
    _text(t, "value", format_time(o.time))
    _real(el, "latitude", format_float(o.latitude))
    _real(el, "longitude", format_float(o.longitude))
    if o.depth is not None:
        _real(el, "depth", metres_to_km(o.depth))
    if o.method_id is not None:
        _text(el, "methodID", o.method_id)
    if o.evaluation_mode is not None:
        _text(el, "evaluationMode", o.evaluation_mode)
    if o.evaluation_status is not None:
        _text(el, "evaluationStatus", o.evaluation_status)
    if o.creation_info is not None:
        creation_info(el, o.creation_info)
    for c in o.comments:
        comment(el, c.text, c.id)
    for a in o.arrivals:
        _arrival(el, a)
    return el


def event(e: Event):
    if not e.public_id:
        raise ValueError("event without publicID")
    el = _E("event", publicID=e.public_id)
    if e.preferred_origin_id is not None:
        _text(el, "preferredOriginID", e.preferred_origin_id)
    if e.type is not None:
        _text(el, "type", e.type)
    if e.creation_info is not None:
        creation_info(el, e.creation_info)
    for c in e.comments:
        comment(el, c.text, c.id)
    for oid in e.origin_ids:
        _text(el, "originReference", oid)
    return el


__all__ = ["pick", "amplitude", "origin", "event", "check_pick", "pick_comments", "metres_to_km", "km_to_metres"]

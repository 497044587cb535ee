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
Origin, Arrival, Event and Comment are the same in 0.11-0.14, so one builder serves all.  What
SCML shares with QuakeML is built by :mod:`.elements`; this module passes in what differs.
"""

from __future__ import annotations

import math
from decimal import Decimal

from ...picks.model import Amplitude, Event, Origin, Pick
from . import elements as _el
from .common import format_float, parse_float
from .elements import E as _E, SE as _SE, check_pick, pick_comments, text as _text

_ident = _el.same_id


def comment(parent, text: str, cid):
    el = _SE(parent, "comment")
    _text(el, "text", text)
    if cid is not None:
        _text(el, "id", cid)


def pick(p: Pick):
    return _el.pick(p, _ident, comment)


def amplitude(a: Amplitude):
    el = _E("amplitude", publicID=_el.require_id(a, "amplitude"))
    _text(el, "type", a.type)
    if a.value is not None:
        _el.real(el, "amplitude", format_float(a.value))
    _el.time_window(el, a)
    if a.snr is not None:
        _text(el, "snr", format_float(a.snr))
    if a.unit is not None:
        _text(el, "unit", a.unit)
    _el.amplitude_tail(el, a, _ident)
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


def origin(o: Origin):
    el = _el.origin(o, _ident, metres_to_km, comment)
    for a in o.arrivals:  # SCML arrivals have no publicID
        _el.arrival(el, a, _ident, "weight")
    return el


def event(e: Event):
    el = _E("event", publicID=_el.require_id(e, "event"))
    _el.event_children(el, e, _ident, comment)
    for oid in e.origin_ids:
        _text(el, "originReference", oid)
    return el


__all__ = ["pick", "amplitude", "origin", "event", "check_pick", "pick_comments", "metres_to_km", "km_to_metres"]

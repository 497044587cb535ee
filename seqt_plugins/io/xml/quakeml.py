"""QuakeML 1.2: element builders for the writers.

Layout choices (QuakeML-BED-1.2.xsd):

- ``eventParameters`` may hold only events (plus comments, description, creationInfo), so
  picks, amplitudes and origins live inside an ``<event>``.  Objects of an event (its origins,
  the picks their arrivals refer to, the amplitudes of those picks) go inside that event.
  Objects that belong to no event (a picker's output) go into one extra event whose publicID is
  ``smi:local/seqt-auto/unassociated`` — no origin, no type, nothing invented beyond the ID the
  schema requires.  Our reader dissolves that event again (its objects become top-level and no
  :class:`Event` is made), and ObsPy reads its picks like any other, so no dummy leaks out.
- IDs must be resource identifiers: model IDs go through :func:`common.to_quakeml_id`
  (``X`` → ``smi:local/seqt/X``) and come back through :func:`common.from_quakeml_id`.  IDs the
  schema requires but the model lacks (eventParameters, arrivals) are made under
  ``smi:local/seqt-auto/`` and read back as ``None``.
- Comment IDs are attributes; amplitude values are ``genericAmplitude``; an amplitude unit
  outside the QuakeML enumeration is written as ``other`` plus a comment with id ``unit``.
- Depth is in metres, as in the model.

Like the SCML builders, elements carry no namespace and inherit the BED default namespace
declared on the root.
"""

from __future__ import annotations

from lxml import etree

from ...picks.model import Amplitude, Arrival, CreationInfo, Event, Origin, Pick, WaveformID
from .common import QML_AUTO_PREFIX, format_float, format_time, to_quakeml_id
from .scml import check_pick, pick_comments

_E = etree.Element
_SE = etree.SubElement

AMPLITUDE_UNITS = frozenset(["m", "s", "m/s", "m/(s*s)", "m*s", "dimensionless", "other"])


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
    el = _SE(parent, "comment") if cid is None else _SE(parent, "comment", id=to_quakeml_id(cid))
    _text(el, "text", text)


def waveform_id(parent, wid: WaveformID):
    _SE(
        parent,
        "waveformID",
        networkCode=wid.network,
        stationCode=wid.station,
        locationCode=wid.location or "",
        channelCode=wid.channel or "",
    )


def pick(p: Pick):
    check_pick(p)
    el = _E("pick", publicID=to_quakeml_id(p.public_id))
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
        _text(el, "filterID", to_quakeml_id(p.filter_id))
    if p.method_id is not None:
        _text(el, "methodID", to_quakeml_id(p.method_id))
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
    el = _E("amplitude", publicID=to_quakeml_id(a.public_id))
    if a.value is not None:
        q = _SE(el, "genericAmplitude")
        _text(q, "value", format_float(a.value))
    _text(el, "type", a.type)
    if a.unit is not None:
        _text(el, "unit", a.unit if a.unit in AMPLITUDE_UNITS else "other")
    if a.snr is not None:
        _text(el, "snr", format_float(a.snr))
    if a.pick_id is not None:
        _text(el, "pickID", to_quakeml_id(a.pick_id))
    if a.waveform_id is not None:
        waveform_id(el, a.waveform_id)
    if a.creation_info is not None:
        creation_info(el, a.creation_info)
    if a.unit is not None and a.unit not in AMPLITUDE_UNITS:
        comment(el, a.unit, "unit")
    return el


def _arrival(parent, a: Arrival, auto_id: str):
    el = _SE(parent, "arrival", publicID=to_quakeml_id(a.public_id) if a.public_id else auto_id)
    _text(el, "pickID", to_quakeml_id(a.pick_id))
    _text(el, "phase", a.phase)
    if a.azimuth is not None:
        _text(el, "azimuth", format_float(a.azimuth))
    if a.distance is not None:
        _text(el, "distance", format_float(a.distance))
    if a.time_residual is not None:
        _text(el, "timeResidual", format_float(a.time_residual))
    if a.time_weight is not None:
        _text(el, "timeWeight", format_float(a.time_weight))
    if a.creation_info is not None:
        creation_info(el, a.creation_info)


def _real(parent, tag, value: str):
    q = _SE(parent, tag)
    _text(q, "value", value)


def origin(o: Origin):
    if not o.public_id:
        raise ValueError("origin without publicID")
    qid = to_quakeml_id(o.public_id)
    el = _E("origin", publicID=qid)
    t = _SE(el, "time")
    _text(t, "value", format_time(o.time))
    _real(el, "latitude", format_float(o.latitude))
    _real(el, "longitude", format_float(o.longitude))
    if o.depth is not None:
        _real(el, "depth", format_float(o.depth))
    if o.method_id is not None:
        _text(el, "methodID", to_quakeml_id(o.method_id))
    if o.evaluation_mode is not None:
        _text(el, "evaluationMode", o.evaluation_mode)
    if o.evaluation_status is not None:
        _text(el, "evaluationStatus", o.evaluation_status)
    if o.creation_info is not None:
        creation_info(el, o.creation_info)
    for c in o.comments:
        comment(el, c.text, c.id)
    base = QML_AUTO_PREFIX + "arrival/" + qid.split(":", 1)[1].replace("/", "_") + "/"
    for i, a in enumerate(o.arrivals):
        _arrival(el, a, f"{base}{i}")
    return el


def event_open_attrs(e: Event) -> dict:
    if not e.public_id:
        raise ValueError("event without publicID")
    return {"publicID": to_quakeml_id(e.public_id)}


def event_scalars(e: Event):
    """The event's own children (everything except nested origins/picks/amplitudes)."""
    out = []
    holder = _E("holder")
    if e.preferred_origin_id is not None:
        _text(holder, "preferredOriginID", to_quakeml_id(e.preferred_origin_id))
    if e.type is not None:
        _text(holder, "type", e.type)
    if e.creation_info is not None:
        creation_info(holder, e.creation_info)
    for c in e.comments:
        comment(holder, c.text, c.id)
    out.extend(holder)
    return out

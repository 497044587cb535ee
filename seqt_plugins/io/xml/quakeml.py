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
declared on the root.  What QuakeML shares with SCML is built by :mod:`.elements`; this module
passes in what differs (IDs through ``to_quakeml_id``, comment IDs as attributes, depth in m,
``timeWeight``, arrival publicIDs).
"""

from __future__ import annotations

from ...picks.model import Amplitude, Event, Origin, Pick
from . import elements as _el
from .common import QML_AUTO_PREFIX, format_float, to_quakeml_id
from .elements import E as _E, SE as _SE, text as _text

AMPLITUDE_UNITS = frozenset(["m", "s", "m/s", "m/(s*s)", "m*s", "dimensionless", "other"])

_ident = to_quakeml_id


def comment(parent, text: str, cid):
    el = _SE(parent, "comment") if cid is None else _SE(parent, "comment", id=to_quakeml_id(cid))
    _text(el, "text", text)


def pick(p: Pick):
    return _el.pick(p, _ident, comment)


def amplitude(a: Amplitude):
    el = _E("amplitude", publicID=to_quakeml_id(_el.require_id(a, "amplitude")))
    if a.value is not None:
        _el.real(el, "genericAmplitude", format_float(a.value))
    _text(el, "type", a.type)
    _el.time_window(el, a, quakeml=True)
    if a.unit is not None:
        _text(el, "unit", a.unit if a.unit in AMPLITUDE_UNITS else "other")
    if a.snr is not None:
        _text(el, "snr", format_float(a.snr))
    _el.amplitude_tail(el, a, _ident)
    if a.unit is not None and a.unit not in AMPLITUDE_UNITS:
        comment(el, a.unit, "unit")
    return el


def origin(o: Origin):
    el = _el.origin(o, _ident, format_float, comment)
    qid = el.get("publicID")
    base = QML_AUTO_PREFIX + "arrival/" + qid.split(":", 1)[1].replace("/", "_") + "/"
    for i, a in enumerate(o.arrivals):
        aid = to_quakeml_id(a.public_id) if a.public_id else f"{base}{i}"
        _el.arrival(el, a, _ident, "timeWeight", publicID=aid)
    return el


def event_open_attrs(e: Event) -> dict:
    return {"publicID": to_quakeml_id(_el.require_id(e, "event"))}


def event_scalars(e: Event):
    """The event's own children (everything except nested origins/picks/amplitudes)."""
    holder = _E("holder")
    _el.event_children(holder, e, _ident, comment)
    return list(holder)

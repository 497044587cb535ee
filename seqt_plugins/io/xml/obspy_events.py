"""ObsPy interop: our :class:`EventParameters` ↔ ObsPy's ``Catalog``, and the ``SEQTSCML`` plugin.

:func:`to_obspy` and :func:`from_obspy` convert with ObsPy's public event classes only, laid out
as our QuakeML writer lays out a document (:mod:`.quakeml`), so ``to_obspy(ep).write(f,
"QUAKEML")`` is a schema-valid file our reader turns back into ``ep``:

- IDs: model IDs become resource identifiers through :func:`.common.to_quakeml_id` (``X`` →
  ``smi:local/seqt/X``; QuakeML IDs stay) and come back through :func:`.common.from_quakeml_id`.
  IDs the model lacks but ObsPy needs (the catalog's, arrivals') are made under
  ``smi:local/seqt-auto/`` and read back as ``None``.
- Events: each event holds its origins, the picks their arrivals refer to and those picks'
  amplitudes (:func:`.writer.event_groups`).  Everything that belongs to no event (a picker's
  output) goes into one extra Event with resource ID ``smi:local/seqt-auto/unassociated``: no
  origin, no type.  :func:`from_obspy` dissolves that event again, so a picks-only document comes
  back as one, in its order.
- Both sides model directly: resource IDs, times (to the nanosecond) and their uncertainties,
  waveform IDs, phase hints, method/filter IDs, evaluation mode/status, creation info (agency,
  author, time), comments, amplitudes (generic amplitude, type, unit, SNR, time window, pick,
  waveform), origins (time, latitude, longitude, depth in m), arrivals (pick, phase, azimuth,
  distance, residual, time weight), events (preferred origin, type).
- What only we have travels as our QuakeML carries it, so ObsPy's own QuakeML of the catalog
  keeps it too: ``Pick.probability`` and ``Pick.reference_pick_id`` as comments with IDs
  ``…/probability`` and ``…/referencePickID``; an amplitude unit outside QuakeML's list as unit
  ``other`` plus a comment with ID ``…/unit``.  What our XML does not carry either goes into
  ObsPy's ``extra`` attributes in the namespace :data:`SEQT_NS` (ObsPy writes them into QuakeML
  as foreign elements, which the schema allows): ``snr`` and ``amplitude`` of a pick (the
  picker's own measurements), a value ObsPy's enumerations refuse (an SCML-only event type,
  say) under its attribute name, and an event's ``originReferences`` (JSON) when its origin
  references are not exactly the origins nested in it.
- What only ObsPy models (magnitudes, focal mechanisms, origin quality and uncertainties,
  pick polarity and onset, …) is dropped by :func:`from_obspy`.  So is an ObsPy event's hold on
  picks that none of its origins' arrivals refers to (our model, like SCML, ties picks to events
  only through arrivals): back in ObsPy they sit in the unassociated event.  A resource ID that
  is not a valid QuakeML ID (ObsPy accepts any text) comes back as ``smi:local/seqt/…``, so the
  QuakeML ObsPy writes of the catalog validates.

The ObsPy plugin (``obspy.plugin.event`` entry point ``SEQTSCML``, see setup.py):
``obspy.read_events(path, format="SEQTSCML")`` reads any SCML 0.11-0.14 or QuakeML 1.2 with our
reader, picks that belong to no origin included (ObsPy's SCML reader drops those), and
``catalog.write(path, format="SEQTSCML", version="0.13")`` writes SCML with our writer.
:func:`is_seqtscml` claims only SCML whose EventParameters hold no origin and no event (a
picker's output), which is what ObsPy's SCML reader cannot read.  ObsPy's format detection
asks its own formats (QUAKEML, SCML) first, and its SCML check accepts any SCML root, so
``read_events(path)`` without ``format`` still goes to ObsPy's SCML reader: name the format.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Dict, Optional

from obspy import UTCDateTime
from obspy.core.event import Amplitude as ObsAmplitude
from obspy.core.event import Arrival as ObsArrival
from obspy.core.event import Catalog
from obspy.core.event import Comment as ObsComment
from obspy.core.event import CreationInfo as ObsCreationInfo
from obspy.core.event import Event as ObsEvent
from obspy.core.event import Origin as ObsOrigin
from obspy.core.event import Pick as ObsPick
from obspy.core.event import QuantityError, ResourceIdentifier, TimeWindow, WaveformStreamID
from obspy.core.util import AttribDict

from ...picks.model import (
    Amplitude,
    Arrival,
    Comment,
    CreationInfo,
    Event,
    EventParameters,
    Origin,
    Pick,
    WaveformID,
)
from .common import (
    QML_AUTO_PREFIX,
    QML_UNASSOCIATED_EVENT,
    SCML_NAMESPACES,
    format_float,
    from_quakeml_id,
    parse_float,
    pick_comment_fields,
    prolog_has_doctype,
    to_quakeml_id,
)
from .quakeml import AMPLITUDE_UNITS
from .reader import read_event_parameters
from .writer import event_groups, write_event_parameters

#: Namespace of the ``extra`` attributes :func:`to_obspy` sets (ObsPy writes them into QuakeML).
SEQT_NS = "urn:seqt-plugins:event-parameters:1"

#: The ObsPy format name of the plugin (ObsPy's own SCML reader is ``SCML``/``SC3ML``).
FORMAT = "SEQTSCML"

_CATALOG_AUTO_ID = QML_AUTO_PREFIX + "eventParameters"


# --------------------------------------------------------------------------- ours → ObsPy


def _rid(model_id: Optional[str]) -> Optional[ResourceIdentifier]:
    return None if model_id is None else ResourceIdentifier(to_quakeml_id(model_id))


def _utc(t) -> Optional[UTCDateTime]:
    """A copy, so the two object trees share no mutable UTCDateTime."""
    return None if t is None else UTCDateTime(ns=t.ns)


def _obs_creation_info(ci: Optional[CreationInfo]) -> Optional[ObsCreationInfo]:
    if ci is None:
        return None
    return ObsCreationInfo(agency_id=ci.agency_id, author=ci.author, creation_time=_utc(ci.creation_time))


def _obs_comment(text: str, cid: Optional[str]) -> ObsComment:
    c = ObsComment(text=text)
    c.resource_id = _rid(cid)  # ObsPy invents an ID when none is given; ours may have none
    return c


def _obs_waveform_id(w: Optional[WaveformID]) -> Optional[WaveformStreamID]:
    if w is None:
        return None
    return WaveformStreamID(network_code=w.network, station_code=w.station,
                            location_code=w.location, channel_code=w.channel)


def _put_extra(obj, key: str, value: str) -> None:
    extra = getattr(obj, "extra", None)
    if extra is None:
        extra = obj.extra = AttribDict()
    extra[key] = AttribDict({"value": value, "namespace": SEQT_NS})


def _set_checked(obj, attr: str, value) -> None:
    """Set an ObsPy attribute; a value its enumeration refuses goes into ``extra`` instead."""
    if value is None:
        return
    try:
        setattr(obj, attr, value)
    except ValueError:
        _put_extra(obj, attr, value)


def _obs_pick(p: Pick) -> ObsPick:
    o = ObsPick(
        resource_id=_rid(p.public_id),
        time=_utc(p.time),
        time_errors=QuantityError(uncertainty=p.time_uncertainty, lower_uncertainty=p.time_lower_uncertainty,
                                  upper_uncertainty=p.time_upper_uncertainty),
        waveform_id=_obs_waveform_id(p.waveform_id),
        filter_id=_rid(p.filter_id),
        method_id=_rid(p.method_id),
        phase_hint=p.phase_hint,
        creation_info=_obs_creation_info(p.creation_info),
    )
    _set_checked(o, "evaluation_mode", p.evaluation_mode)
    _set_checked(o, "evaluation_status", p.evaluation_status)
    if p.probability is not None:
        o.comments.append(_obs_comment(format_float(p.probability), "probability"))
    if p.reference_pick_id is not None:
        o.comments.append(_obs_comment(p.reference_pick_id, "referencePickID"))
    o.comments.extend(_obs_comment(c.text, c.id) for c in p.comments)
    if p.snr is not None:
        _put_extra(o, "snr", format_float(p.snr))
    if p.amplitude is not None:
        _put_extra(o, "amplitude", format_float(p.amplitude))
    return o


def _obs_amplitude(a: Amplitude) -> ObsAmplitude:
    o = ObsAmplitude(
        resource_id=_rid(a.public_id),
        generic_amplitude=a.value,
        type=a.type,
        snr=a.snr,
        pick_id=_rid(a.pick_id),
        waveform_id=_obs_waveform_id(a.waveform_id),
        creation_info=_obs_creation_info(a.creation_info),
    )
    if a.unit is not None:
        o.unit = a.unit if a.unit in AMPLITUDE_UNITS else "other"
        if a.unit not in AMPLITUDE_UNITS:
            o.comments.append(_obs_comment(a.unit, "unit"))
    if a.reference_time is not None or a.window_begin is not None or a.window_end is not None:
        o.time_window = TimeWindow(begin=a.window_begin, end=a.window_end, reference=_utc(a.reference_time))
    return o


def _obs_origin(o: Origin) -> ObsOrigin:
    out = ObsOrigin(
        resource_id=_rid(o.public_id),
        time=_utc(o.time),
        latitude=o.latitude,
        longitude=o.longitude,
        depth=o.depth,
        method_id=_rid(o.method_id),
        creation_info=_obs_creation_info(o.creation_info),
        comments=[_obs_comment(c.text, c.id) for c in o.comments],
    )
    _set_checked(out, "evaluation_mode", o.evaluation_mode)
    _set_checked(out, "evaluation_status", o.evaluation_status)
    qid = to_quakeml_id(o.public_id)
    base = QML_AUTO_PREFIX + "arrival/" + qid.split(":", 1)[1].replace("/", "_") + "/"
    for i, a in enumerate(o.arrivals):  # the arrival IDs our QuakeML writer makes
        out.arrivals.append(ObsArrival(
            resource_id=ResourceIdentifier(to_quakeml_id(a.public_id) if a.public_id else f"{base}{i}"),
            pick_id=_rid(a.pick_id),
            phase=a.phase,
            azimuth=a.azimuth,
            distance=a.distance,
            time_residual=a.time_residual,
            time_weight=a.time_weight,
            creation_info=_obs_creation_info(a.creation_info),
        ))
    return out


def _obs_event(e: Optional[Event], origins, picks, amplitudes, unassociated_id: str = "") -> ObsEvent:
    out = ObsEvent(
        resource_id=ResourceIdentifier(unassociated_id) if e is None else _rid(e.public_id),
        picks=[_obs_pick(p) for p in picks],
        amplitudes=[_obs_amplitude(a) for a in amplitudes],
        origins=[_obs_origin(o) for o in origins],
    )
    if e is not None:
        out.preferred_origin_id = _rid(e.preferred_origin_id)
        _set_checked(out, "event_type", e.type)
        out.creation_info = _obs_creation_info(e.creation_info)
        out.comments = [_obs_comment(c.text, c.id) for c in e.comments]
        if list(e.origin_ids) != [o.public_id for o in origins]:
            _put_extra(out, "originReferences", json.dumps(list(e.origin_ids)))
    return out


def to_obspy(ep: EventParameters) -> Catalog:
    """Our event parameters as an ObsPy ``Catalog`` (layout and extras: see the module doc)."""
    groups, (picks, amplitudes, origins) = event_groups(ep)
    events = [_obs_event(e, os_, ps, as_) for e, os_, ps, as_ in groups]
    if picks or amplitudes or origins:
        events.append(_obs_event(None, origins, picks, amplitudes, QML_UNASSOCIATED_EVENT))
    cat = Catalog(events=events)
    cat.resource_id = ResourceIdentifier(to_quakeml_id(ep.public_id) if ep.public_id else _CATALOG_AUTO_ID)
    return cat


# --------------------------------------------------------------------------- ObsPy → ours


def _id(rid) -> Optional[str]:
    if rid is None:
        return None
    text = str(rid)
    return None if text.startswith(QML_AUTO_PREFIX) else from_quakeml_id(text)


def _float(x) -> Optional[float]:
    return None if x is None else float(x)


def _extras(obj) -> Dict[str, str]:
    """Our ``extra`` entries of an ObsPy object (values as text, as after a QuakeML read)."""
    extra = getattr(obj, "extra", None) or {}
    out = {}
    for key, item in extra.items():
        if isinstance(item, Mapping) and item.get("namespace") == SEQT_NS:
            out[key] = str(item.get("value"))
    return out


def _enum(obj, attr: str, extras: Dict[str, str]) -> Optional[str]:
    value = getattr(obj, attr, None)
    return extras.get(attr, None if value is None else str(value))


def _creation_info(ci) -> Optional[CreationInfo]:
    if ci is None:
        return None
    return CreationInfo(agency_id=ci.agency_id, author=ci.author, creation_time=_utc(ci.creation_time))


def _comment(c) -> Comment:
    return Comment(c.text, _id(c.resource_id))


def _waveform_id(w, what: str) -> WaveformID:
    if w is None or w.network_code is None or not w.station_code:
        raise ValueError(f"{what} has no waveform ID (network and station)")
    return WaveformID(w.network_code, w.station_code, w.location_code or "", w.channel_code or "")


def _pick(o) -> Pick:
    pid = _id(o.resource_id)
    if o.time is None:
        raise ValueError(f"pick {pid!r} has no time")
    extras = _extras(o)
    # as our reader does: the first of each becomes the field again
    probability, reference, comments = pick_comment_fields([_comment(c) for c in o.comments])
    return Pick(
        public_id=pid,
        time=_utc(o.time),
        waveform_id=_waveform_id(o.waveform_id, f"pick {pid!r}"),
        phase_hint=None if o.phase_hint is None else str(o.phase_hint),
        time_uncertainty=_float(getattr(o.time_errors, "uncertainty", None)),
        time_lower_uncertainty=_float(getattr(o.time_errors, "lower_uncertainty", None)),
        time_upper_uncertainty=_float(getattr(o.time_errors, "upper_uncertainty", None)),
        method_id=_id(o.method_id),
        filter_id=_id(o.filter_id),
        evaluation_mode=_enum(o, "evaluation_mode", extras),
        evaluation_status=_enum(o, "evaluation_status", extras),
        creation_info=_creation_info(o.creation_info),
        probability=probability,
        reference_pick_id=reference,
        comments=comments,
        snr=parse_float(extras["snr"]) if "snr" in extras else None,
        amplitude=parse_float(extras["amplitude"]) if "amplitude" in extras else None,
    )


def _amplitude(o) -> Amplitude:
    unit = None if o.unit is None else str(o.unit)
    if unit == "other":
        for c in o.comments:
            if _id(c.resource_id) == "unit" and c.text not in AMPLITUDE_UNITS:
                unit = c.text
                break
    tw = o.time_window
    return Amplitude(
        public_id=_id(o.resource_id),
        type=o.type if o.type is not None else "",
        value=_float(o.generic_amplitude),
        pick_id=_id(o.pick_id),
        snr=_float(o.snr),
        unit=unit,
        waveform_id=None if o.waveform_id is None else _waveform_id(o.waveform_id, f"amplitude {_id(o.resource_id)!r}"),
        creation_info=_creation_info(o.creation_info),
        reference_time=_utc(getattr(tw, "reference", None)),
        window_begin=_float(getattr(tw, "begin", None)),
        window_end=_float(getattr(tw, "end", None)),
    )


def _origin(o) -> Origin:
    oid = _id(o.resource_id)
    if o.time is None or o.latitude is None or o.longitude is None:
        raise ValueError(f"origin {oid!r} needs time, latitude and longitude")
    extras = _extras(o)
    if any(a.pick_id is None for a in o.arrivals):
        raise ValueError(f"origin {oid!r} has an arrival without pick ID")
    arrivals = [Arrival(
        pick_id=_id(a.pick_id), phase="" if a.phase is None else str(a.phase), public_id=_id(a.resource_id),
        distance=_float(a.distance), azimuth=_float(a.azimuth), time_residual=_float(a.time_residual),
        time_weight=_float(a.time_weight), creation_info=_creation_info(a.creation_info),
    ) for a in o.arrivals]
    return Origin(
        public_id=oid, time=_utc(o.time), latitude=float(o.latitude), longitude=float(o.longitude),
        depth=_float(o.depth), arrivals=arrivals, method_id=_id(o.method_id),
        evaluation_mode=_enum(o, "evaluation_mode", extras),
        evaluation_status=_enum(o, "evaluation_status", extras),
        creation_info=_creation_info(o.creation_info), comments=[_comment(c) for c in o.comments],
    )


def from_obspy(catalog: Catalog) -> EventParameters:
    """An ObsPy ``Catalog`` as our event parameters (the inverse of :func:`to_obspy`).

    The unassociated event (``smi:local/seqt-auto/unassociated…``) is dissolved: its picks,
    amplitudes and origins belong to no event.  Raises ``ValueError`` for a pick without time or
    waveform ID, or an origin without time, latitude or longitude (our model requires them).
    """
    ep = EventParameters(public_id=_id(catalog.resource_id))
    for ev in catalog:
        ep.picks.extend(_pick(p) for p in ev.picks)
        ep.amplitudes.extend(_amplitude(a) for a in ev.amplitudes)
        origins = [_origin(o) for o in ev.origins]
        ep.origins.extend(origins)
        if str(ev.resource_id).startswith(QML_UNASSOCIATED_EVENT):
            continue
        extras = _extras(ev)
        refs = extras.get("originReferences")
        ep.events.append(Event(
            public_id=_id(ev.resource_id),
            preferred_origin_id=_id(ev.preferred_origin_id),
            origin_ids=json.loads(refs) if refs is not None else [o.public_id for o in origins],
            type=_enum(ev, "event_type", extras),
            creation_info=_creation_info(ev.creation_info),
            comments=[_comment(c) for c in ev.comments],
        ))
    return ep


# --------------------------------------------------------------------------- ObsPy plugin

_ROOT_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?seiscomp[\s>]")
_EP_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?EventParameters[\s/>]")
_NOT_PICKS_ONLY = tuple((name, re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?" + name + rb"[\s/>]"))
                        for name in (b"origin", b"event"))
_SCML_NS = tuple(ns.encode() for ns in SCML_NAMESPACES.values())
_CHUNK = 1 << 20


def is_seqtscml(source) -> bool:
    """ObsPy ``isFormat``: SCML (0.11-0.14) whose EventParameters hold no origin and no event.

    A byte scan, no XML parse: the root and namespace from the first 64 KiB, then the whole
    document for an ``<origin>`` or ``<event>`` element (those documents are ObsPy's SCML
    reader's).  ``source`` is a path or a binary file object, left where it was.
    """
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as fh:
                return _scan(fh)
        if hasattr(source, "read"):
            where = source.tell() if hasattr(source, "tell") else None
            try:
                return _scan(source)
            finally:
                if where is not None:
                    source.seek(where)
    except (OSError, TypeError, ValueError):
        return False
    return False


def _scan(fh) -> bool:
    head = fh.read(1 << 16)
    if not isinstance(head, bytes) or prolog_has_doctype(head):
        return False
    root = _ROOT_RE.search(head)
    if root is None or not any(ns in head for ns in _SCML_NS) or _EP_RE.search(head) is None:
        return False
    data = head
    while True:
        if _has_origin_or_event(data):
            return False
        more = fh.read(_CHUNK)
        if not more:
            return True
        data = data[-64:] + more  # an element name split between two reads


def _has_origin_or_event(data: bytes) -> bool:
    """Whether ``data`` holds an origin or event start tag: ``bytes.find`` for the name (fast),
    the tag pattern checked only around each hit."""
    for name, tag in _NOT_PICKS_ONLY:
        pos = data.find(name)
        while pos >= 0:
            if tag.search(data, max(0, pos - 64), pos + len(name) + 1):
                return True
            pos = data.find(name, pos + 1)
    return False


def read_seqtscml(filename) -> Catalog:
    """ObsPy ``readFormat``: SCML or QuakeML read with our reader, then :func:`to_obspy`."""
    return to_obspy(read_event_parameters(filename))


def write_seqtscml(catalog: Catalog, filename, version: Optional[str] = None, pretty: bool = True) -> None:
    """ObsPy ``writeFormat``: :func:`from_obspy`, then our SCML writer (default version 0.13)."""
    write_event_parameters(from_obspy(catalog), filename, format="scml", version=version, pretty=pretty)


__all__ = ["FORMAT", "SEQT_NS", "from_obspy", "is_seqtscml", "read_seqtscml", "to_obspy", "write_seqtscml"]

"""Streaming readers for SCML 0.11-0.14 and QuakeML 1.2 (lxml ``iterparse``).

The document is parsed incrementally; each pick/amplitude/origin/event element is turned into
a model object at its end tag and then removed from the tree, so memory holds one object at a
time (plus whatever the caller keeps).  Format and version come from the root element; anything
wrong raises :class:`XMLInputError` with file and line.
"""

from __future__ import annotations

import os
from typing import Iterator, List, Optional

from lxml import etree

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
    scml_namespace_problem,
    check_no_doctype,
    pick_comment_fields,
    BED_NS,
    QML_AUTO_PREFIX,
    QUAKEML_NS,
    SAFE_PARSE_OPTIONS,
    SCML_NAMESPACES,
    SCML_VERSION_BY_NAMESPACE,
    XMLInputError,
    from_quakeml_id,
    parse_float,
    parse_time,
    source_name,
    utc_from_ns,
)
from .scml import km_to_metres
from .quakeml import AMPLITUDE_UNITS

_LOCAL_NAMES = (
    "time value uncertainty lowerUncertainty upperUncertainty waveformID filterID methodID "
    "phaseHint evaluationMode evaluationStatus creationInfo agencyID author creationTime comment "
    "text id type amplitude genericAmplitude snr unit pickID latitude longitude depth arrival "
    "phase azimuth distance timeResidual weight timeWeight preferredOriginID originReference timeWindow"
).split()

_WATCHED = (
    "seiscomp quakeml EventParameters eventParameters pick amplitude origin event reading "
    "focalMechanism magnitude stationMagnitude"
).split()


class _Dialect:
    """What differs between the formats, resolved once per document."""

    def __init__(self, fmt: str, ns: str, version: str, src: str):
        self.format = fmt
        self.version = version
        self.src = src
        self.qml = fmt == "quakeml"
        q = "{%s}" % ns
        self.names = {q + n: n for n in _LOCAL_NAMES}
        self.ep_tag = q + ("eventParameters" if self.qml else "EventParameters")
        self.event_tag = q + "event"
        self.pick_tag = q + "pick"
        self.amplitude_tag = q + "amplitude"
        self.origin_tag = q + "origin"
        self.drop_tags = {q + n for n in ("reading", "focalMechanism", "magnitude", "stationMagnitude")}
        self.idin = from_quakeml_id if self.qml else _strip
        self.time_cache: dict = {}  # time text → ns (creation times repeat)

    def error(self, el, message: str) -> XMLInputError:
        return XMLInputError(self.src, getattr(el, "sourceline", None), message)


def _strip(s: str) -> str:
    return s.strip()


# --------------------------------------------------------------------------- element parsers


def _text(d: _Dialect, el, what: str) -> str:
    if el.text is None or not el.text.strip():
        raise d.error(el, f"empty <{what}>")
    return el.text.strip()


def _float(d: _Dialect, el) -> float:
    try:
        return parse_float(el.text)
    except ValueError as err:
        raise d.error(el, f"<{etree.QName(el).localname}>: {err}") from None


def _time(d: _Dialect, el):
    try:
        return parse_time(el.text)
    except ValueError as err:
        raise d.error(el, f"<{etree.QName(el).localname}>: {err}") from None


def _time_quantity(d: _Dialect, el, what: str, pid: str):
    """(value, uncertainty, lowerUncertainty, upperUncertainty) of a TimeQuantity."""
    value = unc = lower = upper = None
    names = d.names
    for c in el:
        n = names.get(c.tag)
        if n == "value":
            value = _time(d, c)
        elif n == "uncertainty":
            unc = _float(d, c)
        elif n == "lowerUncertainty":
            lower = _float(d, c)
        elif n == "upperUncertainty":
            upper = _float(d, c)
    if value is None:
        raise d.error(el, f"{what} {pid!r} has a time without value")
    return value, unc, lower, upper


def _real_value(d: _Dialect, el, what: str) -> float:
    for c in el:
        if d.names.get(c.tag) == "value":
            return _float(d, c)
    raise d.error(el, f"<{what}> without value")


def _real_text(d: _Dialect, el, what: str) -> str:
    for c in el:
        if d.names.get(c.tag) == "value":
            return _text(d, c, "value")
    raise d.error(el, f"<{what}> without value")


def _waveform_id(d: _Dialect, el, what: str, pid: str) -> WaveformID:
    get = el.get
    net = get("networkCode")
    sta = get("stationCode")
    if net is None or not sta:  # an empty network code is legal (old or temporary stations)
        raise d.error(el, f"{what} {pid!r} has a waveformID without networkCode/stationCode")
    return WaveformID(net, sta, get("locationCode") or "", get("channelCode") or "")


def _creation_info(d: _Dialect, el) -> CreationInfo:
    ci = CreationInfo()
    names = d.names
    for c in el:
        n = names.get(c.tag)
        if n == "agencyID":
            ci.agency_id = c.text or ""
        elif n == "author":
            ci.author = c.text or ""
        elif n == "creationTime":  # objects of one run share it: cached by text
            text = c.text
            ns = d.time_cache.get(text)
            if ns is None:
                ci.creation_time = _time(d, c)
                if len(d.time_cache) > 1000:
                    d.time_cache.clear()
                d.time_cache[text] = ci.creation_time.ns
            else:
                ci.creation_time = utc_from_ns(ns)
    return ci


def _comment(d: _Dialect, el) -> Comment:
    text = None
    cid = el.get("id") if d.qml else None
    for c in el:
        n = d.names.get(c.tag)
        if n == "text":
            text = c.text or ""
        elif n == "id" and not d.qml:
            cid = (c.text or "").strip()
    if text is None:
        raise d.error(el, "comment without text")
    if cid is not None and d.qml:
        cid = from_quakeml_id(cid)
    return Comment(text, cid)


def _public_id(d: _Dialect, el, what: str) -> str:
    pid = el.get("publicID")
    if pid is None or not pid.strip():
        raise d.error(el, f"{what} without publicID")
    return d.idin(pid)


_PICK_FIELDS = {
    "phaseHint": "phase_hint", "methodID": "method_id", "filterID": "filter_id",
    "evaluationMode": "evaluation_mode", "evaluationStatus": "evaluation_status",
}


def parse_pick(d: _Dialect, el) -> Pick:
    # The hot path of reading: the publicID check and the simple fields are inlined; errors are
    # the same as the helpers'.
    pid = el.get("publicID")
    if pid is None or not pid.strip():
        raise d.error(el, "pick without publicID")
    pid = d.idin(pid)
    time = wid = None
    unc = lower = upper = None
    kw = {}
    comments: List[Comment] = []
    names = d.names
    idin = d.idin
    for c in el:
        n = names.get(c.tag)
        if n is None:
            continue
        if n == "time":
            time, unc, lower, upper = _time_quantity(d, c, "pick", pid)
        elif n == "waveformID":
            wid = _waveform_id(d, c, "pick", pid)
        elif n == "phaseHint":
            kw["phase_hint"] = (c.text or "").strip()
        elif n in _PICK_FIELDS:
            text = c.text
            if text is None or not text.strip():
                raise d.error(c, f"empty <{n}>")
            text = text.strip()
            kw[_PICK_FIELDS[n]] = idin(text) if n in ("methodID", "filterID") else text
        elif n == "creationInfo":
            kw["creation_info"] = _creation_info(d, c)
        elif n == "comment":
            comments.append(_comment(d, c))
    if time is None:
        raise d.error(el, f"pick {pid!r} has no time")
    if wid is None:
        raise d.error(el, f"pick {pid!r} has no waveformID")
    kw.setdefault("evaluation_mode", None)
    probability, reference, rest = pick_comment_fields(comments)
    return Pick(
        public_id=pid, time=time, waveform_id=wid, time_uncertainty=unc,
        time_lower_uncertainty=lower, time_upper_uncertainty=upper,
        probability=probability, reference_pick_id=reference, comments=rest, **kw,
    )


def parse_amplitude(d: _Dialect, el) -> Amplitude:
    pid = _public_id(d, el, "amplitude")
    atype = value = None
    kw = {}
    unit_comment = None
    for c in el:
        n = d.names.get(c.tag)
        if n == "type":
            atype = (c.text or "").strip()
        elif n == ("genericAmplitude" if d.qml else "amplitude"):
            value = _real_value(d, c, n)
        elif n == "snr":
            kw["snr"] = _float(d, c)
        elif n == "timeWindow":
            for w in c:
                wn = etree.QName(w).localname
                if wn == "reference":
                    kw["reference_time"] = _time(d, w)
                elif wn in ("begin", "end"):
                    kw[f"window_{wn}"] = _float(d, w)
        elif n == "unit":
            kw["unit"] = (c.text or "").strip()
        elif n == "pickID":
            kw["pick_id"] = d.idin(_text(d, c, n))
        elif n == "waveformID":
            kw["waveform_id"] = _waveform_id(d, c, "amplitude", pid)
        elif n == "creationInfo":
            kw["creation_info"] = _creation_info(d, c)
        elif n == "comment" and d.qml:
            cm = _comment(d, c)
            if cm.id == "unit":
                unit_comment = cm.text
    if atype is None:
        atype = ""
    if unit_comment is not None and kw.get("unit") == "other" and unit_comment not in AMPLITUDE_UNITS:
        kw["unit"] = unit_comment
    return Amplitude(public_id=pid, type=atype, value=value, **kw)


def _arrival(d: _Dialect, el) -> Arrival:
    kw = {}
    pick_id = phase = None
    for c in el:
        n = d.names.get(c.tag)
        if n == "pickID":
            pick_id = d.idin(_text(d, c, n))
        elif n == "phase":
            phase = (c.text or "").strip()
        elif n == "azimuth":
            kw["azimuth"] = _float(d, c)
        elif n == "distance":
            kw["distance"] = _float(d, c)
        elif n == "timeResidual":
            kw["time_residual"] = _float(d, c)
        elif n == ("timeWeight" if d.qml else "weight"):
            kw["time_weight"] = _float(d, c)
        elif n == "creationInfo":
            kw["creation_info"] = _creation_info(d, c)
    if pick_id is None:
        raise d.error(el, "arrival without pickID")
    if d.qml:
        aid = el.get("publicID")
        if aid and not aid.startswith(QML_AUTO_PREFIX):
            kw["public_id"] = from_quakeml_id(aid)
    return Arrival(pick_id=pick_id, phase=phase or "", **kw)


def parse_origin(d: _Dialect, el) -> Origin:
    pid = _public_id(d, el, "origin")
    owner = f"origin {pid!r}"
    time = lat = lon = None
    kw = {}
    arrivals, comments = [], []
    for c in el:
        n = d.names.get(c.tag)
        if n == "time":
            time = _time_quantity(d, c, "origin", pid)[0]
        elif n == "latitude":
            lat = _real_value(d, c, n)
        elif n == "longitude":
            lon = _real_value(d, c, n)
        elif n == "depth":
            if d.qml:
                kw["depth"] = _real_value(d, c, n)
            else:
                text = _real_text(d, c, n)
                try:
                    kw["depth"] = km_to_metres(text)
                except ValueError as err:
                    raise d.error(c, f"<depth>: {err}") from None
        elif n == "methodID":
            kw["method_id"] = d.idin(_text(d, c, n))
        elif n == "evaluationMode":
            kw["evaluation_mode"] = _text(d, c, n)
        elif n == "evaluationStatus":
            kw["evaluation_status"] = _text(d, c, n)
        elif n == "creationInfo":
            kw["creation_info"] = _creation_info(d, c)
        elif n == "comment":
            comments.append(_comment(d, c))
        elif n == "arrival":
            arrivals.append(_arrival(d, c))
    if time is None or lat is None or lon is None:
        raise d.error(el, f"{owner} needs time, latitude and longitude")
    return Origin(public_id=pid, time=time, latitude=lat, longitude=lon, arrivals=arrivals,
                  comments=comments, **kw)


def parse_event(d: _Dialect, el, origin_ids: Optional[List[str]] = None) -> Event:
    pid = _public_id(d, el, "event")
    ev = Event(public_id=pid)
    for c in el:
        n = d.names.get(c.tag)
        if n == "preferredOriginID":
            ev.preferred_origin_id = d.idin(_text(d, c, n))
        elif n == "type":
            ev.type = (c.text or "").strip()
        elif n == "creationInfo":
            ev.creation_info = _creation_info(d, c)
        elif n == "comment":
            ev.comments.append(_comment(d, c))
        elif n == "originReference" and not d.qml:
            ev.origin_ids.append(_text(d, c, n))
    if origin_ids is not None:
        ev.origin_ids = list(origin_ids)
    return ev


# --------------------------------------------------------------------------- document walk


def _detect(root, src: str) -> _Dialect:
    """Check the root element (no DOCTYPE, known namespace and version) → dialect."""
    line = root.sourceline
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XMLInputError(src, line, "DOCTYPE/entity declarations are not allowed in SCML or QuakeML")
    qname = etree.QName(root)
    if qname.localname == "seiscomp":
        version = SCML_VERSION_BY_NAMESPACE.get(qname.namespace or "")
        attr = root.get("version")
        if version is None:
            if attr is not None and attr not in SCML_NAMESPACES:
                raise XMLInputError(src, line, f"unsupported SCML version {attr!r} (supported: 0.11-0.14)")
            raise XMLInputError(src, line, scml_namespace_problem(qname.namespace))
        if attr is not None and attr.strip() != version:
            raise XMLInputError(src, line, f"SCML version {attr!r} does not match namespace {qname.namespace!r}")
        return _Dialect("scml", SCML_NAMESPACES[version], version, src)
    if qname.localname == "quakeml":
        if qname.namespace != QUAKEML_NS:
            raise XMLInputError(src, line, f"unknown QuakeML namespace {qname.namespace!r} (need {QUAKEML_NS})")
        return _Dialect("quakeml", BED_NS, "1.2", src)
    raise XMLInputError(src, line, f"root element <{qname.localname}> is neither SCML <seiscomp> nor QuakeML <quakeml>")


def _walk(source, want=frozenset(("pick", "amplitude", "origin", "event"))) -> Iterator[tuple]:
    """Yield ("format", dialect), ("ep", public_id), ("pick", Pick), ("amplitude", …), …"""
    src = source_name(source)
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    tags = ["{*}" + t for t in _WATCHED]
    d: Optional[_Dialect] = None
    event_origins: List[str] = []
    source = check_no_doctype(source, src)
    try:
        # remove_blank_text: no whitespace-only text nodes between elements (a leaf's own text stays)
        parser = etree.iterparse(source, events=("start", "end"), tag=tags, remove_blank_text=True,
                                 **SAFE_PARSE_OPTIONS)
        for ev, el in parser:
            if d is None:
                d = _detect(el.getroottree().getroot(), src)
                yield "format", d
            tag = el.tag
            if ev == "start":
                if etree.QName(el).localname in ("eventParameters", "EventParameters"):
                    if tag != d.ep_tag:
                        raise d.error(el, f"<{etree.QName(el).localname}> in namespace {etree.QName(el).namespace!r}, expected {d.ep_tag[1:].split('}')[0]!r}")
                    if el.getparent() is not None and el.getparent().getparent() is None:
                        pid = el.get("publicID")
                        if pid is not None and d.qml:
                            pid = None if pid.startswith(QML_AUTO_PREFIX) else from_quakeml_id(pid)
                        yield "ep", pid
                elif tag == d.event_tag and d.qml:
                    event_origins = []
                continue
            parent = el.getparent()
            if parent is None:
                continue
            ptag = parent.tag
            if d.qml and ptag == d.event_tag:
                if tag == d.pick_tag:
                    if "pick" in want:
                        yield "pick", parse_pick(d, el)
                elif tag == d.amplitude_tag:
                    if "amplitude" in want:
                        yield "amplitude", parse_amplitude(d, el)
                elif tag == d.origin_tag:
                    if "origin" in want or "event" in want:
                        o = parse_origin(d, el)
                        event_origins.append(o.public_id)
                        if "origin" in want:
                            yield "origin", o
                elif tag not in d.drop_tags:
                    continue
                parent.remove(el)
            elif ptag == d.ep_tag:
                if tag == d.event_tag:
                    if d.qml:
                        pid = el.get("publicID") or ""
                        if "event" in want and not pid.startswith(QML_AUTO_PREFIX):
                            yield "event", parse_event(d, el, event_origins)
                    elif "event" in want:
                        yield "event", parse_event(d, el)
                elif d.qml:
                    continue
                elif tag == d.pick_tag:
                    if "pick" in want:
                        yield "pick", parse_pick(d, el)
                elif tag == d.amplitude_tag:
                    if "amplitude" in want:
                        yield "amplitude", parse_amplitude(d, el)
                elif tag == d.origin_tag:
                    if "origin" in want:
                        yield "origin", parse_origin(d, el)
                elif tag not in d.drop_tags:
                    continue
                parent.remove(el)
        if d is None:
            root = parser.root
            if root is None:
                raise XMLInputError(src, 1, "no XML document")
            d = _detect(root, src)  # raises for anything but an empty SCML/QuakeML root
            yield "format", d
    except etree.XMLSyntaxError as err:
        line = err.lineno if err.lineno else (err.position[0] if err.position else None)
        raise XMLInputError(src, line, err.msg or str(err)) from None


def read_event_parameters(source) -> EventParameters:
    """Read SCML (0.11-0.14, auto-detected) or QuakeML 1.2 into :class:`EventParameters`.

    ``source`` is a path or a binary file object.  Raises :class:`XMLInputError` (one line,
    ``file:line: what``) for malformed XML, an unknown namespace/version, a DOCTYPE, or a pick
    without time or waveformID; ``OSError`` if the file cannot be opened.
    """
    ep = EventParameters()
    seen = {}
    for kind, obj in _walk(source):
        if kind in ("pick", "amplitude", "origin"):
            # QuakeML keeps picks, amplitudes and origins inside events, and catalogs written
            # by other tools (ObsPy among them) repeat a pick in every event that uses it: the
            # same object twice is one object; two different ones under one publicID are an error
            pid = obj.public_id
            if pid and pid in seen:
                if seen[pid] != obj:
                    raise XMLInputError(source_name(source), None,
                                        f"{kind} {pid!r} appears twice with different content; "
                                        "publicIDs must be unique")
                continue
            if pid:
                seen[pid] = obj
            {"pick": ep.picks, "amplitude": ep.amplitudes, "origin": ep.origins}[kind].append(obj)
        elif kind == "event":
            ep.events.append(obj)
        elif kind == "ep":
            ep.public_id = obj
    return ep


def iter_picks(source) -> Iterator[Pick]:
    """Yield the picks of an SCML/QuakeML file one at a time (bounded memory)."""
    for kind, obj in _walk(source, want=frozenset(("pick",))):
        if kind == "pick":
            yield obj


def iter_amplitudes(source) -> Iterator[Amplitude]:
    """Yield the amplitudes of an SCML/QuakeML file one at a time (bounded memory)."""
    for kind, obj in _walk(source, want=frozenset(("amplitude",))):
        if kind == "amplitude":
            yield obj


def detect_format(source):
    """(format, version) of a document from its root element: ("scml", "0.13"), ("quakeml", "1.2")."""
    for kind, obj in _walk(source, want=frozenset()):
        if kind == "format":
            return obj.format, obj.version
    raise AssertionError("unreachable")

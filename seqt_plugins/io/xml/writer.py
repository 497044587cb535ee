"""Streaming writers for SCML and QuakeML (lxml ``etree.xmlfile``).

Each object is built as a small element and written at once, so a million picks never sit in
one tree.  Paths are written atomically (temporary file, fsync, rename via
:func:`seqt_plugins.io.atomic.atomic_write`): if anything fails before the end, the old file
(or no file) is left.  File objects (``sys.stdout.buffer``) are streamed to directly.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterable, Optional

from lxml import etree

from ...picks.model import Amplitude, Event, EventParameters, Origin, Pick
from ..atomic import atomic_write
from . import quakeml as _qml
from . import scml as _scml
from .common import (
    BED_NS,
    QML_AUTO_PREFIX,
    QML_UNASSOCIATED_EVENT,
    QUAKEML_NS,
    SCML_NAMESPACES,
    parse_format,
    to_quakeml_id,
)


class EventParametersWriter:
    """Context manager writing event parameters object by object.

    >>> with EventParametersWriter("picks.xml", format="scml", version="0.13") as w:
    ...     for pick in picks:
    ...         w.add_pick(pick)

    ``format`` is ``"scml"`` or ``"quakeml"`` (``"scml:0.12"`` also works); ``version`` is the
    SCML version (0.11-0.14, default 0.13).  In SCML every object is a direct child of
    ``EventParameters``.  In QuakeML, picks/amplitudes/origins added on their own go into the
    ``smi:local/seqt-auto/unassociated`` event (see :mod:`.quakeml`); :meth:`add_event` writes an
    event together with the origins, picks and amplitudes given to it.
    """

    def __init__(self, target, format: str = "scml", version: Optional[str] = None,
                 pretty: bool = True, public_id: Optional[str] = None):
        fmt, ver = parse_format(format)
        if fmt == "scml" and version is not None:
            fmt, ver = parse_format(f"scml:{version}")
        self.format = fmt
        self.version = ver
        self.pretty = pretty
        self.public_id = public_id
        self._target = target
        self._stack: Optional[contextlib.ExitStack] = None
        self._xf = None
        self._unassoc: Optional[contextlib.ExitStack] = None
        self._unassoc_count = 0
        self.counts = {"pick": 0, "amplitude": 0, "origin": 0, "event": 0}

    # -- context
    def __enter__(self) -> "EventParametersWriter":
        stack = contextlib.ExitStack()
        try:
            if isinstance(self._target, (str, os.PathLike)):
                handle = stack.enter_context(atomic_write(self._target, "wb"))
            else:
                handle = self._target
            xf = stack.enter_context(etree.xmlfile(handle, encoding="UTF-8", buffered=True))
            xf.write_declaration()
            if self.format == "scml":
                ns = SCML_NAMESPACES[self.version]
                stack.enter_context(xf.element(f"{{{ns}}}seiscomp", nsmap={None: ns}, version=self.version))
                self._nl(xf)
                attrs = {"publicID": self.public_id} if self.public_id else {}
                stack.enter_context(xf.element("EventParameters", attrs))
            else:
                stack.enter_context(xf.element(f"{{{QUAKEML_NS}}}quakeml", nsmap={"q": QUAKEML_NS, None: BED_NS}))
                self._nl(xf)
                pid = to_quakeml_id(self.public_id) if self.public_id else QML_AUTO_PREFIX + "eventParameters"
                stack.enter_context(xf.element("eventParameters", publicID=pid))
            self._nl(xf)
        except BaseException as err:
            stack.__exit__(type(err), err, err.__traceback__)
            raise
        self._stack = stack
        self._xf = xf
        return self

    def __exit__(self, exc_type, exc, tb):
        stack, self._stack = self._stack, None
        unassoc, self._unassoc = self._unassoc, None
        if exc_type is None:
            try:
                if unassoc is not None:
                    unassoc.close()
                    self._nl(self._xf)
            except BaseException as err:  # close the file (atomic: nothing is written)
                stack.__exit__(type(err), err, err.__traceback__)
                raise
            self._xf = None
            return stack.__exit__(None, None, None)
        if unassoc is not None:
            with contextlib.suppress(Exception):
                unassoc.__exit__(exc_type, exc, tb)
        self._xf = None
        return stack.__exit__(exc_type, exc, tb)

    # -- objects
    def add_pick(self, pick: Pick) -> None:
        build = _scml.pick if self.format == "scml" else _qml.pick
        self._write_loose(build(pick))
        self.counts["pick"] += 1

    def add_picks(self, picks: Iterable[Pick]) -> None:
        for p in picks:
            self.add_pick(p)

    def add_amplitude(self, amplitude: Amplitude) -> None:
        build = _scml.amplitude if self.format == "scml" else _qml.amplitude
        self._write_loose(build(amplitude))
        self.counts["amplitude"] += 1

    def add_origin(self, origin: Origin) -> None:
        build = _scml.origin if self.format == "scml" else _qml.origin
        self._write_loose(build(origin))
        self.counts["origin"] += 1

    def add_event(self, event: Event, origins: Iterable[Origin] = (), picks: Iterable[Pick] = (),
                  amplitudes: Iterable[Amplitude] = ()) -> None:
        """Write an event; in QuakeML the given objects are nested in it, in SCML written beside."""
        if self.format == "scml":
            for p in picks:
                self.add_pick(p)
            for a in amplitudes:
                self.add_amplitude(a)
            for o in origins:
                self.add_origin(o)
            self._write(_scml.event(event))
        else:
            # build everything first: a bad object must not leave a half-written event
            body = [_qml.pick(p) for p in picks]
            body += [_qml.amplitude(a) for a in amplitudes]
            body += [_qml.origin(o) for o in origins]
            body += _qml.event_scalars(event)
            self._close_unassociated()
            xf = self._xf
            with xf.element("event", _qml.event_open_attrs(event)):
                self._nl(xf)
                for el in body:
                    self._write(el)
            self._nl(xf)
            self.counts["pick"] += sum(1 for el in body if el.tag == "pick")
            self.counts["amplitude"] += sum(1 for el in body if el.tag == "amplitude")
            self.counts["origin"] += sum(1 for el in body if el.tag == "origin")
        self.counts["event"] += 1

    # -- internals
    def _nl(self, xf):
        if self.pretty:
            xf.write("\n")

    def _write(self, el):
        self._xf.write(el, pretty_print=self.pretty)

    def _write_loose(self, el):
        if self._xf is None:
            raise RuntimeError("EventParametersWriter used outside its 'with' block")
        if self.format == "quakeml" and self._unassoc is None:
            self._unassoc_count += 1
            pid = QML_UNASSOCIATED_EVENT if self._unassoc_count == 1 else f"{QML_UNASSOCIATED_EVENT}/{self._unassoc_count}"
            stack = contextlib.ExitStack()
            stack.enter_context(self._xf.element("event", publicID=pid))
            self._unassoc = stack
            self._nl(self._xf)
        self._write(el)

    def _close_unassociated(self):
        if self._unassoc is not None:
            stack, self._unassoc = self._unassoc, None
            stack.close()
            self._nl(self._xf)


def _event_groups(ep: EventParameters):
    """QuakeML nesting: for each event its origins, their picks and the picks' amplitudes."""
    origins = {o.public_id: o for o in ep.origins}
    used_origins, used_picks, used_amps = set(), set(), set()
    groups = []
    for ev in ep.events:
        ev_origins = []
        for oid in ev.origin_ids:
            if oid in origins and oid not in used_origins:
                used_origins.add(oid)
                ev_origins.append(origins[oid])
        wanted = {a.pick_id for o in ev_origins for a in o.arrivals} - used_picks
        ev_picks = [p for p in ep.picks if p.public_id in wanted]
        used_picks.update(p.public_id for p in ev_picks)
        pick_ids = {p.public_id for p in ev_picks}
        ev_amps = [a for a in ep.amplitudes if a.pick_id in pick_ids and id(a) not in used_amps]
        used_amps.update(id(a) for a in ev_amps)
        groups.append((ev, ev_origins, ev_picks, ev_amps))
    rest = (
        [p for p in ep.picks if p.public_id not in used_picks],
        [a for a in ep.amplitudes if id(a) not in used_amps],
        [o for o in ep.origins if o.public_id not in used_origins],
    )
    return groups, rest


def write_event_parameters(ep: EventParameters, target, format: str = "scml",
                           version: Optional[str] = None, pretty: bool = True) -> None:
    """Write ``ep`` as SCML (default version 0.13) or QuakeML 1.2.

    ``target`` is a path (written atomically) or a binary file object (streamed).  SCML order:
    picks, amplitudes, origins, events.  QuakeML nests each event's origins, the picks their
    arrivals refer to and those picks' amplitudes inside the event; the rest goes into the
    unassociated event (see :mod:`.quakeml`), so list order may differ after a QuakeML round
    trip while the set of objects does not.  An origin referenced by two events is nested in the
    first only, and origin references without a matching origin are lost in QuakeML.
    """
    with EventParametersWriter(target, format=format, version=version, pretty=pretty,
                               public_id=ep.public_id) as w:
        if w.format == "scml":
            for p in ep.picks:
                w.add_pick(p)
            for a in ep.amplitudes:
                w.add_amplitude(a)
            for o in ep.origins:
                w.add_origin(o)
            for e in ep.events:
                w.add_event(e)
        else:
            groups, (picks, amps, origins) = _event_groups(ep)
            for ev, ev_origins, ev_picks, ev_amps in groups:
                w.add_event(ev, origins=ev_origins, picks=ev_picks, amplitudes=ev_amps)
            for p in picks:
                w.add_pick(p)
            for a in amps:
                w.add_amplitude(a)
            for o in origins:
                w.add_origin(o)

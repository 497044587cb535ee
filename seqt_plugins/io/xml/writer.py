"""Streaming writers for SCML and QuakeML.

Each object is rendered as text and written at once, so a million picks never sit in one tree.
Picks and amplitudes (the bulk of a picker's output) go through the pre-formatted text renderer
of :mod:`.text`; origins, events and anything unusual (control characters, empty strings) go
through the lxml builders of :mod:`.scml`/:mod:`.quakeml`.  Both give the same bytes as the
lxml ``etree.xmlfile`` writer this replaced.  Output is buffered and UTF-8 encoded in chunks.

Paths are written atomically (temporary file, fsync, rename via
:func:`seqt_plugins.io.atomic.atomic_write`): if anything fails before the end, the old file
(or no file) is left.  File objects (``sys.stdout.buffer``) are streamed to directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterable, List, Optional

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
from .elements import require_id
from .text import Renderer, element_text, start_tag

log = logging.getLogger("seqt_plugins.xml")

_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"


class _Output:
    """Collects text and hands it to a binary stream UTF-8 encoded, in chunks of ~256 KiB."""

    CHUNK = 1 << 18

    def __init__(self, handle):
        self._handle = handle
        self._parts: List[str] = []
        self._size = 0

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size > self.CHUNK:
            self._push()

    def _push(self) -> None:
        if self._parts:
            data = "".join(self._parts).encode("utf-8")
            self._parts = []
            self._size = 0
            self._handle.write(data)

    def flush(self) -> None:
        self._push()
        self._handle.flush()


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
        self._xf: Optional[_Output] = None
        self._nl = "\n" if pretty else ""
        self._render = Renderer(fmt, pretty)
        self._in_unassoc = False
        self._unassoc_count = 0
        self._close_tags = ""
        self.counts = {"pick": 0, "amplitude": 0, "origin": 0, "event": 0}

    # -- context
    def __enter__(self) -> "EventParametersWriter":
        stack = contextlib.ExitStack()
        try:
            if isinstance(self._target, (str, os.PathLike)):
                handle = stack.enter_context(atomic_write(self._target, "wb"))
            else:
                handle = self._target
            nl = self._nl
            if self.format == "scml":
                ns = SCML_NAMESPACES[self.version]
                root = f'<seiscomp xmlns="{ns}" version="{self.version}">'
                attrs = {"publicID": self.public_id} if self.public_id else {}
                ep = start_tag("EventParameters", attrs)
                self._close_tags = "</EventParameters></seiscomp>"
            else:
                root = f'<q:quakeml xmlns="{BED_NS}" xmlns:q="{QUAKEML_NS}">'
                pid = to_quakeml_id(self.public_id) if self.public_id else QML_AUTO_PREFIX + "eventParameters"
                ep = start_tag("eventParameters", {"publicID": pid})
                self._close_tags = "</eventParameters></q:quakeml>"
            out = _Output(handle)
            out.write(f"{_DECLARATION}{root}{nl}{ep}{nl}")
        except BaseException as err:
            stack.__exit__(type(err), err, err.__traceback__)
            raise
        self._stack = stack
        self._xf = out
        return self

    def __exit__(self, exc_type, exc, tb):
        stack, self._stack = self._stack, None
        out, self._xf = self._xf, None
        if exc_type is None:
            try:
                if self._in_unassoc:
                    self._in_unassoc = False
                    out.write("</event>" + self._nl)
                out.write(self._close_tags)
                out.flush()
            except BaseException as err:  # close the file (atomic: nothing is written)
                stack.__exit__(type(err), err, err.__traceback__)
                raise
            return stack.__exit__(None, None, None)
        return stack.__exit__(exc_type, exc, tb)

    # -- objects
    def _pick_text(self, pick: Pick) -> str:
        builder = _scml if self.format == "scml" else _qml
        _scml.check_pick(pick)
        for name in ("time_uncertainty", "time_lower_uncertainty", "time_upper_uncertainty", "probability"):
            value = getattr(pick, name)
            if value is not None and value != value:
                log.warning("pick %s (%s): %s is NaN", pick.public_id,
                                        pick.waveform_id.nslc if pick.waveform_id else "?", name)
        text = self._render.pick(pick)
        if text is None:
            text = element_text(builder.pick(pick), self.pretty)
        return text

    def _amplitude_text(self, amplitude: Amplitude) -> str:
        builder = _scml if self.format == "scml" else _qml
        require_id(amplitude, "amplitude")
        text = self._render.amplitude(amplitude)
        if text is None:
            text = element_text(builder.amplitude(amplitude), self.pretty)
        return text

    def add_pick(self, pick: Pick) -> None:
        self._write_loose(self._pick_text(pick))
        self.counts["pick"] += 1

    def add_picks(self, picks: Iterable[Pick]) -> None:
        for p in picks:
            self.add_pick(p)

    def add_amplitude(self, amplitude: Amplitude) -> None:
        self._write_loose(self._amplitude_text(amplitude))
        self.counts["amplitude"] += 1

    def add_origin(self, origin: Origin) -> None:
        build = _scml.origin if self.format == "scml" else _qml.origin
        self._write_loose(element_text(build(origin), self.pretty))
        self.counts["origin"] += 1

    def _add_loose(self, picks: Iterable[Pick] = (), amplitudes: Iterable[Amplitude] = (),
                    origins: Iterable[Origin] = ()) -> None:
        """Picks, then amplitudes, then origins, each as :meth:`add_pick` etc. would write it."""
        for p in picks:
            self.add_pick(p)
        for a in amplitudes:
            self.add_amplitude(a)
        for o in origins:
            self.add_origin(o)

    def add_event(self, event: Event, origins: Iterable[Origin] = (), picks: Iterable[Pick] = (),
                  amplitudes: Iterable[Amplitude] = ()) -> None:
        """Write an event; in QuakeML the given objects are nested in it, in SCML written beside."""
        if self.format == "scml":
            self._add_loose(picks, amplitudes, origins)
            self._write(element_text(_scml.event(event), self.pretty))
        else:
            # render everything first: a bad object must not leave a half-written event
            pretty = self.pretty
            body = [self._pick_text(p) for p in picks]
            n_picks = len(body)
            body += [self._amplitude_text(a) for a in amplitudes]
            n_amps = len(body) - n_picks
            origin_texts = [element_text(_qml.origin(o), pretty) for o in origins]
            body += origin_texts
            body += [element_text(el, pretty) for el in _qml.event_scalars(event)]
            head = start_tag("event", _qml.event_open_attrs(event))
            self._close_unassociated()
            nl = self._nl
            self._write(f"{head}{nl}{''.join(body)}</event>{nl}")
            self.counts["pick"] += n_picks
            self.counts["amplitude"] += n_amps
            self.counts["origin"] += len(origin_texts)
        self.counts["event"] += 1

    # -- internals
    def _write(self, text: str) -> None:
        if self._xf is None:
            raise RuntimeError("EventParametersWriter used outside its 'with' block")
        self._xf.write(text)

    def _write_loose(self, text: str) -> None:
        if self.format == "quakeml" and not self._in_unassoc and self._xf is not None:
            self._unassoc_count += 1
            pid = QML_UNASSOCIATED_EVENT if self._unassoc_count == 1 else f"{QML_UNASSOCIATED_EVENT}/{self._unassoc_count}"
            self._xf.write(start_tag("event", {"publicID": pid}) + self._nl)
            self._in_unassoc = True
        self._write(text)

    def _close_unassociated(self) -> None:
        if self._in_unassoc:
            self._in_unassoc = False
            self._write("</event>" + self._nl)


def event_groups(ep: EventParameters):
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
    _check_unique_ids(ep)  # before anything is written
    with EventParametersWriter(target, format=format, version=version, pretty=pretty,
                               public_id=ep.public_id) as w:
        if w.format == "scml":
            w._add_loose(ep.picks, ep.amplitudes, ep.origins)
            for e in ep.events:
                w.add_event(e)
        else:
            groups, (picks, amps, origins) = event_groups(ep)
            for ev, ev_origins, ev_picks, ev_amps in groups:
                w.add_event(ev, origins=ev_origins, picks=ev_picks, amplitudes=ev_amps)
            w._add_loose(picks, amps, origins)


def _check_unique_ids(ep: EventParameters) -> None:
    """ValueError when two objects share a publicID (the schemas require unique IDs)."""
    seen = {}
    for what, objects in (("pick", ep.picks), ("amplitude", ep.amplitudes), ("origin", ep.origins),
                          ("event", ep.events)):
        for obj in objects:
            pid = obj.public_id
            if not pid:
                continue
            if pid in seen:
                raise ValueError(f"{what} {pid!r}: publicID already used by a {seen[pid]}; "
                                 "publicIDs must be unique")
            seen[pid] = what

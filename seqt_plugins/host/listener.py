"""Receive picks and origins from SeisComP messaging, as our own objects (seqtrepick's listener).

As scdlpicker does, the re-picker listens to the groups where pickers (PICK) and locators
(LOCATION) publish. SeisComP sends a new origin as notifiers in one message: the Origin
(``parentID`` EventParameters) and then each Arrival (``parentID`` the origin's ID).
:class:`OriginListener` collects them per message and yields the origins that message completed,
with the picks seen so far, converted field by field to :mod:`seqt_plugins.picks` objects.
``seiscomp`` is imported lazily (it is not on the package index).
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Sequence, Tuple

from obspy import UTCDateTime

from seqt_plugins.picks import Arrival, CreationInfo, Origin, Pick, WaveformID

from .messaging import MessagingError, _import_seiscomp


def _opt(fn, default=None):
    try:
        return fn()
    except (ValueError, RuntimeError):
        return default


def _time(t) -> UTCDateTime:
    return UTCDateTime(t.iso())


def pick_from_datamodel(datamodel, p) -> Pick:
    w = p.waveformID()
    pick = Pick(public_id=p.publicID(), time=_time(p.time().value()),
                waveform_id=WaveformID(w.networkCode(), w.stationCode(), w.locationCode(), w.channelCode()),
                phase_hint=_opt(lambda: p.phaseHint().code()), method_id=p.methodID() or None,
                time_uncertainty=_opt(lambda: p.time().uncertainty()),
                evaluation_mode=_opt(lambda: datamodel.EEvaluationModeNames.name(p.evaluationMode())))
    ci = _opt(p.creationInfo)
    if ci is not None:
        pick.creation_info = CreationInfo(ci.agencyID() or None, ci.author() or None,
                                          _opt(lambda: _time(ci.creationTime())))
    return pick


def arrival_from_datamodel(a) -> Arrival:
    return Arrival(pick_id=a.pickID(), phase=_opt(lambda: a.phase().code()) or "P", distance=_opt(a.distance),
                   azimuth=_opt(a.azimuth), time_residual=_opt(a.timeResidual), time_weight=_opt(a.weight))


def origin_from_datamodel(datamodel, o) -> Origin:
    depth_km = _opt(lambda: o.depth().value())
    return Origin(public_id=o.publicID(), time=_time(o.time().value()), latitude=o.latitude().value(),
                  longitude=o.longitude().value(), depth=None if depth_km is None else depth_km * 1000.0,
                  arrivals=[arrival_from_datamodel(o.arrival(i)) for i in range(o.arrivalCount())],
                  method_id=o.methodID() or None,
                  evaluation_mode=_opt(lambda: datamodel.EEvaluationModeNames.name(o.evaluationMode())))


class OriginListener:
    """Picks and origins from a ``seiscomp.client.Connection`` subscribed to ``groups``."""

    def __init__(self, connection, groups: Sequence[str] = ("PICK", "LOCATION"), max_picks: int = 100000):
        client, self.datamodel, _ = _import_seiscomp()
        self.connection = connection
        for group in groups:
            if connection.subscribe(group) != client.OK:
                raise MessagingError(f"cannot subscribe to the messaging group {group}")
        self.picks: Dict[str, Pick] = {}
        self.max_picks = max_picks

    def origins(self) -> Iterator[Tuple[Origin, List[Pick]]]:
        """(origin, its arrivals' picks that were seen) per origin, as messages arrive; ends when
        the connection does."""
        dm = self.datamodel
        for packet in self._packets():
            msg = packet[0] if isinstance(packet, (list, tuple)) else packet
            if msg is None:
                if isinstance(packet, (list, tuple)) and packet[1] is None:
                    return  # connection closed
                continue
            notifiers = dm.NotifierMessage.Cast(msg)
            if notifiers is None:
                continue
            new: Dict[str, Origin] = {}
            for obj in notifiers:
                n = dm.Notifier.Cast(obj)
                if n is None or n.operation() != dm.OP_ADD:
                    continue
                o = n.object()
                pick = dm.Pick.Cast(o)
                if pick is not None:
                    ours = pick_from_datamodel(dm, pick)
                    self.picks[ours.public_id] = ours
                    if len(self.picks) > self.max_picks:  # oldest first (dicts keep insertion order)
                        self.picks.pop(next(iter(self.picks)))
                    continue
                origin = dm.Origin.Cast(o)
                if origin is not None:
                    new[origin.publicID()] = origin_from_datamodel(dm, origin)
                    continue
                arrival = dm.Arrival.Cast(o)
                if arrival is not None and n.parentID() in new:
                    new[n.parentID()].arrivals.append(arrival_from_datamodel(arrival))
            for origin in new.values():
                yield origin, [self.picks[a.pick_id] for a in origin.arrivals if a.pick_id in self.picks]


    def _packets(self) -> Iterator[Any]:
        """The connection's packets, received in a daemon thread.

        ``Connection.recv`` blocks inside SeisComP's C++ code, where Python runs no signal
        handler, so a SIGTERM (``seiscomp stop``, a test's ``terminate``) would wait for the next
        message; the main thread waits on a queue instead and stays interruptible.
        """
        import queue
        import threading

        packets: "queue.Queue" = queue.Queue(maxsize=1000)

        def receive():
            while True:
                packet = self.connection.recv()
                packets.put(packet)
                if _closed(packet):
                    return

        threading.Thread(target=receive, name="seiscomp-recv", daemon=True).start()
        while True:
            try:
                packet = packets.get(timeout=0.5)
            except queue.Empty:
                continue
            yield packet
            if _closed(packet):
                return


def _closed(packet) -> bool:
    """A ``recv`` result that says the connection is closed: (None, None)."""
    return isinstance(packet, (list, tuple)) and packet[0] is None and packet[1] is None


def listen(connection, groups: Sequence[str] = ("PICK", "LOCATION")) -> Iterator[Tuple[Origin, List[Pick]]]:
    return OriginListener(connection, groups).origins()


__all__ = ["OriginListener", "listen", "origin_from_datamodel", "pick_from_datamodel"]

"""When a SeisComP host's origins are re-picked: once their records can be complete, the newest
origin of an event only.

A locator sends an event's origin again and again as picks arrive (scautoloc: a new origin per
update, each with the picks it uses). Re-picking each at once searches records that a
real-time server does not have yet (the re-picker reads until ``READ_AFTER`` seconds after the
origin time) and repeats the work for every update. So an origin waits until its origin time is
``delay`` seconds past, and an origin that shares a pick with one received later is replaced by
that one while both wait. Origins older than that (playbacks, archives) are re-picked at once,
each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Tuple

#: The default delay (``originDelay``): the re-picker reads records until 120 s after the origin
#: time (``repicker.engine.READ_AFTER``), plus a few seconds for them to reach a real-time server.
DEFAULT_DELAY_S = 130


@dataclass
class _Waiting:
    origin: object  # what the caller re-picks (a seiscomp.datamodel.Origin)
    due: float  # clock time (seconds since 1970) from which it is re-picked
    picks: FrozenSet[str] = field(default_factory=frozenset)


class OriginQueue:
    """Origins waiting to be re-picked, by public ID, in the order received."""

    def __init__(self, delay: float):
        if not delay >= 0:
            raise ValueError(f"origin delay must be at least 0 s, not {delay}")
        self.delay = float(delay)
        self._waiting: Dict[str, _Waiting] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, origin_id: str, origin_time: float, pick_ids: Iterable[str], origin: object,
            now: float) -> List[str]:
        """Queue an origin (``origin_time`` and ``now`` in seconds since 1970); returns the IDs of
        the waiting origins it replaces (they share a pick with it: the same event, located
        again). The replacement keeps the earliest due time of those it replaces, so a stream of
        updates does not postpone the event's re-picking without end. An origin already due is
        not replaced: in a playback every origin is re-picked, however close they arrive."""
        picks = frozenset(pick_ids)
        due = max(now, origin_time + self.delay)
        replaced = [oid for oid, w in self._waiting.items()
                    if oid != origin_id and w.due > now and picks & w.picks]
        for oid in replaced:
            due = min(due, self._waiting.pop(oid).due)
        if origin_id in self._waiting:  # sent again (an update of the same object): keep its due time
            due = min(due, self._waiting.pop(origin_id).due)
        self._waiting[origin_id] = _Waiting(origin, due, picks)
        return replaced

    def due(self, now: float) -> List[Tuple[str, object]]:
        """The origins whose time has come, removed from the queue, in the order received."""
        ready = [(oid, w.origin) for oid, w in self._waiting.items() if w.due <= now]
        for oid, _ in ready:
            del self._waiting[oid]
        return ready

    def clear(self) -> List[str]:
        """Empty the queue; returns the IDs that were waiting."""
        ids = list(self._waiting)
        self._waiting.clear()
        return ids

"""Crash-safe station-day ledger for resumable archive reprocessing.

Storage: **SQLite in WAL mode with ``synchronous=FULL``** rather than an append-only JSON-lines
file, because

- every state change is one transaction: after ``kill -9`` (or a power cut) the ledger holds
  each change completely or not at all, with no torn last line to repair;
- several workers (processes, Ray actors) can update one ledger at once: WAL lets readers
  run beside the single writer, and ``busy_timeout`` queues writers instead of failing;
- the current state of a task is one indexed row, not a replay of the whole history.

A task is one station and one UTC day, clipped to the run's [begin, end). ``plan`` is
idempotent. A task is done only while its output file still has the checksum recorded
with ``mark_done``; an output that is missing or changed makes the task pending again,
so a rerun redoes exactly the damaged station-days. Failed tasks stay pending (with their
message and attempt count) so a rerun retries them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from obspy import UTCDateTime

DAY = 86400


def station_days(begin, end, shard: float = DAY) -> List[Tuple[UTCDateTime, UTCDateTime]]:
    """[begin, end) split at UTC midnights: [(start, end), ...], each within one day.

    ``shard`` (seconds, a divisor of a day; default one day) splits at multiples of ``shard``
    since 1970 instead, e.g. 60 for one-minute shards in tests.
    """
    t0, t1 = UTCDateTime(begin), UTCDateTime(end)
    shard = float(shard)
    if shard <= 0 or DAY % shard:
        raise ValueError(f"shard length {shard:g} s must divide a day (86400 s)")
    out = []
    day = UTCDateTime(int(t0.timestamp // shard * shard))
    while day < t1:
        a, b = max(day, t0), min(day + shard, t1)
        if b > a:
            out.append((a, b))
        day += shard
    return out


def shard_label(start: UTCDateTime, shard: float = DAY) -> str:
    """The ``day`` key of a shard: ``YYYY-MM-DD`` for days, ``YYYY-MM-DDTHH:MM:SS`` otherwise."""
    return start.strftime("%Y-%m-%d") if float(shard) == DAY else start.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True, order=True)
class StationDay:
    """One unit of work: ``station`` ("NET.STA") over [starttime, endtime) within ``day``."""

    station: str
    day: str  # YYYY-MM-DD (UTC)
    starttime: str  # ISO, as stored
    endtime: str

    @property
    def key(self) -> str:
        return f"{self.station}/{self.day}"

    @property
    def network_code(self) -> str:
        return self.station.split(".")[0]

    @property
    def station_code(self) -> str:
        return self.station.split(".")[1]

    @property
    def location_code(self) -> Optional[str]:
        """The location code of a "NET.STA.LOC" task; None for "NET.STA" (all locations)."""
        parts = self.station.split(".")
        return parts[2] if len(parts) > 2 else None

    @property
    def window(self) -> Tuple[UTCDateTime, UTCDateTime]:
        return UTCDateTime(self.starttime), UTCDateTime(self.endtime)

    def __str__(self) -> str:
        return self.key


def file_sha256(path: Union[str, os.PathLike]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    station   TEXT NOT NULL,
    day       TEXT NOT NULL,
    starttime TEXT NOT NULL,
    endtime   TEXT NOT NULL,
    status    TEXT NOT NULL DEFAULT 'pending',   -- pending | done | failed | nodata
    output    TEXT,
    sha256    TEXT,
    message   TEXT,
    attempts  INTEGER NOT NULL DEFAULT 0,
    updated   REAL,
    PRIMARY KEY (station, day)
);
"""


class Ledger:
    """The station-day ledger in one SQLite file (see the module docstring)."""

    def __init__(self, path: Union[str, os.PathLike], base: Union[str, os.PathLike, None] = None):
        self.path = Path(path)
        #: outputs under ``base`` (the output directory; default: the ledger's directory) are
        #: stored relative to it, so a rerun from another working directory or a copy of the
        #: whole directory finds them
        self.base = Path(base if base is not None else (self.path.parent if str(self.path.parent) else ".")).resolve()
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, sql: str, args: Sequence = ()) -> None:
        with self._db:  # one transaction, committed (and fsynced) on exit
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(sql, args)

    # -- planning --------------------------------------------------------------------------
    def plan(self, stations: Iterable[str], begin, end, shard: float = DAY) -> List[StationDay]:
        """All station-day tasks of the run, registered as pending if new (idempotent).

        A task whose stored window differs from this run's (a different begin/end) is reset
        to pending: its old output covers other times. Stations are "NET.STA" (all location
        codes) or "NET.STA.LOC"; ``shard`` splits days further (see :func:`station_days`).
        """
        tasks = []
        for sta in sorted(set(stations)):
            if sta.count(".") not in (1, 2) or not all(sta.split(".")[:2]):
                raise ValueError(f"station {sta!r}: expected NET.STA or NET.STA.LOC")
            for a, b in station_days(begin, end, shard):
                tasks.append(StationDay(sta, shard_label(a, shard), str(a), str(b)))
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for t in tasks:
                row = self._db.execute("SELECT starttime, endtime FROM tasks WHERE station=? AND day=?",
                                       (t.station, t.day)).fetchone()
                if row is None:
                    self._db.execute("INSERT INTO tasks (station, day, starttime, endtime, updated) "
                                     "VALUES (?,?,?,?,?)",
                                     (t.station, t.day, t.starttime, t.endtime, time.time()))
                elif tuple(row) != (t.starttime, t.endtime):
                    self._db.execute("UPDATE tasks SET starttime=?, endtime=?, status='pending', "
                                     "output=NULL, sha256=NULL, message=NULL, attempts=0, updated=? "
                                     "WHERE station=? AND day=?",
                                     (t.starttime, t.endtime, time.time(), t.station, t.day))
        return tasks

    # -- state changes -----------------------------------------------------------------------
    def mark_done(self, task: StationDay, output_path: Union[str, os.PathLike],
                  sha256: Optional[str] = None) -> None:
        """Record ``task`` as done with its output (already written atomically) and checksum."""
        if sha256 is None:
            sha256 = file_sha256(output_path)
        self._write("UPDATE tasks SET status='done', output=?, sha256=?, message=NULL, updated=? "
                    "WHERE station=? AND day=?",
                    (self._stored(output_path), sha256, time.time(), task.station, task.day))

    def mark_failed(self, task: StationDay, message: str, attempts: int) -> None:
        """Record a failure (a one-line message); the task stays to be retried by a rerun."""
        self._write("UPDATE tasks SET status='failed', message=?, attempts=attempts+?, updated=? "
                    "WHERE station=? AND day=?",
                    (" ".join(str(message).split()), int(attempts), time.time(), task.station,
                     task.day))

    def mark_nodata(self, task: StationDay, message: str = "no data") -> None:
        """Record that the source has no data for ``task`` (HTTP 204, no files): not pending,
        no output; ``reset_nodata`` makes such tasks pending again (data may arrive later)."""
        self._write("UPDATE tasks SET status='nodata', output=NULL, sha256=NULL, message=?, "
                    "attempts=attempts+1, updated=? WHERE station=? AND day=?",
                    (" ".join(str(message).split()), time.time(), task.station, task.day))

    def reset_nodata(self) -> int:
        """Make all "nodata" tasks pending again; returns how many."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute("UPDATE tasks SET status='pending', updated=? "
                                   "WHERE status='nodata'", (time.time(),))
            return cur.rowcount

    def _stored(self, output_path: Union[str, os.PathLike]) -> str:
        """How an output path is stored: relative to ``base`` when inside it, else absolute."""
        full = Path(output_path).resolve()
        try:
            return full.relative_to(self.base).as_posix()
        except ValueError:
            return str(full)

    def resolve(self, stored: Optional[str]) -> Optional[str]:
        """The path of a stored output (relative ones are relative to ``base``)."""
        if not stored:
            return stored
        return stored if os.path.isabs(stored) else str(self.base / stored)

    # -- queries -----------------------------------------------------------------------------
    def _row(self, task: StationDay):
        return self._db.execute("SELECT status, output, sha256, message, attempts FROM tasks "
                                "WHERE station=? AND day=?", (task.station, task.day)).fetchone()

    def _output_ok(self, output: Optional[str], sha: Optional[str]) -> bool:
        output = self.resolve(output)
        return bool(output and sha and os.path.isfile(output) and file_sha256(output) == sha)

    def is_done(self, task: StationDay, verify: bool = True) -> bool:
        """Done, and (with ``verify``) its output file still has the recorded checksum."""
        row = self._row(task)
        if row is None or row[0] != "done":
            return False
        return self._output_ok(row[1], row[2]) if verify else True

    def status(self, task: StationDay) -> Optional[dict]:
        row = self._row(task)
        if row is None:
            return None
        info = dict(zip(("status", "output", "sha256", "message", "attempts"), row))
        info["output"] = self.resolve(info["output"])
        return info

    def tasks(self) -> List[StationDay]:
        return [StationDay(*r) for r in self._db.execute(
            "SELECT station, day, starttime, endtime FROM tasks ORDER BY station, day")]

    def pending(self, verify: bool = True, max_attempts: Optional[int] = None) -> List[StationDay]:
        """Tasks still to do: never done, failed (unless ``max_attempts`` reached), or done
        but with an output that is missing or no longer matches its checksum ("nodata" tasks
        are not pending)."""
        out = []
        for station, day, t0, t1, status, output, sha, attempts in self._db.execute(
                "SELECT station, day, starttime, endtime, status, output, sha256, attempts "
                "FROM tasks ORDER BY station, day").fetchall():
            if status == "done" and (not verify or self._output_ok(output, sha)):
                continue
            if status == "nodata":
                continue
            if status == "failed" and max_attempts is not None and attempts >= max_attempts:
                continue
            out.append(StationDay(station, day, t0, t1))
        return out

    def failed(self) -> List[Tuple[StationDay, str, int]]:
        return [(StationDay(s, d, a, b), m, n) for s, d, a, b, m, n in self._db.execute(
            "SELECT station, day, starttime, endtime, message, attempts FROM tasks "
            "WHERE status='failed' ORDER BY station, day")]

    def done_outputs(self) -> List[Tuple[StationDay, str]]:
        """(task, output path) of all done tasks, ordered by station and day."""
        return [(StationDay(s, d, a, b), self.resolve(o)) for s, d, a, b, o in self._db.execute(
            "SELECT station, day, starttime, endtime, output FROM tasks "
            "WHERE status='done' ORDER BY station, day")]

    def counts(self) -> dict:
        return dict(self._db.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())

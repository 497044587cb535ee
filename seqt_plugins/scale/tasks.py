"""What a reprocessing worker runs: the task types both backends use, and the work itself.

:class:`TaskSpec` (what a worker needs, picklable), :class:`TaskResult` (what it returns),
:class:`Worker` (a picker and a record stream built once, applied to many tasks) and
:func:`process_task` (fetch and pick one station-day). The local backend
(:mod:`seqt_plugins.scale.reprocess`) and the Ray backend (:mod:`seqt_plugins.scale.ray_backend`)
both import them from here, so neither backend imports the other's module.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from .ledger import StationDay

log = logging.getLogger("seqt_plugins.scale")

__all__ = ["TaskSpec", "TaskResult", "Worker", "process_task", "make_picker"]


def make_picker(**picker_options):
    """Default picker factory: ``Picker(**picker_options)`` (model loaded on first use)."""
    from ..picker import Picker

    return Picker(**picker_options)


@dataclass
class TaskSpec:
    """Everything a worker needs to turn a station-day into picks (picklable, for Ray).

    ``picker_factory`` is called once per worker with no arguments (default:
    ``Picker(**picker_options)``); it must be picklable (a module-level function or a
    ``functools.partial``) to be used on Ray. ``retries``/``backoff``/``timeout`` apply to
    each fetch. ``channel`` selects the channels fetched (wildcards). ``crash_once`` is a test
    hook: ``(task key, marker path)`` makes the worker process exit abruptly (``os._exit``) the
    first time it starts that task (the marker file records that it did).
    """

    record_url: str
    picker_options: Dict[str, object] = field(default_factory=dict)
    picker_factory: Optional[Callable[[], object]] = None
    retries: int = 3
    backoff: float = 1.0
    timeout: Optional[float] = None
    channel: str = "*"
    inventory: object = None
    amplitudes: bool = True
    crash_once: Optional[Tuple[str, str]] = None
    #: "NET.STA" -> StationSettings (config.stations) of the stations' bindings: which of
    #: their streams are picked (detecLocid/detecStream) and with which thresholds
    station_settings: Dict[str, object] = field(default_factory=dict)

    def build_picker(self):
        if self.picker_factory is not None:
            return self.picker_factory()
        return make_picker(**self.picker_options)

    def open_record_stream(self):
        from ..io.records import open_record_stream

        scheme = self.record_url.split("://", 1)[0].lower() if "://" in self.record_url else ""
        options = {}
        if scheme in ("fdsnws", "fdsnwss", "slink"):
            options = {"retries": self.retries, "backoff": self.backoff}
            if self.timeout is not None:
                options["timeout"] = self.timeout
        return open_record_stream(self.record_url, **options)

    @property
    def retries_in_stream(self) -> bool:
        """True when the record stream retries by itself (fdsnws, slink)."""
        scheme = self.record_url.split("://", 1)[0].lower() if "://" in self.record_url else ""
        return scheme in ("fdsnws", "fdsnwss", "slink")


@dataclass
class TaskResult:
    """The outcome of one task: status "done" (with picks), "nodata" or "failed" (message)."""

    task: StationDay
    status: str
    picks: list = field(default_factory=list)
    amplitudes: list = field(default_factory=list)
    message: str = ""
    attempts: int = 1
    fetch_s: float = 0.0
    pick_s: float = 0.0
    samples: int = 0  # samples read; a piece's margins count again in the piece next to it
    worker: str = ""


class Worker:
    """A picker and a record stream, built once, applied to many tasks."""

    def __init__(self, spec: TaskSpec, name: str = "local"):
        self.spec = spec
        self.name = name
        self.picker = spec.build_picker()
        self.record_stream = spec.open_record_stream()

    def process(self, task: StationDay) -> TaskResult:
        if self.spec.crash_once is not None and task.key == self.spec.crash_once[0]:
            marker = Path(self.spec.crash_once[1])
            if not marker.exists():
                marker.write_text(f"{self.name} {os.getpid()}\n")
                os._exit(3)  # test hook: the worker dies mid-task
        return process_task(task, self.spec, self.picker, self.record_stream, worker=self.name)


def _fetch(task: StationDay, spec: TaskSpec, record_stream, lo, hi):
    """The task's data in [lo, hi]; retried here unless the stream retries."""
    from ..io.records import RecordStreamError

    loc = task.location_code
    attempts = 1 if spec.retries_in_stream else spec.retries + 1
    delay = spec.backoff
    for attempt in range(1, attempts + 1):
        try:
            st = record_stream.get_waveforms(task.network_code, task.station_code,
                                             "*" if loc is None else loc, spec.channel, lo, hi)
            return st, attempt
        except RecordStreamError as exc:
            if attempt == attempts:
                raise RecordStreamError(f"{exc} (after {attempts} attempt(s))") from exc
            log.warning("%s: %s; retry %d/%d in %.3g s", task, exc, attempt, attempts - 1, delay)
            time.sleep(delay)
            delay = min(2 * delay, 60.0)
    raise AssertionError("unreachable")


def task_pieces(task: StationDay, spec: TaskSpec, picker, record_stream):
    """The pieces [start, end) of the task's window to fetch and pick one after the other.

    Where the record stream's index says where its data are (SDS, files), a station-day is
    fetched piece by piece (``picker.chunkLength`` plus ``picker.margin`` on both sides), so
    that the day's raw samples (200 MB at 200 Hz) are never in memory at once; the pieces' picks
    equal those of one whole run (shard property). Elsewhere (FDSN) the day is one fetch.
    """
    t0, t1 = task.window
    margin = float(picker.options.margin)
    loc = task.location_code
    spans = record_stream.data_spans(task.network_code, task.station_code, "*" if loc is None else loc,
                                     spec.channel, t0 - margin, t1 + margin)
    if not spans:
        return [(t0, t1)]
    return [(t0 if a is None else a, t1 if b is None else b) for a, b in picker.pieces(spans, t0, t1)]


def process_task(task: StationDay, spec: TaskSpec, picker, record_stream,
                 worker: str = "local") -> TaskResult:
    """Fetch and pick one task. Never raises for bad input: the result says what went wrong."""
    from ..io.records import RecordStreamError
    from ..memory import release_freed_memory
    from ..picker.perstation import StationPicker

    core = StationPicker(picker, spec.station_settings)
    picks, samples, attempts, found = [], 0, 1, False
    fetch_s = pick_s = 0.0
    for a, b in task_pieces(task, spec, picker, record_stream):
        start = time.perf_counter()
        try:
            stream, tries = _fetch(task, spec, record_stream, *picker.read_span(a, b))
        except RecordStreamError as exc:
            return TaskResult(task, "failed", message=str(exc), attempts=spec.retries + 1,
                              fetch_s=fetch_s + time.perf_counter() - start, pick_s=pick_s, worker=worker)
        fetched = time.perf_counter()
        fetch_s += fetched - start
        attempts = max(attempts, tries)
        # data of the piece's own span (the margins alone are not data of this piece)
        if not any(tr.stats.endtime >= a and tr.stats.starttime < b for tr in stream):
            continue
        found = True
        try:
            picks += core.pick(stream, spec.inventory, a, b)
        except Exception as exc:  # one bad station-day must not end the run
            first = str(exc).splitlines()[0] if str(exc) else ""
            return TaskResult(task, "failed", message=f"picking failed: {type(exc).__name__}: {first}",
                              attempts=attempts, fetch_s=fetch_s,
                              pick_s=pick_s + time.perf_counter() - fetched, worker=worker)
        pick_s += time.perf_counter() - fetched
        samples += sum(tr.stats.npts for tr in stream)
        del stream
        release_freed_memory()
    if not found:
        return TaskResult(task, "nodata", message=f"no data in {spec.record_url} for {task}",
                          attempts=attempts, fetch_s=fetch_s, worker=worker)
    picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint))
    amplitudes = []
    if spec.amplitudes:
        from ..picker import amplitudes_of

        amplitudes = amplitudes_of(picks)
    return TaskResult(task, "done", picks=picks, amplitudes=amplitudes, attempts=attempts,
                      fetch_s=fetch_s, pick_s=pick_s, samples=samples, worker=worker)

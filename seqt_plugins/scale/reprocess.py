"""Resumable archive reprocessing: station-days from a record stream → picks, one file each.

    summary = reprocess("fdsnws://127.0.0.1:8080", ["2C.BIT06", "ON.NESJV.00"],
                        "2018-12-30", "2019-01-01", "out/", merged_output="picks.xml",
                        picker_options={"model": "conservative"})

The run is split into station-days (``shard`` seconds, one UTC day by default) registered in
the :class:`~seqt_plugins.scale.ledger.Ledger` (default ``<output_dir>/ledger.sqlite``). For
each pending task:

1. fetch [start − margin, end + margin] (``margin``: the picker's ``options.margin``) with
   retries and backoff (``fdsnws`` does them per request; other sources are retried here);
2. pick with ``starttime``/``endtime`` = the task's window, so a pick lies in exactly one
   task and day edges neither lose nor duplicate picks (window grids are anchored to absolute
   time, so every shard lays the same windows as an uninterrupted run);
3. write the task's picks (and their SNR/peak amplitudes) atomically to
   ``<output_dir>/<NET.STA[.LOC]>/<NET.STA[.LOC]>.<day>.xml``, checksum it, mark it done.

No data (HTTP 204, no files) → "nodata"; a fault that survives the retries (server down, 500,
timeouts, corrupt miniSEED, a cut transfer) or a picker error → "failed" with a one-line
message, and the other tasks go on. A rerun (or a run after ``kill -9``) skips done tasks whose
output still has its checksum, so the output equals an uninterrupted run's: pick IDs derive
from content, and the only field that differs is ``creationInfo.creationTime``.

The merged output (``merged_output``) is rebuilt from all done station-day files of the run,
picks sorted by (time, stream, phase), and written atomically.

The heavy part (fetch + pick) is :func:`~seqt_plugins.scale.tasks.process_task`, a pure
function of the task and a :class:`~seqt_plugins.scale.tasks.TaskSpec`; the driver alone writes
outputs and the ledger. :class:`LocalBackend` runs tasks in this process;
:class:`seqt_plugins.scale.ray_backend.RayBackend` on Ray actors.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from obspy import UTCDateTime

from ..progress import progress
from .ledger import DAY, Ledger, StationDay, file_sha256
from .tasks import TaskResult, TaskSpec, Worker

log = logging.getLogger("seqt_plugins.scale")

__all__ = ["ReprocessSummary", "LocalBackend", "reprocess", "OutputDirLocked", "lock_output_dir",
           "merge_outputs", "task_output_path"]


# -- backends ---------------------------------------------------------------------------------
class LocalBackend:
    """Runs the tasks one after the other in this process (the picker is built once)."""

    name = "local"

    def __init__(self):
        self._worker: Optional[Worker] = None
        self._spec: Optional[TaskSpec] = None

    def run(self, tasks: Sequence[StationDay], spec: TaskSpec) -> Iterator[TaskResult]:
        if self._worker is None or self._spec is not spec:
            self._worker, self._spec = Worker(spec), spec
        for task in tasks:
            yield self._worker.process(task)

    def close(self) -> None:
        self._worker = None


# -- outputs ------------------------------------------------------------------------------------
def _safe(text: str) -> str:
    return text.replace(":", "").replace("/", "_")


def task_output_path(output_dir: Union[str, os.PathLike], task: StationDay, fmt: str = "scml") -> Path:
    ext = "qml" if fmt.startswith("quakeml") else "xml"
    return Path(output_dir) / task.station / f"{task.station}.{_safe(task.day)}.{ext}"


def _stamp(objects, creation_info) -> None:
    from ..picks.model import CreationInfo

    now = UTCDateTime()
    for obj in objects:
        ci = dataclasses.replace(obj.creation_info) if obj.creation_info else CreationInfo()
        if creation_info is not None:
            ci.agency_id = ci.agency_id or creation_info.get("agency_id")
            ci.author = ci.author or creation_info.get("author")
        ci.creation_time = ci.creation_time or now
        obj.creation_info = ci


def _pick_key(p):
    return (p.time, p.waveform_id.nslc, p.phase_hint or "", p.public_id)


def _write(path: Path, picks, amplitudes, fmt: str, version: Optional[str], pretty: bool) -> None:
    from ..io.xml import write_event_parameters
    from ..picks.model import EventParameters

    path.parent.mkdir(parents=True, exist_ok=True)
    write_event_parameters(EventParameters(picks=list(picks), amplitudes=list(amplitudes)), path,
                           format=fmt, version=version, pretty=pretty)


def merge_outputs(ledger: Ledger, tasks: Iterable[StationDay], path: Union[str, os.PathLike],
                  fmt: str = "scml", version: Optional[str] = None, pretty: bool = True) -> int:
    """Write the picks of all done ``tasks`` sorted by time (amplitudes after their pick's
    order) atomically to ``path``; returns the number of picks. Duplicate IDs are dropped.

    Streamed, so a year of station-days never sits in memory: each station-day file holds its
    picks sorted and only picks inside its day, so the merged order is, day by day, a k-way
    merge of that day's files (one reader per station, picks read one at a time). Amplitudes
    follow in a second pass, a day's worth at a time, ordered by their pick's place.
    """
    from ..io.xml import EventParametersWriter, iter_amplitudes, iter_picks

    wanted = {t.key for t in tasks}
    by_day: Dict[str, List[str]] = {}
    for task, output in ledger.done_outputs():
        if task.key in wanted:
            by_day.setdefault(task.day, []).append(output)
    days = sorted(by_day)
    n = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # pick IDs carry the pick's time, so duplicates (the same pick in two files) share a day
    with EventParametersWriter(path, format=fmt, version=version, pretty=pretty) as out:
        written: Dict[str, set] = {}  # per day: the pick IDs written (the amplitudes' order)
        for day in days:
            seen: Dict[str, tuple] = {}
            for p in heapq.merge(*(iter_picks(f) for f in by_day[day]), key=_pick_key):
                if p.public_id in seen:
                    continue
                seen[p.public_id] = _pick_key(p)
                out.add_pick(p)
                n += 1
            written[day] = seen
        for day in days:
            rank = written.pop(day)
            amps = {}
            for f in by_day[day]:
                for a in iter_amplitudes(f):
                    amps.setdefault(a.public_id, a)
            last = (UTCDateTime(2 ** 33),)  # an amplitude of no written pick goes after the day's
            for a in sorted(amps.values(), key=lambda a: (rank.get(a.pick_id, last), a.public_id)):
                out.add_amplitude(a)
    return n


# -- the driver ---------------------------------------------------------------------------------
@dataclass
class ReprocessSummary:
    tasks: int = 0
    skipped: int = 0  # already done before this run
    done: int = 0
    nodata: int = 0
    failed: int = 0
    picks: int = 0  # picks of the station-days processed in this run
    p_picks: int = 0  # of which P
    s_picks: int = 0  # and S
    merged_picks: Optional[int] = None
    elapsed_s: float = 0.0
    fetch_s: float = 0.0
    pick_s: float = 0.0
    failures: List[Tuple[str, str]] = field(default_factory=list)
    merged_output: Optional[str] = None
    ledger: str = ""

    @property
    def processed(self) -> int:
        return self.done + self.nodata + self.failed

    def station_days_per_hour(self, shard: float = DAY) -> float:
        """Station-days (of ``shard`` seconds each, counted pro rata) processed per hour."""
        if self.elapsed_s <= 0:
            return 0.0
        return (self.done + self.nodata) * (shard / DAY) * 3600.0 / self.elapsed_s


class OutputDirLocked(RuntimeError):
    """Another live run holds the output directory (its lock file names its process)."""


LOCK_NAME = ".seqt-reprocess.lock"


def lock_output_dir(output_dir: Union[str, os.PathLike]):
    """Hold ``<output_dir>/.seqt-reprocess.lock`` (flock, released when the process ends, even
    by ``kill -9``) for this run; OutputDirLocked, naming the holder, when another run has it.

    Returns the open lock file: keep it, close it to release the lock.
    """
    import fcntl

    path = Path(output_dir) / LOCK_NAME
    handle = open(path, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise OutputDirLocked(f"output directory {output_dir} is in use by another run ({holder}; "
                              f"lock {path}): wait for it to end or give another --output-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
    handle.flush()
    return handle


def _clean_partials(output_dir: Path) -> None:
    """Remove temporary files an earlier run left when it was killed mid-write.

    Called with the directory's lock held: no other live run writes there, so every
    ``.*.part`` left is a dead run's.
    """
    for p in output_dir.glob("**/.*.part"):
        try:
            p.unlink()
        except OSError:
            pass


def reprocess(record_url: str, stations: Sequence[str], begin, end,
              output_dir: Union[str, os.PathLike], *,
              picker_options: Optional[Dict[str, object]] = None,
              picker_factory: Optional[Callable[[], object]] = None,
              ledger_path: Union[str, os.PathLike, None] = None,
              merged_output: Union[str, os.PathLike, None] = None,
              format: str = "scml", version: Optional[str] = None, pretty: bool = True,
              retries: int = 3, backoff: float = 1.0, timeout: Optional[float] = None,
              shard: float = DAY, channel: str = "*", inventory=None, amplitudes: bool = True,
              creation_info: Optional[Dict[str, str]] = None,
              workers: int = 1, cluster: Optional[str] = None, backend=None,
              max_attempts: Optional[int] = None, retry_nodata: bool = False,
              crash_once: Optional[Tuple[str, str]] = None,
              station_settings: Optional[Dict[str, object]] = None) -> ReprocessSummary:
    """Reprocess ``stations`` ("NET.STA" or "NET.STA.LOC") over [begin, end) (see module doc).

    ``workers`` > 1 or ``cluster`` ("auto", "ray://host:port") runs the tasks on Ray actors
    (:class:`~seqt_plugins.scale.ray_backend.RayBackend`); ``backend`` takes any object with
    ``run(tasks, spec)`` yielding :class:`TaskResult`. ``max_attempts``: failed tasks with that
    many attempts are not retried. ``retry_nodata``: retry station-days that had no data.
    ``station_settings``: "NET.STA" -> ``config.stations.StationSettings`` (the bindings:
    streams picked, thresholds); stations not named are picked whole with the module options.
    Returns a :class:`ReprocessSummary`; failed tasks are listed there and in the ledger.
    One run at a time per output directory: a second one raises :class:`OutputDirLocked`
    at once (before any work), naming the process that holds it.
    """
    t_start = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    lock = lock_output_dir(output_dir)  # one run per output directory (OutputDirLocked)
    try:  # every argument, passed on by name (a new one must be added to both signatures)
        return _reprocess_locked(**{k: v for k, v in locals().items() if k != "lock"})
    finally:
        lock.close()


def _reprocess_locked(record_url, stations, begin, end, output_dir: Path, t_start: float, *,
                      picker_options, picker_factory, ledger_path, merged_output, format,
                      version, pretty, retries, backoff, timeout, shard, channel, inventory,
                      amplitudes, creation_info, workers, cluster, backend, max_attempts,
                      retry_nodata, crash_once, station_settings) -> ReprocessSummary:
    _clean_partials(output_dir)
    ledger_path = Path(ledger_path) if ledger_path is not None else output_dir / "ledger.sqlite"
    spec = TaskSpec(record_url=str(record_url), picker_options=dict(picker_options or {}),
                    picker_factory=picker_factory, retries=retries, backoff=backoff,
                    timeout=timeout, channel=channel, inventory=inventory, amplitudes=amplitudes,
                    crash_once=crash_once, station_settings=dict(station_settings or {}))
    own_backend = backend is None
    if backend is None:
        if workers > 1 or cluster is not None:
            from .ray_backend import RayBackend

            backend = RayBackend(workers=workers, address=cluster)
        else:
            backend = LocalBackend()
    summary = ReprocessSummary(ledger=str(ledger_path))
    with Ledger(ledger_path, base=output_dir) as ledger:
        if retry_nodata:
            ledger.reset_nodata()
        tasks = ledger.plan(stations, begin, end, shard)
        planned = {t.key for t in tasks}
        pending = [t for t in ledger.pending(max_attempts=max_attempts) if t.key in planned]
        summary.tasks = len(tasks)
        summary.skipped = len(tasks) - len(pending)
        log.info("%d station-day(s) planned, %d already done, %d to do, on %s",
                 len(tasks), summary.skipped, len(pending), getattr(backend, "name", backend))
        bar = progress(total=len(pending), desc="reprocess", unit="sta-day")
        try:
            for result in backend.run(pending, spec):
                _commit(ledger, result, output_dir, format, version, pretty, creation_info,
                        summary)
                bar.update(1)
        finally:
            bar.close()
            if own_backend:
                backend.close()
        if merged_output is not None and summary.tasks and summary.failed == summary.tasks:
            log.error("every station-day failed: %s not written", merged_output)  # keeps an old file
        elif merged_output is not None:
            summary.merged_picks = merge_outputs(ledger, tasks, merged_output, format, version,
                                                 pretty)
            summary.merged_output = str(merged_output)
            log.info("merged %d picks into %s", summary.merged_picks, merged_output)
        counts = ledger.counts()
    summary.elapsed_s = time.perf_counter() - t_start
    log.info("reprocessing: %d done, %d no data, %d failed in this run (%d skipped); "
             "%.1f station-days/hour; ledger %s", summary.done, summary.nodata, summary.failed,
             summary.skipped, summary.station_days_per_hour(shard), counts)
    for key, message in summary.failures:
        log.error("%s failed: %s", key, message)
    return summary


def _commit(ledger: Ledger, result: TaskResult, output_dir: Path, fmt: str,
            version: Optional[str], pretty: bool, creation_info, summary: ReprocessSummary) -> None:
    """The driver's half of a task: output file, checksum, ledger (the only writer)."""
    task = result.task
    summary.fetch_s += result.fetch_s
    summary.pick_s += result.pick_s
    if result.status == "done":
        picks = sorted(result.picks, key=_pick_key)
        _stamp(list(picks) + list(result.amplitudes), creation_info)
        path = task_output_path(output_dir, task, fmt)
        _write(path, picks, result.amplitudes, fmt, version, pretty)
        ledger.mark_done(task, path, file_sha256(path))
        summary.done += 1
        summary.picks += len(picks)
        summary.p_picks += sum((p.phase_hint or "").upper().startswith("P") for p in picks)
        summary.s_picks += sum((p.phase_hint or "").upper().startswith("S") for p in picks)
        log.info("%s: %d picks (fetch %.2f s, pick %.2f s, %s)", task, len(picks),
                 result.fetch_s, result.pick_s, result.worker)
    elif result.status == "nodata":
        ledger.mark_nodata(task, result.message)
        summary.nodata += 1
        log.info("%s: %s", task, result.message)
    else:
        ledger.mark_failed(task, result.message, result.attempts)
        summary.failed += 1
        summary.failures.append((task.key, result.message))
        log.warning("%s: failed: %s", task, result.message)

"""Station-day reprocessing on Ray: actors that load the model once, fed from the ledger.

    from seqt_plugins.scale import reprocess
    reprocess(url, stations, begin, end, "out/", workers=4)                  # local Ray, 4 actors
    reprocess(url, stations, begin, end, "out/", cluster="ray://head:10001")  # join a cluster
    reprocess(url, stations, begin, end, "out/", backend=RayBackend(workers=2, address="auto"))

The driver (the process calling :func:`~seqt_plugins.scale.reprocess.reprocess`) plans the
station-days in the ledger and hands the pending ones to :class:`PickerWorker` actors, one task
in flight per actor. A worker only fetches and picks; its :class:`TaskResult` (the picks) comes
back to the driver, which alone writes the station-day file and the ledger, exactly as in a
one-process run. So the ledger stays the single source of truth: a task whose actor dies
(``RayActorError``: a killed process, a lost node) was never marked done, and is handed to
another actor (a replacement actor is started in place of the dead one); a task is lost only if
its workers die ``max_task_retries`` + 1 times, and is then marked failed, to be retried by a
rerun. Picks are deterministic functions of (task, data, model), so N workers give the picks of
one process.

Ray is imported lazily; without it, a one-line error says how to install it.
"""

from __future__ import annotations

import collections
import logging
import os
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence

from .ledger import StationDay
from .tasks import TaskResult, TaskSpec, Worker

log = logging.getLogger("seqt_plugins.scale")

__all__ = ["RayBackend", "PickerWorker", "init_ray", "import_ray"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def import_ray():
    try:
        import ray  # noqa: F401
    except ImportError:
        raise RuntimeError("Ray is not installed: pip install 'ray[default]' "
                           "(needed for workers > 1 and --cluster)") from None
    return ray


def init_ray(address: Optional[str] = None, num_cpus: Optional[int] = None,
             runtime_env: Optional[dict] = None):
    """Connect to Ray: ``address`` None → a local instance with ``num_cpus`` CPUs; "auto" → the
    cluster this machine belongs to; "ray://host:port" → a remote cluster (Ray client).
    Workers get this package on their PYTHONPATH (harmless where it is pip-installed)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    env = dict(runtime_env or {})
    env_vars = dict(env.get("env_vars", {}))
    path = os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    env_vars.setdefault("PYTHONPATH", path)
    env_vars.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for key in ("SEQT_SHARED", "SEQT_WEIGHTS", "KERAS_BACKEND"):
        if key in os.environ:
            env_vars.setdefault(key, os.environ[key])
    env["env_vars"] = env_vars
    kwargs = dict(runtime_env=env, logging_level=logging.WARNING, log_to_driver=True)
    if address in (None, "", "local"):
        ray.init(num_cpus=num_cpus, include_dashboard=False,
                 object_store_memory=256 * 1024 * 1024, **kwargs)
        log.info("started a local Ray instance with %s CPUs", num_cpus or "all")
    else:
        ray.init(address=address, **kwargs)
        log.info("joined the Ray cluster at %s: %s CPUs", address,
                 ray.cluster_resources().get("CPU", "?"))
    return ray


class PickerWorker:
    """Ray actor (``ray.remote(PickerWorker)``): builds its Picker and record stream once."""

    def __init__(self, spec: TaskSpec, name: str):
        logging.basicConfig(level=logging.WARNING)
        self._worker = Worker(spec, name)

    def process(self, task: StationDay) -> TaskResult:
        return self._worker.process(task)

    def pid(self) -> int:
        return os.getpid()


class RayBackend:
    """Runs station-day tasks on ``workers`` Ray actors (see the module doc).

    ``address``: None (local Ray with ``workers`` × ``cpus_per_worker`` CPUs), "auto" or
    "ray://host:port". ``max_task_retries``: how often a task is re-queued after its actor
    died. ``max_replacements``: actors started in place of dead ones (default 2 × workers).
    Actors stay up between runs with an equal :class:`TaskSpec`; ``close()`` ends them (and the
    local Ray instance this backend started).
    """

    name = "ray"

    def __init__(self, workers: int = 2, address: Optional[str] = None,
                 cpus_per_worker: float = 1.0, max_task_retries: int = 3,
                 max_replacements: Optional[int] = None, runtime_env: Optional[dict] = None):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = int(workers)
        self.address = address
        self.cpus_per_worker = float(cpus_per_worker)
        self.max_task_retries = int(max_task_retries)
        self.max_replacements = 2 * self.workers if max_replacements is None else max_replacements
        self.runtime_env = runtime_env
        self._ray = None
        self._started_ray = False
        self._actors: Dict[int, object] = {}
        self._spec: Optional[TaskSpec] = None
        self._next_id = 0
        self._starting: Dict[object, int] = {}  # readiness ref → actor id
        self.replacements = 0
        self.lost_tasks = 0  # tasks re-queued because their actor died

    # -- actors -------------------------------------------------------------------------------
    def _connect(self):
        if self._ray is None:
            ray = import_ray()
            self._started_ray = not ray.is_initialized() and self.address in (None, "", "local")
            cpus = int(max(1, round(self.workers * self.cpus_per_worker)))
            self._ray = init_ray(self.address, num_cpus=cpus, runtime_env=self.runtime_env)
        return self._ray

    def _start_actor(self, spec: TaskSpec) -> int:
        ray = self._ray
        aid = self._next_id
        self._next_id += 1
        cls = ray.remote(num_cpus=self.cpus_per_worker, max_restarts=0)(PickerWorker)
        self._actors[aid] = cls.remote(spec, f"ray-worker-{aid}")
        self._starting[self._actors[aid].pid.remote()] = aid  # ready once constructed
        return aid

    def _ensure_actors(self, spec: TaskSpec) -> None:
        if self._spec is not None and self._spec != spec:
            self._kill_actors()
        self._spec = spec
        while len(self._actors) < self.workers:
            self._start_actor(spec)

    def _kill_actors(self) -> None:
        if self._ray is not None:
            for actor in self._actors.values():
                try:
                    self._ray.kill(actor)
                except Exception:  # already dead
                    pass
        self._actors.clear()
        self._starting.clear()

    def actor_pids(self) -> Dict[int, int]:
        """Process IDs of the live actors (for tests and monitoring)."""
        ray = self._ray
        return {aid: ray.get(a.pid.remote()) for aid, a in self._actors.items()}

    def kill_actor(self, aid: int) -> None:
        """Kill one actor now (as a lost node would); its task is re-queued."""
        self._ray.kill(self._actors[aid], no_restart=True)

    # -- the scheduler ------------------------------------------------------------------------
    def run(self, tasks: Sequence[StationDay], spec: TaskSpec) -> Iterator[TaskResult]:
        """Results of ``tasks`` in completion order (each task exactly once)."""
        if not tasks:
            return
        ray = self._connect()
        from ray.exceptions import RayActorError, RayTaskError

        self._ensure_actors(spec)
        queue = collections.deque(tasks)
        inflight: Dict[object, tuple] = {}
        deaths: Dict[str, int] = collections.Counter()
        busy = set()

        def submit(aid: int) -> None:
            if queue and aid in self._actors and aid not in busy and aid not in starting_ids():
                task = queue.popleft()
                inflight[self._actors[aid].process.remote(task)] = (aid, task)
                busy.add(aid)

        def starting_ids():
            return set(self._starting.values())

        for aid in list(self._actors):
            submit(aid)
        try:
            while inflight or (queue and self._starting):
                ready, _ = ray.wait(list(inflight) + list(self._starting), num_returns=1)
                ref = ready[0]
                if ref in self._starting:  # an actor finished loading (or died doing so)
                    aid = self._starting.pop(ref)
                    try:
                        ray.get(ref)
                    except RayActorError:
                        log.warning("Ray worker %d died while starting", aid)
                        self._actors.pop(aid, None)
                        if self.replacements < self.max_replacements:
                            self.replacements += 1
                            self._start_actor(spec)
                        continue
                    submit(aid)
                    continue
                aid, task = inflight.pop(ref)
                busy.discard(aid)
                try:
                    result = ray.get(ref)
                except RayActorError as exc:
                    self.lost_tasks += 1
                    deaths[task.key] += 1
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    self._actors.pop(aid, None)
                    if deaths[task.key] > self.max_task_retries:
                        log.error("%s: its worker died %d times; marked failed", task,
                                  deaths[task.key])
                        yield TaskResult(task, "failed", attempts=deaths[task.key],
                                         message=f"Ray worker lost {deaths[task.key]} times "
                                                 f"while picking it ({reason})")
                    else:
                        log.warning("Ray worker %d died on %s (%s); task re-queued", aid, task,
                                    reason)
                        queue.appendleft(task)
                    if self.replacements < self.max_replacements:
                        self.replacements += 1
                        self._start_actor(spec)  # gets work once it has loaded the model
                    elif not self._actors:
                        raise RuntimeError(f"all Ray workers died; {len(queue)} task(s) left "
                                           "pending in the ledger")
                    for other in list(self._actors):  # an idle, ready actor takes it now
                        submit(other)
                    continue
                except RayTaskError as exc:  # a bug in the worker code, not bad input
                    first = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
                    result = TaskResult(task, "failed", message=f"Ray task failed: {first}")
                yield result
                submit(aid)
            if queue:
                raise RuntimeError(f"all Ray workers died; {len(queue)} task(s) left pending "
                                   "in the ledger")
        finally:
            for ref in list(inflight):
                try:
                    ray.cancel(ref, force=True)
                except Exception:
                    pass
            if inflight:  # interrupted mid-run: don't leave actors busy on stale tasks
                self._kill_actors()
                self._spec = None

    def close(self) -> None:
        self._kill_actors()
        self._spec = None
        if self._ray is not None and self._started_ray:
            self._ray.shutdown()
        self._ray = None

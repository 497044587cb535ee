"""A real SeisComP for the tests: unpacked once per test session, run in subprocesses.

``../shared/seiscomp/`` holds SeisComP built from source for this machine image (see its
README). :func:`seiscomp_build` unpacks a tarball once into a cache outside the repository
(``$SEQT_SEISCOMP_CACHE``, default ``$TMPDIR/seqt-seiscomp``), keyed by the tarball's name,
size and mtime; later sessions (and concurrent ones: a lock serialises the unpacking) reuse it.

SeisComP's Python modules need ``LD_LIBRARY_PATH`` set before the interpreter starts, so
everything that uses SeisComP runs in a subprocess with :meth:`SeisComP.env`. Each run gets its
own ``SEISCOMP_LOCAL_CONFIG`` directory (it replaces ``~/.seiscomp``: configuration and logs),
so nothing is written into the cached build or the user's home. :class:`Scmaster` starts a
messaging server on 127.0.0.1 (a free port) with a SQLite database and stops it on exit.

Fixtures ``seiscomp`` (the newest build) and ``seiscomp_any`` (parametrised over both builds)
are defined here; test files import them. Under CI (``SEQT_REQUIRE_SHARED=1``) a missing
tarball fails instead of skipping, as ``require_shared`` does.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import pytest

from conftest import SHARED, require_shared  # noqa: F401 (SHARED for the benchmarks)

#: label -> tarball name in ../shared/seiscomp
BUILDS = {
    "8.0dev": "seiscomp-8.0dev-nogui-debian12-py311.tar.gz",
    "7.2.3": "seiscomp-7.2.3-nogui-debian12-py311.tar.gz",
}

SCRIPTS = Path(__file__).resolve().parent / "seiscomp_scripts"


def cache_dir() -> Path:
    base = os.environ.get("SEQT_SEISCOMP_CACHE")
    return Path(base) if base else Path(tempfile.gettempdir()) / "seqt-seiscomp"


def unpack(tarball: Path, cache: Optional[Path] = None) -> Path:
    """``$cache/<key>/seiscomp``, unpacked from ``tarball`` on first use (atomic, locked)."""
    st = tarball.stat()
    key = f"{tarball.name.split('.tar')[0]}-{st.st_size}-{int(st.st_mtime)}"
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / key
    if (target / "seiscomp" / "bin").is_dir():
        return target / "seiscomp"
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "seiscomp" / "bin").is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache))
            try:
                with tarfile.open(tarball) as tar:
                    tar.extractall(tmp, filter="tar") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
                shutil.rmtree(target, ignore_errors=True)
                os.rename(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return target / "seiscomp"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SeisComP:
    """An unpacked SeisComP build: its environment and how to run its programs."""

    def __init__(self, root: Path, label: str):
        self.root = Path(root)
        self.label = label

    def __repr__(self) -> str:
        return f"SeisComP({self.label}, {self.root})"

    def env(self, local_config: Path, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        env = dict(os.environ)
        lib = str(self.root / "lib")
        env.update(
            SEISCOMP_ROOT=str(self.root),
            SEISCOMP_LOCAL_CONFIG=str(local_config),
            LD_LIBRARY_PATH=lib + (os.pathsep + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else ""),
            PYTHONPATH=str(self.root / "lib" / "python") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
            PATH=str(self.root / "bin") + os.pathsep + env.get("PATH", ""),
            TF_CPP_MIN_LOG_LEVEL="2",
        )
        env.update(extra or {})
        return env

    def write_local_config(self, local_config: Path, module_cfg: Optional[Dict[str, str]] = None,
                           global_cfg: str = "") -> Path:
        """A SEISCOMP_LOCAL_CONFIG directory: global.cfg for a SQLite-only build (no dbmysql),
        no log files, plus ``module_cfg`` (name -> text of ``<name>.cfg``)."""
        local_config.mkdir(parents=True, exist_ok=True)
        (local_config / "global.cfg").write_text("core.plugins = dbsqlite3\nlogging.file = false\n" + global_cfg)
        for name, text in (module_cfg or {}).items():
            (local_config / f"{name}.cfg").write_text(text)
        return local_config

    def python(self, args: Iterable[str], local_config: Path, **kwargs) -> subprocess.CompletedProcess:
        """Run this interpreter (the project's venv) with SeisComP importable."""
        return subprocess.run([sys.executable, *map(str, args)], env=self.env(local_config),
                              capture_output=True, text=True, **kwargs)

    def binary(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def overlay(self, dest: Path) -> "SeisComP":
        """A SEISCOMP_ROOT of links to this build with its own ``etc/`` and ``var/``: modules can
        be installed (seqt-install-seiscomp) and configured there, the cache stays untouched."""
        dest = Path(dest)
        dest.mkdir(parents=True)
        for name in ("lib", "share", "include"):
            if (self.root / name).exists():
                (dest / name).symlink_to(self.root / name)
        (dest / "bin").mkdir()
        for f in (self.root / "bin").iterdir():
            with open(f, "rb") as fh:
                script = fh.read(2) == b"#!"
            if script:  # scripts (seiscomp, seiscomp-control.py, ...) find the root from their own path
                shutil.copy2(f, dest / "bin" / f.name)
            else:
                (dest / "bin" / f.name).symlink_to(f)
        for sub in ("defaults", "descriptions", "init"):
            (dest / "etc" / sub).mkdir(parents=True)
            for f in (self.root / "etc" / sub).iterdir():
                (dest / "etc" / sub / f.name).symlink_to(f)
        (dest / "var" / "run").mkdir(parents=True)
        (dest / "var" / "log").mkdir(parents=True)
        return SeisComP(dest, self.label + "+overlay")

    def create_sqlite(self, path: Path) -> Path:
        import sqlite3

        with sqlite3.connect(path) as db:
            db.executescript((self.root / "share" / "db" / "sqlite3.sql").read_text())
        return path


def file_state(db: Path) -> Tuple:
    """A SQLite database's state as seen from outside (size and mtime of the file and of its
    journal or WAL), read without opening it: a reader would lock out SeisComP's writers."""
    state = []
    for suffix in ("", "-journal", "-wal"):
        try:
            st = os.stat(f"{db}{suffix}")
            state.append((st.st_size, st.st_mtime_ns))
        except OSError:
            state.append(None)
    return tuple(state)


class Scmaster:
    """scmaster on 127.0.0.1:<free port> with a SQLite database (a context manager)."""

    def __init__(self, sc: SeisComP, workdir: Path, queue: str = "production"):
        self.sc, self.workdir, self.queue = sc, Path(workdir), queue
        self.port = free_port()
        self.db = self.workdir / "seiscomp.sqlite"
        self.local = self.workdir / "local"
        self.log_path = self.workdir / "scmaster.log"
        self.proc: Optional[subprocess.Popen] = None

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}/{self.queue}"

    @property
    def database(self) -> str:
        return f"sqlite3://{self.db}"

    def __enter__(self) -> "Scmaster":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sc.create_sqlite(self.db)
        self.sc.write_local_config(self.local, {"scmaster": "\n".join([
            f"interface.bind = 127.0.0.1:{self.port}",
            f"queues = {self.queue}",
            f"queues.{self.queue}.acl = 127.0.0.1",
            f"queues.{self.queue}.plugins = dbstore",
            f"queues.{self.queue}.processors.messages = dbstore",
            f"queues.{self.queue}.processors.messages.dbstore.driver = sqlite3",
            f"queues.{self.queue}.processors.messages.dbstore.read = {self.db}",
            f"queues.{self.queue}.processors.messages.dbstore.write = {self.db}",
            "",
        ])}, global_cfg=f"connection.server = {self.server}\n")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.sc.binary("scmaster"), "--console", "1", "-v"],
                                     env=self.sc.env(self.local), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"scmaster exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"scmaster did not listen on 127.0.0.1:{self.port}: {self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if exc[0] is None:
                self.settle()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def settle(self, quiet: float = 1.5, timeout: float = 30.0) -> None:
        """Wait until dbstore has written what scmaster received: the senders are done when a
        test leaves the context, but scmaster stores their messages after routing them, and
        stopping it at once lost the last objects on a loaded 2-core machine.

        Only the database *file* is watched (size, mtime, journal), never opened: SeisComP's
        sqlite3 driver sets no busy timeout, so a reader's shared lock makes dbstore's write
        fail ("database is locked") and the object is lost; polling with SELECTs did exactly that
        on CI (one of two amplitudes missing)."""
        last, since = None, time.monotonic()
        deadline = since + timeout
        while time.monotonic() < deadline:
            now = file_state(self.db)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)

    def db_errors(self) -> List[str]:
        """scmaster's database errors (a lost object shows here first)."""
        try:
            return [line for line in self.log_path.read_text(errors="replace").splitlines()
                    if "[error]" in line and "sqlite" in line]
        except OSError:
            return []

    def log_tail(self, n: int = 15) -> str:
        try:
            return " | ".join(self.log_path.read_text().splitlines()[-n:])
        except OSError:
            return ""

    def env(self) -> Dict[str, str]:
        return self.sc.env(self.local)


def seiscomp_build(label: str = "8.0dev") -> SeisComP:
    tarball = require_shared("seiscomp", BUILDS[label])
    return SeisComP(unpack(tarball), label)


@pytest.fixture(scope="session")
def seiscomp() -> SeisComP:
    """The newest SeisComP build (8.0 development), unpacked once per session."""
    return seiscomp_build("8.0dev")


@pytest.fixture(scope="session", params=list(BUILDS))
def seiscomp_any(request) -> SeisComP:
    """Each SeisComP build in turn: 8.0 development and the 7.2.3 release."""
    return seiscomp_build(request.param)


def run_checked(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if proc.returncode != 0:
        raise AssertionError(f"{what} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def lines_of(text: str) -> List[str]:
    return [line for line in text.splitlines() if line.strip()]

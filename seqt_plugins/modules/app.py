"""A small SeisComP-style Application: lifecycle, command line, configuration, logging.

Lifecycle (as ``seiscomp.client.Application``)::

    createCommandLineDescription → (parse) → initConfiguration → validateParameters → init → run → done

Exit codes, SeisComP's (so ``seiscomp`` and scripts read them as for its own modules): 0 success
(also ``-h``/``-V``); 255 bad command line or configuration; 2 ``validateParameters`` failed;
1 ``init`` or ``run`` failed; 5 another run holds the lock (``run`` failed with
``self.failure_code`` set); and ours, 3: ``run`` finished and wrote its output but skipped some
input (``self.skipped_inputs`` > 0, each logged).

The command line is built from the module's :class:`~seqt_plugins.config.ModuleSchema`: its
options (``-h``, ``-V``, ``--config-file``, verbosity, ``-I``, ...) plus ``--<key>=<value>`` for
every configuration key (``--picker.pThreshold=0.2``). Options tied to a key (``param_ref``:
``-I`` → ``recordstream``) set the key with command-line precedence.

Logging (:mod:`seqt_plugins.modules.logs`, shared with seqt-xml and seqt-train): SeisComP's
format, ``2024/03/01 10:15:02 [info/seqtpick] text``, to stderr (stdout carries XML only).
Levels: 1 error, 2 warning (default), 3 info, 4 debug (``--verbosity``, ``-v`` repeated,
``--debug``, ``-q``, or the ``logging.level`` key); a successful run ends with one ``notice``
line, its summary (:meth:`Application.summary`), which the default verbosity shows. These
modules run as commands, not daemons, so console logging is on by default (``--console 0``
turns it off); ``--log-file F`` adds a file.

Messaging (:mod:`seqt_plugins.host.messaging`): without ``--offline`` (or the module's other
offline switches, ``offline_switches``) and with SeisComP's Python API importable, the module
sends its picks to the messaging group ``messaging.pickGroup`` (PICK) instead of writing XML.
Without that API, a messaging option given explicitly (``-H``, ``-u``, ``-g``, ``-S``) is a
one-line error (exit 2); otherwise the application warns and runs offline.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from seqt_plugins import progress
from seqt_plugins.config import ConfigError, ModuleSchema, load_configuration
from seqt_plugins.modules.schemas import all_schemas, module_schema

from seqt_plugins.modules.cli import EXIT_OK, EXIT_PARTIAL, EXIT_RUN, EXIT_USAGE, EXIT_VALIDATE  # noqa: F401
from seqt_plugins.modules.logs import (  # noqa: F401  (LOG_FORMAT, SeisComPFormatter: imported from here before)
    DEFAULT_VERBOSITY, LOG_DATEFMT, LOG_FORMAT, SeisComPFormatter, add_schema_option, handlers_for, log_summary,
    remove_handlers, verbosity_of)

EXIT_LOCKFILE = 5  # -l FILE held by another process (SeisComP's code)



def _version() -> str:
    try:
        from importlib.metadata import version

        return version("seqt-plugins")
    except Exception:  # not installed: the source tree
        import seqt_plugins

        return getattr(seqt_plugins, "__version__", "0.1.0")


class UsageError(Exception):
    """A bad command line: exit 255."""


class Terminated(KeyboardInterrupt):
    """SIGTERM received: unwinds like Ctrl-C (no partial output), with its own log line."""


def _on_sigterm(signum, frame):
    raise Terminated()


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit 2: SeisComP uses 255
        raise UsageError(message)


class Application:
    """Base class of ``seqtpick`` and ``seqtrepick`` (one subclass per module)."""

    #: The module (and configuration) name; the config name is basename(argv[0]) in SeisComP,
    #: but an entry point's argv[0] can be anything, so the class fixes it.
    module_name: str = ""
    #: Options that mean "no messaging" (seqtrepick's --ep is its input, not one of them).
    offline_switches: Tuple[str, ...] = ("offline", "ep", "output")
    #: The standard messaging options (dest, flags), an error without seiscomp.client.
    messaging_flags: Tuple[Tuple[str, str], ...] = (
        ("host", "-H/--host"), ("user", "-u/--user"), ("primary_group", "-g/--primary-group"),
        ("subscribe_group", "-S/--subscribe-group"))

    def __init__(self, argv: Optional[Sequence[str]] = None, stdout=None, stderr=None):
        self.argv: List[str] = list(sys.argv[1:] if argv is None else argv)
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.schema: ModuleSchema = self.createSchema()
        self.args: Optional[argparse.Namespace] = None
        self.overrides: List[Tuple[str, str]] = []
        self.config = None
        self.verbosity = 2
        self.offline = True
        self.sender = None  # seqt_plugins.host.PickSender in messaging mode
        #: inputs (files, sensors, origins) the run left out, each logged: exit 3 instead of 0
        self.skipped_inputs = 0
        #: exit code of a failed run (``run`` returned False) other than 1, e.g. 5 (locked)
        self.failure_code = 0
        self.log = logging.getLogger(f"seqt_plugins.modules.{self.name()}")
        self._handlers: List[logging.Handler] = []
        self.started = time.monotonic()  # reset by exec: the summary's "in T s"
        self._restore: List[Any] = []  # undo actions of exec (signal handlers)

    # -- SeisComP-like API -----------------------------------------------------------------
    def name(self) -> str:
        return self.module_name

    def createSchema(self) -> ModuleSchema:  # noqa: N802
        return module_schema(self.module_name)

    def createCommandLineDescription(self, parser: argparse.ArgumentParser) -> None:  # noqa: N802
        """Add options beyond the schema's (the schema's options are already there)."""

    def initConfiguration(self) -> bool:  # noqa: N802
        """Read the configuration layers and apply the command-line overrides.

        Raises ConfigError (exit 255) on an unknown key or a bad value.
        """
        args = self.args
        overrides = list(self.overrides)
        for opt in self.schema.options:
            if not opt.param_ref:
                continue
            value = getattr(args, _dest(opt), None)
            if value is None or value is False:
                continue
            overrides.append((opt.param_ref, "true" if value is True else str(value)))
        if getattr(args, "record_file", None):  # --record-file F: -I file://F
            overrides.append(("recordstream", "file://" + str(Path(args.record_file).absolute())))
        self.config = load_configuration(
            self.schema, config_file=getattr(args, "config_file", None), overrides=overrides,
            appname=self.name(), bindings_dir=getattr(args, "bindings_dir", None),
            other_schemas=all_schemas().values())
        if getattr(args, "config_db", None):  # the bindings of SeisComP's configuration, from a file
            from seqt_plugins.config.configdb import ConfigBindings

            if "://" in args.config_db and not args.config_db.startswith("file://"):
                raise ConfigError("--config-db: only an SCML file can be read here, not a database URL",
                                  args.config_db)
            path = args.config_db[7:] if args.config_db.startswith("file://") else args.config_db
            self.config.bindings = ConfigBindings(self.schema, path, getattr(args, "config_module", None) or "trunk")
        if self.config.bindings is not None:
            self.config.bindings.validate()
        self.check_weight_files()
        return True

    #: Keys naming EqT weights: a published model's name or the path of an HDF5 file.
    weight_keys: Tuple[str, ...] = ("picker.model", "repicker.model")

    def check_weight_files(self) -> None:
        """A weights path must be an HDF5 file, checked here (exit 255) rather than per sensor
        after the data are read."""
        for key in self.weight_keys:
            if self.schema.parameter(key) is None or key not in self.config:
                continue
            value = str(self.config.get(key) or "")
            if value in ("original", "conservative", "both"):
                continue
            path = Path(value)
            if not path.is_file():
                raise ConfigError(f"{key}: {value!r} is neither a published model (original, conservative, both) "
                                  "nor an existing weights file")
            try:
                with open(path, "rb") as handle:
                    magic = handle.read(8)
            except OSError as exc:
                raise ConfigError(f"{key}: {value}: {exc.strerror or exc}") from None
            if magic != b"\x89HDF\r\n\x1a\n":
                raise ConfigError(f"{key}: {value} is not an HDF5 (.h5) weights file")

    def validateParameters(self) -> bool:  # noqa: N802
        """Check the parameters' combination; False → exit 2."""
        args = self.args
        if getattr(args, "record_type", None) and args.record_type.lower() not in ("mseed", "miniseed"):
            self.log.error("--record-type %s: only mseed records are read", args.record_type)
            return False
        inventory_db = getattr(args, "inventory_db", None)
        if inventory_db:
            if "://" in inventory_db and not inventory_db.startswith("file://"):
                self.log.error("--inventory-db %s: only a file (SCML or StationXML) can be read here, "
                               "not a database URL", inventory_db)
                return False
            if hasattr(args, "inventory_xml") and not args.inventory_xml:
                args.inventory_xml = inventory_db[7:] if inventory_db.startswith("file://") else inventory_db
        if getattr(args, "database", None) and not getattr(args, "db_disable", False):
            needs = [what for what, given in (("the inventory (--inventory-db FILE)", inventory_db),
                                              ("the bindings (--config-db FILE)", getattr(args, "config_db", None)))
                     if not given]
            if needs:
                self.log.error("-d/--database %s: this shell reads no database; give %s, or --db-disable",
                               args.database, " and ".join(needs))
                return False
        self.offline = any(getattr(args, name, None) for name in self.offline_switches)
        explicit = [flags for dest, flags in self.messaging_flags if getattr(args, dest, None) is not None]
        if self.offline:
            if explicit:
                self.log.info("offline: %s ignored", ", ".join(explicit))
        elif messaging_available():
            self.log.info("messaging mode: picks are sent to group %s", self.config.get("messaging.pickGroup", "PICK"))
        elif explicit:
            self.log.error("%s: messaging needs SeisComP's Python API, but seiscomp.client is not importable "
                           "(drop the option or add --offline)", explicit[0])
            return False
        else:
            if "ep" in self.offline_switches:  # seqtrepick (--ep is its input) never warned
                self.log.warning("the seiscomp Python package is not importable: running offline")
            self.offline = True
        return True

    # -- checks shared by the modules' validateParameters (each logs one line, False on error) --
    def check_record_url(self) -> bool:
        if not self.config.get("recordstream", ""):
            self.log.error("no record stream: give -I URL or set recordstream")
            return False
        return True

    def record_scheme(self) -> str:
        url = self.config.get("recordstream", "")
        return url.split("://", 1)[0].lower() if "://" in url else "file"

    def check_time_span(self) -> bool:
        """Parse --begin/--end into ``self.begin``/``self.end`` (None when not given)."""
        from obspy import UTCDateTime

        for attr in ("begin", "end"):
            text = getattr(self.args, attr, None)
            setattr(self, attr, None)
            if text:
                try:
                    setattr(self, attr, UTCDateTime(text))
                except Exception:
                    self.log.error("--%s %r is not a time (e.g. 2024-03-01T10:15:00)", attr, text)
                    return False
        if self.begin is not None and self.end is not None and self.end <= self.begin:
            self.log.error("--end must be later than --begin")
            return False
        return True

    def check_input_file(self, option: str, path) -> bool:
        if path and not Path(path).is_file():
            self.log.error("%s %s: file not found", option, path)
            return False
        return True

    def check_output_dir(self, option: str, path) -> bool:
        if path:
            try:
                Path(path).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.log.error("%s %s: %s", option, path, exc.strerror or exc)
                return False
        return True

    def require_extra(self, extra: str, modules: Sequence[str], what: str) -> bool:
        """Before any work: the optional packages ``what`` needs import; else one line naming
        the extra that installs them (``pip install "seqt-plugins[EXTRA]"``), False → exit 2."""
        import importlib

        missing = []
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:  # ImportError, or a build that fails to import
                missing.append(name if isinstance(exc, ModuleNotFoundError) else f"{name} ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})")
        if missing:
            self.log.error("%s needs the optional package(s) %s: install the '%s' extra, "
                           "pip install \"seqt-plugins[%s]\" (from a checkout: pip install \".[%s]\")",
                           what, ", ".join(missing), extra, extra, extra)
            return False
        return True

    def record_input_files(self) -> List[str]:
        """The files a ``file://`` (or bare path) record stream reads; [] for other sources."""
        import glob
        import urllib.parse

        url = str(self.config.get("recordstream", "") or "").strip()
        if not url or url == "-" or ("://" in url and self.record_scheme() != "file"):
            return []
        path = urllib.parse.unquote(url.split("://", 1)[1]) if "://" in url else url
        p = Path(path)
        if p.is_file():
            return [str(p)]
        if p.is_dir():
            return [str(f) for f in p.rglob("*") if f.is_file()]
        return [f for f in glob.glob(path, recursive=True) if os.path.isfile(f)]

    def check_output_file(self, option: str, path, inputs: Iterable[str] = ()) -> bool:
        """Before any work: ``path`` can be written (atomically, beside it) and is no input.

        Refused (one line naming ``path``; False → exit 2): a directory, a parent directory
        that is missing, not a directory or not writable, and a file that is one of ``inputs``
        (the same inode: writing would destroy the input).
        """
        if not path or path == "-":
            return True
        p = Path(path)
        parent = p.parent if str(p.parent) else Path(".")
        if p.is_dir():
            problem = "is a directory (give a file name)"
        elif not parent.exists():
            problem = f"directory {parent} does not exist"
        elif not parent.is_dir():
            problem = f"{parent} is not a directory"
        elif not os.access(parent, os.W_OK | os.X_OK):
            problem = f"directory {parent} is not writable"
        else:
            problem = ""
            if p.exists():
                out = p.stat()
                for name in inputs:
                    try:
                        st = os.stat(name)
                    except OSError:
                        continue
                    if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
                        problem = f"is the input {name}: refusing to overwrite an input"
                        break
        if problem:
            self.log.error("%s %s: %s", option, path, problem)
            return False
        return True

    def write_event_parameters(self, ep) -> None:
        """The module's XML output (output.* keys): atomically to -o FILE, else to stdout."""
        from seqt_plugins.io.xml import write_event_parameters

        output = self.config.options("output").writer_args()
        if self.args.output:
            try:
                write_event_parameters(ep, self.args.output, **output)
            except OSError as exc:  # e.g. a full disk: name -o, not the temporary file beside it
                raise OSError(exc.errno, f"-o {self.args.output}: {exc.strerror or exc}") from None
            self.log.info("wrote %d event(s), %d pick(s) to %s", len(ep.events), len(ep.picks), self.args.output)
        else:
            target = getattr(self.stdout, "buffer", self.stdout)
            write_event_parameters(ep, target, **output)
            target.flush()

    def open_sender(self, test: bool = False):
        """The messaging sender (messaging mode only; connects in ``init``, exit 1 on failure)."""
        from seqt_plugins.host import PickSender

        cfg = self.config
        subscriptions = cfg.get("connection.subscriptions", None) or []
        if isinstance(subscriptions, str):
            subscriptions = [s.strip() for s in subscriptions.split(",")]
        self.sender = PickSender(
            self.name(), host=cfg.get("connection.server", ""),
            user=cfg.get("connection.username", "") or "", primary_group=cfg.get("connection.primaryGroup", "") or "",
            subscriptions=subscriptions, pick_group=cfg.get("messaging.pickGroup", "PICK"),
            amplitude_group=cfg.get("messaging.amplitudeGroup", "AMPLITUDE"), test=test)
        if not test:
            self.sender.connect()
        return self.sender

    def init(self) -> bool:
        return True

    def run(self) -> bool:
        return True

    def acquire_lockfile(self, path) -> bool:
        """-l FILE: an exclusive lock held until exit (the process ID written in it); False when
        another process holds it (exit 5, as SeisComP)."""
        import fcntl

        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            self.log.error("-l/--lockfile %s: %s", path, exc.strerror or exc)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            self.log.error("-l/--lockfile %s: already locked by another process", path)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    def daemonize(self) -> None:
        """-D: detach (double fork, new session, stdio to /dev/null); the parent exits 0."""
        if os.fork() > 0:
            os._exit(0)
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        if getattr(self, "_lock_fd", None) is not None:  # the lock now belongs to this process
            os.ftruncate(self._lock_fd, 0)
            os.write(self._lock_fd, f"{os.getpid()}\n".encode())
        self.stdout, self.stderr = sys.stdout, sys.stderr
        self.setup_logging()

    def done(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self.sender is not None:
            self.sender.close()
            self.sender = None
        remove_handlers(self._handlers)
        self._handlers = []
        progress.configure()  # the process's defaults again (tests run many applications)

    # -- driver ---------------------------------------------------------------------------
    def __call__(self) -> int:
        return self.exec()

    def exec(self) -> int:  # noqa: A003
        self.started = time.monotonic()
        try:
            try:
                parser = self.build_parser()
                self.args, self.overrides = self.parse(parser, self.argv)
            except UsageError as exc:
                print(f"{self.name()}: error: {exc}", file=self.stderr)
                print(f"Try '{self.name()} --help'.", file=self.stderr)
                return EXIT_USAGE
            if self.args.help:
                self.stdout.write(parser.format_help())
                return EXIT_OK
            if self.args.version:
                self.stdout.write(f"{self.name()}: seqt-plugins {_version()}\n")
                return EXIT_OK
            try:
                self.setup_logging()
            except OSError as exc:  # --log-file in a missing or read-only directory
                print(f"{self.name()}: error: --log-file {getattr(self.args, 'log_file', '')}: "
                      f"{exc.strerror or exc}", file=self.stderr)
                return EXIT_USAGE
            if getattr(self.args, "lockfile", None) and not self.acquire_lockfile(self.args.lockfile):
                return EXIT_LOCKFILE
            try:
                self.initConfiguration()
            except ConfigError as exc:
                self.log.error(str(exc))
                return EXIT_USAGE
            self.setup_logging()  # logging.level from the configuration
            if getattr(self.args, "dump_config", False):
                self.stdout.write(self.config.dump() + "\n")
                return EXIT_OK
            if self.verbosity >= 4:
                self.log.debug("configuration files: %s", ", ".join(map(str, self.config.files)) or "none")
            try:
                if not self.validateParameters():
                    return EXIT_VALIDATE
            except ConfigError as exc:
                self.log.error(str(exc))
                return EXIT_VALIDATE
            if getattr(self.args, "daemon", False):
                self.daemonize()
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
                self._restore.append(lambda: signal.signal(signal.SIGTERM, previous_sigterm))
            try:
                if not self.init():
                    return EXIT_RUN
                if not self.run():
                    return self.failure_code or EXIT_RUN
                if self.skipped_inputs:
                    self.log.error("%d input(s) skipped (see the errors above): exit %d",
                                   self.skipped_inputs, EXIT_PARTIAL)
                    return EXIT_PARTIAL
                return EXIT_OK
            except Terminated:
                self.log.error("terminated (SIGTERM): stopped, nothing more written")
                return EXIT_RUN
            except KeyboardInterrupt:
                self.log.error("interrupted")
                return EXIT_RUN
            except Exception as exc:  # errors at the edge: one line, traceback at debug level
                self.log.error("%s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                self.log.debug("traceback", exc_info=True)
                return EXIT_RUN
        finally:
            self.done()
            while self._restore:
                self._restore.pop()()

    # -- command line ---------------------------------------------------------------------
    def build_parser(self) -> argparse.ArgumentParser:
        parser = _ArgumentParser(
            prog=self.name(), add_help=False, allow_abbrev=False,
            description=self.schema.description,
            epilog="Every configuration key can be set as --KEY=VALUE (e.g. --picker.pThreshold=0.2); "
                   "see descriptions/%s.xml and etc/defaults/%s.cfg (installed under <prefix>/share/seqt-plugins)." % (self.name(), self.name()))
        groups = {}
        for opt in self.schema.options:
            group = groups.get(opt.group)
            if group is None:
                group = groups[opt.group] = parser.add_argument_group(opt.group)
            add_schema_option(group, opt)
        self.createCommandLineDescription(parser)
        return parser

    def parse(self, parser: argparse.ArgumentParser, argv: Sequence[str]):
        """Split ``--key=value`` configuration overrides from the options, then parse.

        An argument is an override when it is not an option and its name has a dot or is a
        known key (``--agencyID=XX``); unknown dotted keys are usage errors (exit 255).
        """
        rest, overrides = self.split_overrides(parser, argv)
        args = parser.parse_args(rest)
        return args, overrides

    def split_overrides(self, parser: argparse.ArgumentParser, argv: Sequence[str]):
        """(the other arguments, the ``--key=value`` overrides) of ``argv`` (see ``parse``); also
        used by the SeisComP shell (seqt_plugins.modules.stream_app), so both read them alike."""
        rest: List[str] = []
        overrides: List[Tuple[str, str]] = []
        i = 0
        argv = list(argv)
        while i < len(argv):
            arg = argv[i]
            if arg == "--":
                rest.extend(argv[i:])
                break
            name = arg.split("=", 1)[0]
            if arg.startswith("--") and name not in parser._option_string_actions and (
                    "." in name or self.schema.parameter(name[2:]) is not None):
                key, eq, value = arg[2:].partition("=")
                if not eq:
                    if i + 1 >= len(argv):
                        raise UsageError(f"--{key} needs a value (--{key}=VALUE)")
                    value = argv[i + 1]
                    i += 1
                if self.schema.parameter(key) is None and not _is_global(key):
                    raise UsageError(f"unknown configuration key {key!r} (command line --{key})")
                overrides.append((key, value))
            else:
                rest.append(arg)
            i += 1
        return rest, overrides

    # -- logging and progress -------------------------------------------------------------
    def setup_logging(self) -> None:
        """SeisComP's log format and verbosity (:mod:`seqt_plugins.modules.logs`); the level
        from ``logging.level`` once the configuration is read, else from the options."""
        args = self.args if self.args is not None else argparse.Namespace()
        level = DEFAULT_VERBOSITY
        if self.config is not None and "logging.level" in self.config:
            level = int(self.config.get("logging.level"))
        self.verbosity = verbosity_of(args, level)
        remove_handlers(self._handlers)
        syslog = bool(self.config.get("logging.syslog")) if self.config is not None and \
            "logging.syslog" in self.config else False
        self._handlers = handlers_for(self.name(), args, self.stderr, self.verbosity, syslog=syslog)
        # progress bars (seqt_plugins.progress): drawn where the log goes, never when quiet or detached
        progress.configure(enabled=self.verbosity > 0 and not getattr(args, "daemon", False), stream=self.stderr)

    def summary(self, fmt: str, *args: Any) -> None:
        """The run's one summary line, shown at the default verbosity (``... in T s``, T since
        the command started)."""
        log_summary(self.log, self.started, fmt, *args)


def _dest(opt) -> str:
    return opt.long_flag.replace("-", "_")


def _is_global(key: str) -> bool:
    from seqt_plugins.config.schema import is_global_key

    return is_global_key(key)


def messaging_available() -> bool:
    """Whether SeisComP's Python client (``seiscomp.client``) can be imported (lazily checked)."""
    from seqt_plugins.host.messaging import messaging_available as available

    return available()


def run_application(cls, argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return cls(argv).exec()

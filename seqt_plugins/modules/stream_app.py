"""``seqtpick`` as a SeisComP application: a ``seiscomp.client.StreamApplication``.

Which shell runs (:func:`wanted`): where SeisComP's Python API (``seiscomp.client``) is
importable and none of ``--offline``, ``--ep``, ``-o``, ``--stations`` (reprocessing) or
``--dump-config`` is given, ``seqtpick`` runs as this SeisComP application; otherwise it runs
the argparse shell (:class:`seqt_plugins.modules.seqtpick.SeqtPick`), which needs no SeisComP and writes
files. As in SeisComP:

* the records come from SeisComP's own RecordStream (``-I``, ``--record-file``,
  ``recordstream``), subscribed stream by stream from the inventory, from now − ``leadTime``
  on unless ``--playback`` (or ``--begin``/``--end``);
* the inventory and the bindings come from SeisComP: the database (``-d`` or the one scmaster
  announces), ``--inventory-db`` and ``--config-db`` files, ``configModule()``
  (``--config-module``); without a configuration module, the key files of the offline shell
  (``--bindings-dir``, ``$SEISCOMP_ROOT/etc/key``) or none;
* picks and their snr amplitudes are sent as notifier messages built directly with
  ``seiscomp.datamodel`` (:mod:`seqt_plugins.host.messaging`) to ``messaging.pickGroup`` and
  ``messaging.amplitudeGroup``; ``--test`` sends nothing;
* logging, ``-D``, ``-l``, ``-H``/``-u``/``-g``/``-S``, exit codes are SeisComP's own.

Both shells share one schema (:mod:`seqt_plugins.config`): the module's options are added to
SeisComP's command line from it, and the configuration (files, ``--key=value``, option
values) is read and checked by the same loader as offline, so names and meanings agree.

The records go through the picking core of the offline real-time path,
:class:`~seqt_plugins.scale.realtime.RealtimePicker` on
:class:`~seqt_plugins.picker.perstation.StationPicker`: each EqT window encoded once, the
windows of all stations batched together, each pick emitted once when it is final, the bindings (enabled, detecLocid/detecStream,
thresholds) applied. A recorded file must be time-ordered across channels (``scmssort -E``),
as in a real-time feed: a station's three components are picked together.
"""

from __future__ import annotations

import fnmatch
import logging
import sys
import time
from typing import List, Optional, Sequence

#: Options that make seqtpick write files: they select the argparse shell.
OFFLINE_FLAGS = ("--offline", "--ep", "--output", "--stations", "--dump-config")

#: Options of the schema that only shape files: accepted here (one command line), then ignored
#: with a warning; and those that are an error here, with the reason.
FILE_ONLY = ("format", "scml-version", "formatted", "plot", "output-dir", "workers", "cluster")
REFUSED = {"inventory-xml": "inside SeisComP the inventory comes from the database or --inventory-db "
                            "(an SCML file; fdsnxml2inv converts StationXML)"}

log = logging.getLogger("seqt_plugins.modules.seqtpick")

#: Passes of the real-time core in playback, in window steps (see SeqtPickStream.start).
PLAYBACK_STEPS = 10


def offline_requested(argv: Sequence[str], offline_flags: Sequence[str]) -> bool:
    """Whether ``argv`` (before ``--``) holds one of ``offline_flags`` or ``-o``: the options that
    make a module read or write files, so its argparse shell runs instead of SeisComP's."""
    for arg in argv:
        if arg == "--":
            break
        if arg.split("=", 1)[0] in offline_flags or (arg.startswith("-o") and not arg.startswith("--")):
            return True
    return False


def wanted(argv: Sequence[str]) -> bool:
    """Whether ``seqtpick argv`` runs as a SeisComP StreamApplication (see the module doc)."""
    if offline_requested(argv, OFFLINE_FLAGS):
        return False
    from seqt_plugins.host.messaging import messaging_available

    return messaging_available()


def run(offline_shell, argv: Optional[Sequence[str]] = None) -> int:
    """Run ``seqtpick`` as a SeisComP StreamApplication; returns its exit code.
    ``offline_shell``: the argparse shell's class (``SeqtPick``), whose schema, command line
    and configuration loader this shell uses."""
    argv = list(sys.argv[1:] if argv is None else argv)
    app = shell_class()(offline_shell, [offline_shell.module_name] + argv)
    return app()


_CLASS = None


def shell_class():
    """The StreamApplication subclass (made on first use: ``seiscomp`` is imported lazily)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _build()
    return _CLASS


def _matches(patterns: List[str], seed: str) -> bool:
    for p in patterns:
        parts = p.split(".") + ["*"] * (4 - len(p.split(".")))
        if fnmatch.fnmatchcase(seed, ".".join(parts[:4])):
            return True
    return False


class _ToSeisComP(logging.Handler):
    """Python logging into SeisComP's (its levels, outputs and format)."""

    def __init__(self, sclog):
        super().__init__(logging.DEBUG)
        self.sclog = sclog

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            return
        if record.levelno >= logging.ERROR:
            self.sclog.error(text)
        elif record.levelno >= logging.WARNING:
            self.sclog.warning(text)
        elif record.levelno >= logging.INFO:
            self.sclog.info(text)
        else:
            self.sclog.debug(text)


def add_schema_options(commandline, schema, skip) -> None:
    """The module's own options from the schema, on SeisComP's command line (its standard
    ones are SeisComP's already: ``opt.ref``); ``skip(opt)``: options this shell leaves out."""
    groups = set()
    for opt in schema.options:
        if opt.ref or skip(opt):
            continue
        if opt.group not in groups:
            commandline.addGroup(opt.group)
            groups.add(opt.group)
        name = opt.long_flag + (f",{opt.flag}" if opt.flag else "")
        if opt.argument is None:
            commandline.addOption(opt.group, name, opt.description)
        else:
            commandline.addStringOption(opt.group, name, opt.description)


def check_shell_flags(args, file_only: Sequence[str], files: str, sclog) -> bool:
    """Options of the schema a SeisComP shell cannot honour: ``REFUSED`` ones are an error
    (False), ``file_only`` ones are ignored with a warning (``files``: what they shape)."""
    for flag, reason in REFUSED.items():
        if getattr(args, flag.replace("-", "_"), None):
            sclog.error(f"--{flag}: {reason}")
            return False
    for flag in file_only:
        if getattr(args, flag.replace("-", "_"), None):
            sclog.warning(f"--{flag} only shapes files ({files}): ignored here")
    return True


def load_shell_configuration(shell, argv, sclog) -> bool:
    """Our configuration from SeisComP's files, ``--key=value`` and options, checked against the
    schema by the argparse shell's own loader (a bad key or value: one error line, False).
    ``--config-db`` stays SeisComP's (it reads the bindings itself, or there are none)."""
    from seqt_plugins.config import ConfigError
    from seqt_plugins.modules.app import UsageError

    try:
        parser = shell.build_parser()
        rest, shell.overrides = shell.split_overrides(parser, argv)
        shell.args, _ = parser.parse_known_args(rest)  # the rest are SeisComP's options
        shell.args.config_db = None
        shell.initConfiguration()
    except (ConfigError, UsageError) as exc:
        sclog.error(f"{exc}")
        return False
    if shell.args.debug:
        logging.getLogger().setLevel(logging.DEBUG)
    return True


def _build():
    import seiscomp.client as client
    import seiscomp.core as core
    import seiscomp.datamodel as datamodel
    import seiscomp.logging as sclog

    from seqt_plugins.config import ConfigError

    from seqt_plugins.host.messaging import MessagingError, PickSender, sc_time
    from seqt_plugins.host.shutdown import released_after
    from seqt_plugins.host.sources import (InventoryOrientations, bindings_from_config_module,
                                           inventory_streams, record_to_trace)

    class SeqtPickStream(client.StreamApplication):
        """seqtpick inside SeisComP (see the module doc)."""

        def __init__(self, offline_shell, argv: List[str]):
            super().__init__(len(argv), argv)
            self.argv = list(argv[1:])
            # the argparse shell supplies the schema, its options and the configuration loader
            self.shell = offline_shell(self.argv)
            self.setMessagingEnabled(True)
            self.setDatabaseEnabled(True, True)
            self.setLoadInventoryEnabled(True)
            self.setLoadConfigModuleEnabled(True)
            self.setPrimaryMessagingGroup("PICK")
            self.setAutoApplyNotifierEnabled(False)
            self.setInterpretNotifierEnabled(False)
            self.setRecordDatatype(core.Array.DOUBLE)
            self.handler = _ToSeisComP(sclog)
            root = logging.getLogger()
            root.addHandler(self.handler)
            root.setLevel(logging.INFO)
            for noisy in ("tensorflow", "absl", "matplotlib", "h5py", "PIL"):
                logging.getLogger(noisy).setLevel(logging.ERROR)
            self.rt = None
            self.sender = None
            self.patterns: List[str] = []
            self.subscribed = False
            self.sent = {"picks": 0, "amplitudes": 0}

        # -- command line and configuration: the one schema ------------------------------------
        def createCommandLineDescription(self):  # noqa: N802
            """The module's own options from the schema (SeisComP's standard ones it has)."""
            add_schema_options(self.commandline(), self.shell.schema,
                               lambda opt: "--" + opt.long_flag in OFFLINE_FLAGS or opt.long_flag == "output")

        def initConfiguration(self):  # noqa: N802
            """SeisComP's configuration, then ours from the same files, ``--key=value`` and
            options, checked against the schema (a bad key or value: exit 255)."""
            # --config-db: SeisComP reads it (configModule() in init)
            return super().initConfiguration() and load_shell_configuration(self.shell, self.argv, sclog)

        def validateParameters(self):  # noqa: N802
            if not super().validateParameters():
                return False
            return (check_shell_flags(self.shell.args, FILE_ONLY, "--ep, -o, --stations", sclog)
                    and self.shell.check_time_span())

        def printVersion(self):  # noqa: N802
            from seqt_plugins.modules.app import _version

            print(f"{self.name()}: seqt-plugins {_version()}")
            client.StreamApplication.printVersion(self)

        # -- start: inventory, bindings, subscriptions -------------------------------------------
        def init(self):
            if not super().init():
                return False
            try:
                return self.start()
            except (ConfigError, MessagingError) as exc:
                log.error("%s", exc)
                return False

        def start(self) -> bool:
            from obspy import UTCDateTime

            from seqt_plugins.config.stations import StationFilter
            from seqt_plugins.modules.logs import options_text
            from seqt_plugins.picker import Picker
            from seqt_plugins.picker.prepare import FS
            from seqt_plugins.scale.realtime import RealtimePicker

            shell, config = self.shell, self.shell.config
            module = self.configModule()
            if module is not None:
                config.bindings = bindings_from_config_module(datamodel, shell.schema, module,
                                                              self.configModuleName())
                config.bindings.validate()
            shell.filter = StationFilter(config)
            self.patterns = [c.strip() for c in config.options("streams").codes or ["*"] if c.strip()]
            options = config.options("picker")
            picker = Picker(options=options)
            inventory = client.Inventory.Instance()
            # Playback reads as fast as it can, so latency does not matter: a pass every 10 window
            # steps prepares each stretch of data with less margin and gives the model batches of
            # 10 windows per station; the picks do not depend on the step.
            step = PLAYBACK_STEPS * picker.step / FS if config.get("playback") else (config.get("passStep") or None)
            self.rt = RealtimePicker(picker, inventory=InventoryOrientations(inventory, core),
                                     settings_for=shell.filter, step=step)
            log.info("passes every %.0f s of each station's data (%s)", self.rt.step,
                     "playback: 10 window steps" if config.get("playback") else "passStep")
            log.info("picker options: %s (bindings: %s)", options_text(options, "picker"),
                     "configuration module " + self.configModuleName() if module is not None
                     else (f"key files {getattr(config.bindings, 'key_dir', '')}" if config.bindings else "none"))
            begin, end = shell.begin, shell.end
            if begin is None and not config.get("playback"):
                begin = UTCDateTime() - int(config.get("leadTime"))
                log.info("no --playback: picking data from %s on (now - leadTime)", begin)
            if begin is not None:
                self.setStartTime(sc_time(core, begin))
            if end is not None:
                self.setEndTime(sc_time(core, end))
            streams = inventory_streams(inventory.inventory())
            if streams:
                sensors = shell.sensors_to_pick(streams)
                chosen = set(sensors)
                channels = [s for s in streams if (s[0], s[1], s[2], s[3][:2]) in chosen]
                for net, sta, loc, cha in channels:
                    self.recordStream().addStream(net, sta, loc, cha)
                self.subscribed = True
                log.info("%d sensor(s), %d stream(s) subscribed from the inventory", len(sensors), len(channels))
                if not sensors:
                    log.error("no stream of the inventory matches streams.codes and the bindings")
                    return False
            else:
                url = self.recordStreamURL()
                if url.split("://", 1)[0] not in ("file", "") and not self.commandline().hasOption("record-file"):
                    log.error("no inventory (-d, --inventory-db): the streams to request from %s are unknown", url)
                    return False
                log.warning("no inventory: every stream of the records matching streams.codes is picked "
                            "(nominal orientations)")
            self.sender = PickSender(self.name(), connection=self.connection(),
                                     pick_group=config.get("messaging.pickGroup", "PICK"),
                                     amplitude_group=config.get("messaging.amplitudeGroup", "AMPLITUDE"),
                                     test=bool(shell.args.test))
            started = time.perf_counter()
            self.rt.picker.warm_up()  # models loaded and their graphs built before the first records
            log.info("models ready in %.1f s", time.perf_counter() - started)
            return True

        # -- records in, picks out ---------------------------------------------------------------
        def handleRecord(self, record):  # noqa: N802
            try:
                trace = record_to_trace(record)
                if trace is None:
                    return
                if not self.subscribed and not _matches(self.patterns, trace.id):
                    return
                picks = self.rt.feed(trace)
                if picks:
                    self.emit(picks)
            except Exception as exc:  # one bad record must not end the module
                log.error("%s: %s: %s", record.streamID(), type(exc).__name__,
                          str(exc).splitlines()[0] if str(exc) else "")

        def handleEndAcquisition(self):  # noqa: N802
            """The record stream ended (a file, or --end): pick what the buffers still hold."""
            try:
                picks = self.rt.flush() if self.rt is not None else []
                if picks:
                    self.emit(picks)
            except Exception as exc:
                log.error("flushing the buffers failed: %s: %s", type(exc).__name__, exc)
            log.info("acquisition finished: %d pick(s), %d amplitude(s) sent%s", self.sent["picks"],
                     self.sent["amplitudes"], " (--test: nothing sent)" if self.sender and self.sender.test else "")
            client.StreamApplication.handleEndAcquisition(self)

        def emit(self, picks) -> None:
            from obspy import UTCDateTime

            from seqt_plugins.picker import amplitudes_of
            from seqt_plugins.picks import CreationInfo

            config = self.shell.config
            amplitudes = amplitudes_of(picks) if config.get("calculateAmplitudes") else []
            now = UTCDateTime()
            for obj in list(picks) + list(amplitudes):
                ci = obj.creation_info or CreationInfo()
                ci.agency_id = ci.agency_id or self.agencyID() or None
                ci.author = ci.author or self.author() or None
                ci.creation_time = ci.creation_time or now
                obj.creation_info = ci
            for p in picks:
                log.info("pick %s %s %s p=%s", p.waveform_id.nslc, p.phase_hint, p.time,
                         "%.2f" % p.probability if p.probability is not None else "-")
            self.sender.send(picks, amplitudes)
            if not self.sender.test:
                self.sent["picks"] += len(picks)
                self.sent["amplitudes"] += len(amplitudes)

        def done(self):
            logging.getLogger().removeHandler(self.handler)
            with released_after():  # SeisComP's join of its message thread can hang (host.shutdown)
                client.StreamApplication.done(self)

    return SeqtPickStream


__all__ = ["OFFLINE_FLAGS", "run", "shell_class", "wanted"]

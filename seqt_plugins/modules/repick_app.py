"""``seqtrepick`` as a SeisComP application: a ``seiscomp.client.Application`` listening to origins.

Which shell runs (:func:`wanted`): where SeisComP's Python API (``seiscomp.client``) is
importable and none of ``--offline``, ``--ep``, ``-o`` or ``--dump-config`` is given and stdin
holds no event parameters (a file or a pipe), ``seqtrepick`` runs as this SeisComP application;
otherwise it runs the argparse shell (:class:`seqt_plugins.modules.seqtrepick.SeqtRepick`),
which re-picks the event parameters of a file or stdin (as screpick). Here, as scdlpicker does:

* the messaging subscriptions are LOCATION (origins) and PICK (their picks), replaced by
  SeisComP's ``connection.subscriptions`` or ``-S``; each origin received (its arrivals come in
  the same message) is re-picked once, the next time the application's timer fires, so that
  origins arriving while one is re-picked are taken together. An origin waits until its origin
  time is ``originDelay`` seconds past (the records it needs can then be complete on a
  real-time server), and one that shares a pick with an origin received later is replaced by it
  while both wait (a locator's updates of one event): :mod:`seqt_plugins.host.origin_queue`;
* an origin's picks come from SeisComP's object cache (the picks received on PICK), else from
  the database (``query()``); an origin received without arrivals gets them from the database,
  and one that still has none, or none of whose picks is found, is skipped with a warning. As in
  scdlpicker, the re-picker gets the origin's associated picks only: a station whose pick the
  locator left out is searched (its re-pick may give the locator a better one);
* the records come from SeisComP's RecordStream (``-I``, ``--record-file``, ``recordstream``):
  the streams of the inventory's stations within ``repicker.maxDistance`` of the origin (and
  the picked ones), from 60 s before to 120 s after the origin time;
* the inventory comes from SeisComP (the database, ``--inventory-db``): its coordinates place
  the search windows, its orientations rotate the components;
* the re-picks and their snr amplitudes are sent as notifier messages built directly with
  ``seiscomp.datamodel`` (:class:`seqt_plugins.host.messaging.PickSender` on the application's
  connection) to ``messaging.pickGroup`` and ``messaging.amplitudeGroup``; a re-pick already
  sent (found again for a later origin of the event) is not sent again;
* logging, ``-D``, ``-l``, ``-H``/``-u``/``-g``/``-S``, ``-d``, exit codes are SeisComP's own.

Both shells share one schema and one re-picking path (``SeqtRepick.repick_event_parameters``):
the module's options are added to SeisComP's command line from the schema, and the configuration
is read and checked by the same loader as offline, so names and meanings agree.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import deque
from typing import List, Optional, Sequence

from seqt_plugins.modules.stream_app import (_ToSeisComP, add_schema_options, check_shell_flags,
                                             load_shell_configuration, offline_requested)
from seqt_plugins.plotbase import plural

#: Options that make seqtrepick read a file or write one: they select the argparse shell.
OFFLINE_FLAGS = ("--offline", "--ep", "--output", "--dump-config")

#: Options of the schema that only shape files: accepted here, then ignored with a warning (the
#: refused ones are seqtpick's: ``stream_app.REFUSED``).
FILE_ONLY = ("format", "scml-version", "formatted")

#: Default messaging subscriptions: origins and the picks they refer to.
SUBSCRIPTIONS = ("LOCATION", "PICK")

#: How long received picks are kept for the origins that will refer to them (older ones come
#: from the database); the re-picker searches within 200 km (``repicker.maxDistance``).
PICK_BUFFER_S = 3600

#: Seconds a RecordStream may wait for data (a real-time server) before the request ends.
RECORD_TIMEOUT_S = 30

#: Re-pick IDs remembered as sent (a later origin of the event finds the same re-picks).
SENT_MEMORY = 100000

log = logging.getLogger("seqt_plugins.modules.seqtrepick")


def wanted(argv: Sequence[str]) -> bool:
    """Whether ``seqtrepick argv`` runs as a SeisComP Application (see the module doc)."""
    if offline_requested(argv, OFFLINE_FLAGS):
        return False
    from seqt_plugins.modules.cli import stdin_has_data

    if stdin_has_data():  # as screpick: event parameters on stdin are the input
        return False
    from seqt_plugins.host.messaging import messaging_available

    return messaging_available()


def run(offline_shell, argv: Optional[Sequence[str]] = None) -> int:
    """Run ``seqtrepick`` as a SeisComP Application; returns its exit code. ``offline_shell``:
    the argparse shell's class (``SeqtRepick``), whose schema, configuration loader and
    re-picking path this shell uses."""
    argv = list(sys.argv[1:] if argv is None else argv)
    app = shell_class()(offline_shell, [offline_shell.module_name] + argv)
    return app()


_CLASS = None


def shell_class():
    """The Application subclass (made on first use: ``seiscomp`` is imported lazily)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _build()
    return _CLASS


def _build():
    import seiscomp.client as client
    import seiscomp.core as core
    import seiscomp.datamodel as datamodel
    import seiscomp.io as scio
    import seiscomp.logging as sclog

    from seqt_plugins.config import ConfigError
    from seqt_plugins.host.messaging import MessagingError, PickSender
    from seqt_plugins.host.origin_queue import OriginQueue
    from seqt_plugins.host.received import (obspy_inventory, origin_from_datamodel, pick_from_datamodel,
                                            read_records, streams_near)
    from seqt_plugins.host.sources import sc_to_utc
    from seqt_plugins.host.shutdown import released_after
    from seqt_plugins.modules.logs import NOTICE

    class _Handler(_ToSeisComP):
        def emit(self, record: logging.LogRecord) -> None:
            if NOTICE <= record.levelno < logging.WARNING:  # the summary line: SeisComP's notice
                try:
                    self.sclog.notice(self.format(record))
                except Exception:
                    pass
                return
            super().emit(record)

    class SeqtRepickApp(client.Application):
        """seqtrepick inside SeisComP (see the module doc)."""

        def __init__(self, offline_shell, argv: List[str]):
            super().__init__(len(argv), argv)
            self.argv = list(argv[1:])
            self.shell = offline_shell(self.argv)
            self.setMessagingEnabled(True)
            self.setDatabaseEnabled(True, True)
            self.setLoadInventoryEnabled(True)
            self.setRecordStreamEnabled(True)
            self.setPrimaryMessagingGroup("PICK")
            for group in SUBSCRIPTIONS:
                self.addMessagingSubscription(group)
            # an Arrival sent apart from its Origin joins it; addObject sees every object received
            self.setAutoApplyNotifierEnabled(True)
            self.setInterpretNotifierEnabled(True)
            self.handler = _Handler(sclog)
            root = logging.getLogger()
            root.addHandler(self.handler)
            root.setLevel(logging.INFO)
            for noisy in ("tensorflow", "absl", "matplotlib", "h5py", "PIL"):
                logging.getLogger(noisy).setLevel(logging.ERROR)
            self.pending: Optional[OriginQueue] = None  # origins waiting for their records
            self.picks = None  # datamodel.PublicObjectTimeSpanBuffer: received picks, then the database
            self.inventory = None  # ObsPy Inventory of SeisComP's
            self.sender = None
            self.sent: "deque[str]" = deque(maxlen=SENT_MEMORY)
            self.sent_set = set()
            # P, S: re-picks sent; replaced: origins superseded by a later one of their event
            self.counts = {"origins": 0, "skipped": 0, "replaced": 0, "P": 0, "S": 0}

        # -- command line and configuration: the one schema ------------------------------------
        def createCommandLineDescription(self):  # noqa: N802
            """The module's own options from the schema (SeisComP's standard ones it has)."""
            add_schema_options(self.commandline(), self.shell.schema,
                               lambda opt: "--" + opt.long_flag in OFFLINE_FLAGS)

        def initConfiguration(self):  # noqa: N802
            """SeisComP's configuration, then ours from the same files, ``--key=value`` and
            options, checked against the schema (a bad key or value: exit 255)."""
            # --config-db: no bindings, seqtrepick has none
            return super().initConfiguration() and load_shell_configuration(self.shell, self.argv, sclog)

        def validateParameters(self):  # noqa: N802
            if not super().validateParameters():
                return False
            return (check_shell_flags(self.shell.args, FILE_ONLY, "--ep, -o", sclog)
                    and self.shell.check_output_dir("--plot", self.shell.args.plot))

        def printVersion(self):  # noqa: N802
            from seqt_plugins.modules.app import _version

            print(f"{self.name()}: seqt-plugins {_version()}")
            client.Application.printVersion(self)

        # -- start: inventory, models, cache, sender -------------------------------------------
        def init(self):
            if not super().init():
                return False
            try:
                return self.start()
            except (ConfigError, MessagingError, ValueError) as exc:
                log.error("%s", exc)
                return False

        def start(self) -> bool:
            from seqt_plugins.modules.logs import options_text
            from seqt_plugins.repicker import Repicker

            shell, config = self.shell, self.shell.config
            if not self.recordStreamURL():
                log.error("no record stream: give -I URL or set recordstream")
                return False
            self.inventory = obspy_inventory(client.Inventory.Instance().inventory())
            stations = sum(len(net.stations) for net in self.inventory)
            if not stations:
                log.error("no inventory (-d, --inventory-db): the stations to search and their coordinates "
                          "are unknown")
                return False
            options = config.options("repicker")
            options.validate()
            log.info("re-picker options: %s (%d stations in the inventory)", options_text(options, "repicker"),
                     stations)
            shell.repicker = Repicker(options=options)
            shell.inventory = self.inventory
            _ = shell.repicker.head  # siamese mode: fail here
            started = time.perf_counter()
            shell.repicker.cache.warm_up()  # models loaded and their graphs built before the first origin
            log.info("models ready in %.1f s", time.perf_counter() - started)
            self.picks = datamodel.PublicObjectTimeSpanBuffer()
            self.picks.setTimeSpan(core.TimeSpan(PICK_BUFFER_S))
            if self.query() is not None:
                self.picks.setDatabaseArchive(self.query())
            self.sender = PickSender(self.name(), connection=self.connection(),
                                     pick_group=config.get("messaging.pickGroup", "PICK"),
                                     amplitude_group=config.get("messaging.amplitudeGroup", "AMPLITUDE"))
            self.pending = OriginQueue(config.get("originDelay"))
            self.enableTimer(1)
            log.info("listening to origins (subscriptions: %s), re-picks to %s, records from %s",
                     ", ".join(self.subscriptions()), self.sender.pick_group, self.recordStreamURL())
            return True

        def subscriptions(self) -> List[str]:
            """The groups subscribed to: ``-S`` (repeatable), else ``connection.subscriptions``,
            else ours (SeisComP applies them; this only names them in the log)."""
            cl = self.commandline()
            try:
                if cl.hasOption("subscribe-group"):
                    return list(cl.optionStrings("subscribe-group"))
            except Exception:
                pass
            try:
                return list(self.configGetStrings("connection.subscriptions"))
            except Exception:
                return list(SUBSCRIPTIONS)

        # -- objects in ----------------------------------------------------------------------------
        def addObject(self, parentID, obj):  # noqa: N802
            """A pick goes into the cache; an origin waits for the next timer."""
            try:
                pick = datamodel.Pick.Cast(obj)
                if pick is not None:
                    self.picks.feed(pick)
                    return
                origin = datamodel.Origin.Cast(obj)
                if origin is not None and self.pending is not None:
                    self.queue(origin)
            except Exception as exc:  # one bad object must not end the module
                log.error("received object: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")

        def queue(self, origin) -> None:
            """An origin waits for its records; the waiting origins of its event it replaces."""
            oid = origin.publicID()
            picks = [origin.arrival(i).pickID() for i in range(origin.arrivalCount())]
            when = sc_to_utc(origin.time().value())
            now = time.time()
            replaced = self.pending.add(oid, when.timestamp, picks, origin, now)
            for old in replaced:
                log.info("origin %s replaced by %s (shares picks with it, received later) before it was "
                         "re-picked", old, oid)
            self.counts["replaced"] += len(replaced)
            if when.timestamp + self.pending.delay > now:
                log.debug("origin %s waits until %s for its records", oid, when + self.pending.delay)

        def handleTimeout(self):  # noqa: N802
            if not self.pending:
                return
            due = self.pending.due(time.time())
            for k, (_, origin) in enumerate(due):
                if self.isExitRequested():
                    log.warning("%s due at exit, not re-picked (e.g. %s)", plural(len(due) - k, "origin"),
                                due[k][0])
                    return
                try:
                    self.repick(origin)
                except Exception as exc:  # an origin that fails must not end the module
                    log.error("origin %s: re-picking failed: %s: %s", origin.publicID(), type(exc).__name__,
                              str(exc).splitlines()[0] if str(exc) else "")
                    log.debug("traceback", exc_info=True)

        # -- one origin ----------------------------------------------------------------------------
        def repick(self, sc_origin) -> None:
            """Re-pick one received origin and send the new re-picks (see the module doc)."""
            from seqt_plugins.picker import amplitudes_of
            from seqt_plugins.picks import EventParameters

            oid = sc_origin.publicID()
            if sc_origin.arrivalCount() == 0 and self.query() is not None:
                self.query().loadArrivals(sc_origin)
            if sc_origin.arrivalCount() == 0:
                log.warning("origin %s has no arrivals: not re-picked", oid)
                self.counts["skipped"] += 1
                return
            try:
                origin = origin_from_datamodel(datamodel, sc_origin)
            except ValueError as exc:
                log.warning("origin %s: %s: not re-picked", oid, exc)
                self.counts["skipped"] += 1
                return
            picks, missing = {}, []
            for arrival in origin.arrivals:
                pick = self.picks.get(datamodel.Pick, arrival.pick_id)  # received, else the database
                if pick is None:
                    missing.append(arrival.pick_id)
                    continue
                if pick.commentCount() == 0 and self.query() is not None:
                    self.query().loadComments(pick)  # a pick from the database: its probability
                picks[arrival.pick_id] = pick_from_datamodel(datamodel, pick)
            log.info("origin %s at %s: %d arrival(s), %d of their picks found", oid, origin.time,
                     len(origin.arrivals), len(picks))
            if not picks:
                log.warning("origin %s: none of the picks of its %d arrival(s) was received or is in the "
                            "database: not re-picked", oid, len(origin.arrivals))
                self.counts["skipped"] += 1
                return
            if missing:
                log.warning("origin %s: %d of its arrivals' picks not found (e.g. %s)", oid, len(missing), missing[0])
            ep = EventParameters(picks=list(picks.values()), origins=[origin])
            done = self.shell.repick_event_parameters(ep, waveforms=self.waveforms)
            if done is None:
                log.warning("origin %s: not re-picked", oid)
                self.counts["skipped"] += 1
                return
            self.counts["origins"] += 1
            _, repicks = done
            self.shell.repicks.clear()  # a daemon keeps counts, not every re-pick
            new = [p for p in repicks if p.public_id not in self.sent_set
                   and datamodel.PublicObject.Find(p.public_id) is None]
            for p in new:
                phase = (p.phase_hint or "").upper()[:1]
                if phase in ("P", "S"):
                    self.counts[phase] += 1
            self.stamp(new)
            amplitudes = amplitudes_of(new)
            self.stamp(amplitudes)
            self.sender.send(new, amplitudes)
            for p in new:
                if len(self.sent) == self.sent.maxlen:
                    self.sent_set.discard(self.sent[0])
                self.sent.append(p.public_id)
                self.sent_set.add(p.public_id)
            log.info("origin %s: sent %d re-pick(s) to %s (%d found again, not resent)", oid, len(new),
                     self.sender.pick_group, len(repicks) - len(new))

        def waveforms(self, origins, t0, t1):
            """The records of the stations the re-picker may search, from SeisComP's RecordStream."""
            options = self.shell.repicker.options
            picked = {(p.waveform_id.network, p.waveform_id.station) for p in self.shell.ep.picks}
            streams = streams_near(self.inventory, origins, options.max_distance, t0, t1, extra=picked)
            log.info("requesting %d stream(s) from %s to %s", len(streams), t0, t1)
            return read_records(scio, core, self.recordStreamURL(), streams, t0, t1, timeout=RECORD_TIMEOUT_S)

        def stamp(self, objects) -> None:
            """SeisComP's agency and author, and the creation time, as its own modules set them."""
            from obspy import UTCDateTime

            from seqt_plugins.picks import CreationInfo

            now = UTCDateTime()
            for obj in objects:
                ci = obj.creation_info or CreationInfo()
                ci.agency_id = ci.agency_id or self.agencyID() or None
                ci.author = ci.author or self.author() or None
                ci.creation_time = ci.creation_time or now
                obj.creation_info = ci

        def done(self):
            c = self.counts
            if self.sender is not None:
                replaced = f", {plural(c['replaced'], 'origin')} replaced by a later one" if c["replaced"] else ""
                self.shell.summary("re-picked %d P and %d S for %s (%d skipped)%s", c["P"], c["S"],
                                   plural(c["origins"], "origin"), c["skipped"], replaced)
            # SeisComP objects held here go before the application closes its database and
            # connection (the cache refers to the database; 7.2.3 crashed at exit otherwise)
            if self.picks is not None:
                self.picks.clear()
                self.picks = None
            if self.pending:
                waiting = self.pending.clear()
                log.warning("%s still waiting for records at exit, not re-picked (e.g. %s)",
                            plural(len(waiting), "origin"), waiting[0])
            self.sender = None
            logging.getLogger().removeHandler(self.handler)
            with released_after():  # SeisComP's join of its message thread can hang (host.shutdown)
                client.Application.done(self)

    return SeqtRepickApp


__all__ = ["OFFLINE_FLAGS", "run", "shell_class", "wanted"]

"""A thin binding to SeisComP messaging: send our picks and amplitudes to a group (PICK).

SeisComP is not on PyPI, so ``seiscomp`` is imported lazily, only when a message is to be sent.
The conversion to ``seiscomp.datamodel`` objects does not map fields by hand: the batch is
written as SCML by our own (tested) writer to a temporary file and read back with
``seiscomp.io.XMLArchive``, so our SCML writer stays the only conversion. Each batch then goes
out as one notifier message per group::

    Notifier.Enable(); ep.add(obj) ...; msg = Notifier.GetMessage(); Notifier.Disable()
    connection.send(group, msg)

The connection is either one the caller already has (``connection=``, e.g. the
``connection()`` of a running ``seiscomp.client.Application``), or a
``seiscomp.client.Connection`` made here from the standard options (``-H``, ``-u``, ``-g``,
``-S``) given to this class.

Tested against real SeisComP builds (tests/test_seiscomp_messaging.py): scmaster on loopback
stores what is sent here in its database.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
from typing import Any, Sequence

#: SCML version written for the host when the caller gives none (SeisComP 6; 7 reads it too).
DEFAULT_SCML_VERSION = "0.13"


class MessagingError(RuntimeError):
    """Connecting, converting or sending failed; the message is one line."""


def messaging_available() -> bool:
    """Whether SeisComP's Python client API (``seiscomp.client``) can be imported."""
    try:
        if importlib.util.find_spec("seiscomp") is None:
            return False
        importlib.import_module("seiscomp.client")
        return True
    except Exception:  # ImportError, or a broken installation (missing shared libraries)
        return False


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _import_seiscomp():
    try:
        client = importlib.import_module("seiscomp.client")
        datamodel = importlib.import_module("seiscomp.datamodel")
        io = importlib.import_module("seiscomp.io")
    except Exception as exc:
        raise MessagingError(f"seiscomp.client is not importable ({_one_line(exc)})") from None
    return client, datamodel, io


def messaging_url(host: str) -> str:
    """``-H``/``connection.server`` (``host[:port][/queue]``) as a connection URL (``scmp://``)."""
    host = (host or "localhost/production").strip()
    if "://" not in host:
        host = "scmp://" + host
    scheme, rest = host.split("://", 1)
    if "/" not in rest:
        rest += "/production"
    return f"{scheme}://{rest}"


class PickSender:
    """Send batches of picks (and their amplitudes) as SeisComP notifier messages.

    ``pick_group``/``amplitude_group``: the messaging groups (default PICK and AMPLITUDE).
    ``host``, ``user``, ``primary_group``, ``subscriptions``: options of the connection made
    here (ignored with ``connection=``). ``scml_version``: the SCML written for the host's
    reader. ``test``: convert but do not send (as ``--test``).
    """

    def __init__(self, name: str = "seqtpick", *, connection: Any = None, host: str = "", user: str = "",
                 primary_group: str = "", subscriptions: Sequence[str] = (), pick_group: str = "PICK",
                 amplitude_group: str = "AMPLITUDE", scml_version: str = DEFAULT_SCML_VERSION,
                 test: bool = False):
        self.name = name
        self.host, self.user = host, user
        self.primary_group = primary_group
        self.subscriptions = [s for s in subscriptions if s]
        self.pick_group = pick_group or "PICK"
        self.amplitude_group = amplitude_group or "AMPLITUDE"
        self.scml_version = scml_version or DEFAULT_SCML_VERSION
        self.test = test
        self._connection = connection
        self._own = False  # the connection was made here (closed by close())
        self.sent = {"picks": 0, "amplitudes": 0, "messages": 0}

    # -- connection --------------------------------------------------------------------
    def connect(self):
        """The messaging connection (made on first use); MessagingError if that fails.

        A ``seiscomp.client.Connection`` to ``host`` (``host[:port][/queue]``, default
        ``localhost/production``): a bare ``client.Application`` cannot be initialised outside
        its ``exec()`` (SeisComP's wrapper guards the protected ``init``), and the modules'
        SeisComP shells use their own application's connection (``connection=``).
        """
        if self._connection is not None:
            return self._connection
        client, _, _ = _import_seiscomp()
        url = messaging_url(self.host)
        try:
            connection = client.Connection()
            if connection.setSource(url) != client.OK:
                raise MessagingError(f"bad messaging server URL {url}")
            result = connection.connect(self.user, self.primary_group, 5000)
            if result != client.OK:
                raise MessagingError(f"cannot connect to the messaging server {url}: "
                                     f"{client.EResultNames.name(result)}")
            for group in self.subscriptions:
                connection.subscribe(group)
        except MessagingError:
            raise
        except Exception as exc:
            raise MessagingError(f"cannot connect to the messaging server {url}: {_one_line(exc)}") from None
        self._own, self._connection = True, connection
        return connection

    def close(self) -> None:
        own, connection, self._own, self._connection = self._own, self._connection, False, None
        if own and connection is not None:
            try:
                connection.disconnect()
            except Exception:
                pass

    # -- conversion ----------------------------------------------------------------------
    def to_datamodel(self, picks, amplitudes=()):
        """Our picks and amplitudes → lists of ``seiscomp.datamodel`` Pick and Amplitude objects.

        Written as SCML with our writer, read back with ``seiscomp.io.XMLArchive``; the objects
        are detached from the EventParameters read so that they can be added (and notified) again.
        """
        from seqt_plugins.io.xml import write_event_parameters
        from seqt_plugins.picks import EventParameters

        _, datamodel, io = _import_seiscomp()
        fd, path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".xml")
        os.close(fd)
        try:
            ep = EventParameters(picks=list(picks), amplitudes=list(amplitudes))
            write_event_parameters(ep, path, format="scml", version=self.scml_version)
            archive = io.XMLArchive()
            if not archive.open(path):
                raise MessagingError(f"seiscomp.io.XMLArchive cannot open {path}")
            try:
                obj = archive.readObject()
            finally:
                archive.close()
            sc_ep = datamodel.EventParameters.Cast(obj) if obj is not None else None
            if sc_ep is None:
                raise MessagingError(f"seiscomp.io.XMLArchive read no EventParameters from SCML {self.scml_version}")
            sc_picks, sc_amplitudes = [], []
            while sc_ep.pickCount() > 0:
                sc_picks.append(datamodel.Pick.Cast(sc_ep.pick(0)))  # Cast keeps a reference
                sc_ep.removePick(0)
            while sc_ep.amplitudeCount() > 0:
                sc_amplitudes.append(datamodel.Amplitude.Cast(sc_ep.amplitude(0)))
                sc_ep.removeAmplitude(0)
            del sc_ep
        except MessagingError:
            raise
        except Exception as exc:
            raise MessagingError(f"converting to seiscomp.datamodel failed: {_one_line(exc)}") from None
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        if len(sc_picks) != len(ep.picks) or len(sc_amplitudes) != len(ep.amplitudes):
            raise MessagingError(f"seiscomp.io.XMLArchive read {len(sc_picks)} of {len(ep.picks)} picks and "
                                 f"{len(sc_amplitudes)} of {len(ep.amplitudes)} amplitudes (SCML {self.scml_version})")
        return sc_picks, sc_amplitudes

    # -- sending ---------------------------------------------------------------------------
    def send(self, picks, amplitudes=()) -> int:
        """Send one batch: its picks in one message to the pick group, its amplitudes in one to
        the amplitude group. Returns the number of messages sent; MessagingError on failure."""
        picks, amplitudes = list(picks), list(amplitudes)
        if not picks and not amplitudes:
            return 0
        sc_picks, sc_amplitudes = self.to_datamodel(picks, amplitudes)
        _, datamodel, _ = _import_seiscomp()
        connection = None if self.test else self.connect()
        messages = 0
        for group, objects in ((self.pick_group, sc_picks), (self.amplitude_group, sc_amplitudes)):
            if not objects:
                continue
            msg = self._message(datamodel, objects)
            if msg is None:
                raise MessagingError(f"no notifier message for {len(objects)} object(s) to {group}")
            if connection is not None:
                try:
                    ok = connection.send(group, msg)
                except Exception as exc:
                    raise MessagingError(f"sending to {group} failed: {_one_line(exc)}") from None
                if ok is False:
                    raise MessagingError(f"sending {len(objects)} object(s) to {group} failed")
                messages += 1
        if connection is not None:
            self.sent["picks"] += len(sc_picks)
            self.sent["amplitudes"] += len(sc_amplitudes)
            self.sent["messages"] += messages
        return messages

    @staticmethod
    def _message(datamodel, objects):
        """A NotifierMessage adding ``objects`` to an EventParameters (notifiers only inside)."""
        ep = datamodel.EventParameters()
        datamodel.Notifier.Enable()
        try:
            for obj in objects:
                if not ep.add(obj):
                    raise MessagingError(f"seiscomp.datamodel refused {obj.publicID()}")
            return datamodel.Notifier.GetMessage()
        finally:
            datamodel.Notifier.Disable()

"""A thin binding to SeisComP messaging: send our picks and amplitudes to a group (PICK).

SeisComP is not on PyPI, so ``seiscomp`` is imported lazily, only when a message is to be sent.
Our picks and amplitudes become ``seiscomp.datamodel`` objects directly, field by field as our
SCML writer writes them (same texts for the comments; tests/test_seiscomp_messaging.py checks
that SeisComP's XMLArchive writes the same document for these objects as for our SCML read
back). Each batch then goes out as one notifier message per group::

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
from typing import Any, Sequence

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
    here (ignored with ``connection=``). ``test``: convert but do not send (as ``--test``).
    """

    def __init__(self, name: str = "seqtpick", *, connection: Any = None, host: str = "", user: str = "",
                 primary_group: str = "", subscriptions: Sequence[str] = (), pick_group: str = "PICK",
                 amplitude_group: str = "AMPLITUDE", test: bool = False):
        self.name = name
        self.host, self.user = host, user
        self.primary_group = primary_group
        self.subscriptions = [s for s in subscriptions if s]
        self.pick_group = pick_group or "PICK"
        self.amplitude_group = amplitude_group or "AMPLITUDE"
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
        """Our picks and amplitudes → lists of ``seiscomp.datamodel`` Pick and Amplitude objects,
        built field by field (:func:`pick_to_datamodel`, :func:`amplitude_to_datamodel`)."""
        _, datamodel, _ = _import_seiscomp()
        from seiscomp import core

        try:
            sc_picks = [pick_to_datamodel(datamodel, core, p) for p in picks]
            sc_amplitudes = [amplitude_to_datamodel(datamodel, core, a) for a in amplitudes]
        except MessagingError:
            raise
        except Exception as exc:
            raise MessagingError(f"converting to seiscomp.datamodel failed: {_one_line(exc)}") from None
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


# -- field by field conversion ---------------------------------------------------------------------
def sc_time(core, t):
    """An obspy UTCDateTime as a ``seiscomp.core.Time`` (microseconds, as SCML carries them)."""
    from obspy import UTCDateTime

    seconds, micro = divmod((UTCDateTime(t).ns + 500) // 1000, 1_000_000)  # as io.xml.common.format_time
    return core.Time(int(seconds), int(micro))


def _enum(names, count: int, text: str, what: str):
    for i in range(count):
        if names.name(i) == text:
            return i
    raise MessagingError(f"{what} {text!r} is not a SeisComP value")


def _creation_info(datamodel, core, ci):
    out = datamodel.CreationInfo()
    if ci.agency_id is not None:
        out.setAgencyID(ci.agency_id)
    if ci.author is not None:
        out.setAuthor(ci.author)
    if ci.creation_time is not None:
        out.setCreationTime(sc_time(core, ci.creation_time))
    return out


def _waveform_id(datamodel, wid):
    out = datamodel.WaveformStreamID()
    out.setNetworkCode(wid.network or "")
    out.setStationCode(wid.station or "")
    out.setLocationCode(wid.location or "")
    out.setChannelCode(wid.channel or "")
    return out


def _created(cls, public_id: str, what: str):
    obj = cls.Create(public_id)
    if obj is None:  # SeisComP keeps one live object per publicID
        raise MessagingError(f"{what} {public_id}: an object with this publicID exists already")
    return obj


def pick_to_datamodel(datamodel, core, p):
    """One :class:`seqt_plugins.picks.Pick` as a ``seiscomp.datamodel.Pick`` (with its comments:
    probability, referencePickID, then its own, as the SCML writer writes them)."""
    from seqt_plugins.io.xml.elements import check_pick, pick_comments

    check_pick(p)
    pick = _created(datamodel.Pick, p.public_id, "pick")
    tq = datamodel.TimeQuantity(sc_time(core, p.time))
    if p.time_uncertainty is not None:
        tq.setUncertainty(float(p.time_uncertainty))
    if p.time_lower_uncertainty is not None:
        tq.setLowerUncertainty(float(p.time_lower_uncertainty))
    if p.time_upper_uncertainty is not None:
        tq.setUpperUncertainty(float(p.time_upper_uncertainty))
    pick.setTime(tq)
    pick.setWaveformID(_waveform_id(datamodel, p.waveform_id))
    if p.filter_id is not None:
        pick.setFilterID(p.filter_id)
    if p.method_id is not None:
        pick.setMethodID(p.method_id)
    if p.phase_hint is not None:
        pick.setPhaseHint(datamodel.Phase(p.phase_hint))
    if p.evaluation_mode is not None:
        pick.setEvaluationMode(_enum(datamodel.EEvaluationModeNames, datamodel.EEvaluationModeQuantity,
                                     p.evaluation_mode, "evaluation mode"))
    if p.evaluation_status is not None:
        pick.setEvaluationStatus(_enum(datamodel.EEvaluationStatusNames, datamodel.EEvaluationStatusQuantity,
                                       p.evaluation_status, "evaluation status"))
    if p.creation_info is not None:
        pick.setCreationInfo(_creation_info(datamodel, core, p.creation_info))
    for text, cid in pick_comments(p):
        comment = datamodel.Comment()
        comment.setText(text)
        if cid is not None:
            comment.setId(cid)
        pick.add(comment)
    return pick


def amplitude_to_datamodel(datamodel, core, a):
    """One :class:`seqt_plugins.picks.Amplitude` as a ``seiscomp.datamodel.Amplitude``."""
    if not a.public_id:
        raise MessagingError("amplitude without publicID")
    amp = _created(datamodel.Amplitude, a.public_id, "amplitude")
    amp.setType(a.type)
    if a.value is not None:
        amp.setAmplitude(datamodel.RealQuantity(float(a.value)))
    if a.reference_time is not None:
        amp.setTimeWindow(datamodel.TimeWindow(sc_time(core, a.reference_time), float(a.window_begin or 0.0),
                                               float(a.window_end or 0.0)))
    if a.snr is not None:
        amp.setSnr(float(a.snr))
    if a.unit is not None:
        amp.setUnit(a.unit)
    if a.pick_id is not None:
        amp.setPickID(a.pick_id)
    if a.waveform_id is not None:
        amp.setWaveformID(_waveform_id(datamodel, a.waveform_id))
    if a.creation_info is not None:
        amp.setCreationInfo(_creation_info(datamodel, core, a.creation_info))
    return amp

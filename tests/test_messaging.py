"""Messaging mode (seqt_plugins.host.messaging) without SeisComP, and with a stand-in for it.

SeisComP is not on PyPI and cannot be installed here, so nothing in this file talks to a real
scmaster. (a) checks the behaviour without ``seiscomp``: an explicit messaging option is a
one-line error (exit 2) and nothing is written. (b) puts a FAKE minimal ``seiscomp`` package
(client, datamodel, io: only the few names PickSender calls) on sys.path. It is a stand-in that
records the calls; it checks only our side of them (which SCML our writer produces for
``seiscomp.io.XMLArchive``, which groups are used, how many messages are sent), not SeisComP.
"""

import io
import os
import sys
import textwrap
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seqt_plugins.host import MessagingError, PickSender, messaging_available
from seqt_plugins.modules.seqtpick import SeqtPick
from seqt_plugins.modules.seqtrepick import SeqtRepick
from seqt_plugins.picks import Amplitude, Pick, WaveformID


def _mseed() -> str:
    import obspy

    path = Path(obspy.__file__).parent / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed"
    if not path.is_file():
        pytest.skip("obspy's bundled test recording is missing")
    return str(path)


class _Stdout(io.StringIO):
    def __init__(self):
        super().__init__()
        self.buffer = io.BytesIO()


def _run(cls, argv):
    out, err = _Stdout(), io.StringIO()
    rc = cls(argv, stdout=out, stderr=err).exec()
    return rc, out.getvalue() + out.buffer.getvalue().decode(), err.getvalue()


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SEISCOMP_ROOT", raising=False)
    monkeypatch.setenv("SEISCOMP_LOCAL_CONFIG", str(tmp_path / "local"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# -- (a) without seiscomp ----------------------------------------------------------------------

@pytest.mark.parametrize("cls, extra", [
    (SeqtPick, ["--playback"]),
    (SeqtRepick, ["--ep", "events.xml"]),
])
@pytest.mark.parametrize("option", [["-H", "localhost"], ["-u", "me"], ["-g", "PICK"], ["-S", "EVENT"]])
def test_messaging_option_without_seiscomp_is_a_one_line_error(clean_env, cls, extra, option):
    if messaging_available():
        pytest.skip("seiscomp.client is importable here")
    rc, out, err = _run(cls, option + ["-I", _mseed()] + extra)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "[error/" in lines[0] and f"{option[0]}/--" in lines[0]
    assert "seiscomp.client is not importable" in lines[0]
    assert out == "" and list(clean_env.iterdir()) == []


def test_without_seiscomp_and_options_offline_as_before(clean_env):
    if messaging_available():
        pytest.skip("seiscomp.client is importable here")
    # --offline with -H: no messaging, the option is only ignored (fails later: no such --ep file).
    rc, out, err = _run(SeqtRepick, ["--offline", "-H", "localhost", "-I", _mseed(), "--ep", "missing.xml"])
    assert rc == 1 and "not importable" not in err and "missing.xml: file not found" in err


# -- (b) with a stand-in seiscomp package ------------------------------------------------------

FAKE = {
    "__init__.py": '''
        """STAND-IN for SeisComP's Python package (tests only): records what it is given."""
        SENT = []      # (group, NotifierMessage)
        APPS = []      # client.Application instances
        ARCHIVES = []  # SCML texts read by io.XMLArchive
    ''',
    "client.py": '''
        import seiscomp

        class _Connection:
            def send(self, group, msg):
                seiscomp.SENT.append((group, msg))
                return True

        class Application:
            def __init__(self, argc, argv):
                assert argc == len(argv)
                self.argv, self.calls = list(argv), []
                seiscomp.APPS.append(self)
            def setMessagingEnabled(self, on): self.calls.append(("messaging", on))
            def setDatabaseEnabled(self, on, fetch): self.calls.append(("database", on))
            def setPrimaryMessagingGroup(self, group): self.calls.append(("primary", group))
            def init(self): return True
            def connection(self): return _Connection()
            def done(self): self.calls.append(("done",))
    ''',
    "datamodel.py": '''
        class _Obj:
            def __init__(self, public_id): self._id = public_id
            def publicID(self): return self._id
            @classmethod
            def Cast(cls, obj): return obj if isinstance(obj, cls) else None

        class Pick(_Obj): pass
        class Amplitude(_Obj): pass

        class NotifierMessage(list): pass

        class Notifier:
            enabled, pending = False, []
            @classmethod
            def Enable(cls): cls.enabled = True
            @classmethod
            def Disable(cls): cls.enabled = False
            @classmethod
            def GetMessage(cls, all=True):
                msg, cls.pending = NotifierMessage(cls.pending), []
                return msg or None

        class EventParameters(_Obj):
            def __init__(self):
                super().__init__("EventParameters")
                self.picks, self.amplitudes = [], []
            def add(self, obj):
                (self.picks if isinstance(obj, Pick) else self.amplitudes).append(obj)
                if Notifier.enabled:
                    Notifier.pending.append(("add", type(obj).__name__, obj.publicID()))
                return True
            def pickCount(self): return len(self.picks)
            def pick(self, i): return self.picks[i]
            def removePick(self, i): del self.picks[i]
            def amplitudeCount(self): return len(self.amplitudes)
            def amplitude(self, i): return self.amplitudes[i]
            def removeAmplitude(self, i): del self.amplitudes[i]
    ''',
    "io.py": '''
        import xml.etree.ElementTree as ET
        import seiscomp
        from seiscomp import datamodel

        class XMLArchive:
            def open(self, path):
                with open(path, encoding="utf-8") as f:
                    self.text = f.read()
                seiscomp.ARCHIVES.append(self.text)
                return True
            def readObject(self):
                ep = datamodel.EventParameters()
                root = ET.fromstring(self.text)
                for el in [c for e in root if e.tag.endswith("EventParameters") for c in e]:
                    tag = el.tag.rsplit("}", 1)[-1]
                    if tag in ("pick", "amplitude"):
                        cls = datamodel.Pick if tag == "pick" else datamodel.Amplitude
                        ep.add(cls(el.get("publicID")))
                return ep
            def close(self): pass
    ''',
}


@pytest.fixture
def fake_seiscomp(tmp_path, monkeypatch):
    root = tmp_path / "fake-seiscomp"
    (root / "seiscomp").mkdir(parents=True)
    for name, text in FAKE.items():
        (root / "seiscomp" / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(root))
    yield sys.modules.setdefault("seiscomp", __import__("seiscomp"))
    for name in [m for m in sys.modules if m == "seiscomp" or m.startswith("seiscomp.")]:
        del sys.modules[name]


def _batch():
    wid = WaveformID("XX", "ABC", "", "HHZ")
    picks = [Pick(public_id=f"20240301.10150{i}.00-SEQT-XX.ABC..HHZ", time=UTCDateTime(2024, 3, 1, 10, 15, i),
                  waveform_id=wid, phase_hint=ph, method_id="SEQT", probability=0.9)
             for i, ph in enumerate("PS")]
    amps = [Amplitude(public_id=p.public_id + ".snr", type="snr", value=12.0, pick_id=p.public_id, snr=12.0,
                      waveform_id=wid) for p in picks]
    return picks, amps


def test_pick_sender_converts_through_our_scml_and_sends_per_group(fake_seiscomp):
    assert messaging_available()
    picks, amps = _batch()
    sender = PickSender("seqtpick", host="localhost", user="me", primary_group="PICK")
    assert sender.send(picks, amps) == 2
    assert [g for g, _ in fake_seiscomp.SENT] == ["PICK", "AMPLITUDE"]
    assert [oid for _, _, oid in fake_seiscomp.SENT[0][1]] == [p.public_id for p in picks]
    assert [oid for _, _, oid in fake_seiscomp.SENT[1][1]] == [a.public_id for a in amps]
    (scml,) = fake_seiscomp.ARCHIVES
    assert 'version="0.13"' in scml and "seiscomp3-schema/0.13" in scml and "<methodID>SEQT</methodID>" in scml
    (app,) = fake_seiscomp.APPS
    assert app.argv == ["seqtpick", "-H", "localhost", "-u", "me", "-g", "PICK"]
    assert ("messaging", True) in app.calls and ("database", False) in app.calls
    sender.close()
    assert ("done",) in app.calls


def test_pick_sender_groups_version_connection_and_test_mode(fake_seiscomp):
    picks, amps = _batch()

    class Conn:
        sent = []

        def send(self, group, msg):
            self.sent.append(group)
            return True

    sender = PickSender(connection=Conn(), pick_group="MLTEST", amplitude_group="AMPL2", scml_version="0.12")
    sender.send(picks[:1], amps[:1])
    assert Conn.sent == ["MLTEST", "AMPL2"] and fake_seiscomp.APPS == [] and fake_seiscomp.SENT == []
    assert 'version="0.12"' in fake_seiscomp.ARCHIVES[-1]
    assert PickSender(test=True).send(picks) == 0 and fake_seiscomp.APPS == []

    class Refusing:
        def send(self, group, msg):
            return False

    with pytest.raises(MessagingError, match="to PICK failed"):
        PickSender(connection=Refusing()).send(picks)


def test_seqtrepick_connects_in_init_and_sends_nothing_to_stdout(fake_seiscomp, clean_env, monkeypatch):
    """The CLI path up to the connection, with a stand-in SeisComP: -H reaches the host application."""
    from seqt_plugins.modules import seqtrepick

    seen = {}

    def run(self):
        seen["sender"] = self.sender
        return True

    monkeypatch.setattr(seqtrepick.SeqtRepick, "run", run)
    ep = Path(clean_env / "in.xml")
    from seqt_plugins.io.xml import write_event_parameters
    from seqt_plugins.picks import EventParameters

    write_event_parameters(EventParameters(picks=_batch()[0]), str(ep), format="scml", version="0.13")
    rc, out, err = _run(SeqtRepick, ["-H", "localhost", "--ep", str(ep), "-I", _mseed()])
    assert rc == 0, err
    assert out == "" and seen["sender"] is not None and seen["sender"].pick_group == "PICK"
    assert fake_seiscomp.APPS[0].argv[:3] == ["seqtrepick", "-H", "localhost"]

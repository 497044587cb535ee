"""Messaging mode (seqt_plugins.host.messaging) where SeisComP is NOT importable.

The behaviour without ``seiscomp``: an explicit messaging option is a one-line error (exit 2)
and nothing is written. Messaging with SeisComP is tested against the real builds in
tests/test_seiscomp_messaging.py (scmaster on loopback); the stand-in ``seiscomp`` package
that used to be here is gone.
"""

from pathlib import Path

import pytest

from apprun import run_app, stdout_text

from seqt_plugins.host import messaging_available
from seqt_plugins.modules.seqtpick import SeqtPick
from seqt_plugins.modules.seqtrepick import SeqtRepick


def _mseed() -> str:
    import obspy

    path = Path(obspy.__file__).parent / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed"
    if not path.is_file():
        pytest.skip("obspy's bundled test recording is missing")
    return str(path)


def _run(cls, argv):
    rc, out, err = run_app(cls, argv)
    return rc, stdout_text(out), err


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

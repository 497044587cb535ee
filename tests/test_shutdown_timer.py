"""The timer of seqt_plugins.host.shutdown, without SeisComP: it sends SIGTERM while the body
runs (also while the body holds the GIL in C, as SeisComP's done() does) and stops with it.
The SeisComP case it is for: tests/test_seiscomp_repick.py::test_a_quick_exit_never_hangs_in_seiscomps_shutdown."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(script: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX timers through ctypes: Linux only")
def test_sigterm_arrives_during_a_long_body_and_stops_after_it():
    out = _run("""
        import ctypes, signal, time
        from seqt_plugins.host.shutdown import released_after, sigterm_is_handled
        print(sigterm_is_handled())              # default: would end the process, so not armed
        with released_after(0.1) as armed:
            print(armed)
        got = []
        signal.signal(signal.SIGTERM, lambda *a: got.append(time.monotonic()))
        print(sigterm_is_handled())
        with released_after(0.2) as armed:
            print(armed)
            t0 = time.monotonic()
            libc = ctypes.CDLL(None)
            libc.usleep(700000)                  # in C; the handler runs once the call returns
            time.sleep(0.05)
        n = len(got)
        time.sleep(0.6)
        print(n >= 1, len(got) == n)             # fired during the body, not after it
    """)
    assert out.split() == ["False", "False", "True", "True", "True", "True"]


def test_a_quick_body_sees_no_signal():
    out = _run("""
        import signal, time
        from seqt_plugins.host.shutdown import released_after
        got = []
        signal.signal(signal.SIGTERM, lambda *a: got.append(1))
        with released_after(1.0):
            time.sleep(0.01)
        time.sleep(1.5)
        print(len(got))
    """)
    assert out == "0"

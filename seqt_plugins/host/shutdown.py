"""Make sure a SeisComP application that is closing really ends.

``seiscomp.client.Application.done()`` disconnects from the messaging server and then joins its
message thread. In SeisComP 7.2.3 and 8.0 that join can wait forever: when the message thread
is between reading nothing and entering ``epoll_wait`` while ``disconnect()`` reads the server's
receipt and closes the socket, the thread then waits on a set that no longer holds the socket.
Seen here about once in twenty quick exits (``init`` failing just after the thread started) and
at the end of ``--playback`` runs; ``tests/test_seiscomp_repick.py`` reproduces it.

SeisComP's own SIGTERM handler interrupts that wait (it wakes every interruptible object, the
messaging socket included, and keeps the exit code). ``done()`` holds Python's GIL throughout,
so no Python thread could send it; :func:`released_after` arms a POSIX timer instead, which the
kernel fires on its own: SIGTERM to this process every ``seconds`` until ``done()`` returns. A
normal ``done()`` takes milliseconds and never sees it.

Linux only (``timer_create`` through ctypes); elsewhere, or where SIGTERM is not handled by
SeisComP (it would end the process), nothing is armed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import signal
import time
from contextlib import contextmanager
from typing import Iterator, Optional

log = logging.getLogger(__name__)

CLOCK_MONOTONIC = 1
SIGEV_SIGNAL = 0


class _SigEvent(ctypes.Structure):
    # glibc's struct sigevent: 64 bytes on every Linux ABI this runs on
    _fields_ = [("sigev_value", ctypes.c_void_p), ("sigev_signo", ctypes.c_int),
                ("sigev_notify", ctypes.c_int), ("_pad", ctypes.c_int * 12)]


class _TimeSpec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _ITimerSpec(ctypes.Structure):
    _fields_ = [("it_interval", _TimeSpec), ("it_value", _TimeSpec)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "timer_create"):  # glibc < 2.34: in librt
        libc = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
    return libc


def sigterm_is_handled() -> bool:
    """Whether SIGTERM has a handler installed in C (SeisComP's), not the default that would
    end the process nor ``SIG_IGN`` (which would wake nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        old = ctypes.create_string_buffer(256)  # struct sigaction; the handler is its first field
        if libc.sigaction(signal.SIGTERM, None, old) != 0:
            return False
        handler = ctypes.c_void_p.from_buffer(old).value or 0
        return handler not in (0, 1)  # SIG_DFL, SIG_IGN
    except (OSError, AttributeError):
        return False


def _arm(seconds: float) -> Optional[tuple]:
    if not sigterm_is_handled():
        return None
    try:
        libc = _libc()
        event = _SigEvent(sigev_value=None, sigev_signo=int(signal.SIGTERM), sigev_notify=SIGEV_SIGNAL)
        timer = ctypes.c_void_p()
        if libc.timer_create(CLOCK_MONOTONIC, ctypes.byref(event), ctypes.byref(timer)) != 0:
            return None
        whole, frac = int(seconds), int((seconds - int(seconds)) * 1e9)
        period = _TimeSpec(whole, frac)
        spec = _ITimerSpec(it_interval=period, it_value=period)
        if libc.timer_settime(timer, 0, ctypes.byref(spec), None) != 0:
            libc.timer_delete(timer)
            return None
        return libc, timer
    except (OSError, AttributeError):
        return None


@contextmanager
def released_after(seconds: float = 2.0) -> Iterator[bool]:
    """Run the body (``Application.done()``) with the timer armed; yields whether it is."""
    armed = _arm(seconds)
    t0 = time.monotonic()
    try:
        yield armed is not None
    finally:
        if armed is not None:
            libc, timer = armed
            libc.timer_delete(timer)
            waited = time.monotonic() - t0
            if waited >= seconds:
                log.debug("SeisComP's message thread was released by SIGTERM after %.1f s", waited)


__all__ = ["released_after", "sigterm_is_handled"]

"""The one progress bar of every tool and engine, and the one rule for when it shows.

A bar shows only when both hold:

* bars are on: the modules switch them off (:func:`configure`) in quiet mode (``-q``,
  ``--verbosity 0``) and as daemons (``-D``); a caller may switch off its own bar
  (``seqt-train --no-progress``: ``enabled=False``);
* the stream it draws on is a terminal: stderr, or the stream a module logs to.

Otherwise the bar is a disabled tqdm: iterating, ``update`` and ``close`` still work and cost
nothing, so callers never branch on it. A bar is erased when done (what a run did is in its log
lines), and stdout, which carries XML, is never drawn on.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable, Optional, TextIO

_ENABLED = True
_STREAM: Optional[TextIO] = None  # None: sys.stderr at the time a bar is made


def configure(enabled: bool = True, stream: Optional[TextIO] = None) -> None:
    """Switch bars on or off for this process, drawn on ``stream`` (default: stderr).

    ``configure()`` restores the defaults (an application does so when it ends).
    """
    global _ENABLED, _STREAM
    _ENABLED, _STREAM = bool(enabled), stream


def shows() -> bool:
    """Whether a bar made now would be drawn (bars on, their stream a terminal)."""
    isatty = getattr(_stream(), "isatty", None)
    return _ENABLED and bool(isatty and isatty())


def progress(iterable: Optional[Iterable[Any]] = None, *, total: Optional[int] = None, desc: str = "",
             unit: str = "it", enabled: bool = True, **kwargs):
    """A tqdm bar over ``iterable`` (or updated by hand up to ``total``), drawn by the rule above."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=_stream(), disable=not (enabled and shows()),
                leave=False, dynamic_ncols=True, **kwargs)


def _stream() -> TextIO:
    return _STREAM if _STREAM is not None else sys.stderr

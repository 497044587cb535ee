"""Give freed memory back to the operating system between pieces of a long run.

A station-day is picked in pieces; each piece allocates and frees a few hundred MB of
arrays. glibc keeps freed blocks in its arenas, fragmented by TensorFlow's threads, so the
process's resident size creeps up piece by piece. Asking glibc to trim its arenas after each
piece keeps the peak near one piece's worth (measured on a 24-hour station-day). Elsewhere
(macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

_TRIM = None


def _malloc_trim():
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    return _TRIM


def release_freed_memory(collect: bool = False) -> None:
    """Return the allocator's free pages to the OS where glibc allows.

    ``collect`` runs a full garbage collection first; with TensorFlow loaded that takes ~0.2 s,
    so it is for once-off moments (after building a model), not for every piece. The pieces'
    arrays are freed by reference counting anyway.
    """
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim:
        trim(0)

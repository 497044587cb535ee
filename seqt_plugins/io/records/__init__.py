"""Record streams behind SeisComP-style ``-I`` URLs.

==========================================  =================================================
``file:///x.mseed``, a bare path, ``-``     a miniSEED file, a directory, a glob, or stdin
``sdsarchive:///a,/b``                      SDS archives (``YEAR/NET/STA/CHA.D/...``)
``fdsnws://host:port``, ``fdsnwss://``      FDSN dataselect (POST) and station, with retries
``slink://host:18000?timeout=60&retries=5`` SeedLink 3, real time
``combined://slink/h:18000;sdsarchive//data??rtMax=1800``  archive back-fill + real time
==========================================  =================================================

All return :class:`RecordStream` (``get_waveforms``, ``get_waveforms_bulk``,
``available_streams``, ``stream_records``) and raise only :class:`RecordStreamError`.
"""

from __future__ import annotations

import urllib.parse
from typing import Dict, Tuple

from .base import RecordStream, RecordStreamError, parse_mseed, parse_selector

__all__ = ["RecordStream", "RecordStreamError", "open_record_stream", "parse_mseed", "parse_selector",
           "SCHEMES"]

SCHEMES = ("file", "sdsarchive", "fdsnws", "fdsnwss", "slink", "combined")


def _split_options(rest: str, sep: str = "?") -> Tuple[str, Dict[str, str]]:
    body, _, query = rest.partition(sep)
    opts = dict(urllib.parse.parse_qsl(query, keep_blank_values=True)) if query else {}
    return body, opts


def _seconds(value: str, what: str, url: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    v = value.strip()
    try:
        if v and v[-1] in units:
            return float(v[:-1]) * units[v[-1]]
        return float(v)
    except ValueError:
        raise RecordStreamError(f"{url}: option {what}={value!r} is not a duration") from None


def _take(opts: Dict[str, str], allowed: Dict[str, type], url: str) -> Dict[str, object]:
    out: Dict[str, object] = {}
    for key, value in opts.items():
        if key not in allowed:
            raise RecordStreamError(f"{url}: unknown option {key!r} (known: {', '.join(allowed)})")
        typ = allowed[key]
        if typ is float:
            out[key] = _seconds(value, key, url)
        elif typ is int:
            try:
                out[key] = int(value)
            except ValueError:
                raise RecordStreamError(f"{url}: option {key}={value!r} is not an integer") from None
        else:
            out[key] = value
    return out


def open_record_stream(url: str, **options) -> RecordStream:
    """A RecordStream for a SeisComP-style URL.

    Keyword ``options`` (e.g. a module's ``reprocess.timeout``) are defaults: an option the URL
    gives itself (``fdsnws://host?timeout=3&retries=2``) wins, as it names that server's limits.
    """
    url = str(url).strip()
    if not url:
        raise RecordStreamError("empty record stream URL")
    if url == "-":
        from .file import FileRecordStream

        return FileRecordStream(url, "-")
    if "://" not in url:
        from .file import FileRecordStream

        return FileRecordStream(url, url)
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme == "file":
        from .file import FileRecordStream

        return FileRecordStream(url, urllib.parse.unquote(rest) or "/")
    if scheme == "sdsarchive":
        from .sds import SDSRecordStream

        body, _ = _split_options(rest)
        return SDSRecordStream(url, [p for p in body.split(",") if p])
    if scheme in ("fdsnws", "fdsnwss"):
        from .fdsn import FDSNRecordStream

        body, opts = _split_options(rest)
        kw = _take(opts, {"timeout": float, "retries": int, "backoff": float, "station": str,
                          "dataselect": str}, url)
        kw.update({k: v for k, v in options.items() if k not in kw})  # the URL's own win
        host = body.split("/", 1)[0]
        return FDSNRecordStream(url, host, secure=scheme == "fdsnwss", **kw)
    if scheme == "slink":
        from .seedlink import SeedLinkRecordStream

        body, opts = _split_options(rest)
        kw = _take(opts, {"timeout": float, "retries": int, "backoff": float}, url)
        kw.update({k: v for k, v in options.items() if k not in kw})  # the URL's own win
        return SeedLinkRecordStream(url, body.rstrip("/"), **kw)
    if scheme == "combined":
        from .combined import CombinedRecordStream

        body, opts = _split_options(rest, "??")
        kw = _take(opts, {"rtMax": float}, url)
        parts = [p for p in body.split(";") if p]
        if len(parts) != 2:
            raise RecordStreamError(f"{url}: combined needs two sources 'type/address;type/address'")
        subs = []
        for part in parts:
            typ, _, address = part.partition("/")
            subs.append(open_record_stream(f"{typ}://{address}"))
        rt_max = float(options.pop("rt_max", kw.get("rtMax", 1800.0)))
        return CombinedRecordStream(url, subs[0], subs[1], rt_max=rt_max, **options)
    raise RecordStreamError(f"unknown record stream scheme {scheme!r} in {url!r} "
                            f"(known: {', '.join(SCHEMES)})")

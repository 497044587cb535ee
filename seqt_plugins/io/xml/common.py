"""Shared pieces of the XML layer: namespaces, errors, the safe parser, value formats, IDs.

Safety: every parse goes through :data:`SAFE_PARSE_OPTIONS` (no entity resolution, no DTD
loading, no network, libxml2's default size limits) and the readers refuse any document that
carries a DOCTYPE at all (neither SCML nor QuakeML needs one), so external entities (XXE) are
never fetched and entity expansion (billion laughs) never happens.
"""

from __future__ import annotations

import io
import math
import os
import re
from datetime import date
from typing import Optional

from lxml import etree
from obspy import UTCDateTime

# --------------------------------------------------------------------------- namespaces

SCML_NAMESPACES = {
    "0.11": "http://geofon.gfz-potsdam.de/ns/seiscomp3-schema/0.11",
    "0.12": "http://geofon.gfz-potsdam.de/ns/seiscomp3-schema/0.12",
    "0.13": "http://geofon.gfz-potsdam.de/ns/seiscomp3-schema/0.13",
    "0.14": "http://geofon.gfz.de/ns/seiscomp-schema/0.14",
}
SCML_VERSIONS = tuple(SCML_NAMESPACES)
SCML_VERSION_BY_NAMESPACE = {ns: v for v, ns in SCML_NAMESPACES.items()}
DEFAULT_SCML_VERSION = "0.13"  # SeisComP 6 and 7 both read it; older hosts skip newer objects


def scml_namespace_problem(namespace: Optional[str]) -> str:
    """Why a ``<seiscomp>`` root's namespace is not one we read, in words an operator can act
    on (a hand-written file often has none at all)."""
    known = f"SCML {SCML_VERSIONS[0]}-{SCML_VERSIONS[-1]}, e.g. xmlns=\"{SCML_NAMESPACES[DEFAULT_SCML_VERSION]}\""
    if not namespace:
        return f"<seiscomp> without an SCML namespace (expected {known})"
    return f"unknown SCML namespace {namespace!r} (expected {known})"


QUAKEML_NS = "http://quakeml.org/xmlns/quakeml/1.2"
BED_NS = "http://quakeml.org/xmlns/bed/1.2"

FORMATS = ("scml", "quakeml")

# QuakeML resource identifiers made for model IDs that are not QuakeML IDs themselves.
QML_ID_PREFIX = "smi:local/seqt/"
# IDs the writer has to invent (QuakeML requires them, the model has none): read back as None.
QML_AUTO_PREFIX = "smi:local/seqt-auto/"
# The event that carries picks/amplitudes/origins belonging to no event (QuakeML only).
QML_UNASSOCIATED_EVENT = QML_AUTO_PREFIX + "unassociated"

SAFE_PARSE_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
)


_PROLOG_SCAN_BYTES = 1 << 16


def prolog_has_doctype(head: bytes) -> bool:
    """Whether the document prolog in ``head`` (the first bytes) declares a DOCTYPE.

    Checked on the raw bytes before lxml sees them, so a DOCTYPE is refused with our own message
    whatever a given libxml2 does with it (2.14 stops billion-laughs files with its own
    amplification error before lxml reports the DOCTYPE).  NUL bytes are dropped so UTF-16
    documents are scanned too.
    """
    text = head.replace(b"\x00", b"").decode("latin-1")
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            return False
        if text.startswith("<?", lt):
            end = text.find("?>", lt)
        elif text.startswith("<!--", lt):
            end = text.find("-->", lt)
        else:
            return text[lt:lt + 9].upper() == "<!DOCTYPE"
        if end < 0:
            return False
        pos = end + 2


def check_no_doctype(source, src: str):
    """Refuse a DOCTYPE in ``source`` (a path or a binary file object) before parsing.

    Returns the source to parse: the same path, or a file object positioned where it was.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            head = fh.read(_PROLOG_SCAN_BYTES)
    elif hasattr(source, "peek"):
        head = source.peek(_PROLOG_SCAN_BYTES)[:_PROLOG_SCAN_BYTES]
    elif hasattr(source, "seekable") and source.seekable():
        where = source.tell()
        head = source.read(_PROLOG_SCAN_BYTES)
        source.seek(where)
    else:
        head = source.read(_PROLOG_SCAN_BYTES)
        rest = source
        source = io.BufferedReader(_Chain(head, rest))
    if prolog_has_doctype(head):
        raise XMLInputError(src, 1, "DOCTYPE/entity declarations are not allowed in SCML or QuakeML")
    return source


class _Chain(io.RawIOBase):
    """A raw stream that yields ``head`` and then the rest of ``tail`` (for unseekable inputs)."""

    def __init__(self, head: bytes, tail):
        super().__init__()
        self._head, self._tail = head, tail

    def readable(self):
        return True

    def readinto(self, buf):
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._tail.read(len(buf))
        buf[:len(data)] = data
        return len(data)


def safe_parser(**extra) -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads DTDs or touches the network."""
    opts = dict(SAFE_PARSE_OPTIONS)
    opts.update(extra)
    return etree.XMLParser(**opts)


# --------------------------------------------------------------------------- errors


class XMLInputError(ValueError):
    """Bad XML input. ``str()`` is one line: ``<file>:<line>: <what is wrong>``."""

    def __init__(self, source: str, line: Optional[int], message: str):
        self.source = source
        self.line = line
        self.message = " ".join(str(message).split())
        super().__init__(f"{source}:{line if line is not None else '?'}: {self.message}")


class XMLValidationError(ValueError):
    """A document does not validate against its XSD (first schema error, one line)."""


def source_name(source) -> str:
    """A printable name for a path or file object."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return "<stream>"


# --------------------------------------------------------------------------- values

_TIME_RE = re.compile(
    r"\s*(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?\s*\Z"
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


_DAY_CACHE: dict = {}  # "YYYY-MM-DD" → days since 1970 (picks of a file share few days)
_DATE_TEXT_CACHE: dict = {}  # days since 1970 → "YYYY-MM-DD"


def _days(y: str, mo: str, d: str, text: str) -> int:
    key = (y, mo, d)
    days = _DAY_CACHE.get(key)
    if days is None:
        try:
            days = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORDINAL
        except ValueError:
            raise ValueError(f"invalid time {text.strip()!r}") from None
        if len(_DAY_CACHE) > 100_000:
            _DAY_CACHE.clear()
        _DAY_CACHE[key] = days
    return days


def utc_from_ns(ns: int) -> UTCDateTime:
    """ns since 1970 → UTCDateTime through ObsPy's public constructor (no private slots touched,
    so a new ObsPy layout cannot break it)."""
    return UTCDateTime(ns=ns)


_POW10 = [10 ** i for i in range(10)]
_DAY_NS_CACHE: dict = {}  # "YYYY-MM-DDT" (valid dates seen) → ns since 1970 at 00:00 (bounded)


def parse_time(text: Optional[str]) -> UTCDateTime:
    """xs:dateTime → UTCDateTime (no timezone means UTC; nanoseconds beyond 9 digits dropped)."""
    if text is None:
        raise ValueError("empty time value")
    # fast path: what we (and SeisComP) write, "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z", for dates seen
    n = len(text)
    if 20 <= n <= 30 and text[-1] == "Z" and (n == 20 or (text[19] == "." and n > 21)):
        day = _DAY_NS_CACHE.get(text[:11])
        if day is not None and text[13] == ":" and text[16] == ":":
            digits = text[11:13] + text[14:16] + text[17:19] + text[20:-1]
            if digits.isdigit() and digits.isascii():
                k = n - 21 if n > 20 else 0  # fraction digits
                hms, frac = divmod(int(digits), _POW10[k])
                hh, rem = divmod(hms, 10000)
                mm, ss = divmod(rem, 100)
                if hh < 24 and mm < 60 and ss < 60:
                    return utc_from_ns(day + (hh * 3600 + mm * 60 + ss) * 1_000_000_000 + frac * _POW10[9 - k])
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(f"invalid time {text.strip()!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    hour, minute, second = int(h), int(mi), int(s)
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"invalid time {text.strip()!r}")
    ns = (_days(y, mo, d, text) * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000_000
    if text[:11] not in _DAY_NS_CACHE and text[:11] == f"{y}-{mo}-{d}T":
        if len(_DAY_NS_CACHE) > 10_000:
            _DAY_NS_CACHE.clear()
        _DAY_NS_CACHE[text[:11]] = _days(y, mo, d, text) * 86400 * 1_000_000_000
    if frac:
        ns += int((frac + "000000000")[:9])
    if tz and tz != "Z":
        offset = (int(tz[1:3]) * 60 + int(tz[4:6])) * 60_000_000_000
        ns -= offset if tz[0] == "+" else -offset
    return utc_from_ns(ns)


_LAST_SECOND = (None, "")  # (seconds since 1970, "YYYY-MM-DDTHH:MM:SS") of the last call


def format_time(t) -> str:
    """UTCDateTime → xs:dateTime in UTC, to the microsecond, trailing zeros dropped."""
    global _LAST_SECOND
    if not isinstance(t, UTCDateTime):
        t = UTCDateTime(t)
    sec, frac = divmod((t.ns + 500) // 1000, 1_000_000)
    last_sec, head = _LAST_SECOND
    if last_sec != sec:
        days, rem = divmod(sec, 86400)
        day_text = _DATE_TEXT_CACHE.get(days)
        if day_text is None:
            d = date.fromordinal(days + _EPOCH_ORDINAL)
            day_text = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
            if len(_DATE_TEXT_CACHE) > 100_000:
                _DATE_TEXT_CACHE.clear()
            _DATE_TEXT_CACHE[days] = day_text
        hour, rem = divmod(rem, 3600)
        minute, second = divmod(rem, 60)
        head = f"{day_text}{hour:02d}:{minute:02d}:{second:02d}"
        _LAST_SECOND = (sec, head)  # one tuple: a racing thread sees the old or the new pair
    if frac:
        return head + ("." + "%06d" % frac).rstrip("0") + "Z"
    return head + "Z"


def format_float(x) -> str:
    """Shortest text that reads back as the same float (xs:double spelling of inf/nan)."""
    x = float(x)
    if math.isfinite(x):
        return repr(x)
    if math.isnan(x):
        return "NaN"
    return "INF" if x > 0 else "-INF"


def parse_float(text: Optional[str]) -> float:
    try:  # fast path: any finite number float() takes (INF/NaN spellings go the long way)
        x = float(text)
        if x - x == 0.0:
            return x
    except (TypeError, ValueError):
        pass
    if text is None:
        raise ValueError("empty number")
    s = text.strip()
    if s in ("INF", "-INF", "NaN", "+INF"):
        return float(s.replace("INF", "inf"))
    if not s or s.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        raise ValueError(f"invalid number {s!r}")
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"invalid number {s!r}") from None


# --------------------------------------------------------------------------- QuakeML IDs

# The XSD pattern, restricted to ASCII for the "already a QuakeML ID" test (stricter is safe:
# anything rejected here is simply wrapped, and unwrapped again on read).
_QML_ID_RE = re.compile(
    r"(smi|quakeml):[A-Za-z0-9_][A-Za-z0-9_\-.*()~']{2,}/[A-Za-z0-9_\-.*()~'][A-Za-z0-9_\-.*()+?~'=,;#/&]*\Z"
)
_SAFE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.*()+?=,;#/&'")
_SAFE_ID_RE = re.compile(r"[A-Za-z0-9_\-.*()+?=,;#/&']*\Z")
_ESCAPED_RE = re.compile(r"(?:~[0-9A-F]{2})+")


def pick_comment_fields(comments):
    """(probability, referencePickID, other comments): the first ``probability`` and
    ``referencePickID`` comments become the pick's fields again (both schemas carry them as
    comments); a probability that is not a number stays a comment."""
    probability = reference = None
    rest = []
    for cm in comments:
        if cm.id == "probability" and probability is None:
            try:
                probability = parse_float(cm.text)
                continue
            except ValueError:
                pass
        elif cm.id == "referencePickID" and reference is None:
            reference = cm.text
            continue
        rest.append(cm)
    return probability, reference, rest


def _escape_id(s: str) -> str:
    if _SAFE_ID_RE.match(s):
        return s
    out = []
    for c in s:
        if c in _SAFE_ID_CHARS:
            out.append(c)
        else:
            out.append("".join(f"~{b:02X}" for b in c.encode("utf-8")))
    return "".join(out)


def _unescape_id(s: str) -> str:
    if "~" not in s:
        return s

    def repl(m):
        raw = bytes.fromhex(m.group(0).replace("~", ""))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return m.group(0)

    return _ESCAPED_RE.sub(repl, s)


def to_quakeml_id(model_id: str) -> str:
    """Model ID → QuakeML resource identifier.

    QuakeML IDs (``smi:…``/``quakeml:…``) are kept as they are; anything else (SCML publicIDs,
    method IDs, comment IDs) becomes ``smi:local/seqt/<id>``, characters outside the XSD pattern
    escaped as ``~HH``. :func:`from_quakeml_id` undoes it exactly.
    """
    if _QML_ID_RE.match(model_id) and not model_id.startswith("smi:local/seqt"):
        return model_id
    return QML_ID_PREFIX + _escape_id(model_id)


def from_quakeml_id(qml_id: str) -> str:
    """Inverse of :func:`to_quakeml_id`; foreign QuakeML IDs are kept as they are."""
    qml_id = qml_id.strip()
    if qml_id.startswith(QML_ID_PREFIX):
        return _unescape_id(qml_id[len(QML_ID_PREFIX):])
    return qml_id


def parse_format(spec: str):
    """``"scml"``, ``"scml:0.12"``, ``"quakeml"`` → (format, version or None)."""
    fmt, _, version = spec.strip().lower().partition(":")
    if fmt in ("sc3ml", "seiscomp"):
        fmt = "scml"
    if fmt == "qml":
        fmt = "quakeml"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {spec!r} (use scml[:VERSION] or quakeml)")
    if fmt == "scml":
        version = version or DEFAULT_SCML_VERSION
        if version not in SCML_VERSIONS:
            raise ValueError(f"unsupported SCML version {version!r} (use one of {', '.join(SCML_VERSIONS)})")
        return fmt, version
    if version and version != "1.2":
        raise ValueError(f"unsupported QuakeML version {version!r} (only 1.2)")
    return fmt, "1.2"

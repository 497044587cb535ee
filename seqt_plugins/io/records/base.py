"""Common interface of all record streams, the one error class, and safe miniSEED parsing."""

from __future__ import annotations

import io
import os
import warnings
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from obspy import Stream, Trace, UTCDateTime

#: (network, station, location, channel); each may hold ``*``/``?`` wildcards.
NSLC = Tuple[str, str, str, str]
#: (network, station, location, channel, starttime, endtime), as in obspy's bulk requests.
BulkItem = Tuple[str, str, str, str, UTCDateTime, UTCDateTime]


class RecordStreamError(RuntimeError):
    """Any failure of a record stream; the message is one line naming the URL or file."""


def one_line(text: object) -> str:
    """Collapse a message to a single line (server replies often span several)."""
    return " ".join(str(text).split())


def parse_mseed(data: Union[bytes, str, os.PathLike], source: str, *, headonly: bool = False,
                starttime: Optional[UTCDateTime] = None,
                endtime: Optional[UTCDateTime] = None, complete: bool = True) -> Stream:
    """Read miniSEED from bytes or a path; any parse problem becomes a RecordStreamError.

    With ``complete`` (the default) the records must account for every byte of the input (a
    last record cut short is an error, see :func:`_check_complete`); ``complete=False`` only
    serves to learn which streams a damaged file holds.

    libmseed reports damaged records as warnings and may still return partial data; a
    damaged record is a corrupt input, so warnings from the miniSEED reader are errors here.
    """
    from obspy import read
    from obspy.io.mseed import InternalMSEEDError, InternalMSEEDWarning

    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) == 0:
            return Stream()
        target: object = io.BytesIO(bytes(data))
    else:
        target = os.fspath(data)
    whole = starttime is None and endtime is None and complete
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            warnings.simplefilter("error", InternalMSEEDWarning)  # checked first: added last
            st = read(target, format="MSEED", headonly=headonly, starttime=starttime,
                      endtime=endtime, details=whole)
        damaged = [one_line(w.message) for w in caught  # bytes that are not records are
                   if any(k in str(w.message).lower()    # judged by _check_complete below
                          for k in ("corrupt", "end of file", "only has"))]
        if whole:
            _check_complete(st, data, source, walk=bool(damaged))
        elif damaged and complete:  # libmseed skipped a damaged record: the data read are not all there
            raise RecordStreamError(f"corrupt miniSEED in {source}: {damaged[0]}")
        elif complete and not isinstance(data, (bytes, bytearray, memoryview)):
            _check_file_complete(os.fspath(data), source)  # a trimmed read: the whole file
        return st
    except RecordStreamError:
        raise
    except Exception as exc:  # obspy raises many types for damaged input
        del InternalMSEEDError
        if isinstance(exc, OSError) and not isinstance(data, (bytes, bytearray, memoryview)) \
                and not os.path.exists(os.fspath(data)):
            raise RecordStreamError(f"cannot read {source}: file not found") from exc
        raise RecordStreamError(f"corrupt miniSEED in {source}: {one_line(exc)}") from exc


def _check_complete(st: Stream, data, source: str, walk: bool = False) -> None:
    """Raise when the records read do not account for every byte of the input.

    libmseed reads a file whose last record was cut short (a transfer cut off, a full disk)
    as shorter data without an error once enough of that record's header is there. The
    records obspy reports (``number_of_records`` x ``record_length`` per trace) must add up
    to the input's size; where they do not (e.g. records of different lengths in one trace)
    the records are walked header by header to find where the data end.
    """
    size = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else os.path.getsize(data)
    counted = 0
    for tr in st:
        info = tr.stats.get("mseed", {})
        counted += int(info.get("number_of_records", 0)) * int(info.get("record_length", 0))
        tr.stats.pop("mseed", None)  # asked for here only; callers get the usual stats
    if (counted == size or not len(st)) and not walk:
        return
    from obspy.io.mseed.util import get_record_information

    handle = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) \
        else open(os.fspath(data), "rb")
    with handle:
        offset = 0
        while offset < size:
            handle.seek(offset)
            if handle.read(8).strip(b"\0") == b"" and not handle.read().strip(b"\0"):
                return  # zero padding after the last record
            try:
                handle.seek(offset)
                length = int(get_record_information(handle, offset=offset)["record_length"])
            except Exception:
                handle.seek(offset)
                if not handle.read().strip(b"\0 "):  # zero or blank padding after the last record
                    return
                raise RecordStreamError(f"corrupt miniSEED in {source}: no valid record at byte "
                                        f"{offset} of {size}") from None
            if length <= 0:
                raise RecordStreamError(f"corrupt miniSEED in {source}: bad record length at byte {offset}")
            if offset + length > size:
                raise RecordStreamError(
                    f"truncated miniSEED in {source}: the record at byte {offset} needs {length} "
                    f"bytes but the input ends after {size - offset} (file cut short?)")
            offset += length


_COMPLETE_FILES: "dict[tuple, bool]" = {}


def _check_file_complete(path: str, source: str) -> None:
    """:func:`_check_complete` by record walk, once per file version (path, size, mtime)."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key in _COMPLETE_FILES:
        return
    _check_complete(Stream([Trace()]), path, source, walk=True)
    if len(_COMPLETE_FILES) > 4096:
        _COMPLETE_FILES.clear()
    _COMPLETE_FILES[key] = True


_CORE_STATS = {"network", "station", "location", "channel", "starttime", "endtime",
               "sampling_rate", "delta", "npts", "calib"}


def finalize(stream: Stream, network: str, station: str, location: str, channel: str,
             starttime: UTCDateTime, endtime: UTCDateTime) -> Stream:
    """The normal form every record stream returns for a request.

    Selected by code (wildcards), trimmed to [starttime, endtime] to the nearest sample,
    contiguous pieces merged, empty traces dropped, sorted by id then time. Two sources
    holding the same samples therefore return equal Streams (format-specific stats such
    as ``stats.mseed`` are dropped).
    """
    st = stream.select(network=network, station=station, location=location or "",
                       channel=channel)
    st = Stream([tr for tr in st])  # don't trim the caller's traces in place
    st.trim(starttime, endtime)
    st = Stream([tr for tr in st if tr.stats.npts > 0])
    if len(st) > 1:
        st.merge(method=-1)  # joins only exactly contiguous/overlapping-equal pieces
        _warn_conflicting_overlaps(st)
    for tr in st:  # source-specific bookkeeping (file sizes, trim history, SeedLink packet
        for key in list(tr.stats):  # fields) would make the same samples compare unequal
            if key not in _CORE_STATS:
                tr.stats.pop(key, None)
    st.sort(keys=["network", "station", "location", "channel", "starttime"])
    return st


def _warn_conflicting_overlaps(st: Stream) -> None:
    """Log a warning for each stream with overlapping pieces whose samples differ (left after
    the cleanup merge): which samples win downstream is then arbitrary, so say so."""
    import logging

    pieces: dict = {}
    for tr in st:
        pieces.setdefault(tr.id, []).append(tr)
    for sid, trs in pieces.items():
        trs.sort(key=lambda tr: tr.stats.starttime.ns)
        for a, b in zip(trs, trs[1:]):
            if b.stats.starttime <= a.stats.endtime:
                logging.getLogger("seqt_plugins.records").warning(
                    "%s: overlapping data with different samples from %s to %s: the later "
                    "samples are used there", sid, b.stats.starttime, min(a.stats.endtime, b.stats.endtime))


def glob_match(pattern: str, value: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(value, pattern or "")


class RecordStream:
    """Base class: one source of miniSEED records behind a SeisComP-style URL."""

    #: True for sources that deliver records as they arrive (``slink``, ``combined``).
    realtime: bool = False

    def __init__(self, url: str):
        self.url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- archive access ------------------------------------------------------------------
    def get_waveforms(self, network: str, station: str, location: str, channel: str,
                      starttime: UTCDateTime, endtime: UTCDateTime) -> Stream:
        raise NotImplementedError

    def get_waveforms_bulk(self, bulk: Iterable[BulkItem]) -> Stream:
        """All the requests of ``bulk`` in one Stream (default: one request at a time)."""
        out = Stream()
        for net, sta, loc, cha, t0, t1 in bulk:
            out += self.get_waveforms(net, sta, loc, cha, UTCDateTime(t0), UTCDateTime(t1))
        out.sort(keys=["network", "station", "location", "channel", "starttime"])
        return out

    def available_streams(self, starttime: Optional[UTCDateTime] = None,
                          endtime: Optional[UTCDateTime] = None) -> List[NSLC]:
        raise RecordStreamError(f"{self.url}: listing the available streams is not supported")

    def data_spans(self, network: str, station: str, location: str, channel: str,
                   starttime: Optional[UTCDateTime] = None,
                   endtime: Optional[UTCDateTime] = None) -> Optional[List[Tuple[UTCDateTime, UTCDateTime]]]:
        """Where the matching channels have data, as (start, end) spans; None when unknown.

        Lets a long request be read in pieces (bounded memory) without reading it first; the
        spans may be coarse (e.g. whole day files) but never miss data.
        """
        return None

    # -- real time -----------------------------------------------------------------------
    def stream_records(self, selectors: Sequence[Union[str, NSLC]],
                       starttime: Optional[UTCDateTime] = None,
                       endtime: Optional[UTCDateTime] = None) -> Iterator[Trace]:
        """Records as obspy Traces, one per miniSEED record, in arrival order.

        Archive streams replay the requested window record by record (sorted by time), which
        lets the real-time code path be exercised on archives.
        """
        if starttime is None or endtime is None:
            raise RecordStreamError(f"{self.url}: not a real-time source; give starttime and endtime")
        bulk = [(*parse_selector(s), UTCDateTime(starttime), UTCDateTime(endtime))
                for s in selectors]
        st = self.get_waveforms_bulk(bulk)
        yield from sorted(st, key=lambda tr: (tr.stats.starttime, tr.id))

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_selector(selector: Union[str, Sequence[str]]) -> NSLC:
    """``"NET.STA.LOC.CHA"`` (or a 4-tuple) to a tuple; missing parts are ``*``."""
    if isinstance(selector, str):
        parts = selector.split(".")
        if len(parts) > 4 or not parts[0]:
            raise RecordStreamError(f"bad stream selector {selector!r}: expected NET.STA.LOC.CHA")
        parts += ["*"] * (4 - len(parts))
        return (parts[0], parts[1], parts[2], parts[3])
    parts = list(selector)
    if len(parts) != 4:
        raise RecordStreamError(f"bad stream selector {selector!r}: expected 4 codes")
    return (parts[0], parts[1], parts[2], parts[3])

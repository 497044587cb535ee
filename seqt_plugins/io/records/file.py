"""``file://`` record stream: one miniSEED file, a directory of them, a glob, or ``-`` (stdin).

SeisComP's file:// reads miniSEED only; here a file that is not miniSEED at all but in another
format that obspy reads (GSE2, SAC, SEISAN, ...) is accepted too, so archived event files work
as they are. A damaged miniSEED file is still an error, never a partial read.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from obspy import Stream, UTCDateTime

from .base import NSLC, RecordStream, RecordStreamError, finalize, glob_match, parse_mseed

log = logging.getLogger("seqt_plugins.records.file")


def read_waveform_file(path: str, **kwargs) -> Stream:
    """miniSEED through the strict reader; another obspy format only if the file is one."""
    try:
        return parse_mseed(path, path, **kwargs)
    except RecordStreamError as mseed_error:
        import warnings

        from obspy import read

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                st = read(path, **kwargs)
        except Exception:
            raise mseed_error from None
        if not len(st) or st[0].stats.get("_format") == "MSEED":
            raise mseed_error from None  # a damaged miniSEED file stays an error
        for tr in st:
            tr.stats.pop(str(tr.stats._format).lower(), None)
        return st


class FileRecordStream(RecordStream):
    """miniSEED files on disk. Headers are indexed once; requests read only the files
    (and, through obspy, only the records) that overlap the requested window.

    Of several files, a damaged one (empty, truncated, not a waveform file) is logged in one
    line naming it and left out (listed in ``skipped``); the others are read. A damaged file
    whose record headers still name its streams (a last record cut short) is indexed, and a
    request for those streams fails naming the file, so only its sensor is lost. A single
    file that is damaged is an error.
    """

    def __init__(self, url: str, path: str):
        super().__init__(url)
        self.path = path
        self._stdin: Optional[Stream] = None
        if path == "-":
            self.files: List[str] = []
            self._stdin = parse_mseed(sys.stdin.buffer.read(), "stdin")
        else:
            self.files = self._expand(path)
        self._index: Optional[Dict[str, List[Tuple[NSLC, UTCDateTime, UTCDateTime]]]] = None
        #: (file, one-line error) of the files left out of the index because they are damaged
        self.skipped: List[Tuple[str, str]] = []
        #: file -> one-line error of damaged files whose streams are known: reading them fails
        self.damaged: Dict[str, str] = {}

    def _expand(self, path: str) -> List[str]:
        p = Path(path)
        if p.is_file():
            return [str(p)]
        if p.is_dir():
            files = sorted(str(f) for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        else:
            files = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
        if not files:
            raise RecordStreamError(f"{self.url}: no miniSEED files at {path}")
        return files

    def index(self) -> Dict[str, List[Tuple[NSLC, UTCDateTime, UTCDateTime]]]:
        """file -> [(nslc, start, end)] from the record headers (read once)."""
        if self._index is None:
            idx = {}
            for f in self.files:
                try:
                    st = read_waveform_file(f, headonly=True)
                except RecordStreamError as exc:  # one bad file must not hide the good ones
                    if len(self.files) == 1:
                        raise
                    try:  # damaged but with readable headers: requests for its streams fail
                        st = parse_mseed(f, f, headonly=True, complete=False)
                    except RecordStreamError:
                        st = None
                    if st is None or not len(st):
                        log.error("%s: skipped", exc)
                        self.skipped.append((f, str(exc)))
                        continue
                    self.damaged[f] = str(exc)
                idx[f] = [((tr.stats.network, tr.stats.station, tr.stats.location,
                            tr.stats.channel), tr.stats.starttime, tr.stats.endtime) for tr in st]
            self._index = idx
        return self._index

    def get_waveforms(self, network, station, location, channel, starttime, endtime) -> Stream:
        t0, t1 = UTCDateTime(starttime), UTCDateTime(endtime)
        if self._stdin is not None:
            return finalize(self._stdin.copy(), network, station, location, channel, t0, t1)
        st = Stream()
        for f, entries in self.index().items():
            if any(glob_match(network, n) and glob_match(station, s)
                   and glob_match(location or "", l) and glob_match(channel, c)
                   and b <= t1 and e >= t0 for (n, s, l, c), b, e in entries):
                if f in self.damaged:
                    raise RecordStreamError(self.damaged[f])
                st += read_waveform_file(f, starttime=t0, endtime=t1)
        return finalize(st, network, station, location, channel, t0, t1)

    def _entries(self, starttime=None, endtime=None) -> List[Tuple[NSLC, UTCDateTime, UTCDateTime]]:
        """(nslc, start, end) of every indexed trace overlapping [starttime, endtime]."""
        t0 = UTCDateTime(starttime) if starttime is not None else None
        t1 = UTCDateTime(endtime) if endtime is not None else None
        if self._stdin is not None:
            entries = [((tr.stats.network, tr.stats.station, tr.stats.location, tr.stats.channel),
                        tr.stats.starttime, tr.stats.endtime) for tr in self._stdin]
        else:
            entries = [e for lst in self.index().values() for e in lst]
        return [(nslc, b, e) for nslc, b, e in entries if (t1 is None or b <= t1) and (t0 is None or e >= t0)]

    def available_streams(self, starttime=None, endtime=None) -> List[NSLC]:
        return sorted({nslc for nslc, _b, _e in self._entries(starttime, endtime)})

    def data_spans(self, network, station, location, channel, starttime=None, endtime=None):
        """The indexed traces' spans (from the record headers) that match and overlap."""
        return sorted(((b, e) for (n, s, l, c), b, e in self._entries(starttime, endtime)
                      if glob_match(network, n) and glob_match(station, s)
                      and glob_match(location or "", l) and glob_match(channel, c)), key=lambda span: span[0].ns)

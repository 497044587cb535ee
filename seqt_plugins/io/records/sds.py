"""``sdsarchive://`` record stream: SeisComP Data Structure archives (one or more roots).

Layout: ``ROOT/YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY`` (one file per channel-day).
"""

from __future__ import annotations

import glob
import os
from typing import List, Sequence

from obspy import Stream, UTCDateTime

from .base import NSLC, RecordStream, RecordStreamError, finalize, parse_mseed

#: Records at a day boundary may sit in the neighbouring day's file.
DAY_MARGIN_S = 60.0


def sds_relpath(network: str, station: str, location: str, channel: str, year: int,
                doy: int, dtype: str = "D") -> str:
    return os.path.join(f"{year:04d}", network, station, f"{channel}.{dtype}",
                        f"{network}.{station}.{location}.{channel}.{dtype}.{year:04d}.{doy:03d}")


def _days(t0: UTCDateTime, t1: UTCDateTime):
    day = UTCDateTime(t0.year, t0.month, t0.day)
    while day <= t1:
        yield day.year, day.julday
        day += 86400


class SDSRecordStream(RecordStream):
    def __init__(self, url: str, roots: Sequence[str]):
        super().__init__(url)
        # "combined://...;sdsarchive//data" and "sdsarchive:////data" both mean /data
        self.roots = ["/" + r.lstrip("/") if r.startswith("/") else r for r in roots if r]
        if not self.roots:
            raise RecordStreamError(f"{url}: no archive directory given")
        missing = [r for r in self.roots if not os.path.isdir(r)]
        if missing:
            raise RecordStreamError(f"{url}: archive directory {missing[0]} does not exist")

    def files_for(self, network, station, location, channel, starttime, endtime) -> List[str]:
        t0, t1 = UTCDateTime(starttime), UTCDateTime(endtime)
        found = []
        for root in self.roots:
            for year, doy in _days(t0 - DAY_MARGIN_S, t1 + DAY_MARGIN_S):
                pattern = os.path.join(root, sds_relpath(network, station, location or "",
                                                         channel, year, doy))
                found.extend(sorted(glob.glob(pattern)))
        return found

    def get_waveforms(self, network, station, location, channel, starttime, endtime) -> Stream:
        t0, t1 = UTCDateTime(starttime), UTCDateTime(endtime)
        st = Stream()
        for f in self.files_for(network, station, location, channel, t0, t1):
            st += parse_mseed(f, f, starttime=t0, endtime=t1)
        return finalize(st, network, station, location, channel, t0, t1)

    def _day_files(self, network="*", station="*", location="*", channel="*"):
        """(network, station, location, channel), day start of each matching day file, from the
        directory tree alone (glob patterns allowed; names that are no SDS day file are skipped)."""
        for root in self.roots:
            pattern = os.path.join(root, "[0-9]" * 4, network, station, f"{channel}.*",
                                   f"{network}.{station}.{location or ''}.{channel}.*.*.*")
            for path in glob.glob(pattern):
                parts = os.path.basename(path).split(".")
                if len(parts) != 7:
                    continue
                try:
                    day = UTCDateTime(year=int(parts[5]), julday=int(parts[6]))
                except (ValueError, TypeError):
                    continue
                yield tuple(parts[:4]), day

    def data_spans(self, network, station, location, channel, starttime=None, endtime=None):
        """Whole days (plus the boundary margin) for which a matching day file exists."""
        t0 = UTCDateTime(starttime) if starttime is not None else None
        t1 = UTCDateTime(endtime) if endtime is not None else None
        spans = {}  # keyed by ns: UTCDateTime is not hashable
        for _nslc, day in self._day_files(network, station, location, channel):
            a, b = day - DAY_MARGIN_S, day + 86400 + DAY_MARGIN_S
            if (t1 is None or a <= t1) and (t0 is None or b >= t0):
                spans[(a.ns, b.ns)] = (a, b)
        return [spans[k] for k in sorted(spans)]

    def available_streams(self, starttime=None, endtime=None) -> List[NSLC]:
        """Channels with a day file in [starttime, endtime], from the directory tree alone."""
        t0 = UTCDateTime(starttime) if starttime is not None else None
        t1 = UTCDateTime(endtime) if endtime is not None else None
        return sorted({nslc for nslc, day in self._day_files()
                       if (t1 is None or day <= t1) and (t0 is None or day + 86400 > t0)})

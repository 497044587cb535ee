"""``combined://`` record stream: an archive for the past, SeedLink for the recent past and now.

``combined://slink/host:18000;sdsarchive//data??rtMax=1800``: data older than ``now - rtMax``
come from the archive (the second source), newer data from the real-time source (the first).
``stream_records`` back-fills from the archive up to the switch time, then continues in real
time; samples already delivered from the archive are not delivered again.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterator, Optional, Sequence, Union

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from .base import NSLC, RecordStream, finalize, parse_selector


class CombinedRecordStream(RecordStream):
    realtime = True

    def __init__(self, url: str, realtime: RecordStream, archive: RecordStream,
                 rt_max: float = 1800.0, now: Callable[[], UTCDateTime] = UTCDateTime):
        super().__init__(url)
        self.realtime_stream = realtime
        self.archive = archive
        self.rt_max = float(rt_max)
        self.now = now

    def switch_time(self) -> UTCDateTime:
        return UTCDateTime(self.now()) - self.rt_max

    def get_waveforms(self, network, station, location, channel, starttime, endtime) -> Stream:
        t0, t1 = UTCDateTime(starttime), UTCDateTime(endtime)
        split = self.switch_time()
        st = Stream()
        if t0 < split:
            st += self.archive.get_waveforms(network, station, location, channel, t0, min(t1, split))
        if t1 > split:
            st += self.realtime_stream.get_waveforms(network, station, location, channel,
                                                     max(t0, split), t1)
        return finalize(st, network, station, location, channel, t0, t1)

    def available_streams(self, starttime=None, endtime=None):
        return self.archive.available_streams(starttime, endtime)

    def stream_records(self, selectors: Sequence[Union[str, NSLC]],
                       starttime: Optional[UTCDateTime] = None,
                       endtime: Optional[UTCDateTime] = None) -> Iterator[Trace]:
        split = self.switch_time()
        last_end: Dict[str, UTCDateTime] = {}
        rt_start = starttime
        if starttime is not None and UTCDateTime(starttime) < split:
            a1 = split if endtime is None else min(UTCDateTime(endtime), split)
            bulk = [(*parse_selector(s), UTCDateTime(starttime), a1) for s in selectors]
            for tr in sorted(self.archive.get_waveforms_bulk(bulk),
                             key=lambda t: (t.stats.starttime, t.id)):
                last_end[tr.id] = max(last_end.get(tr.id, tr.stats.endtime), tr.stats.endtime)
                yield tr
            if endtime is not None and UTCDateTime(endtime) <= split:
                return
            rt_start = a1
        for tr in self.realtime_stream.stream_records(selectors, rt_start, endtime):
            end = last_end.get(tr.id)
            if end is not None:
                if tr.stats.endtime <= end:
                    continue
                if tr.stats.starttime <= end:  # drop the samples the archive already gave
                    n = int(np.floor((end - tr.stats.starttime) * tr.stats.sampling_rate + 0.5)) + 1
                    t_new = tr.stats.starttime + n * tr.stats.delta
                    tr = tr.copy()
                    tr.data = tr.data[n:]  # updates npts
                    tr.stats.starttime = t_new
            last_end[tr.id] = tr.stats.endtime
            yield tr

    def close(self) -> None:
        self.realtime_stream.close()
        self.archive.close()

"""``slink://host:port`` record stream: SeedLink 3 (real time) through obspy's SeedLink client.

Options in the URL query: ``timeout`` (s without a packet before giving up, default 60),
``retries`` (reconnection attempts after a failure, default 5), ``backoff`` (first delay in s,
doubled per retry, default 1). A reconnect resumes from the last sequence number received
(``DATA seq``), so no packet is lost or delivered twice across a dropped connection.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from obspy import Stream, Trace, UTCDateTime

from .base import NSLC, RecordStream, RecordStreamError, finalize, one_line, parse_selector

log = logging.getLogger("seqt_plugins.records.slink")


def seedlink_selector(location: str, channel: str) -> str:
    """SeedLink ``LLCCC`` selector: ``?`` wildcards, ``-`` for an empty location code."""
    cha = (channel or "*").replace("*", "???")[:3] if channel not in ("*", "") else "???"
    cha = cha.ljust(3, "?")
    if location in ("*", "??"):
        return cha
    loc = (location or "--").replace("*", "??")[:2].ljust(2, "-")
    return loc + cha


class SeedLinkRecordStream(RecordStream):
    realtime = True

    def __init__(self, url: str, address: str, *, timeout: float = 60.0, retries: int = 5,
                 backoff: float = 1.0):
        super().__init__(url)
        if ":" not in address:
            address += ":18000"
        self.address = address
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        #: (receive time - record end time) in seconds of the last packets, for latency reports
        self.latencies: List[float] = []

    def _connection(self, selectors, starttime, endtime):
        from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection

        conn = SeedLinkConnection(timeout=self.timeout)
        conn.set_sl_address(self.address)
        conn.netto = max(1, int(round(self.timeout)))
        conn.netdly = 0
        stations: "OrderedDict[Tuple[str, str], List[str]]" = OrderedDict()
        for sel in selectors:
            net, sta, loc, cha = parse_selector(sel)
            stations.setdefault((net, sta), []).append(seedlink_selector(loc, cha))
        if not stations:
            raise RecordStreamError(f"{self.url}: no stream selectors given")
        for (net, sta), sels in stations.items():
            conn.add_stream(net, sta, " ".join(dict.fromkeys(sels)), -1, None)
        if starttime is not None:
            conn.set_begin_time(UTCDateTime(starttime))
        if endtime is not None:
            if starttime is None:
                raise RecordStreamError(f"{self.url}: an end time needs a start time")
            conn.set_end_time(UTCDateTime(endtime))
        return conn

    def stream_records(self, selectors: Sequence[Union[str, NSLC]],
                       starttime: Optional[UTCDateTime] = None,
                       endtime: Optional[UTCDateTime] = None) -> Iterator[Trace]:
        """Packets (one Trace per 512-byte record) as they arrive.

        Without ``endtime`` this runs until the caller stops iterating (real time; with
        ``starttime`` the server first replays its buffer from that time). With ``endtime`` it
        ends when the server signals the end of the time window.
        """
        from obspy.clients.seedlink.seedlinkexception import SeedLinkException
        from obspy.clients.seedlink.slpacket import SLPacket

        conn = self._connection(selectors, starttime, endtime)
        failures = 0
        delay = self.backoff
        try:
            while True:
                t_call = time.monotonic()
                try:
                    packet = conn.collect()
                except (SeedLinkException, OSError) as exc:
                    failures += 1
                    msg = one_line(getattr(exc, "value", None) or exc)
                    if failures > self.retries:
                        raise RecordStreamError(
                            f"{self.url}: SeedLink failed after {failures} attempts: {msg}") from exc
                    log.warning("%s: %s; retry %d/%d in %.3g s", self.url, msg, failures,
                                self.retries, delay)
                    conn.disconnect()
                    time.sleep(delay)
                    delay = min(delay * 2.0, 60.0)
                    continue
                if packet is None or packet == SLPacket.SLTERMINATE:
                    if time.monotonic() - t_call >= self.timeout:
                        raise RecordStreamError(
                            f"{self.url}: SeedLink timed out: no packet for {self.timeout:g} s")
                    return  # end of the requested time window
                if packet == SLPacket.SLERROR:
                    raise RecordStreamError(f"{self.url}: SeedLink server rejected the request "
                                            f"for {list(selectors)}")
                if packet.get_type() in (SLPacket.TYPE_SLINF, SLPacket.TYPE_SLINFT):
                    continue
                try:
                    trace = packet.get_trace()
                except Exception as exc:
                    raise RecordStreamError(f"corrupt miniSEED in SeedLink packet "
                                            f"{packet.get_sequence_number()} from {self.url}: "
                                            f"{one_line(exc)}") from exc
                failures, delay = 0, self.backoff
                self.latencies.append(UTCDateTime() - trace.stats.endtime)
                del self.latencies[:-1000]
                yield trace
        finally:
            conn.close()

    def get_waveforms(self, network, station, location, channel, starttime, endtime) -> Stream:
        t0, t1 = UTCDateTime(starttime), UTCDateTime(endtime)
        st = Stream(list(self.stream_records([(network, station, location, channel)], t0, t1)))
        return finalize(st, network, station, location, channel, t0, t1)

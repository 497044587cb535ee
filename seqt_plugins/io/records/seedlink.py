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
        conn = _make_connection(self)
        conn.set_sl_address(self.address)
        conn.netto = max(1, int(round(self.timeout)))
        conn.netdly = 0.01  # obspy never reconnects with 0; connect() does the backoff
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
        ends when the server signals the end of the time window. A connection that fails, is
        closed by the server or stays silent for ``timeout`` s is re-opened (resuming after the
        last packet) up to ``retries`` times in a row; then RecordStreamError.
        """
        from obspy.clients.seedlink.seedlinkexception import SeedLinkException
        from obspy.clients.seedlink.slpacket import SLPacket

        conn = self._connection(selectors, starttime, endtime)
        try:
            while True:
                try:
                    packet = conn.collect()
                except (SeedLinkException, OSError, _GiveUp) as exc:
                    if isinstance(exc, _GiveUp):
                        raise RecordStreamError(f"{self.url}: SeedLink failed after "
                                                f"{conn.attempts} attempts: {conn.reason}") from None
                    conn.reason = one_line(getattr(exc, "value", None) or exc)
                    conn.disconnect()
                    continue  # collect() reconnects (connect() counts and backs off)
                if packet is None or packet == SLPacket.SLTERMINATE:
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
                conn.attempts = 0
                self.latencies.append(UTCDateTime() - trace.stats.endtime)
                del self.latencies[:-1000]
                yield trace
        finally:
            conn.close()

    def get_waveforms(self, network, station, location, channel, starttime, endtime) -> Stream:
        t0, t1 = UTCDateTime(starttime), UTCDateTime(endtime)
        st = Stream(list(self.stream_records([(network, station, location, channel)], t0, t1)))
        return finalize(st, network, station, location, channel, t0, t1)


class _GiveUp(Exception):
    pass


def _make_connection(rs: SeedLinkRecordStream):
    """obspy's SeedLinkConnection with bounded, counted reconnects and EOF detection.

    obspy treats a closed socket as "no data yet" and reconnects forever; here an EOF is an
    error, every (re)connection is counted, and after ``retries`` consecutive attempts
    without a packet the stream gives up.
    """
    import socket

    from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection

    class _Connection(SeedLinkConnection):
        def __init__(self):
            super().__init__(timeout=None)
            self.attempts = 0
            self.reason = "no reason"

        def connect(self):
            if self.attempts > 0:
                if self.attempts > rs.retries:
                    raise _GiveUp()
                time.sleep(min(rs.backoff * 2 ** (self.attempts - 1), 60.0))
            self.attempts += 1
            self.timeout = rs.timeout  # socket connect timeout; not a collect() deadline
            try:
                return super().connect()
            except Exception as exc:
                self.reason = one_line(getattr(exc, "value", None) or exc)
                raise
            finally:
                self.timeout = None

        def receive_data(self, maxbytes, code):
            try:
                data = super().receive_data(maxbytes, code)
            except socket.timeout:
                self.reason = f"no data for {rs.timeout:g} s (timed out)"
                raise
            if data == b"":
                self.reason = "connection closed by the server"
                raise ConnectionResetError(self.reason)
            return data

    return _Connection()

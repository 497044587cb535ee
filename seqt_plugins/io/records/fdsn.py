"""``fdsnws://`` / ``fdsnwss://`` record stream: FDSN web services through obspy's client.

Waveforms are POSTed to ``/fdsnws/dataselect/1/query`` (lines ``NET STA LOC CHA START END``,
empty location ``--``), inventory comes from ``/fdsnws/station/1/query``. Options in the URL
query: ``timeout`` (s per HTTP request, default 30: a limit on each socket read *and* on the
whole request, so a server trickling bytes cannot stall it either), ``retries`` (attempts after the first,
default 3), ``backoff`` (first delay in s, doubled per retry, default 1, capped at 60),
``station=HOST:PORT`` or ``station=http://host:port`` (a station service on another server:
portable-fdsnws-dataselect serves dataselect only), and ``dataselect=`` alike.

Retried: connection failures, timeouts, HTTP 429/500/502/503/504, transfers cut short and
responses that are not valid miniSEED. Not retried: 400, 401, 403, 404, 413 (the same request
would fail the same way). 204 is "no data": an empty Stream, not an error. HTTP 200 with an
empty body is neither data nor "no data" (FDSN answers no data with 204/404): it is reported
as a RecordStreamError, not retried (the server answers the same request the same way).

Known server bug, portable-fdsnws-dataselect 2.0.2 over an index made by ``mseedindex``
(3.0.8): ``mseedindex`` ends every row's ``timeindex`` with ``latest=>N``, where N is a flag
(1 when the row's records are in time order, else 0), not a byte offset. The server reads that
entry as "byte offset N at the row's end time", so for a request that ends *after the last
sub-index time* of a row (``mseedindex -si``, 3600 s by default: the last hour of a day file,
or all of a short file) and *before the row's end*, the byte range it reads ends at offset 1:
it ships at most the one record at the start offset, trimmed to the window. Symptoms:
``2C BIT06 -- HHZ 2018-12-30T02:58:30 2018-12-30T03:03:30`` over a 03:00-03:05 file returns
the first 512-byte record (412 samples); a window inside that file returns HTTP 200 with an
empty body (reported, see above). The client cannot tell the one-record case from a real gap
at the window's end (nothing in fdsnws-station says where data stop), so it is *not* detected:
against such a server request windows that end at or after the end of the index row (e.g. a
whole UTC day over an SDS archive), or fix the server. The request lines are correct FDSN
(``NET STA LOC CHA START END``, ISO times); the index is stock ``mseedindex -sqlite`` output.
"""

from __future__ import annotations

import http.client
import io
import logging
import time
from typing import Callable, Iterable, List, Optional

from obspy import Stream, UTCDateTime

from .base import BulkItem, NSLC, RecordStream, RecordStreamError, finalize, one_line, parse_mseed

log = logging.getLogger("seqt_plugins.records.fdsnws")


class _Retryable(Exception):
    pass


class _Deadline(Exception):
    """The whole request took longer than the timeout (a server trickling its answer)."""


def _within(seconds: float, fn: Callable[[], object]):
    """``fn()``, or _Deadline when it has not finished after ``seconds``.

    The socket timeout only limits each read; a server sending a byte a second never trips it.
    The request runs in a daemon thread that is abandoned at the deadline (urllib offers no way
    to abort a read from outside); its late result is dropped.
    """
    import threading

    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="fdsnws-request", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _Deadline()
    if "error" in box:
        raise box["error"]
    return box.get("value")


class _EmptyOK(Exception):
    """HTTP 200 with no body: a protocol violation (no data is 204/404), not retried."""


def _service_url(value: str, scheme: str, service: str) -> str:
    if "://" not in value:
        value = f"{scheme}://{value}"
    value = value.rstrip("/")
    if "/fdsnws/" not in value:
        value = f"{value}/fdsnws/{service}/1"
    return value


class FDSNRecordStream(RecordStream):
    def __init__(self, url: str, host: str, *, secure: bool = False, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 1.0, station: Optional[str] = None,
                 dataselect: Optional[str] = None,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(url)
        if not host:
            raise RecordStreamError(f"{url}: no host given")
        scheme = "https" if secure else "http"
        self.base_url = f"{scheme}://{host}"
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self._sleep = sleep
        self.service_mappings = {
            "dataselect": _service_url(dataselect or host, scheme, "dataselect"),
            "station": _service_url(station or host, scheme, "station"),
        }
        self._client = None
        #: bytes of miniSEED received (for transfer statistics)
        self.bytes_received = 0

    @property
    def client(self):
        if self._client is None:
            from obspy.clients.fdsn import Client

            self._client = Client(self.base_url, timeout=self.timeout,
                                  service_mappings=dict(self.service_mappings),
                                  _discover_services=False, user_agent="seqt-plugins")
        return self._client

    # -- the retry loop ------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], object]):
        from obspy.clients.fdsn.header import (FDSNBadRequestException, FDSNException,
                                               FDSNForbiddenException, FDSNNoDataException,
                                               FDSNRequestTooLargeException, FDSNTimeoutException,
                                               FDSNUnauthorizedException)

        attempts = self.retries + 1
        delay = self.backoff
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                return _within(self.timeout, fn)
            except FDSNNoDataException:
                return None
            except FDSNRequestTooLargeException as exc:
                raise RecordStreamError(f"{self.url}: {what}: HTTP 413 request too large "
                                        "(split it into smaller time windows)") from exc
            except FDSNBadRequestException as exc:
                raise RecordStreamError(f"{self.url}: {what}: HTTP 400 bad request: "
                                        f"{one_line(exc)}") from exc
            except (FDSNUnauthorizedException, FDSNForbiddenException) as exc:
                raise RecordStreamError(f"{self.url}: {what}: {one_line(exc)}") from exc
            except FDSNTimeoutException:
                last = f"timed out after {self.timeout:g} s"
            except _Deadline:
                last = f"timed out after {self.timeout:g} s (no complete answer within the time limit)"
            except FDSNException as exc:
                text = one_line(exc)
                if text.startswith("Unknown HTTP code: 4"):  # 404 etc.: retrying won't help
                    raise RecordStreamError(f"{self.url}: {what}: {text}") from exc
                if "Connection refused" in text or "URLError" in text:
                    last = f"server unreachable ({text})"
                elif "timed out" in text.lower():
                    last = f"timed out after {self.timeout:g} s"
                else:
                    last = text
            except (http.client.HTTPException, ConnectionError, OSError) as exc:
                last = f"transfer interrupted ({type(exc).__name__}: {one_line(exc)})"
            except _EmptyOK as exc:
                raise RecordStreamError(
                    f"{self.url}: {what}: HTTP 200 with an empty body (no data would be 204): "
                    "the server shipped nothing for data it indexed (portable-fdsnws-dataselect "
                    "2.0.2 does this for windows ending inside its data; see the fdsnws "
                    "record-stream documentation)") from exc
            except _Retryable as exc:
                last = str(exc)
            if attempt < attempts:
                log.warning("%s: %s: %s; retry %d/%d in %.3g s", self.url, what, last, attempt,
                            self.retries, delay)
                self._sleep(delay)
                delay = min(delay * 2.0, 60.0)
        raise RecordStreamError(f"{self.url}: {what} failed after {attempts} attempts: {last}")

    # -- dataselect ----------------------------------------------------------------------
    def _fetch_bulk(self, bulk: List[BulkItem]) -> Stream:
        what = f"dataselect {len(bulk)} line(s) from {bulk[0][4]}" if bulk else "dataselect"

        def once():
            buf = io.BytesIO()
            self.client.get_waveforms_bulk(bulk, filename=buf)
            data = buf.getvalue()
            if not data:
                raise _EmptyOK()
            try:
                st = parse_mseed(data, f"response of {self.service_mappings['dataselect']}")
            except RecordStreamError as exc:
                raise _Retryable(str(exc).split(": ", 1)[0] + f" ({len(data)} bytes)") from exc
            self.bytes_received += len(data)
            return st

        st = self._call(what, once)
        return st if st is not None else Stream()

    def get_waveforms(self, network, station, location, channel, starttime, endtime) -> Stream:
        t0, t1 = UTCDateTime(starttime), UTCDateTime(endtime)
        st = self._fetch_bulk([(network, station, location or "", channel, t0, t1)])
        return finalize(st, network, station, location, channel, t0, t1)

    def get_waveforms_bulk(self, bulk: Iterable[BulkItem]) -> Stream:
        bulk = [(n, s, l or "", c, UTCDateTime(a), UTCDateTime(b)) for n, s, l, c, a, b in bulk]
        if not bulk:
            return Stream()
        raw = self._fetch_bulk(bulk)
        out = Stream()
        for n, s, l, c, a, b in bulk:
            out += finalize(raw, n, s, l, c, a, b)
        out.sort(keys=["network", "station", "location", "channel", "starttime"])
        return out

    # -- station -------------------------------------------------------------------------
    def get_inventory(self, network="*", station="*", location="*", channel="*",
                      starttime=None, endtime=None, level="channel"):
        inv = self._call("station query", lambda: self.client.get_stations(
            network=network, station=station, location=location, channel=channel,
            starttime=starttime, endtime=endtime, level=level))
        if inv is None:
            from obspy import Inventory

            return Inventory(networks=[], source="seqt-plugins")
        return inv

    def available_streams(self, starttime=None, endtime=None) -> List[NSLC]:
        inv = self.get_inventory(starttime=UTCDateTime(starttime) if starttime else None,
                                 endtime=UTCDateTime(endtime) if endtime else None)
        return sorted({(n.code, s.code, c.location_code, c.code)
                       for n in inv for s in n for c in s})

"""Real servers (and one protocol test double) on loopback, for the record-stream tests.

- :func:`build_sds`: an SDS archive from miniSEED files (bytes copied, not re-encoded).
- :class:`PortableDataselect`: the real ``portable-fdsnws-dataselect`` server over an index
  built by the real ``mseedindex`` program, as a subprocess on 127.0.0.1.
- :class:`StationService`: fdsnws-station answered from a StationXML file (an ``http.server``
  on 127.0.0.1; portable-fdsnws-dataselect serves dataselect only, so the record stream is
  given the station server through ``fdsnws://host:port?station=host:port2``).
- :class:`FaultyDataselect`: an fdsnws-dataselect on loopback that misbehaves on request
  (HTTP 500, 204, slow replies, corrupt miniSEED, a body cut short) to test retries.
- :class:`SeedLinkServer`: a **test double** speaking SeedLink 3 (no SeedLink server can be
  installed here: none is on PyPI or Debian). It serves 512-byte miniSEED records with the
  8-byte ``SL%06X`` header and understands HELLO, STATION, SELECT, DATA [seq], FETCH [seq],
  TIME begin [end], END, BYE and INFO ID.
"""

from __future__ import annotations

import contextlib
import fnmatch
import http.server
import io
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from obspy import Stream, UTCDateTime, read

BIN = Path(sys.executable).parent


# -- SDS ---------------------------------------------------------------------------------------
def build_sds(src: Path, root: Path) -> Path:
    """Copy every miniSEED file of ``src`` into ``root`` under its SDS path.

    Each source file must hold one channel within one UTC day (true of hengill/mseed).
    """
    root = Path(root)
    for f in sorted(Path(src).glob("*.mseed")):
        st = read(str(f), headonly=True)
        ids = {tr.id for tr in st}
        t0 = min(tr.stats.starttime for tr in st)
        t1 = max(tr.stats.endtime for tr in st)
        assert len(ids) == 1 and t0.julday == t1.julday, f"{f}: not one channel-day"
        net, sta, loc, cha = st[0].id.split(".")
        dest = root / f"{t0.year:04d}" / net / sta / f"{cha}.D" / \
            f"{net}.{sta}.{loc}.{cha}.D.{t0.year:04d}.{t0.julday:03d}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
    return root


def sds_files(root: Path) -> List[Path]:
    return sorted(p for p in Path(root).glob("*/*/*/*.D/*") if p.is_file())


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: Optional[subprocess.Popen] = None, attempts: int = 300) -> bool:
    """Poll ``url`` until it answers (any HTTP status); False if ``proc`` died first."""
    for _ in range(attempts):
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.05)
    return False


# -- real fdsnws-dataselect ------------------------------------------------------------------
class PortableDataselect:
    """``portable-fdsnws-dataselect`` over an ``mseedindex`` SQLite index, on 127.0.0.1.

    The index is stock ``mseedindex -sqlite`` output (table ``tsindex``, absolute paths,
    ``timeindex`` with the trailing ``latest=>0|1`` time-order flag). portable-fdsnws-dataselect
    2.0.2 misreads that flag as a byte offset, so windows ending inside a row's last sub-index
    interval ship at most one record: a server bug, deliberately not patched around here."""

    def __init__(self, sds_root: Path, workdir: Path):
        self.sds_root = Path(sds_root)
        self.workdir = Path(workdir)
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0

    @staticmethod
    def tool(name: str) -> str:
        path = shutil.which(name, path=str(BIN)) or shutil.which(name)
        if not path:
            raise FileNotFoundError(f"{name} not installed (pip install {name})")
        return path

    def build_index(self) -> Path:
        db = self.workdir / "timeseries.sqlite"
        files = [str(p) for p in sds_files(self.sds_root)]
        listing = self.workdir / "files.txt"
        listing.write_text("\n".join(files) + "\n")
        subprocess.run([self.tool("mseedindex"), "-sqlite", str(db), "@" + str(listing)],
                       check=True, capture_output=True, timeout=300)
        return db

    def start(self) -> "PortableDataselect":
        self.workdir.mkdir(parents=True, exist_ok=True)
        db = self.build_index()
        exe = self.tool("portable-fdsnws-dataselect")
        for _ in range(5):  # a free port can be taken between probing and binding: retry
            self.port = free_port()
            cfg = self.workdir / "server.ini"
            cfg.write_text(
                "[index_db]\n"
                f"path = {db}\n"
                "table = tsindex\n"
                "summary_table = tsindex_summary\n"
                "[server]\n"
                "interface = 127.0.0.1\n"
                f"port = {self.port}\n"
                "request_limit = 0\n"
                "maxsectiondays = 10\n"
                "[logging]\n"
                f"path = {self.workdir / 'dataselect.log'}\n"
                "level = WARNING\n")
            subprocess.run([exe, "-i", str(cfg)], check=True, capture_output=True, timeout=120)
            self.proc = subprocess.Popen([exe, str(cfg)], stdout=subprocess.DEVNULL,
                                         stderr=open(self.workdir / "server.err", "wb"))
            if wait_http(f"{self.url}/fdsnws/dataselect/1/version", self.proc):
                return self
            self.stop()
        raise RuntimeError("portable-fdsnws-dataselect did not start: "
                           + (self.workdir / "server.err").read_text()[-2000:])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- small loopback HTTP servers ---------------------------------------------------------------
class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # a client that gave up is expected


def serve_in_thread(owner, server_class, handler_class):
    """Start ``server_class`` on a free loopback port in a daemon thread; sets owner.port/.thread."""
    server = server_class(("127.0.0.1", 0), handler_class)
    server.owner = owner
    owner.port = server.server_address[1]
    owner.thread = threading.Thread(target=server.serve_forever, daemon=True)
    owner.thread.start()
    return server


class _LoopbackHTTP:
    handler_class: type = http.server.BaseHTTPRequestHandler

    def start(self):
        self.httpd = serve_in_thread(self, _Server, self.handler_class)
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _query(handler) -> Dict[str, str]:
    parsed = urllib.parse.urlsplit(handler.path)
    q = dict(urllib.parse.parse_qsl(parsed.query))
    return {k.lower(): v for k, v in q.items()}


def _send(handler, code: int, body: bytes = b"", ctype: str = "text/plain"):
    handler.send_response(code)
    if code != 204:
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if code != 204:
        handler.wfile.write(body)


class _StationHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        owner: StationService = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        if path.rstrip("/") == "/fdsnws/station/1/version":
            return _send(self, 200, b"1.1.0")
        if path.rstrip("/") != "/fdsnws/station/1/query":
            return _send(self, 404, b"Error 404: no such service\n")
        q = _query(self)
        sel = {k: q.get(k, q.get(short, "*")) for k, short in
               (("network", "net"), ("station", "sta"), ("location", "loc"), ("channel", "cha"))}
        level = q.get("level", "station")
        if level not in ("network", "station", "channel", "response"):
            return _send(self, 400, b"Error 400: bad level\n")
        inv = owner.inventory.copy()
        kw = {}
        for key in ("starttime", "endtime"):
            if key in q:
                try:
                    kw[key] = UTCDateTime(q[key])
                except Exception:
                    return _send(self, 400, f"Error 400: bad {key}\n".encode())
        out = inv.select(**{k: _list(v) for k, v in sel.items() if k in ("network",)}, **kw)
        out = _select_lists(out, sel)
        if level in ("network", "station"):
            for net in out:
                if level == "network":
                    net.stations = []
                for sta in net:
                    sta.channels = []
        if not any(True for net in out for _ in net):
            return _send(self, 204)
        buf = io.BytesIO()
        out.write(buf, format="STATIONXML")
        _send(self, 200, buf.getvalue(), "application/xml")


def _list(value: str) -> str:
    return value.split(",")[0] if "," not in value else "*"


def _select_lists(inv, sel):
    """Keep channels matching comma-separated wildcard lists (``--`` = empty location)."""
    pats = {k: [p if p != "--" else "" for p in v.split(",")] for k, v in sel.items()}

    def ok(key, code):
        return any(fnmatch.fnmatchcase(code, p) for p in pats[key])

    inv = inv.copy()
    for net in inv:
        net.stations = [s for s in net.stations if ok("station", s.code)]
        for sta in net.stations:
            sta.channels = [c for c in sta.channels
                            if ok("location", c.location_code) and ok("channel", c.code)]
        net.stations = [s for s in net.stations if s.channels or (sel["location"] == "*" and
                                                                  sel["channel"] == "*")]
    inv.networks = [n for n in inv.networks if ok("network", n.code) and n.stations]
    return inv


class StationService(_LoopbackHTTP):
    """fdsnws-station 1 (``query`` with net/sta/loc/cha lists and level) from a StationXML file."""

    handler_class = _StationHandler

    def __init__(self, stationxml: Path):
        from obspy import read_inventory

        self.inventory = read_inventory(str(stationxml))


# -- fdsnws-dataselect that misbehaves on request ------------------------------------------------
class _FaultyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _lines(self) -> List[Tuple[str, str, str, str, UTCDateTime, UTCDateTime]]:
        if self.command == "POST":
            n = int(self.headers.get("Content-Length", 0))
            text = self.rfile.read(n).decode()
            rows = []
            for line in text.splitlines():
                parts = line.split()
                if len(parts) == 6:
                    loc = "" if parts[2] == "--" else parts[2]
                    rows.append((parts[0], parts[1], loc, parts[3], UTCDateTime(parts[4]),
                                 UTCDateTime(parts[5])))
            return rows
        q = _query(self)
        loc = q.get("location", q.get("loc", "*"))
        return [(q.get("network", q.get("net", "*")), q.get("station", q.get("sta", "*")),
                 "" if loc == "--" else loc, q.get("channel", q.get("cha", "*")),
                 UTCDateTime(q.get("starttime", q.get("start"))),
                 UTCDateTime(q.get("endtime", q.get("end"))))]

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _serve(self):
        owner: FaultyDataselect = self.server.owner
        try:
            rows = self._lines()
        except Exception:
            return _send(self, 400, b"Error 400: bad request\n")
        with owner.lock:
            owner.requests.append(rows)
            fault = owner.faults.pop(0) if owner.faults else owner.default
        if fault in ("400", "413", "500", "503"):
            return _send(self, int(fault), f"Error {fault}: injected by the test\n".encode())
        if fault == "empty200":  # what portable-fdsnws-dataselect 2.0.2 sends for some windows
            return _send(self, 200, b"", "application/vnd.fdsn.mseed")
        if fault == "slow":
            time.sleep(owner.slow_s)
        if fault == "trickle":  # a valid header, then one byte per trickle_s, never finishing
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.fdsn.mseed")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            until = time.monotonic() + owner.trickle_max_s  # bounded: a client without a
            with contextlib.suppress(OSError):                # deadline fails instead of hanging
                while not owner.stopping.is_set() and time.monotonic() < until:
                    self.wfile.write(b"0")
                    self.wfile.flush()
                    owner.stopping.wait(owner.trickle_s)
            self.close_connection = True
            return
        if fault == "drop":  # accept, then close without any reply
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        rows = [r for r in rows if f"{r[0]}.{r[1]}" not in owner.nodata_stations]
        st = Stream()
        for net, sta, loc, cha, t0, t1 in rows:
            st += owner.sds.get_waveforms(net, sta, loc, cha, t0, t1)
        if not st:
            return _send(self, 204)
        buf = io.BytesIO()
        for tr in st:  # records as stored: re-encode with the original encoding
            tr.write(buf, format="MSEED", reclen=512)
        body = buf.getvalue()
        if fault == "corrupt":
            body = bytes(b ^ 0x5A for b in body[:64]) + body[64:]
        if fault == "truncate":  # promise the whole body, send a third, close
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.fdsn.mseed")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        _send(self, 200, body, "application/vnd.fdsn.mseed")


class FaultyDataselect(_LoopbackHTTP):
    """fdsnws-dataselect over an SDS archive; ``faults`` is a queue of behaviours for the next
    requests ("400", "413", "500", "503", "slow", "drop", "corrupt", "truncate", "empty200" (HTTP
    200 with no body), "trickle" (one byte a second, never done), "ok"); then ``default`` applies.
    Stations in ``nodata_stations`` ("NET.STA") answer 204."""

    handler_class = _FaultyHandler

    def __init__(self, sds_root: Path, faults: Sequence[str] = (), default: str = "ok",
                 slow_s: float = 3.0, nodata_stations: Iterable[str] = ()):
        from obspy.clients.filesystem.sds import Client

        self.sds = Client(str(sds_root))
        self.faults = list(faults)
        self.default = default
        self.slow_s = slow_s
        self.nodata_stations = set(nodata_stations)
        self.requests: List[list] = []
        self.lock = threading.Lock()
        self.trickle_s = 1.0  # "trickle": one byte per trickle_s seconds ...
        self.trickle_max_s = 60.0  # ... for at most this long, then the connection is closed
        self.stopping = threading.Event()

    def stop(self):
        self.stopping.set()  # ends "trickle" answers
        super().stop()


# -- SeedLink 3 test double ----------------------------------------------------------------------
def _btime(rec: bytes, offset: int) -> UTCDateTime:
    year, doy, hour, minute, sec, _u, frac = struct.unpack(">HHBBBBH", rec[offset:offset + 10])
    return UTCDateTime(year=year, julday=doy, hour=hour, minute=minute, second=sec,
                       microsecond=frac * 100)


def records_512(stream: Stream, encoding: str = "STEIM2") -> List[Tuple[UTCDateTime, str, bytes]]:
    """Split a Stream into 512-byte big-endian miniSEED records: (start, "NET.STA.LOC.CHA", rec)."""
    out = []
    for tr in stream:
        buf = io.BytesIO()
        tr2 = tr.copy()
        tr2.data = tr2.data.astype("int32")
        tr2.write(buf, format="MSEED", reclen=512, encoding=encoding, byteorder=">")
        raw = buf.getvalue()
        for i in range(0, len(raw), 512):
            rec = raw[i:i + 512]
            out.append((_btime(rec, 20), tr.id, rec))
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def _record_codes(rec: bytes) -> Tuple[str, str, str, str]:
    sta = rec[8:13].decode().strip()
    loc = rec[13:15].decode().strip()
    cha = rec[15:18].decode().strip()
    net = rec[18:20].decode().strip()
    return net, sta, loc, cha


def _record_end(rec: bytes) -> UTCDateTime:
    nsamp, factor, mult = struct.unpack(">Hhh", rec[30:36])
    rate = (factor if factor > 0 else -1.0 / factor) * (mult if mult > 0 else -1.0 / mult)
    return _btime(rec, 20) + (nsamp - 1) / rate


def _selector_match(sel: str, loc: str, cha: str) -> bool:
    sel = sel.split(".")[0]
    if len(sel) <= 3:
        return fnmatch.fnmatchcase(cha, sel.ljust(3, "?"))
    lpat, cpat = sel[:2].replace("-", " "), sel[2:].ljust(3, "?")
    return fnmatch.fnmatchcase(loc.ljust(2), lpat) and fnmatch.fnmatchcase(cha, cpat)


def _sl_time(text: str) -> UTCDateTime:
    parts = [float(p) for p in text.split(",")]
    parts += [0.0] * (6 - len(parts))
    y, mo, d, h, mi, s = parts
    return UTCDateTime(int(y), int(mo), int(d), int(h), int(mi)) + s


class _SeedLinkHandler(socketserver.BaseRequestHandler):
    def setup(self):
        self.buf = b""
        self.request.settimeout(None)

    def _line(self) -> Optional[str]:
        while True:
            for sep in (b"\r\n", b"\r", b"\n"):
                i = self.buf.find(sep)
                if i >= 0:
                    line, self.buf = self.buf[:i], self.buf[i + len(sep):]
                    if line.strip() == b"":
                        break  # an empty line (e.g. the \n of \r\n): keep reading
                    return line.decode("ascii", "replace").strip()
            else:
                chunk = self.request.recv(4096)
                if not chunk:
                    return None
                self.buf += chunk
                continue
            continue

    def handle(self):
        srv: SeedLinkServer = self.server.owner
        sock = self.request
        stations = []  # [(net, sta, [selectors], action)]
        current = None
        while True:
            line = self._line()
            if line is None:
                return
            words = line.split()
            cmd, args = words[0].upper(), words[1:]
            srv.commands.append(line)
            if cmd == "HELLO":
                sock.sendall(b"SeedLink v3.1 (seqt-plugins test double) :: SLPROTO:3.1\r\n"
                             b"seqt-plugins tests\r\n")
            elif cmd == "BYE":
                return
            elif cmd == "STATION" and args:
                net = args[1] if len(args) > 1 else "*"
                current = [net, args[0], [], None]
                stations.append(current)
                sock.sendall(b"OK\r\n")
            elif cmd == "SELECT":
                if current is None or not args or len(args[0]) > 8:
                    sock.sendall(b"ERROR\r\n")
                else:
                    current[2].append(args[0])
                    sock.sendall(b"OK\r\n")
            elif cmd in ("DATA", "FETCH", "TIME"):
                if current is None:
                    sock.sendall(b"ERROR\r\n")
                    continue
                try:
                    if cmd == "TIME":
                        action = ("TIME", _sl_time(args[0]),
                                  _sl_time(args[1]) if len(args) > 1 else None)
                    else:
                        action = (cmd, int(args[0], 16) if args else None, None)
                except (ValueError, IndexError):
                    sock.sendall(b"ERROR\r\n")
                    continue
                current[3] = action
                sock.sendall(b"OK\r\n")
            elif cmd == "INFO":
                sock.sendall(b"ERROR\r\n")
            elif cmd == "END":
                try:
                    self._stream(srv, sock, stations)
                except OSError:
                    pass
                return
            else:
                sock.sendall(b"ERROR\r\n")

    def _wanted(self, stations, rec: bytes):
        net, sta, loc, cha = _record_codes(rec)
        for snet, ssta, sels, action in stations:
            if fnmatch.fnmatchcase(net, snet) and fnmatch.fnmatchcase(sta, ssta) and \
                    (not sels or any(_selector_match(s, loc, cha) for s in sels)):
                return action or ("DATA", None, None)
        return None

    def _stream(self, srv, sock, stations):
        start_seq = srv.next_seq  # plain DATA: only packets published from now on
        finite = all(a is not None and (a[0] == "FETCH" or (a[0] == "TIME" and a[2] is not None))
                     for *_x, a in stations)
        seq = 0
        while True:
            with srv.cond:
                while seq >= len(srv.ring) and not finite and not srv.closing:
                    srv.cond.wait(0.2)
                if srv.closing:
                    return
                batch = srv.ring[seq:]
            for i, rec in enumerate(batch, start=seq):
                action = self._wanted(stations, rec)
                if action is None:
                    continue
                kind, arg, end = action
                if kind in ("DATA", "FETCH"):
                    if (arg is None and kind == "DATA" and i < start_seq) or \
                            (arg is not None and i < arg):
                        continue
                else:  # TIME window: records overlapping [arg, end)
                    if _record_end(rec) < arg or (end is not None and _btime(rec, 20) >= end):
                        continue
                if srv.truncate_after is not None and srv.sent >= srv.truncate_after:
                    sock.sendall(b"SL%06X" % i + rec[:100])
                    return  # connection dropped mid-packet
                sock.sendall(b"SL%06X" % i + rec)
                srv.sent += 1
                srv.packet_delay and time.sleep(srv.packet_delay)
            seq += len(batch)
            if finite:
                sock.sendall(b"END")
                while self.request.recv(4096):  # wait for the client to hang up
                    pass
                return


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SeedLinkServer:
    """SeedLink 3 test double on 127.0.0.1 (see module docstring).

    ``ring`` holds the records in sequence-number order (``SL%06X`` = index);
    :meth:`publish` appends records and wakes the real-time (``DATA``) connections.
    ``truncate_after``: after that many packets (server-wide), send half a packet and close.
    """

    def __init__(self, records: Iterable[bytes] = (), packet_delay: float = 0.0):
        self.ring: List[bytes] = list(records)
        self.cond = threading.Condition()
        self.commands: List[str] = []
        self.closing = False
        self.truncate_after: Optional[int] = None
        self.sent = 0
        self.packet_delay = packet_delay

    @property
    def next_seq(self) -> int:
        return len(self.ring)

    def publish(self, records: Iterable[bytes]) -> None:
        with self.cond:
            self.ring.extend(records)
            self.cond.notify_all()

    def start(self):
        self.tcp = serve_in_thread(self, _TCPServer, _SeedLinkHandler)
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.tcp.shutdown()
        self.tcp.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

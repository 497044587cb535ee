"""Station inventory from a StationXML file or an FDSN station service.

Import it from here (``seqt_plugins.io.records.inventory``): the package ``__init__`` does not
import it, because this reader opens ``fdsnws://`` sources with the package's
``open_record_stream`` and the two must not import each other.
"""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request

from .base import RecordStreamError, one_line


def load_inventory(source: str, *, level: str = "channel", timeout: float = 30.0, **query):
    """An obspy Inventory from ``source``.

    ``source`` is a StationXML path (or ``file://`` URL), an ``fdsnws[s]://host:port`` record
    stream URL (its station service is asked, with retries), or an ``http(s)://`` URL of a
    station query (fetched as is). Errors are RecordStreamError naming the source.
    """
    from obspy import Inventory, read_inventory

    source = os.fspath(source)
    if source.startswith(("fdsnws://", "fdsnwss://")):
        from . import open_record_stream

        rs = open_record_stream(source)
        return rs.get_inventory(level=level, **query)
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as resp:
                if resp.status == 204:
                    return Inventory(networks=[], source="seqt-plugins")
                data = resp.read()
        except urllib.error.HTTPError as exc:
            raise RecordStreamError(f"{source}: HTTP {exc.code} {one_line(exc.reason)}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RecordStreamError(f"{source}: {one_line(getattr(exc, 'reason', exc))}") from exc
        try:
            return read_inventory(io.BytesIO(data), format="STATIONXML")
        except Exception as exc:
            raise RecordStreamError(f"{source}: not valid StationXML: {one_line(exc)}") from exc
    path = source[len("file://"):] if source.startswith("file://") else source
    if not os.path.isfile(path):
        raise RecordStreamError(f"inventory file {path} not found")
    try:
        return read_inventory(path)
    except Exception as exc:
        raise RecordStreamError(f"{path}: not valid StationXML: {one_line(exc)}") from exc

"""Which stations and streams a module picks, from its bindings (the SeisComP way).

* Without any binding source (no ``--config-db``, no database, no ``etc/key`` directory) every
  stream matching ``streams.codes`` is picked, unless the module configuration sets
  ``detecEnable = false``.
* With a binding source, as scautopick: only stations with a binding of the module, and with
  ``detecEnable`` true (module configuration < global binding < module binding); on the
  stream of the global binding: ``detecLocid`` (location code; "" is the empty one) and
  ``detecStream`` (band and instrument code, e.g. ``HH``). Unset: every sensor of the station.

The thresholds of a station are ``Configuration.options("picker", network, station)``. The same selection is
applied in playback, archive reprocessing and real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class StationSelection:
    enabled: bool
    stream: str = ""  # detecStream: band + instrument code ("" = any)
    locid: Optional[str] = None  # detecLocid (None = any)
    reason: str = ""

    def selects(self, location: str, band: str) -> bool:
        if not self.enabled:
            return False
        if self.stream and band[:2] != self.stream[:2]:
            return False
        return self.locid is None or location == self.locid


class StationFilter:
    """:class:`StationSelection` per station of one configuration (cached)."""

    def __init__(self, config):
        self.config = config
        self._cache: Dict[Tuple[str, str], StationSelection] = {}

    @property
    def has_bindings(self) -> bool:
        return getattr(self.config, "bindings", None) is not None

    def station(self, network: str, station: str) -> StationSelection:
        key = (network, station)
        if key not in self._cache:
            self._cache[key] = self._select(network, station)
        return self._cache[key]

    def _select(self, network: str, station: str) -> StationSelection:
        bindings = self.config.bindings
        if bindings is None:
            enabled = bool(self.config.get("detecEnable", True))
            return StationSelection(enabled, reason="" if enabled else "detecEnable = false")
        if not bindings.has_module_binding(network, station):
            return StationSelection(False, reason=f"no {self.config.schema.name} binding")
        values = self.config.station_values(network, station)
        if not _true(values.get("detecEnable", True)):
            return StationSelection(False, reason="detecEnable = false")
        glob = bindings.global_values(network, station)
        stream = str(glob.get("detecStream") or "").strip()
        locid = glob.get("detecLocid")
        locid = None if locid is None else str(locid).strip()
        return StationSelection(True, stream, locid)

    def sensor(self, network: str, station: str, location: str, band: str) -> bool:
        return self.station(network, station).selects(location, band)

    def options_for(self, network: str, station: str):
        """The station's picker options (module configuration + bindings)."""
        return self.config.options("picker", network, station)


def _true(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0")
    return bool(value)

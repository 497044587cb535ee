"""Which stations and streams a module picks, from its bindings (the SeisComP way).

* Without any binding source (no ``--config-db``, no database, no ``etc/key`` directory) every
  stream matching ``streams.codes`` is picked, unless the module configuration sets
  ``detecEnable = false``.
* With a binding source, as scautopick: only stations with a binding of the module, and with
  ``detecEnable`` true (module configuration < global binding < module binding); on the
  stream of the global binding: ``detecLocid`` (location code; "" is the empty one) and
  ``detecStream`` (band and instrument code, e.g. ``HH``). Unset: every sensor of the station.

The thresholds of a station are ``Configuration.options("picker", network, station)``. A
station's :class:`StationSettings` (selection and thresholds together) are what
:class:`~seqt_plugins.picker.perstation.StationPicker`, the one picking core of playback,
archive reprocessing and real time (both shells), reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Tuple


@dataclass(frozen=True)
class StationSettings:
    """What a station's bindings decide: picked or not (and why), on which sensor, with which
    thresholds. The defaults pick everything with the module's thresholds."""

    enabled: bool = True
    stream: str = ""  # detecStream: band + instrument code ("" = any)
    locid: Optional[str] = None  # detecLocid (None = any, "" = the empty location code)
    options: Any = None  # the station's picker options group; None = the module's
    reason: str = ""  # why the station is not picked

    def selects(self, location: str, band: str) -> bool:
        """Whether a stream (location code, channel or band code) of the station is picked."""
        if not self.enabled:
            return False
        if self.stream and band[:2] != self.stream[:2]:
            return False
        return self.locid is None or location == self.locid

    def why_not(self, location: str, band: str) -> str:
        """Why a stream is not picked ('' when it is)."""
        if not self.enabled:
            return self.reason or "not enabled"
        if not self.selects(location, band):
            return f"detecLocid.detecStream {self.locid if self.locid is not None else '*'}.{self.stream or '*'}"
        return ""


#: The name of the settings before they carried the thresholds too.
StationSelection = StationSettings


class StationFilter:
    """:class:`StationSettings` per station of one configuration (cached); a ``settings_for``
    callable of :class:`~seqt_plugins.picker.perstation.StationPicker`."""

    def __init__(self, config):
        self.config = config
        self._cache: Dict[Tuple[str, str], StationSelection] = {}

    @property
    def has_bindings(self) -> bool:
        return getattr(self.config, "bindings", None) is not None

    def station(self, network: str, station: str) -> StationSettings:
        key = (network, station)
        if key not in self._cache:
            self._cache[key] = self._select(network, station)
        return self._cache[key]

    __call__ = station

    def _select(self, network: str, station: str) -> StationSettings:
        bindings = self.config.bindings
        options = self.config.options("picker", network, station)
        if bindings is None:
            enabled = bool(self.config.get("detecEnable", True))
            return StationSettings(enabled, options=options, reason="" if enabled else "detecEnable = false")
        if not bindings.has_module_binding(network, station):
            return StationSettings(False, options=options, reason=f"no {self.config.schema.name} binding")
        values = self.config.station_values(network, station)
        if not _true(values.get("detecEnable", True)):
            return StationSettings(False, options=options, reason="detecEnable = false")
        glob = bindings.global_values(network, station)
        stream = str(glob.get("detecStream") or "").strip()
        locid = glob.get("detecLocid")
        locid = None if locid is None else str(locid).strip()
        return StationSettings(True, stream, locid, options=options)

    def sensor(self, network: str, station: str, location: str, band: str) -> bool:
        return self.station(network, station).selects(location, band)

    def options_for(self, network: str, station: str):
        """The station's picker options (module configuration + bindings)."""
        return self.station(network, station).options

    def table(self, stations: Iterable[str]) -> Dict[str, StationSettings]:
        """``"NET.STA" -> StationSettings`` of ``stations`` (NET.STA[.LOC]): picklable, for workers."""
        out = {}
        for code in stations:
            net, sta = code.split(".")[:2]
            out[f"{net}.{sta}"] = self.station(net, sta)
        return out


def _true(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0")
    return bool(value)

"""Station bindings from SeisComP's configuration as SCML (``--config-db FILE``).

``seiscomp update-config`` stores the bindings of ``etc/key`` in the database as a ``Config``:
one ``module`` (``trunk`` unless ``--config-module``) with a ``station`` per bound station and,
in it, a ``setup`` per binding: ``default`` for the global binding, the module's name for its
own. Each setup points at a ``parameterSet`` (``baseID`` chains to the profile's set). The same
document is what ``bindings2cfg --key-dir etc/key -o cfg.xml`` writes and what scautopick
reads with ``--config-db cfg.xml``; this module reads it with lxml, any SCML version.

:class:`ConfigBindings` offers the interface of :class:`~seqt_plugins.config.layering.Bindings`
(``global_values``, ``module_values``, ``has_module_binding``, ``stations``, ``validate``).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

from .errors import ConfigError
from .layering import StationValues
from .schema import ModuleSchema

GLOBAL_SETUP = "default"


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class ConfigBindings(StationValues):
    """Bindings of ``schema``'s module read from an SCML Config document."""

    def __init__(self, schema: ModuleSchema, path: os.PathLike, config_module: str = "trunk"):
        from seqt_plugins.io.xml.common import safe_parser

        self.schema = schema
        self.path = str(path)
        self.config_module = config_module or "trunk"
        try:
            from lxml import etree

            root = etree.parse(self.path, safe_parser()).getroot()
        except OSError as exc:
            raise ConfigError(f"cannot read the configuration: {exc.strerror or exc}", self.path) from None
        except Exception as exc:
            raise ConfigError(f"not an SCML configuration: {str(exc).splitlines()[0]}", self.path) from None
        configs = [el for el in root if _local(el.tag) == "Config"]
        if _local(root.tag) != "seiscomp" or not configs:
            raise ConfigError("not an SCML configuration (no <seiscomp><Config>)", self.path)
        self._sets: Dict[str, Tuple[Optional[str], Dict[str, str]]] = {}
        # (network, station) -> {setup name: parameter set ID}, for enabled stations/setups
        self._stations: Dict[Tuple[str, str], Dict[str, str]] = {}
        found_module = False
        for config in configs:
            for el in config:
                tag = _local(el.tag)
                if tag == "parameterSet":
                    base, params = None, {}
                    for child in el:
                        ctag = _local(child.tag)
                        if ctag == "baseID":
                            base = (child.text or "").strip() or None
                        elif ctag == "parameter":
                            name = value = None
                            for item in child:
                                if _local(item.tag) == "name":
                                    name = (item.text or "").strip()
                                elif _local(item.tag) == "value":
                                    value = item.text or ""
                            if name:
                                params[name] = "" if value is None else value
                    self._sets[el.get("publicID", "")] = (base, params)
                elif tag == "module" and el.get("name") == self.config_module:
                    found_module = True
                    if not _enabled(el):
                        continue
                    for station in el:
                        if _local(station.tag) != "station" or not _enabled(station):
                            continue
                        key = (station.get("networkCode", ""), station.get("stationCode", ""))
                        setups = self._stations.setdefault(key, {})
                        for setup in station:
                            if _local(setup.tag) != "setup" or not _enabled(setup):
                                continue
                            for child in setup:
                                if _local(child.tag) == "parameterSetID":
                                    setups[setup.get("name", "")] = (child.text or "").strip()
        if not found_module:
            raise ConfigError(f"no configuration module {self.config_module!r} (see --config-module)", self.path)
        self._cache: Dict[Tuple[str, str], Tuple[Dict[str, Any], Dict[str, Any]]] = {}

    @classmethod
    def from_tables(cls, schema: ModuleSchema, where: str, config_module: str,
                    sets: Dict[str, Tuple[Optional[str], Dict[str, str]]],
                    stations: Dict[Tuple[str, str], Dict[str, str]]) -> "ConfigBindings":
        """The same bindings from tables already read elsewhere (SeisComP's ``configModule()``,
        see :mod:`seqt_plugins.host.sources`): ``sets`` parameter set ID -> (base ID, {name:
        value}), ``stations`` (network, station) -> {setup name: parameter set ID} of the
        enabled stations and setups. ``where`` names the source in error messages."""
        self = cls.__new__(cls)
        self.schema, self.path, self.config_module = schema, where, config_module
        self._sets, self._stations = dict(sets), dict(stations)
        self._cache = {}
        return self

    def _parameters(self, set_id: str, where: str, stop: Optional[str] = None) -> Dict[str, str]:
        """The parameters of a set and its bases (``baseID``), up to ``stop`` (excluded): a
        module's set has the station's global set as its base (bindings2cfg, update-config)."""
        chain, seen = [], set()
        while set_id and set_id != stop:
            if set_id in seen:
                raise ConfigError(f"parameter set {set_id} refers to itself through baseID", where)
            seen.add(set_id)
            if set_id not in self._sets:
                raise ConfigError(f"parameter set {set_id} not found", where)
            base, params = self._sets[set_id]
            chain.append(params)
            set_id = base
        merged: Dict[str, str] = {}
        for params in reversed(chain):  # the profile first, the station's own values last
            merged.update(params)
        return merged

    def _load(self, network: str, station: str):
        key = (network, station)
        if key in self._cache:
            return self._cache[key]
        setups = self._stations.get(key, {})
        where = f"{self.path} ({network}.{station})"
        glob_values: Dict[str, Any] = {}
        mod_values: Dict[str, Any] = {}
        if GLOBAL_SETUP in setups:
            for name, text in self._parameters(setups[GLOBAL_SETUP], where).items():
                glob_values[name] = text
        if self.schema.name in setups:
            allowed = {p.name: p for p in self.schema.binding_parameters()}
            own = self._parameters(setups[self.schema.name], where, stop=setups.get(GLOBAL_SETUP))
            for name, text in own.items():
                param = allowed.get(name)
                if param is None:
                    known = ", ".join(sorted(allowed)) or "none"
                    raise ConfigError(f"unknown binding key {name!r} for {self.schema.name} (known: {known})", where)
                items = [t.strip() for t in text.split(",")] if param.is_list else [text.strip()]
                mod_values[name] = param.convert(items, where)
        self._cache[key] = (glob_values, mod_values)
        return self._cache[key]

    def stations(self) -> List[Tuple[str, str]]:
        return sorted(self._stations)

    def has_module_binding(self, network: str, station: str) -> bool:
        return self.schema.name in self._stations.get((network, station), {})


def _enabled(el) -> bool:
    return (el.get("enabled", "true").strip().lower() not in ("false", "0"))

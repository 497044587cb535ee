"""Layered configuration, checked against the module's schema, and per-station bindings.

Layers, last wins, in the order SeisComP 7 reads them (so a file placed for SeisComP acts the
same here):

0. the schema's defaults (built in: an installed package needs no data file);
1. ``$SEISCOMP_ROOT/etc/defaults/global.cfg``, ``$SEISCOMP_ROOT/etc/defaults/<mod>.cfg``;
2. ``$SEISCOMP_ROOT/etc/global.cfg``, ``$SEISCOMP_ROOT/etc/<mod>.cfg`` (system);
3. ``~/.seiscomp/global.cfg``, ``~/.seiscomp/<mod>.cfg`` (user; ``$SEISCOMP_LOCAL_CONFIG``
   replaces ``~/.seiscomp``);
4. ``--config-file F``: as in SeisComP, F *replaces* layers 1–3 (only F is read, on top of the
   built-in defaults);
5. the command line: ``--picker.pThreshold=0.2`` and the options tied to a key
   (``-I`` → ``recordstream``, ``--model`` → ``picker.model``).

Every key any layer sets is checked when its file is read: an unknown key, a bad type, a value
outside ``range`` or ``values`` raises :class:`ConfigError` naming the key and ``FILE:LINE``. Keys
of SeisComP's global configuration (``agencyID``, ``logging.*``, ``connection.*``, ...) are
accepted in every file; in ``global.cfg`` files the keys of the other seqt modules are accepted
too, since every module reads those files.

Bindings (per-station overrides): SeisComP modules read bindings from the configuration database,
which ``seiscomp update-config`` fills from ``etc/key``. Without a database we read the same
``etc/key`` tree directly (``--bindings-dir``, default ``$SEISCOMP_ROOT/etc/key``):

* ``key/station_NET_STA`` lists the station's bindings: ``global:__HH``, ``seqtpick`` (→
  ``key/seqtpick/station_NET_STA``) or ``seqtpick:NAME`` (→ ``key/seqtpick/profile_NAME``);
* the binding files use cfg syntax; a module binding may set only the schema's binding keys;
* precedence: module configuration < global binding < module binding.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .cfgfile import Symbol, _split_items, _substitute, expand_builtins, parse_file
from .errors import ConfigError
from .schema import GLOBAL_PARAMETERS, ModuleSchema, Parameter, camel_case, is_global_key

_MISSING = object()
COMMAND_LINE = "command line"
DEFAULTS = "defaults"


def seiscomp_root(env: Optional[Mapping[str, str]] = None) -> Optional[Path]:
    env = os.environ if env is None else env
    root = env.get("SEISCOMP_ROOT")
    return Path(root) if root else None


def local_config_dir(env: Optional[Mapping[str, str]] = None) -> Path:
    env = os.environ if env is None else env
    local = env.get("SEISCOMP_LOCAL_CONFIG")
    return Path(local) if local else Path(env.get("HOME") or Path.home()) / ".seiscomp"


def config_files(module: str, config_file: Optional[os.PathLike] = None,
                 env: Optional[Mapping[str, str]] = None) -> List[Tuple[str, Path]]:
    """(layer name, path) of the files read, in order; missing optional files are left out.

    With ``config_file`` only that file is listed (it must exist).
    """
    if config_file is not None:
        return [("config-file", Path(config_file))]
    files = []
    root = seiscomp_root(env)
    if root is not None:
        files += [("defaults", root / "etc" / "defaults" / "global.cfg"),
                  ("defaults", root / "etc" / "defaults" / f"{module}.cfg"),
                  ("system", root / "etc" / "global.cfg"),
                  ("system", root / "etc" / f"{module}.cfg")]
    local = local_config_dir(env)
    files += [("user", local / "global.cfg"), ("user", local / f"{module}.cfg")]
    return [(layer, p) for layer, p in files if p.is_file()]


class Configuration:
    """The merged configuration of one module: typed values and where each came from."""

    def __init__(self, schema: ModuleSchema, appname: Optional[str] = None):
        self.schema = schema
        self.appname = appname or schema.name
        self.values: Dict[str, Any] = {}
        self.sources: Dict[str, str] = {}
        self.symbols: Dict[str, Symbol] = {}  # raw items, for ${key} substitution across layers
        self.files: List[Path] = []
        self.bindings: Optional[Bindings] = None
        for p in list(GLOBAL_PARAMETERS) + list(schema.parameters):
            if p.default is not None:
                self.values[p.name] = p.default
                self.sources[p.name] = DEFAULTS

    # -- loading ------------------------------------------------------------------------------
    def read_file(self, path: os.PathLike, foreign_keys: Iterable[str] = (),
                  env: Optional[Mapping[str, str]] = None) -> None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError("configuration file not found", str(path))
        before = dict(self.symbols)  # holds the old Symbols, so identity tells what is new
        parse_file(path, self.symbols, env=env)
        foreign = foreign_keys if isinstance(foreign_keys, _ForeignKeys) else set(foreign_keys)
        for name in [k for k in before if k not in self.symbols]:  # del key
            self._reset(name)
        for name, sym in self.symbols.items():
            if before.get(name) is not sym:
                self._set(name, sym.values, sym.where, foreign)
        self.files.append(path)

    def set_item(self, name: str, text: str, where: str = COMMAND_LINE) -> None:
        """Set one key from command-line text (``--picker.pThreshold=0.2``)."""
        param = self.parameter(name)
        if param is not None and not param.is_list:
            items = [text]  # -I sdsarchive:///a,/b needs no quotes on the command line
        else:
            items = _split_items(_substitute(text, self.symbols, os.environ, where), where)
        self.symbols[name] = Symbol(name, items, where, 0)
        self._set(name, items, where, ())

    def _set(self, name: str, items: Sequence[str], where: str, foreign: Iterable[str]) -> None:
        param = self.parameter(name)
        if param is None:
            if is_global_key(name) and name.split(".", 1)[0] not in self._own_groups():
                self.values[name] = list(items) if len(items) != 1 else items[0]
                self.sources[name] = where
                return
            if name in foreign:
                return
            raise ConfigError(f"unknown configuration key {name!r} for {self.schema.name}", where)
        self.values[name] = param.convert(items, where)
        self.sources[name] = where

    def _reset(self, name: str) -> None:
        for key in [k for k in self.values if k == name or k.startswith(name + ".")]:
            param = self.parameter(key)
            if param is not None and param.default is not None:
                self.values[key] = param.default
                self.sources[key] = DEFAULTS
            else:
                del self.values[key]
                del self.sources[key]

    def _own_groups(self) -> set:
        return {p.name.split(".", 1)[0] for p in self.schema.parameters if "." in p.name}

    def parameter(self, name: str) -> Optional[Parameter]:
        return self.schema.parameter(name)

    # -- access -------------------------------------------------------------------------------
    def get(self, name: str, default: Any = _MISSING) -> Any:
        """The typed value; string values have the @ROOTDIR@-style built-ins expanded."""
        if name not in self.values:
            if default is _MISSING:
                raise KeyError(f"configuration key {name!r} is not set")
            return default
        return self._expanded(self.values[name])

    def _expanded(self, value: Any) -> Any:
        if isinstance(value, str):
            return expand_builtins(value, self.appname)
        if isinstance(value, list):
            return [expand_builtins(v, self.appname) if isinstance(v, str) else v for v in value]
        return value

    def where(self, name: str) -> str:
        return self.sources.get(name, "")

    def __contains__(self, name: str) -> bool:
        return name in self.values

    # -- option groups ------------------------------------------------------------------------
    def options(self, group: str, network: Optional[str] = None, station: Optional[str] = None):
        """The typed options dataclass the schema registered as ``group``, from its keys.

        With ``network`` and ``station``, the station's bindings override the module values.
        The values were checked when read; strings have the built-ins expanded, as :meth:`get`.
        """
        cls = self.schema.groups.get(group)
        if cls is None:
            raise KeyError(f"{self.schema.name} has no option group {group!r} "
                           f"(known: {', '.join(self.schema.groups) or 'none'})")
        values = self.station_values(network, station) if station is not None else self.values
        kwargs = {}
        for f in dataclasses.fields(cls):
            key = f"{group}.{camel_case(f.name)}"
            if key in values:
                kwargs[f.name] = self._expanded(values[key])
        return cls(**kwargs)

    def station_values(self, network: Optional[str], station: Optional[str]) -> Dict[str, Any]:
        values = dict(self.values)
        if self.bindings is not None and station is not None:
            values.update(self.bindings.global_values(network or "", station))
            values.update(self.bindings.module_values(network or "", station))
        return values

    def dump(self) -> str:
        """``key = value  # source`` lines, for --debug output."""
        from .cfgfile import format_value

        return "\n".join(f"{k} = {format_value(v)}  # {self.sources.get(k, '')}"
                         for k, v in sorted(self.values.items()))


def load_configuration(schema: ModuleSchema, config_file: Optional[os.PathLike] = None,
                       overrides: Sequence[Tuple[str, str]] = (), env: Optional[Mapping[str, str]] = None,
                       appname: Optional[str] = None, bindings_dir: Optional[os.PathLike] = None,
                       other_schemas: Iterable[ModuleSchema] = ()) -> Configuration:
    """Read all layers (see the module docstring) and apply ``overrides`` (key, text)."""
    config = Configuration(schema, appname)
    foreign = _ForeignKeys()
    for other in other_schemas:
        if other.name != schema.name:
            foreign.update(p.name for p in other.parameters)
    for layer, path in config_files(config.appname, config_file, env):
        is_global = path.name == "global.cfg" and layer != "config-file"
        config.read_file(path, foreign_keys=foreign if is_global else (), env=env)
    for name, text in overrides:
        config.set_item(name, text)
    if bindings_dir is None:
        root = seiscomp_root(env)
        if root is not None and (root / "etc" / "key").is_dir():
            bindings_dir = root / "etc" / "key"
    if bindings_dir is not None:
        config.bindings = Bindings(schema, bindings_dir, env=env)
    return config


class _ForeignKeys(set):
    """Keys a ``global.cfg`` may set for other modules: the other seqt modules' keys, and any
    key under a group SeisComP's own modules keep in global.cfg (scolv's ``picker.filters`` is
    in SeisComP's shipped ``etc/defaults/global.cfg``; our ``picker`` group shares the name)."""

    SEISCOMP_GROUPS = frozenset({"picker"})

    def __contains__(self, name) -> bool:
        return super().__contains__(name) or str(name).split(".", 1)[0] in self.SEISCOMP_GROUPS


class StationValues:
    """The read side shared by every source of bindings: a subclass gives ``stations()`` and
    ``_load(network, station)`` → (global values, module values)."""

    def global_values(self, network: str, station: str) -> Dict[str, Any]:
        return dict(self._load(network, station)[0])

    def module_values(self, network: str, station: str) -> Dict[str, Any]:
        return dict(self._load(network, station)[1])

    def validate(self) -> None:
        """Read every station's bindings now, so errors surface at start-up."""
        for network, station in self.stations():
            self._load(network, station)


class Bindings(StationValues):
    """Per-station bindings read from an ``etc/key`` tree (see the module docstring)."""

    def __init__(self, schema: ModuleSchema, key_dir: os.PathLike, env: Optional[Mapping[str, str]] = None):
        self.schema = schema
        self.key_dir = Path(key_dir)
        self.env = env
        if not self.key_dir.is_dir():
            raise ConfigError("bindings directory not found", str(self.key_dir))
        self._cache: Dict[Tuple[str, str], Tuple[Dict[str, Any], Dict[str, Any]]] = {}

    def stations(self) -> List[Tuple[str, str]]:
        """(network, station) of every ``station_NET_STA`` file."""
        out = []
        for path in sorted(self.key_dir.glob("station_*")):
            parts = path.name.split("_", 2)
            if len(parts) == 3:
                out.append((parts[1], parts[2]))
        return out

    def _station_lines(self, network: str, station: str) -> List[Tuple[str, str, str]]:
        """(module, profile, where) per binding line of ``station_NET_STA``."""
        path = self.key_dir / f"station_{network}_{station}"
        if not path.is_file():
            return []
        out = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            module, _, profile = line.partition(":")
            out.append((module.strip(), profile.strip(), f"{path}:{number}"))
        return out

    def _binding_file(self, module: str, profile: str, network: str, station: str, where: str) -> Path:
        name = f"profile_{profile}" if profile else f"station_{network}_{station}"
        path = self.key_dir / module / name
        if not path.is_file():
            raise ConfigError(f"binding {module}{':' + profile if profile else ''} of {network}.{station}: "
                              f"{path} not found", where)
        return path

    def _load(self, network: str, station: str):
        key = (network, station)
        if key in self._cache:
            return self._cache[key]
        glob_values: Dict[str, Any] = {}
        mod_values: Dict[str, Any] = {}
        allowed = {p.name: p for p in self.schema.binding_parameters()}
        for module, profile, where in self._station_lines(network, station):
            if module == "global":
                path = self._binding_file(module, profile, network, station, where)
                for name, sym in parse_file(path, {}, env=self.env).items():
                    glob_values[name] = sym.values[0] if len(sym.values) == 1 else list(sym.values)
            elif module == self.schema.name:
                path = self._binding_file(module, profile, network, station, where)
                for name, sym in parse_file(path, {}, env=self.env).items():
                    param = allowed.get(name)
                    if param is None:
                        known = ", ".join(sorted(allowed)) or "none"
                        raise ConfigError(f"unknown binding key {name!r} for {self.schema.name} "
                                          f"(known: {known})", sym.where)
                    mod_values[name] = param.convert(sym.values, sym.where)
        self._cache[key] = (glob_values, mod_values)
        return self._cache[key]

    def has_module_binding(self, network: str, station: str) -> bool:
        """Whether ``station_NET_STA`` binds this module (``seqtpick`` or ``seqtpick:PROFILE``)."""
        return any(module == self.schema.name for module, _, _ in self._station_lines(network, station))


__all__ = ["Bindings", "Configuration", "config_files", "load_configuration", "local_config_dir",
           "seiscomp_root"]

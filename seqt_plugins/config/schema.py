"""One declaration per configuration parameter and command-line option.

A :class:`ModuleSchema` is the single source of a module's configuration: the shipped
``etc/defaults/<module>.cfg`` (:mod:`.cfgfile`), ``descriptions/<module>.xml``
(:mod:`.description`), the command line (:mod:`seqt_plugins.modules.app`) and the validation of
every value read from a cfg file, a binding or the command line (:mod:`.layering`) are all
generated from it, so they cannot drift apart.

Parameter names are SeisComP configuration keys: dotted, case-sensitive, camelCase
(``picker.detectionThreshold``). Most are fields of an options dataclass that a module registers
with its schema as an :class:`OptionGroup` (``OptionGroup("picker", PickerOptions)``:
``detection_threshold`` → ``picker.detectionThreshold``), so a field added there appears
everywhere without further edits, and :meth:`.layering.Configuration.options` hands the module
the typed dataclass back. This layer imports none of those classes: the modules name them.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import ConfigError

#: Types the values are checked against (SeisComP description XML type names).
SCALAR_TYPES = ("string", "boolean", "int", "uint", "double", "float", "file", "directory", "path",
                "host-with-port")
LIST_TYPES = tuple("list:" + t for t in SCALAR_TYPES)

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Parameter:
    """A configuration parameter: a dotted key, its type, default and documentation."""

    name: str
    type: str
    default: Any = None
    unit: str = ""
    description: str = ""
    values: str = ""  # allowed values, comma separated ("max,mean")
    range: str = ""  # "lo:hi", either side may be empty

    def __post_init__(self):
        if self.type not in SCALAR_TYPES + LIST_TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")
        if not self.name or any(not part for part in self.name.split(".")):
            raise ValueError(f"bad parameter name {self.name!r}")

    @property
    def is_list(self) -> bool:
        return self.type.startswith("list:")

    @property
    def item_type(self) -> str:
        return self.type[5:] if self.is_list else self.type

    def convert(self, items: Sequence[str], where: str = "") -> Any:
        """Typed value from the string items a cfg file or the command line gave.

        Raises :class:`ConfigError` (one line, naming ``where``) on a type, range or value error.
        """
        items = list(items)
        if self.is_list:
            return [self._convert_item(item, where) for item in items if item != "" or len(items) > 1]
        if len(items) != 1:
            raise ConfigError(f"{self.name}: expected one {self.type} value, got {len(items)}"
                              f" ({', '.join(map(repr, items))})", where)
        return self._convert_item(items[0], where)

    def _convert_item(self, text: str, where: str) -> Any:
        kind = self.item_type
        try:
            if kind == "boolean":
                low = text.strip().lower()
                if low in _TRUE:
                    value: Any = True
                elif low in _FALSE:
                    value = False
                else:
                    raise ValueError
            elif kind in ("int", "uint"):
                value = int(text, 0) if text.strip().lower().startswith(("0x", "0o", "0b")) else int(text)
                if kind == "uint" and value < 0:
                    raise ValueError
            elif kind in ("double", "float"):
                value = float(text)
                if not math.isfinite(value):  # nan, inf: no option means "unbounded" by inf
                    raise ValueError
            else:
                value = text
        except ValueError:
            raise ConfigError(f"{self.name}: {text!r} is not a valid {kind}", where) from None
        self.check(value, where)
        return value

    def check(self, value: Any, where: str = "") -> None:
        """Check one scalar value against ``values`` and ``range``."""
        if self.values:
            allowed = [v.strip() for v in self.values.split(",")]
            if str(value) not in allowed:
                raise ConfigError(f"{self.name}: {value!r} is not one of {', '.join(allowed)}", where)
        if self.range and isinstance(value, (int, float)) and not isinstance(value, bool):
            lo, _, hi = self.range.partition(":")
            if (lo.strip() and value < float(lo)) or (hi.strip() and value > float(hi)):
                raise ConfigError(f"{self.name}: {value!r} is outside the range {self.range}", where)


@dataclass(frozen=True)
class Option:
    """A command-line option of a module.

    Either a reference to a SeisComP standard option (``ref="generic#help"``, shown in the
    description XML as ``<optionReference>``), or a module option (``<option>``). ``argument``
    names the option's argument (``None``: a switch). ``param_ref`` ties the option to a
    configuration key: the option then sets that key with command-line precedence.
    """

    long_flag: str
    group: str
    description: str = ""
    flag: str = ""
    argument: Optional[str] = None
    param_ref: str = ""
    ref: str = ""  # e.g. "generic#help": a standard SeisComP option
    repeatable: bool = False  # -v -v
    choices: Tuple[str, ...] = ()


@dataclass(frozen=True)
class OptionGroup:
    """An options dataclass registered with a module's schema under a key prefix: its fields
    (declared with :func:`seqt_plugins.options.opt`) become the parameters ``name.camelCaseField``."""

    name: str
    cls: type

    def parameters(self) -> List[Parameter]:
        return parameters_from_dataclass(self.cls, self.name)


@dataclass
class ModuleSchema:
    """Everything a module's configuration, description and command line are generated from.

    ``parameters`` is given as parameters and :class:`OptionGroup` s, in the order the cfg file
    and the description list them; each group is expanded into its parameters, and ``groups``
    maps its name to its dataclass.
    """

    name: str
    description: str
    category: str = "Processing"
    parameters: List[Union[Parameter, OptionGroup]] = field(default_factory=list)
    #: Keys a per-station binding may set (a subset of ``parameters``' names).
    bindings: List[str] = field(default_factory=list)
    binding_description: str = ""
    options: List[Option] = field(default_factory=list)
    inherit_global_bindings: bool = True
    synopsis: str = ""
    groups: Dict[str, type] = field(default_factory=dict, init=False)

    def __post_init__(self):
        params: List[Parameter] = []
        for item in self.parameters:
            if isinstance(item, OptionGroup):
                if item.name in self.groups:
                    raise ValueError(f"{self.name}: option group {item.name} registered twice")
                self.groups[item.name] = item.cls
                params += item.parameters()
            else:
                params.append(item)
        self.parameters = params
        names = [p.name for p in self.parameters]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"{self.name}: duplicate parameters {sorted(dup)}")
        for key in self.bindings:
            if key not in names:
                raise ValueError(f"{self.name}: binding key {key} is not a parameter")
        for opt in self.options:
            if opt.param_ref and opt.param_ref not in names and opt.param_ref not in GLOBAL_PARAMETERS_BY_NAME:
                raise ValueError(f"{self.name}: option --{opt.long_flag} refers to unknown {opt.param_ref}")

    def parameter(self, name: str) -> Optional[Parameter]:
        for p in self.parameters:
            if p.name == name:
                return p
        return GLOBAL_PARAMETERS_BY_NAME.get(name)

    def binding_parameters(self) -> List[Parameter]:
        return [self.parameter(k) for k in self.bindings]


# --------------------------------------------------------------------------------------------
# Global parameters (SeisComP's global.xml). global.cfg files hold them, and a module's cfg may
# override them, so they are accepted everywhere. Only the ones we use are typed; the rest of
# SeisComP's global namespace is accepted by prefix (see ``is_global_key``).

GLOBAL_PARAMETERS: List[Parameter] = [
    Parameter("agencyID", "string", "GFZ", description="Agency ID written to creationInfo."),
    Parameter("author", "string", "@appname@@@@hostname@", description="Author written to creationInfo."),
    Parameter("datacenterID", "string", "GFZ", description="Data center ID."),
    Parameter("organization", "string", "Unset", description="Organization name."),
    Parameter("recordstream", "string", "", description="RecordStream URL (as -I)."),
    Parameter("database", "string", "", description="Database URL."),
    Parameter("plugins", "list:string", None, description="Plugins to load."),
    Parameter("logging.level", "int", 2, description="Log level: 1 error, 2 warning and summary, 3 info, 4 debug.",
              range="0:4"),
    Parameter("logging.file", "boolean", True, description="Log to a file."),
    Parameter("logging.syslog", "boolean", False, description="Log to syslog."),
    Parameter("connection.server", "string", "localhost/production", description="Messaging server."),
    Parameter("connection.username", "string", "", description="Messaging client name."),
    Parameter("connection.primaryGroup", "string", "", description="Primary messaging group."),
    Parameter("connection.subscriptions", "list:string", None, description="Subscribed groups."),
]
GLOBAL_PARAMETERS_BY_NAME = {p.name: p for p in GLOBAL_PARAMETERS}

#: Top-level names of SeisComP's global configuration that we accept without typing them.
GLOBAL_NAMESPACES = frozenset({
    "logging", "connection", "database", "recordstream", "plugins", "core", "processing",
    "amplitudes", "magnitudes", "module", "scripts", "cities", "citiesXML", "agencyID", "author",
    "datacenterID", "organization", "commands", "scheme", "map", "events", "eventlist", "eventedit",
    "sl", "routing", "detecStream", "detecLocid", "ttt", "inventory",
})


def is_global_key(name: str) -> bool:
    return name in GLOBAL_PARAMETERS_BY_NAME or name.split(".", 1)[0] in GLOBAL_NAMESPACES


# --------------------------------------------------------------------------------------------
# Deriving parameters from an options dataclass (an engine's or a module's).

def camel_case(snake: str) -> str:
    """``detection_threshold`` → ``detectionThreshold``; ``p_threshold`` → ``pThreshold``."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_PY_TYPES = {bool: "boolean", int: "int", float: "double", str: "string"}


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (list, tuple):  # List[str], Tuple[str, ...]
        return "list:" + _PY_TYPES.get(typing.get_args(tp)[0], "string")
    return _PY_TYPES.get(tp, "string")


def parameters_from_dataclass(cls: type, group: str) -> List[Parameter]:
    """One :class:`Parameter` per dataclass field, named ``group.camelCaseField``.

    The field's metadata (:func:`seqt_plugins.options.opt`) supplies ``description``, ``unit``,
    ``values``, ``range`` and optionally ``type`` to override the type derived from the annotation.
    """
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        if f.default is dataclasses.MISSING:  # the cfg defaults are written from it
            raise ValueError(f"{cls.__name__}.{f.name}: an option needs a default (declare it with opt())")
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        params.append(Parameter(
            name=f"{group}.{camel_case(f.name)}",
            type=meta.get("type") or _type_name(hints.get(f.name, str)),
            default=default,
            unit=meta.get("unit", ""),
            description=meta.get("description", ""),
            values=meta.get("values", ""),
            range=meta.get("range", ""),
        ))
    return params

"""The one way option groups are declared and overridden: the engines' (picker, re-picker,
associator) and the modules' own (streams, reprocess, output).

Each group is a dataclass whose fields carry ``metadata`` (description, unit, allowed values,
range); a module's schema registers the group under its key prefix
(:class:`seqt_plugins.config.schema.OptionGroup`) and derives the cfg keys, the description XML,
the command line and the validation from those fields. This module imports nothing of the
configuration layer, so the engines stay free of it.
"""

from __future__ import annotations

import math
from dataclasses import field, fields
from typing import Any, Dict, Mapping, Optional


def opt(default, description: str, unit: str = "", values: str = "", range: str = "", type: str = ""):
    """A dataclass field with the metadata the configuration schema reads.

    ``type`` overrides the SeisComP type derived from the annotation (``directory`` for a str).
    """
    return field(default=default, metadata={"description": description, "unit": unit, "values": values,
                                            "range": range, "type": type})


def option_values(cls, base: Optional[Any], overrides: Mapping[str, Any], what: str) -> Dict[str, Any]:
    """Field values of ``base`` (or ``cls()``) updated by keyword ``overrides``.

    An unknown keyword is a ``TypeError`` naming it, so a misspelt option never passes silently.
    """
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown {what} option(s): {', '.join(unknown)}")
    base = base if base is not None else cls()
    values = {f.name: getattr(base, f.name) for f in fields(cls)}
    values.update(overrides)
    return values


def check_declared(options: Any) -> None:
    """Check every field of an options dataclass against its declaration (``values``,
    ``range``; numbers must be finite): the one place these ranges are enforced for engines
    built in code. Values read from a configuration are checked the same way, from the same
    declarations, by :class:`seqt_plugins.config.schema.Parameter`. ValueError names the field.
    """
    for f in fields(options):
        value = getattr(options, f.name)
        allowed = f.metadata.get("values", "")
        if allowed and value is not None:
            choices = [v.strip() for v in allowed.split(",")]
            if str(value) not in choices:
                raise ValueError(f"{f.name} must be one of {', '.join(choices)}, not {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            raise ValueError(f"{f.name} must be a finite number, not {value}")
        lo, _, hi = f.metadata.get("range", "").partition(":")
        if (lo.strip() and value < float(lo)) or (hi.strip() and value > float(hi)):
            raise ValueError(f"{f.name} must be within [{lo.strip() or '-inf'}, {hi.strip() or 'inf'}], not {value}")

"""SeisComP cfg files: a parser that remembers where each value came from, and a writer.

Syntax, SeisComP 7's (the same files configure SeisComP's own modules, so nothing else is
accepted or rejected here):

* ``key = value``; keys are case-sensitive; dots form groups; ``a { b = 1 }`` is ``a.b = 1``
  (blocks nest and may share a line: ``a { b { c = 1 } }``); ``#`` starts a comment.
* A value is a comma-separated list. Double quotes keep commas, ``#`` and spaces
  (``"1,2"``); outside quotes ``\\,`` keeps a comma. A trailing ``\\`` continues the line.
* ``include "x.cfg"`` reads another file, relative to the including file; ``del key`` removes a
  key set earlier (and the keys below it).
* ``${key}`` is replaced by the value of a key set earlier (in this file or an earlier layer),
  else by the environment variable of that name: ``plugins = ${plugins}, x``.
* The built-ins ``@ROOTDIR@ @DATADIR@ @CONFIGDIR@ @LOGDIR@ @DEFAULTCONFIGDIR@
  @SYSTEMCONFIGDIR@ @appname@ @hostname@`` are expanded when a value is read
  (:func:`expand_builtins`), not when it is parsed, as SeisComP does.

The parser does no type checks; :mod:`.layering` checks every key and value against the schema.
"""

from __future__ import annotations

import os
import socket
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, MutableMapping, Optional, Tuple, Union

from .errors import ConfigError

PathLike = Union[str, os.PathLike]


@dataclass
class Symbol:
    """One configuration key as set in a file: its string items and where it was set."""

    name: str
    values: List[str]
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


Symbols = MutableMapping[str, Symbol]


# ---------------------------------------------------------------------------------------------
# Parsing

def parse_file(path: PathLike, symbols: Optional[Symbols] = None, env: Optional[Mapping[str, str]] = None,
               _stack: Tuple[str, ...] = ()) -> Symbols:
    """Parse a cfg file into ``symbols`` (updated in place and returned); later keys win."""
    symbols = {} if symbols is None else symbols
    path = Path(path)
    key = str(path.resolve())
    if key in _stack:
        raise ConfigError(f"include loop: {' -> '.join(_stack + (key,))}", str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    return parse_text(text, str(path), symbols, env=env, _stack=_stack + (key,))


def parse_text(text: str, filename: str = "<string>", symbols: Optional[Symbols] = None,
               env: Optional[Mapping[str, str]] = None, _stack: Tuple[str, ...] = ()) -> Symbols:
    symbols = {} if symbols is None else symbols
    env = os.environ if env is None else env
    groups: List[Tuple[str, int]] = []  # open blocks: (prefix, line)
    for lineno, line in _logical_lines(text):
        _parse_line(line, lineno, filename, groups, symbols, env, _stack)
    if groups:
        prefix, lineno = groups[-1]
        raise ConfigError(f"block {prefix!r} is not closed", f"{filename}:{lineno}")
    return symbols


def _logical_lines(text: str):
    """(first line number, text) of each line, continuation lines joined."""
    pending: List[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\") and not stripped.endswith("\\\\") and not _in_comment(stripped):
            pending.append(stripped[:-1])
            continue
        pending.append(raw)
        yield start, "".join(pending)
        pending = []
    if pending:
        yield start, "".join(pending)


def _in_comment(line: str) -> bool:
    """Whether the end of ``line`` lies inside a ``#`` comment."""
    quoted = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return True
        i += 1
    return False


_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:@$")


def _parse_line(line, lineno, filename, groups, symbols, env, stack):
    where = f"{filename}:{lineno}"
    pos, n = 0, len(line)
    while pos < n:
        while pos < n and line[pos].isspace():
            pos += 1
        if pos >= n or line[pos] == "#":
            return
        if line[pos] == "}":
            if not groups:
                raise ConfigError("'}' without an open block", where)
            groups.pop()
            pos += 1
            continue
        start = pos
        while pos < n and line[pos] in _NAME_CHARS:
            pos += 1
        word = line[start:pos]
        if not word:
            raise ConfigError(f"syntax error at {line[pos:].strip()[:30]!r}", where)
        while pos < n and line[pos].isspace():
            pos += 1
        nxt = line[pos] if pos < n else ""
        prefix = "".join(g + "." for g, _ in groups)
        if word in ("include", "del") and nxt not in ("=", "{"):
            raw, pos = _read_value(line, pos)
            items = _split_items(_substitute(raw, symbols, env, where), where)
            if len(items) != 1 or not items[0]:
                raise ConfigError(f"{word} needs one argument", where)
            if word == "include":
                target = Path(items[0])
                if not target.is_absolute():
                    target = Path(filename).parent / target
                parse_file(target, symbols, env, stack)
            else:
                name = prefix + items[0]
                for k in [k for k in symbols if k == name or k.startswith(name + ".")]:
                    del symbols[k]
            continue
        name = prefix + word
        if not _valid_name(word):
            raise ConfigError(f"invalid key {name!r}", where)
        if nxt == "{":
            groups.append((word, lineno))
            pos += 1
            continue
        if nxt != "=":
            raise ConfigError(f"expected '=' or '{{' after {name!r}", where)
        raw, pos = _read_value(line, pos + 1)
        items = _split_items(_substitute(raw, symbols, env, where), where)
        symbols.pop(name, None)  # a re-set key moves to the end: keeps "last wins" order visible
        symbols[name] = Symbol(name, items, filename, lineno)


def _valid_name(word: str) -> bool:
    return all(part and all(c.isalnum() or c in "_-" for c in part) for part in word.split("."))


def _read_value(line: str, pos: int) -> Tuple[str, int]:
    """The raw value text from ``pos`` to an unquoted ``#``, an unquoted ``}`` or the end."""
    out = []
    quoted = False
    n = len(line)
    while pos < n:
        ch = line[pos]
        if ch == "\\" and pos + 1 < n:
            out.append(line[pos:pos + 2])
            pos += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            if ch == "#":
                return "".join(out), n
            if ch == "$" and line.startswith("${", pos):
                end = line.find("}", pos)
                if end > 0:
                    out.append(line[pos:end + 1])
                    pos = end + 1
                    continue
            if ch == "}":
                return "".join(out), pos
        out.append(ch)
        pos += 1
    return "".join(out), pos


def _substitute(raw: str, symbols: Mapping[str, Symbol], env: Mapping[str, str], where: str) -> str:
    out = []
    pos = 0
    while True:
        i = raw.find("${", pos)
        if i < 0:
            out.append(raw[pos:])
            return "".join(out)
        if i > 0 and raw[i - 1] == "\\":  # \${ keeps the text
            out.append(raw[pos:i - 1] + "${")
            pos = i + 2
            continue
        end = raw.find("}", i)
        if end < 0:
            raise ConfigError("unterminated '${'", where)
        out.append(raw[pos:i])
        ref = raw[i + 2:end]
        if ref in symbols:
            out.append(", ".join(quote_item(v) for v in symbols[ref].values))
        elif ref in env:
            out.append(env[ref])
        else:
            raise ConfigError(f"${{{ref}}} is neither a key set earlier nor an environment variable", where)
        pos = end + 1


def _split_items(raw: str, where: str) -> List[str]:
    """Comma-separated items; quotes and ``\\,`` keep commas; unquoted ends are trimmed."""
    items: List[str] = []
    chars: List[Tuple[str, bool]] = []  # (char, protected from trimming)
    quoted = False
    seen_any = False
    i, n = 0, len(raw)

    def flush():
        a, b = 0, len(chars)
        while a < b and not chars[a][1] and chars[a][0].isspace():
            a += 1
        while b > a and not chars[b - 1][1] and chars[b - 1][0].isspace():
            b -= 1
        items.append("".join(c for c, _ in chars[a:b]))
        chars.clear()

    while i < n:
        ch = raw[i]
        if ch == "\\" and i + 1 < n:
            nxt = raw[i + 1]
            if quoted and nxt in '"\\':
                chars.append((nxt, True))
            elif not quoted and nxt in ",\\\"#{} ":
                chars.append((nxt, True))
            else:
                chars.append((ch, True))
                chars.append((nxt, True))
            i += 2
            seen_any = True
            continue
        if ch == '"':
            quoted = not quoted
            seen_any = True
            chars.append(("", True))  # marks an explicitly empty item: ""
        elif ch == "," and not quoted:
            flush()
        else:
            chars.append((ch, quoted))
            if not ch.isspace():
                seen_any = True
        i += 1
    if quoted:
        raise ConfigError("unterminated quoted string", where)
    if not seen_any and not items:
        return []
    flush()
    return items


def expand_builtins(text: str, appname: str = "", root: Optional[str] = None) -> str:
    """Expand ``@ROOTDIR@``-style built-ins in one value (as SeisComP's Environment does)."""
    if "@" not in text:
        return text
    root = root or os.environ.get("SEISCOMP_ROOT") or str(Path.home() / "seiscomp")
    local = os.environ.get("SEISCOMP_LOCAL_CONFIG") or str(Path.home() / ".seiscomp")
    table = {
        "@ROOTDIR@": root,
        "@DATADIR@": os.path.join(root, "share"),
        "@CONFIGDIR@": local,
        "@LOGDIR@": os.path.join(local, "log"),
        "@DEFAULTCONFIGDIR@": os.path.join(root, "etc", "defaults"),
        "@SYSTEMCONFIGDIR@": os.path.join(root, "etc"),
        "@KEYDIR@": os.path.join(root, "etc", "key"),
        "@appname@": appname,
        "@hostname@": socket.gethostname(),
        "@@": "@",  # an escaped literal @: "@appname@@@@hostname@" is "app@host"
    }
    out = []
    i = 0
    while i < len(text):
        if text[i] == "@":
            for token, value in table.items():
                if text.startswith(token, i):
                    out.append(value)
                    i += len(token)
                    break
            else:
                out.append("@")
                i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Writing

_NEEDS_QUOTES = set(' ,#"{}\\=$\t')


def quote_item(item: str) -> str:
    """One list item as cfg text, quoted when it would not survive unquoted."""
    if item and not (set(item) & _NEEDS_QUOTES):
        return item
    return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_value(value: Any) -> str:
    """A typed value as cfg text (the inverse of parsing plus :meth:`Parameter.convert`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return quote_item(str(value))


def write_defaults(schema, width: int = 96) -> str:
    """The text of ``etc/defaults/<module>.cfg``: every parameter, documented, with its default."""
    lines = [
        f"# Defaults of {schema.name}. Generated from the configuration schema by",
        "# `python -m seqt_plugins.modules.generate`: do not edit; change the schema instead.",
        "# Override in $SEISCOMP_ROOT/etc/" + schema.name + ".cfg or ~/.seiscomp/" + schema.name + ".cfg.",
    ]
    for p in schema.parameters:
        lines.append("")
        doc = p.description.strip()
        extras = []
        if p.unit:
            extras.append(f"Unit: {p.unit}.")
        if p.values:
            extras.append(f"Values: {p.values}.")
        if p.range:
            extras.append(f"Range: {p.range}.")
        text = " ".join([doc] + extras).strip()
        for wrapped in textwrap.wrap(text, width - 2) or [""]:
            lines.append(("# " + wrapped).rstrip())
        if p.default is None:
            lines.append(f"# {p.name} =")
        else:
            lines.append(f"{p.name} = {format_value(p.default)}")
    return "\n".join(lines) + "\n"


def symbols_as_dict(symbols: Mapping[str, Symbol]) -> Dict[str, List[str]]:
    return {k: list(s.values) for k, s in symbols.items()}

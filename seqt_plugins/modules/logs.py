"""One logging setup for all five tools: SeisComP's line format on stderr, one verbosity scale.

Lines look like ``2024/03/01 10:15:02 [info/seqtpick] text``; stdout carries XML only.
Verbosity: 0 quiet, 1 error, 2 warning (the default), 3 info, 4 debug, set by ``--verbosity N``,
``-v`` (repeated), ``--debug`` or ``-q``, as in SeisComP.

Why a NOTICE level: at SeisComP's default verbosity a run that succeeds would print nothing, and
the user could not tell "nothing found" from "nothing done". So each run ends with one summary
line (``picked 12 P and 9 S on 4 sensors in 3.2 s``) logged as ``notice``, the level SeisComP
has between info and warning; verbosity 2 shows it with the warnings and errors, ``-q`` or
``--verbosity 1`` hide it. No other line uses that level.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import time
from typing import Any, Iterable, List, Optional, Tuple

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")

LOG_FORMAT = "%(asctime)s [%(sclevel)s/%(component)s] %(message)s"
LOG_DATEFMT = "%Y/%m/%d %H:%M:%S"
#: verbosity → the lowest level shown
LEVELS = {0: logging.CRITICAL + 10, 1: logging.ERROR, 2: NOTICE, 3: logging.INFO, 4: logging.DEBUG}
DEFAULT_VERBOSITY = 2

#: Libraries whose own log lines only show at debug level.
_NOISY = ("tensorflow", "absl", "matplotlib", "h5py", "PIL")


class SeisComPFormatter(logging.Formatter):
    """``date [level/component] message``, the level in lower case as SeisComP writes it."""

    def __init__(self, component: str, print_component: bool = True):
        super().__init__(LOG_FORMAT if print_component else LOG_FORMAT.replace("/%(component)s", ""), LOG_DATEFMT)
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        record.sclevel = {"CRITICAL": "error", "WARN": "warning"}.get(record.levelname, record.levelname.lower())
        record.component = self.component
        return super().format(record)


def install_handlers(component: str, verbosity: int, stream, *, console: bool = True,
                     log_file: Optional[str] = None, print_component: bool = True,
                     syslog: bool = False) -> List[logging.Handler]:
    """Attach the console (``stream``), file and syslog handlers to the root logger; the caller
    removes them with :func:`remove_handlers`. OSError when ``log_file`` cannot be opened."""
    verbosity = max(0, min(4, verbosity))
    formatter = SeisComPFormatter(component, print_component)
    handlers: List[logging.Handler] = []
    if console:
        handlers.append(logging.StreamHandler(stream))
        handlers[-1].setFormatter(formatter)
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        handlers[-1].setFormatter(formatter)
    if syslog and os.path.exists("/dev/log"):
        from logging.handlers import SysLogHandler

        handlers.append(SysLogHandler(address="/dev/log"))
        handlers[-1].setFormatter(logging.Formatter(f"{component}: [%(levelname)s] %(message)s"))
    root = logging.getLogger()
    for h in handlers:
        h.setLevel(LEVELS[verbosity])
        root.addHandler(h)
    # warnings still reach other handlers (pytest's caplog) when the console is quieter
    root.setLevel(min(LEVELS[verbosity], logging.WARNING))
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 4 else logging.ERROR)
    return handlers


def remove_handlers(handlers: Iterable[logging.Handler]) -> None:
    for h in handlers:
        logging.getLogger().removeHandler(h)
        h.close()


def _switch(value: Optional[str], default: bool) -> bool:
    """SeisComP's 0/1 option values (``--console 0``, ``--print-component 1``)."""
    if value is None:
        return default
    return str(value).strip().lower() not in ("0", "false", "no")


# -- the standalone tools (argparse: seqt-xml, seqt-train) ----------------------------------------
def add_verbosity_arguments(parser: argparse.ArgumentParser) -> None:
    """The modules' Verbosity options (same flags and help as their schema declares)."""
    from seqt_plugins.config.modules import verbosity_options

    group = parser.add_argument_group("Verbosity")
    for opt in verbosity_options():
        if opt.long_flag == "lockfile":  # a process lock, not logging: the modules only
            continue
        add_schema_option(group, opt)


def add_schema_option(group, opt) -> None:
    """One command-line option of the schema (flags, help, counting/switch/argument) in argparse."""
    flags = ([f"-{opt.flag}"] if opt.flag else []) + ([f"--{opt.long_flag}"] if opt.long_flag != opt.flag else [])
    kwargs: dict = {"dest": opt.long_flag.replace("-", "_"), "help": opt.description}
    if opt.repeatable:
        kwargs.update(action="count", default=0)
    elif opt.argument is None:
        kwargs.update(action="store_true")
    else:
        kwargs.update(metavar=opt.argument.upper(), default=None)
        if opt.choices:
            kwargs["choices"] = list(opt.choices)
    group.add_argument(*flags, **kwargs)


def verbosity_of(args, level: int = DEFAULT_VERBOSITY) -> int:
    """The verbosity the options ask for, from ``level`` (a configured one, or the default)."""
    text = getattr(args, "verbosity", None)
    if text is not None:
        try:
            level = int(text)
        except ValueError:
            pass
    level += getattr(args, "v", 0) or 0
    if getattr(args, "debug", False):
        level = 4
    if getattr(args, "quiet", False):
        level = 0
    return max(0, min(4, level))


def handlers_for(component: str, args, stream, verbosity: int, syslog: bool = False) -> List[logging.Handler]:
    """:func:`install_handlers` with the Verbosity options of ``args`` (--console, --log-file,
    --print-component, --syslog; --debug forces the console on)."""
    console = _switch(getattr(args, "console", None), True) or bool(getattr(args, "debug", False))
    return install_handlers(component, verbosity, stream, console=console,
                            log_file=getattr(args, "log_file", None),
                            print_component=_switch(getattr(args, "print_component", None), True),
                            syslog=syslog or bool(getattr(args, "syslog", False)))


# -- what the tools log ---------------------------------------------------------------------------
def log_summary(log: logging.Logger, started: float, fmt: str, *args: Any) -> None:
    """The run's one summary line, shown at the default verbosity; ``in T s`` appended, T the
    wall time since ``started`` (``time.monotonic()``)."""
    log.log(NOTICE, fmt + " in %.1f s", *args, time.monotonic() - started, stacklevel=2)


def phase_counts(picks: Iterable[Any]) -> Tuple[int, int]:
    """(P picks, S picks) by phase hint."""
    p = s = 0
    for pick in picks:
        phase = (getattr(pick, "phase_hint", None) or "").upper()
        p += phase.startswith("P")
        s += phase.startswith("S")
    return p, s


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return '""'
    if isinstance(value, (list, tuple)):
        return ",".join(_value_text(v) for v in value)
    text = str(value)
    return text if text and not any(c.isspace() or c == '"' for c in text) else '"%s"' % text.replace('"', '\\"')


def options_text(options: Any, group: str) -> str:
    """An options dataclass as ``group.key=value`` pairs, sorted, space-separated: the keys are
    the configuration keys (``picker.pThreshold=0.3``), so a value can be copied to a command line."""
    from seqt_plugins.config.schema import camel_case

    pairs = sorted((f"{group}.{camel_case(f.name)}", getattr(options, f.name)) for f in dataclasses.fields(options))
    return " ".join(f"{key}={_value_text(value)}" for key, value in pairs)

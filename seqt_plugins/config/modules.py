"""SeisComP's standard command-line options and the messaging keys, shared by the modules.

The modules' schemas (:mod:`seqt_plugins.modules.schemas`) combine these with their own option
groups; this layer knows none of those groups' classes.
"""

from __future__ import annotations

from typing import List

from .schema import Option, Parameter

# ---------------------------------------------------------------------------------------------
# Command-line options shared by the modules. Those with ``ref`` are SeisComP standard options
# (documented in SeisComP's global.xml and only referenced by our description XML).


def generic_options() -> List[Option]:
    return [
        Option("help", "Generic", "Show help and exit.", flag="h", ref="generic#help"),
        Option("version", "Generic", "Show the version and exit.", flag="V", ref="generic#version"),
        Option("config-file", "Generic", "Read the configuration from this file only, instead of the "
               "default layers (defaults, system, user).", argument="arg", ref="generic#config-file"),
        Option("plugins", "Generic", "Plugins to load (accepted for compatibility; none are used).",
               argument="arg", ref="generic#plugins", param_ref="plugins"),
        Option("daemon", "Generic", "Run as daemon: detach from the terminal into the background (log to "
               "--log-file or syslog, as the console is gone).", flag="D", ref="generic#daemon"),
        Option("dump-config", "Generic", "Print the merged configuration (key = value  # source) and exit."),
    ]


def verbosity_options() -> List[Option]:
    return [
        Option("verbosity", "Verbosity",
               "Verbosity level: 0 quiet, 1 error, 2 warning and the summary line (default), 3 info, 4 debug.",
               argument="arg", ref="verbosity#verbosity", param_ref="logging.level"),
        Option("v", "Verbosity", "Increase the verbosity level (may be repeated, e.g. -vv).", flag="v",
               ref="verbosity#v", repeatable=True),
        Option("quiet", "Verbosity", "Quiet mode: no logging output.", flag="q", ref="verbosity#quiet"),
        Option("console", "Verbosity", "Send log output to stderr (1) or not (0).", argument="arg",
               ref="verbosity#console"),
        Option("debug", "Verbosity", "Debug mode: --verbosity=4 --console=1.", ref="verbosity#debug"),
        Option("log-file", "Verbosity", "Also log to this file.", argument="arg", ref="verbosity#log-file"),
        Option("print-component", "Verbosity", "Show the component in log lines (1, default) or not (0).",
               argument="arg", ref="verbosity#print-component"),
        Option("syslog", "Verbosity", "Log to syslog (/dev/log).", flag="s", ref="verbosity#syslog",
               param_ref="logging.syslog"),
        Option("lockfile", "Verbosity", "Lock file: hold an exclusive lock on it (and write the process ID); "
               "exit with 5 when another process holds it.", flag="l", argument="arg", ref="verbosity#lockfile"),
    ]


def database_options() -> List[Option]:
    """SeisComP's standard database options. Without SeisComP's Python API only files can be
    read: --inventory-db and --config-db take SCML files (the offline way, as scautopick)."""
    return [
        Option("database", "Database", "Database URL (mysql://u:p@host/db, sqlite3:///abs.db) for the "
               "inventory and the bindings; read through SeisComP's Python API.", flag="d", argument="arg",
               ref="database#database", param_ref="database"),
        Option("config-module", "Database", "The configuration module whose station bindings are read "
               "(default trunk).", argument="arg", ref="database#config-module"),
        Option("inventory-db", "Database", "Inventory from this file (SCML or FDSN StationXML) instead of "
               "the database.", argument="arg", ref="database#inventory-db"),
        Option("config-db", "Database", "Station bindings from this SCML Config file (as bindings2cfg -o "
               "writes it) instead of the database.", argument="arg", ref="database#config-db"),
        Option("db-disable", "Database", "Do not use the database (inventory and bindings only from "
               "--inventory-db/--config-db or files).", ref="database#db-disable"),
    ]


def records_options() -> List[Option]:
    return [
        Option("record-url", "Records", "RecordStream URL: file:///x.mseed (or a path, - for stdin), "
               "sdsarchive:///a,/b, fdsnws://host:port, slink://host:port, combined://...",
               flag="I", argument="arg", ref="records#record-url", param_ref="recordstream"),
        Option("record-file", "Records", "Read records from this file (as -I file://FILE).", argument="arg",
               ref="records#record-file"),
        Option("record-type", "Records", "Type of the records of --record-file: mseed (the only one read).",
               argument="arg", ref="records#record-type"),
    ]


def messaging_options() -> List[Option]:
    """SeisComP's standard messaging options; used only when seiscomp.client is importable."""
    return [
        Option("user", "Messaging", "Client name used when connecting to the messaging server.", flag="u",
               argument="arg", ref="messaging#user", param_ref="connection.username"),
        Option("host", "Messaging", "Messaging server (host[:port][/queue]).", flag="H", argument="arg",
               ref="messaging#host", param_ref="connection.server"),
        Option("primary-group", "Messaging", "The primary group of the connection.", flag="g",
               argument="arg", ref="messaging#primary-group", param_ref="connection.primaryGroup"),
        Option("subscribe-group", "Messaging", "A group to subscribe to (accepted; nothing is received).",
               flag="S", argument="arg", ref="messaging#subscribe-group", param_ref="connection.subscriptions"),
    ]


def messaging_parameters(amplitudes: bool = True) -> List[Parameter]:
    params = [Parameter("messaging.pickGroup", "string", "PICK",
                        description="Messaging group the picks are sent to (messaging mode only: "
                                    "without --offline, -o or --ep and with SeisComP's Python API).")]
    if amplitudes:
        params.append(Parameter("messaging.amplitudeGroup", "string", "AMPLITUDE",
                                description="Messaging group the pick amplitudes (snr) are sent to."))
    return params

"""The schemas of the shipped modules: ``seqtpick`` and ``seqtrepick``.

Each is built by a function, at import time of the caller, from the engine option dataclasses,
so a field added to :class:`~seqt_plugins.picker.options.PickerOptions` appears in the cfg
defaults, the description XML, the command line (``--picker.newField=...``) and the validation
with no edit here (then run ``python -m seqt_plugins.config.generate``).
"""

from __future__ import annotations

from typing import Dict, List

from .schema import ModuleSchema, Option, Parameter, parameters_from_dataclass

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
        Option("verbosity", "Verbosity", "Verbosity level: 0 quiet, 1 error, 2 warning, 3 info, 4 debug.",
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


def output_options() -> List[Option]:
    return [
        Option("output", "Output", "Write the event parameters to this file (atomically) instead of "
               "stdout.", flag="o", argument="file"),
        Option("format", "Output", "Event parameters format.", argument="arg", param_ref="output.format",
               choices=("scml", "quakeml")),
        Option("scml-version", "Output", "SCML schema version written.", argument="arg",
               param_ref="output.scmlVersion"),
        Option("formatted", "Output", "Pretty-print the XML.", flag="f", param_ref="output.formatted"),
    ]


def output_parameters() -> List[Parameter]:
    return [
        Parameter("output.format", "string", "scml", values="scml,quakeml",
                  description="Format of the event parameters written with --ep: SeisComP XML or QuakeML 1.2."),
        Parameter("output.scmlVersion", "string", "0.13", values="0.11,0.12,0.13,0.14",
                  description="SCML schema version written (0.12 for SeisComP 5, 0.13 for 6, 0.14 for 7)."),
        Parameter("output.formatted", "boolean", False, description="Indent the XML output."),
    ]


# ---------------------------------------------------------------------------------------------
# seqtpick

PICKER_BINDING_KEYS = ("detecEnable", "picker.detectionThreshold", "picker.pThreshold", "picker.sThreshold")


def seqtpick_schema() -> ModuleSchema:
    from seqt_plugins.picker.options import PickerOptions

    params = [
        Parameter("detecEnable", "boolean", True,
                  description="Pick this station (a binding key, as scautopick's). Once any binding source "
                              "is given (--config-db, the database, or an etc/key directory), only stations "
                              "with a seqtpick binding and detecEnable true are picked, on the stream of "
                              "the global binding's detecLocid.detecStream (every sensor when unset)."),
        Parameter("leadTime", "int", 60, unit="s", range="0:",
                  description="Without playback (and without --begin), data older than the start time minus "
                              "leadTime are not picked, as in scautopick."),
        Parameter("playback", "boolean", False,
                  description="Pick the record stream as it is, however old its data (as scautopick's "
                              "--playback); needed for recorded files unless --begin is given."),
        Parameter("calculateAmplitudes", "boolean", True,
                  description="Write and send each pick's snr amplitude (linear ratio, as scautopick; "
                              "scautoloc's minPickSNR reads it)."),
    ]
    params += parameters_from_dataclass(PickerOptions, "picker")
    params += [
        Parameter("streams.codes", "list:string", ["*"],
                  description="Streams to pick, as NET.STA.LOC.CHA patterns with wildcards (* ?). The "
                              "three components of a sensor are picked together, so the last letter of "
                              "the channel code is ignored."),
        Parameter("streams.minDuration", "double", 60.0, unit="s", range="0:",
                  description="Streams shorter than this (one EqT window) are skipped."),
        Parameter("streams.perCall", "int", 16, range="1:",
                  description="Sensors read and picked together: their windows share the model's "
                              "batches. Bounds the memory of long runs."),
        Parameter("reprocess.outputDir", "directory", "seqtpick-reprocess",
                  description="Archive reprocessing (--stations): one XML file per station-day and the "
                              "ledger (ledger.sqlite) that lets a rerun resume where a run stopped."),
        Parameter("reprocess.shardLength", "double", 86400.0, unit="s", range="60:",
                  description="Length of one reprocessing task (a station-day by default)."),
        Parameter("reprocess.retries", "int", 3, range="0:",
                  description="Retries of a failed fetch before the station-day is recorded as failed."),
        Parameter("reprocess.backoff", "double", 1.0, unit="s", range="0:",
                  description="First retry delay; doubled at each retry."),
        Parameter("reprocess.timeout", "double", 120.0, unit="s", range="1:",
                  description="Timeout of one request to a record stream server."),
        Parameter("reprocess.workers", "int", 1, range="1:",
                  description="Station-days processed in parallel; more than 1 runs Ray actors (a local "
                              "Ray instance unless reprocess.cluster is set)."),
        Parameter("reprocess.cluster", "string", "",
                  description="Ray cluster to join: 'auto' or 'ray://host:port'. Empty: local."),
    ]
    params += output_parameters() + messaging_parameters()
    options = generic_options() + verbosity_options() + messaging_options() + database_options() + \
        records_options() + [
        Option("inventory-xml", "Input", "Station inventory as FDSN StationXML (or SCML) file.",
               argument="file"),
        Option("bindings-dir", "Input", "Directory laid out as $SEISCOMP_ROOT/etc/key (station_NET_STA "
               "files, seqtpick/ and global/ binding files) for per-station thresholds. Default: "
               "$SEISCOMP_ROOT/etc/key when it exists.", argument="dir"),
        Option("begin", "Input", "Start time of the data to process (ISO 8601).", argument="time"),
        Option("end", "Input", "End time of the data to process (ISO 8601).", argument="time"),
        Option("offline", "Mode", "Do not connect to a messaging server (messaging needs SeisComP's "
               "Python API, seiscomp.client; without it the module runs offline)."),
        Option("playback", "Mode", "Playback: pick the records as they are, however old. Without it (and "
               "without --begin) picking starts at now - leadTime, as scautopick.", param_ref="playback"),
        Option("amplitudes", "Mode", "Compute the picks' snr amplitudes (1, default) or not (0).",
               argument="arg", param_ref="calculateAmplitudes"),
        Option("ep", "Mode", "Offline: write all picks as event parameters XML to stdout (or -o FILE) "
               "at exit, as scautopick --ep."),
        Option("test", "Mode", "Test mode: pick but send nothing."),
        Option("model", "Picker", "EqT weights: original, conservative or an .h5 file.", argument="arg",
               param_ref="picker.model"),
        Option("plot", "Output", "Write a PNG per detection (three components and the D/P/S "
               "probability traces) into this directory.", argument="dir"),
        Option("stations", "Reprocess", "Reprocess these stations (NET.STA or NET.STA.LOC, comma "
               "separated) over --begin/--end by station-days, resumably (see reprocess.*); -o then "
               "receives all picks merged.", argument="list"),
        Option("output-dir", "Reprocess", "Directory of the station-day files and the ledger.",
               argument="dir", param_ref="reprocess.outputDir"),
        Option("workers", "Reprocess", "Station-days in parallel (Ray actors when more than 1).",
               argument="n", param_ref="reprocess.workers"),
        Option("cluster", "Reprocess", "Ray cluster to join: auto or ray://host:port.", argument="address",
               param_ref="reprocess.cluster"),
    ] + output_options()
    return ModuleSchema(
        name="seqtpick",
        description="Phase picker using the EQTransformer deep-learning model (EqT): detects "
                    "earthquakes and picks P and S arrivals on three-component streams. Mirrors "
                    "scautopick: --ep writes the picks as event parameters XML.",
        category="Processing",
        parameters=params,
        bindings=list(PICKER_BINDING_KEYS),
        binding_description="Per-station thresholds of seqtpick. Unset keys take the module "
                            "configuration's value.",
        options=options,
        synopsis="seqtpick [options]",
    )


# ---------------------------------------------------------------------------------------------
# seqtrepick

def seqtrepick_schema() -> ModuleSchema:
    from seqt_plugins.repicker.options import RepickerOptions

    params = parameters_from_dataclass(RepickerOptions, "repicker") + output_parameters()
    params += messaging_parameters(amplitudes=False)
    options = generic_options() + verbosity_options() + messaging_options() + database_options() + \
        records_options() + [
        Option("inventory-xml", "Input", "Station inventory as FDSN StationXML (or SCML) file; its "
               "coordinates enable the geometric search windows.", argument="file"),
        Option("ep", "Input", "Event parameters (SCML or QuakeML) with origins and their associated "
               "picks to re-pick around; - for stdin. Without --ep, as screpick, stdin is read when "
               "it is a file or a pipe.", argument="file"),
        Option("offline", "Mode", "Do not connect to a messaging server (messaging needs SeisComP's "
               "Python API, seiscomp.client; without it the module runs offline)."),
        Option("mode", "Repicker", "Re-picking method: correlation or siamese.", argument="arg",
               param_ref="repicker.mode"),
        Option("plot", "Output", "Write a PNG per origin (record section with template picks and "
               "re-picks) into this directory.", argument="dir"),
    ] + output_options()
    return ModuleSchema(
        name="seqtrepick",
        description="Re-picker using Siamese EQTransformer (S-EqT): uses the confident picks of an "
                    "event as templates to find, in EqT's latent features, the arrivals EqT missed at "
                    "other stations, and adds them as picks (method S-EqT) and arrivals. Mirrors "
                    "screpick: reads --ep FILE (or stdin), writes the event parameters to stdout (or -o "
                    "FILE).",
        category="Processing",
        parameters=params,
        options=options,
        synopsis="seqtrepick [options] [--ep FILE] -I URL [< events.xml] [> out.xml]",
    )


# ---------------------------------------------------------------------------------------------
# seqt-catalog (a standalone tool: command, configuration and description share this name)

def seqtcatalog_schema() -> ModuleSchema:
    from seqt_plugins.catalog.options import AssociatorOptions
    from seqt_plugins.picker.options import PickerOptions
    from seqt_plugins.repicker.options import RepickerOptions

    params = parameters_from_dataclass(AssociatorOptions, "associator")
    params += [
        Parameter("catalog.repick", "boolean", True,
                  description="Re-pick every associated event with S-EqT and associate again (false: "
                              "EqT picks and one association only)."),
    ]
    params += parameters_from_dataclass(PickerOptions, "picker")
    params += parameters_from_dataclass(RepickerOptions, "repicker")
    params += output_parameters()
    options = generic_options() + verbosity_options() + records_options() + [
        Option("inventory-xml", "Input", "Station inventory as FDSN StationXML (or SCML) file: the "
               "station coordinates the associator needs.", argument="file"),
        Option("velocity-model", "Input", "1-D layered velocity model file (top depth km, Vp, Vp "
               "gradient, Vs, Vs gradient, ...). Without it: constant associator.vp and associator.vs.",
               argument="file", param_ref="associator.velocityModel"),
        Option("begin", "Input", "Start time of the data to process (ISO 8601).", argument="time"),
        Option("end", "Input", "End time of the data to process (ISO 8601).", argument="time"),
        Option("offline", "Mode", "Do not connect to a messaging server (always the case in this "
               "version, see the documentation)."),
        Option("csv", "Output", "Also write a CSV summary (one row per event: origin time, latitude, "
               "longitude, depth, P and S arrivals, re-picks), atomically.", argument="file"),
        Option("plot", "Output", "Write map.png (events and stations) and one record section per event "
               "(EqT picks and re-picks marked) into this directory.", argument="dir"),
    ] + output_options()
    return ModuleSchema(
        name="seqt-catalog",
        description="Standalone catalog: picks with EQTransformer, associates and locates the picks "
                    "with PyOcto (1-D velocity model), re-picks every event with S-EqT, associates "
                    "again and writes events, origins, arrivals and picks (SCML or QuakeML). Inside "
                    "SeisComP the host associates and locates; this module runs without it.",
        category="Processing",
        parameters=params,
        options=options,
        synopsis="seqt-catalog [options] -I URL --inventory-xml FILE [--velocity-model FILE] -o OUT.xml",
    )


SCHEMA_FACTORIES = {"seqtpick": seqtpick_schema, "seqtrepick": seqtrepick_schema}
SCHEMA_FACTORIES["seqt-catalog"] = seqtcatalog_schema


def module_schema(name: str) -> ModuleSchema:
    try:
        return SCHEMA_FACTORIES[name]()
    except KeyError:
        raise KeyError(f"no configuration schema for module {name!r}") from None


def all_schemas() -> Dict[str, ModuleSchema]:
    return {name: factory() for name, factory in SCHEMA_FACTORIES.items()}

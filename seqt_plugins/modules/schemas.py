"""The schemas of the shipped modules: ``seqtpick``, ``seqtrepick`` and ``seqt-catalog``.

Each module registers its option groups here, as the options dataclasses of the layer they
belong to (the engines' ``picker``, ``repicker`` and ``associator``; ``streams`` beside the record
streams, ``output`` beside the XML writer, ``reprocess`` beside the reprocessing), so a field
added to one appears in the cfg defaults, the description XML, the command line
(``--picker.newField=...``) and the validation with no edit here (then run
``python -m seqt_plugins.modules.generate``), and ``config.options("reprocess")`` hands the
module the typed dataclass back. The configuration layer (:mod:`seqt_plugins.config`) imports
none of these classes.
"""

from __future__ import annotations

from typing import Dict, List

from seqt_plugins.catalog.options import AssociatorOptions
from seqt_plugins.config.modules import (database_options, generic_options, messaging_options,
                                         messaging_parameters, records_options, verbosity_options)
from seqt_plugins.config.schema import ModuleSchema, Option, OptionGroup, Parameter
from seqt_plugins.host.origin_queue import DEFAULT_DELAY_S
from seqt_plugins.io.records.options import StreamsOptions
from seqt_plugins.io.xml.common import FORMATS
from seqt_plugins.io.xml.options import OutputOptions
from seqt_plugins.picker.options import PickerOptions
from seqt_plugins.repicker.options import RepickerOptions
from seqt_plugins.scale.options import ReprocessOptions


def output_options() -> List[Option]:
    return [
        Option("output", "Output", "Write the event parameters to this file (atomically) instead of "
               "stdout.", flag="o", argument="file"),
        Option("format", "Output", "Event parameters format.", argument="arg", param_ref="output.format",
               choices=FORMATS),
        Option("scml-version", "Output", "SCML schema version written.", argument="arg",
               param_ref="output.scmlVersion"),
        Option("formatted", "Output", "Pretty-print the XML.", flag="f", param_ref="output.formatted"),
    ]


# ---------------------------------------------------------------------------------------------
# seqtpick

PICKER_BINDING_KEYS = ("detecEnable", "picker.detectionThreshold", "picker.pThreshold", "picker.sThreshold")


def seqtpick_schema() -> ModuleSchema:
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
        Parameter("passStep", "int", 0, unit="s", range="0:3600",
                  description="Real time: seconds between a station's picking passes; 0 (default) is the "
                              "picker's window step (30 s at overlap 0.5). The picks do not depend on it. "
                              "Longer steps cost less CPU (fewer, fuller EqT calls, less data prepared twice) "
                              "and add latency: on 20 stations, 60 s took 1.10x offline picking's CPU against "
                              "1.31x at 30 s, for a median latency of 97 s against 80 s "
                              "(benchmarks/realtime.py). Playback takes 10 window steps."),
        Parameter("calculateAmplitudes", "boolean", True,
                  description="Write and send each pick's snr amplitude (linear ratio, as scautopick; "
                              "scautoloc's minPickSNR reads it)."),
    ]
    params += [OptionGroup("picker", PickerOptions), OptionGroup("streams", StreamsOptions),
               OptionGroup("reprocess", ReprocessOptions), OptionGroup("output", OutputOptions)]
    params += messaging_parameters()
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
    params: List = [
        Parameter("originDelay", "int", DEFAULT_DELAY_S, unit="s", range="0:",
                  description="Inside SeisComP: an origin is re-picked once its origin time is this many "
                              "seconds past, when a real-time server holds the records the re-picker reads "
                              "(to 120 s after the origin time); while it waits, a later origin sharing a "
                              "pick with it (the locator's update of the event) replaces it, so an event is "
                              "re-picked once per burst of updates. Older origins (playbacks) are re-picked "
                              "at once, each of them; 0: every origin at once."),
    ]
    params += [OptionGroup("repicker", RepickerOptions), OptionGroup("output", OutputOptions)]
    params += messaging_parameters()
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
    params: List = [OptionGroup("associator", AssociatorOptions)]
    params += [
        Parameter("catalog.repick", "boolean", True,
                  description="Re-pick every associated event with S-EqT and associate again (false: "
                              "EqT picks and one association only)."),
        Parameter("catalog.pieceLength", "double", 3600.0, unit="s", range="0:",
                  description="Longer spans are picked in pieces of this length, all stations together (each "
                              "read with picker.margin on both sides: the picks equal those of one read), and "
                              "re-picked one group of origins at a time. Bounds memory: 20 stations at 200 Hz "
                              "peaked at 1.45 GB with 3600 s. 0: read the whole span at once."),
    ]
    params += [OptionGroup("picker", PickerOptions), OptionGroup("repicker", RepickerOptions),
               OptionGroup("output", OutputOptions)]
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

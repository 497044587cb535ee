"""``seqtpick``: the EqT phase picker as a SeisComP-style module (mirrors scautopick).

Offline use, as ``scautopick --playback --ep``::

    seqtpick --ep --playback -I file:///data/day.mseed --inventory-db stations.xml > picks.xml
    seqtpick --ep -I sdsarchive:///archive --begin 2024-03-01T00:00:00 --end 2024-03-02 -o picks.xml
    seqtpick --ep --playback -I data.mseed --format quakeml --picker.pThreshold=0.2 --plot plots/

Without ``--playback`` (and ``--begin``) picking starts at now - ``leadTime``, as in scautopick.
Where SeisComP's Python API is importable and neither ``--offline``, ``--ep`` nor ``-o`` is
given, the picks and their snr amplitudes are sent to the messaging instead (``-H``).

Archive reprocessing by station-days, resumable after a crash (``--stations``), optionally on
Ray (``--workers N``, ``--cluster auto|ray://host:port``)::

    seqtpick -I fdsnws://host:8080 --stations XX.ABC,XX.DEF --begin 2024-01-01 --end 2024-02-01 -o all.xml

Real time from SeedLink (``slink://`` or ``combined://``; ``--begin/--end`` replay a time window): each pick is logged
(and kept for ``--ep``) once, as soon as its window closes, with its latency::

    seqtpick -I slink://host:18000 --stations XX.ABC --ep -o picks.xml

The record stream is read by sensor (network, station, location and the first two channel
letters), ``streams.perCall`` sensors at a time, whose windows share the model's batches. The
probabilities use the module's options; each station is then triggered with its own thresholds
(module configuration overridden by its bindings, see :mod:`seqt_plugins.config.layering`). With ``--ep`` the picks (and their
amplitudes) are written at exit as SCML (default) or QuakeML, to stdout or atomically to ``-o``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

from seqt_plugins.memory import release_freed_memory
from seqt_plugins.modules.app import Application, run_application
from seqt_plugins.modules.logs import options_text, phase_counts
from seqt_plugins.plotbase import plural
from seqt_plugins.progress import progress

SensorKey = Tuple[str, str, str, str]  # network, station, location, channel prefix (2 letters)

#: Time span used for file record streams when --begin/--end are not given.
_ALL_BEGIN = "1900-01-01T00:00:00"
_ALL_END = "2200-01-01T00:00:00"


# An index span lacks the last sample's own duration: at 20 Hz or more that is at most 0.05 s.
ONE_SAMPLE_SLACK = 0.05  # s

class SeqtPick(Application):
    module_name = "seqtpick"

    def __init__(self, argv=None, stdout=None, stderr=None):
        super().__init__(argv, stdout, stderr)
        self.record_stream = None
        self.inventory = None
        self.picker = None
        self.begin = None
        self.end = None
        self.picks: list = []
        self.amplitudes: list = []
        self.stations: List[str] = []
        self.realtime = False
        self.filter = None  # config.stations.StationFilter: the bindings
        self.core = None  # picker.perstation.StationPicker: the picker with the bindings

    # -- lifecycle -------------------------------------------------------------------------
    def validateParameters(self) -> bool:  # noqa: N802
        if not super().validateParameters():
            return False
        args = self.args
        if args.output and not args.ep:
            self.log.info("-o given: writing event parameters as with --ep")
            args.ep = True
        if not (self.check_record_url() and self.check_time_span()):
            return False
        scheme = self.record_scheme()
        self.stations = [s.strip() for s in (args.stations or "").split(",") if s.strip()]
        for code in self.stations:
            if not 2 <= len(code.split(".")) <= 3 or not all(code.split(".")[:2]):
                self.log.error("--stations %s: expected NET.STA or NET.STA.LOC", code)
                return False
        self.realtime = scheme in ("slink", "combined")
        if self.realtime:
            if not self.realtime_selectors():
                self.log.error("real-time record streams need --stations or streams.codes naming "
                               "network and station (e.g. XX.ABC.*.HH?)")
                return False
        elif self.stations:
            if self.begin is None or self.end is None:
                self.log.error("--stations (reprocessing) needs --begin and --end")
                return False
            # directories (--output-dir, --plot) are created; a file's directory (-o) must exist
            reprocess = self.config.options("reprocess")
            if not self.check_output_dir("--output-dir", reprocess.output_dir):
                return False
            if reprocess.uses_ray and not self.require_extra("ray", ("ray",), "--workers > 1 / --cluster (Ray)"):
                return False
        elif scheme != "file" and (self.begin is None or self.end is None):
            self.log.error("%s record streams need --begin and --end", scheme)
            return False
        if self.begin is None and not self.stations and not self.config.get("playback"):
            from obspy import UTCDateTime

            lead = self.config.get("leadTime")
            self.begin = UTCDateTime() - lead
            self.log.info("no --playback: picking data from %s on (now - leadTime %d s)", self.begin, lead)
        if self.offline and not args.ep and not args.test:
            self.log.warning("offline without --ep: the picks are only logged (use --ep to write them)")
        inputs = self.record_input_files() + [f for f in (args.inventory_xml,) if f]
        return (self.check_output_dir("--plot", args.plot) and self.check_input_file("--inventory-xml", args.inventory_xml)
                and self.check_output_file("-o", args.output, inputs))

    def amplitudes_for(self, picks) -> list:
        from seqt_plugins.picker import amplitudes_of

        return amplitudes_of(picks) if self.config.get("calculateAmplitudes") else []

    def sensors_to_pick(self, available):
        """The sensors (NET, STA, LOC, band) of ``available`` streams (NET, STA, LOC, CHA) that
        ``streams.codes`` and the bindings select; the others are logged with the reason."""
        return self.bound_sensors(select_sensors(available, self.config.options("streams").codes))

    def bound_sensors(self, sensors):
        """The sensors the bindings select (see seqt_plugins.config.stations)."""
        kept, skipped = [], {}
        for sensor in sensors:
            why = self.filter.station(sensor[0], sensor[1]).why_not(sensor[2], sensor[3])
            if not why:
                kept.append(sensor)
            else:
                skipped[f"{sensor[0]}.{sensor[1]}.{sensor[2]}.{sensor[3]}?"] = why
        for label, reason in skipped.items():
            self.log.info("%s: not picked (%s)", label, reason)
        return kept

    def bound_selectors(self, selectors):
        """Real-time selectors NET.STA.LOC.CHA narrowed to what the bindings select."""
        out = []
        for sel in selectors:
            net, sta, loc, cha = (sel.split(".") + ["*", "*"])[:4]
            selection = self.filter.station(net, sta)
            if not selection.enabled:
                self.log.info("%s.%s: not picked (%s)", net, sta, selection.reason)
                continue
            if selection.locid is not None and loc == "*":
                loc = selection.locid
            if selection.stream and cha in ("*", "???"):
                cha = selection.stream[:2] + "?"
            out.append(f"{net}.{sta}.{loc}.{cha}")
        return out

    def realtime_selectors(self) -> List[str]:
        """SeedLink selectors NET.STA.LOC.CHA from --stations or explicit streams.codes."""
        if self.stations:
            return [code + (".*.*" if code.count(".") == 1 else ".*") for code in self.stations]
        codes = self.config.options("streams").codes
        return [c for c in codes if len(c.split(".")) >= 2 and not any(ch in "*?" for ch in "".join(c.split(".")[:2]))]

    def init(self) -> bool:
        from seqt_plugins.config.stations import StationFilter
        from seqt_plugins.io.records import RecordStreamError, open_record_stream
        from seqt_plugins.io.records.inventory import load_inventory

        self.filter = StationFilter(self.config)
        url = self.config.get("recordstream")
        if self.stations and not self.realtime:
            # Reprocessing opens its own record streams per task (and per Ray worker).
            try:
                if self.args.inventory_xml:
                    self.inventory = load_inventory(self.args.inventory_xml)
            except RecordStreamError as exc:
                self.log.error("%s", exc)
                return False
            if not self.offline:
                self.log.warning("--stations reprocessing writes files: nothing is sent to the messaging")
            return True
        if not self.offline:
            self.open_sender(test=bool(self.args.test))  # MessagingError: exit 1
        try:
            self.record_stream = open_record_stream(url)
            if self.args.inventory_xml:
                self.inventory = load_inventory(self.args.inventory_xml)
        except RecordStreamError as exc:
            self.log.error("%s", exc)
            return False
        options = self.config.options("picker")
        self.log.info("picker options: %s", options_text(options, "picker"))
        from seqt_plugins.picker import Picker
        from seqt_plugins.picker.perstation import StationPicker

        self.picker = Picker(options=options)
        self.core = StationPicker(self.picker, self.filter)  # the bindings, in every mode
        return True

    def run(self) -> bool:
        if self.realtime:
            return self.run_realtime()
        if self.stations:
            return self.run_reprocess()
        return self.run_playback()

    def creation_info(self) -> Dict[str, str]:
        return {k: v for k, v in (("agency_id", self.config.get("agencyID", None)),
                                  ("author", self.config.get("author", None))) if v}

    def run_reprocess(self) -> bool:
        """Station-day reprocessing with the ledger (resumable; Ray when workers > 1)."""
        from seqt_plugins.modules.cli import EXIT_LOCKED
        from seqt_plugins.scale.reprocess import OutputDirLocked, reprocess

        options = self.config.options("reprocess")
        stations = []
        for code in self.stations:
            net, sta = code.split(".")[:2]
            selection = self.filter.station(net, sta)
            if not selection.enabled:
                self.log.info("%s: not picked (%s)", code, selection.reason)
                continue
            stations.append(code)
        if not stations:
            self.log.error("no station left to reprocess after the bindings")
            return False
        try:
            summary = reprocess(
                self.config.get("recordstream"), stations, self.begin, self.end, options.output_dir,
                picker_options=dataclasses.asdict(self.config.options("picker")),
                merged_output=self.args.output or None,
                **self.config.options("output").writer_args(),
                retries=options.retries, backoff=options.backoff, timeout=options.timeout,
                shard=options.shard_length, inventory=self.inventory, creation_info=self.creation_info(),
                workers=options.workers, cluster=options.cluster or None,
                amplitudes=self.config.get("calculateAmplitudes"), station_settings=self.filter.table(stations))
        except OutputDirLocked as exc:  # another run is using the output directory
            self.log.error("%s", exc)
            self.failure_code = EXIT_LOCKED
            return False
        self.summary("picked %d P and %d S on %s (%d done now, %d done before, %d without data, "
                     "%d failed; ledger %s)", summary.p_picks, summary.s_picks, plural(summary.tasks, "station-day"), summary.done,
                     summary.skipped, summary.nodata, summary.failed, summary.ledger)
        for key, message in summary.failures:
            self.log.error("%s: %s", key, message)
        if summary.merged_output:
            self.log.info("merged picks written to %s", summary.merged_output)
        if summary.failed and summary.failed < summary.tasks:  # the rest done: exit 3, a rerun retries
            self.skipped_inputs += summary.failed
            return True
        return summary.failed == 0

    def run_realtime(self) -> bool:
        """Real-time picking: picks are logged once as their windows close (with latency)."""
        from seqt_plugins.io.records import RecordStreamError
        from seqt_plugins.scale.realtime import run_realtime

        selectors = self.bound_selectors(self.realtime_selectors())
        if not selectors:
            self.log.error("no station left to pick after the bindings (detecEnable, seqtpick bindings)")
            return False
        try:
            for pick in run_realtime(self.record_stream, selectors, self.picker,
                                     starttime=self.begin, endtime=self.end, inventory=self.inventory,
                                     settings_for=self.filter, step=self.config.get("passStep") or None):
                self.log.info("pick %s %s %s p=%s", pick.waveform_id.nslc, pick.phase_hint, pick.time,
                              "%.2f" % pick.probability if pick.probability is not None else "-")
                amplitudes = self.amplitudes_for([pick])
                self.stamp([pick] + amplitudes)
                self.picks.append(pick)
                if self.sender is not None:
                    self.sender.send([pick], amplitudes)
        except KeyboardInterrupt as exc:
            from seqt_plugins.modules.app import Terminated

            if isinstance(exc, Terminated):
                self.log.warning("terminated (SIGTERM): stopping real-time picking")
            else:
                self.log.info("interrupted: stopping real-time picking")
        except RecordStreamError as exc:
            self.log.error("%s", exc)
            if not self.picks:  # a failed run writes nothing (keeps an old -o)
                return False
            self.skipped_inputs += 1  # the picks made before the source failed are kept
        if self.args.ep:
            self.amplitudes = self.amplitudes_for(self.picks)
            self.stamp(self.amplitudes)
            self.write_output()
        self.summary("picked %d P and %d S on %s", *phase_counts(self.picks), plural(len(selectors), "station"))
        return True

    def run_playback(self) -> bool:
        from obspy import UTCDateTime

        from seqt_plugins.io.records import RecordStreamError

        t0 = self.begin if self.begin is not None else UTCDateTime(_ALL_BEGIN)
        t1 = self.end if self.end is not None else UTCDateTime(_ALL_END)
        try:
            available = self.record_stream.available_streams(self.begin, self.end)
        except RecordStreamError as exc:
            self.log.error("%s", exc)
            return False
        streams = self.config.options("streams")
        sensors = self.sensors_to_pick(available)
        if not sensors:
            self.log.warning("no streams in %s match %s%s", self.config.get("recordstream"),
                             ", ".join(streams.codes),
                             "" if self.config.get("playback") or self.args.begin else
                             f" after {self.begin} (now - leadTime; recorded data need --playback)")
        min_duration, per_call = streams.min_duration, streams.per_call
        chunks = [sensors[i:i + per_call] for i in range(0, len(sensors), per_call)]
        failed = 0
        bar = progress(total=len(sensors), desc="sensors", unit="sensor")
        for chunk in chunks:
            pieces, short = self.plan_pieces(chunk, t0, t1, min_duration)
            chunk_failed = set()
            for a, b in pieces:
                lo, hi = self.picker.read_span(a, b)
                lo, hi = max(lo, t0) if lo is not None else t0, min(hi, t1) if hi is not None else t1
                stream = self.read_sensors(chunk, lo, hi, len(pieces) == 1, min_duration, short, chunk_failed)
                if len(stream) and not self.pick_stream(stream, a, b):
                    chunk_failed.update(chunk)
                del stream
                release_freed_memory()
            failed += len(chunk_failed)
            bar.update(len(chunk))
        bar.close()
        self.picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint or ""))
        bad_files = len(getattr(self.record_stream, "skipped", ()))
        if failed and failed == len(sensors):  # a failed run writes nothing (keeps an old -o)
            self.log.error("all %d sensors failed: nothing written", failed)
            return False
        if bad_files and not sensors:
            self.log.error("none of the input files could be read: nothing written")
            return False
        if self.args.ep:
            self.write_output()
        self.summary("picked %d P and %d S on %s", *phase_counts(self.picks), plural(len(sensors), "sensor"))
        self.skipped_inputs += bad_files + failed
        return True

    # -- steps -----------------------------------------------------------------------------
    def plan_pieces(self, sensors, t0, t1, min_duration):
        """(pieces [start, end) to read and pick, sensors known to be too short to read).

        One piece (the whole request) where the record stream cannot say where its data are.
        """
        spans = self.sensor_spans(sensors, t0, t1)
        if spans is None:
            return [(self.begin, self.end)], set()
        short = set()
        for sensor, found in spans.items():
            covered = sum(min(e, t1) - max(b, t0) for b, e in found)
            # the index gives first and last sample times: a 6,000-sample record at 100 Hz covers
            # 59.99 s between them, yet holds one full 60 s window, so allow one sample (at ≥ 20 Hz)
            if 0 < covered < min_duration - ONE_SAMPLE_SLACK:  # known too short: skip without reading
                self.log.warning("%s.%s.%s.%s?: %.2f s of data, shorter than streams.minDuration: skipped",
                                 *sensor, covered)
                short.add(sensor)
        pieces = self.picker.pieces([sp for found in spans.values() for sp in found], self.begin, self.end)
        if len(pieces) > 1:
            self.log.debug("%d sensors read in %d pieces", len(sensors), len(pieces))
        return pieces, short

    def read_sensors(self, sensors, lo, hi, whole, min_duration, short, failed):
        """The sensors' data in [lo, hi] as one Stream.

        A sensor whose read fails is added to ``failed``; with ``whole`` (the request read in one
        piece) empty and too-short sensors are logged, the latter added to ``short``. Sensors in
        either set are not read again.
        """
        from obspy import Stream

        from seqt_plugins.io.records import RecordStreamError

        stream = Stream()
        for sensor in sensors:
            if sensor in short or sensor in failed:
                continue
            net, sta, loc, band = sensor
            label = f"{net}.{sta}.{loc}.{band}?"
            try:
                part = self.record_stream.get_waveforms(net, sta, loc, band + "?", lo, hi)
            except RecordStreamError as exc:
                self.log.error("%s: %s", label, exc)
                failed.add(sensor)
                continue
            if not len(part):
                if whole:
                    self.log.info("%s: no data", label)
                continue
            # duration = last sample time - first + one sample: 6,000 samples at 100 Hz are 60 s
            span = max(tr.stats.endtime + tr.stats.delta for tr in part) - min(tr.stats.starttime for tr in part)
            if whole and span < min_duration:
                self.log.warning("%s: %.2f s of data, shorter than streams.minDuration: skipped", label, span)
                short.add(sensor)
                continue
            stream += part
        return stream

    def sensor_spans(self, sensors, t0, t1):
        """sensor -> where it has data (record stream index); None when the stream can't say.

        Long spans are then read and picked piece by piece (``picker.chunkLength`` plus
        ``picker.margin`` on both sides), so memory stays bounded however long the request;
        the pieces' picks equal those of one whole run (shard property).
        """
        spans = {}
        for sensor in sensors:
            net, sta, loc, band = sensor
            found = self.record_stream.data_spans(net, sta, loc, band + "?", t0, t1)
            if found is None:
                return None
            spans[sensor] = found
        return spans

    def pick_stream(self, stream, begin=None, end=None) -> bool:
        """Pick the sensors of ``stream`` together (their windows share the model's batches).

        Picks are kept within [begin, end) (default: the module's --begin/--end).

        The probabilities are computed once with the module options; each station is then
        triggered with its own thresholds (bindings), which only the trigger stage uses
        (``StationPicker``, the core shared with reprocessing and real time).
        """
        try:
            results = self.core.probabilities(stream, self.inventory)
        except Exception as exc:  # one bad chunk must not end a day's run
            ids = sorted({f"{tr.stats.network}.{tr.stats.station}" for tr in stream})
            self.log.error("%s: %s: %s", ",".join(ids), type(exc).__name__,
                           str(exc).splitlines()[0] if str(exc) else "")
            self.log.debug("traceback", exc_info=True)
            return False
        batch_picks, batch_amplitudes = [], []
        for result in results:
            picks, detections = self.core.trigger(
                result, self.begin if begin is None else begin, self.end if end is None else end)
            amplitudes = self.amplitudes_for(picks)
            self.stamp(list(picks) + list(amplitudes))
            for p in picks:
                self.log.info("pick %s %s %s p=%s", p.waveform_id.nslc, p.phase_hint, p.time,
                              "%.2f" % p.probability if p.probability is not None else "-")
            self.picks.extend(picks)
            self.amplitudes.extend(amplitudes)
            batch_picks += picks
            batch_amplitudes += amplitudes
            if self.args.plot and detections:
                self.plot_station(stream, result, picks, detections)
        if self.sender is not None and batch_picks:
            # messaging mode: the picks of all sensors read together, in time order (an
            # associator such as scautoloc takes them in the order they arrive)
            batch_picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint or ""))
            self.sender.send(batch_picks, batch_amplitudes)
            self.log.info("sent %d pick(s), %d amplitude(s)", len(batch_picks), len(batch_amplitudes))
        return True

    def stamp(self, objects) -> None:
        """creationInfo: agencyID and author from the configuration, creationTime now (scautoloc
        needs it)."""
        from obspy import UTCDateTime

        from seqt_plugins.picks import CreationInfo

        agency, author, now = self.config.get("agencyID", None), self.config.get("author", None), UTCDateTime()
        for obj in objects:
            ci = obj.creation_info or CreationInfo()
            ci.agency_id = ci.agency_id or agency
            ci.author = ci.author or author
            ci.creation_time = ci.creation_time or now
            obj.creation_info = ci

    def plot_station(self, stream, result, picks, detections) -> None:
        from seqt_plugins.modules.plotting import plot_detections, probability_traces

        st = result[0]
        try:
            components = stream.select(network=st.network, station=st.station, location=st.location)
            components = type(components)([tr for tr in components if tr.stats.channel in st.channels])
            opts = self.core.station_options(st.network, st.station)
            paths = plot_detections(components, probability_traces(*result), picks, self.args.plot,
                                    threshold=opts.detection_threshold, p_threshold=opts.p_threshold,
                                    s_threshold=opts.s_threshold, detections=[(d.start, d.end) for d in detections])
            self.log.info("%s: %d plots", st.key, len(paths))
        except Exception as exc:
            self.log.warning("%s: plotting failed: %s: %s", st.key, type(exc).__name__, exc)
            self.log.debug("traceback", exc_info=True)

    def write_output(self) -> None:
        from seqt_plugins.picks import EventParameters

        self.amplitudes.sort(key=lambda a: a.public_id)
        self.write_event_parameters(EventParameters(picks=self.picks, amplitudes=self.amplitudes))

def select_sensors(available, patterns) -> List[SensorKey]:
    """Sensors (NET, STA, LOC, two channel letters) with a component matching a pattern."""
    patterns = [p.strip() for p in (patterns or ["*"]) if p.strip()]
    sensors: Dict[SensorKey, bool] = OrderedDict()
    for net, sta, loc, cha in sorted(available):
        key = (net, sta, loc, cha[:2])
        if key in sensors:
            continue
        seed = f"{net}.{sta}.{loc}.{cha}"
        if any(_match(p, seed) for p in patterns):
            sensors[key] = True
    return list(sensors)


def _match(pattern: str, seed: str) -> bool:
    parts = pattern.split(".")
    if len(parts) < 4:
        parts += ["*"] * (4 - len(parts))
    return fnmatch.fnmatchcase(seed, ".".join(parts))


def main(argv=None) -> int:
    """``seqtpick``: a SeisComP StreamApplication where SeisComP is importable and no offline
    option is given (seqt_plugins.modules.stream_app), else the argparse shell."""
    from seqt_plugins.modules import stream_app

    if stream_app.wanted(sys.argv[1:] if argv is None else argv):
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        return stream_app.run(SeqtPick, argv)
    return run_application(SeqtPick, argv)


if __name__ == "__main__":
    sys.exit(main())

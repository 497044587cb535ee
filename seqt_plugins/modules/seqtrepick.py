"""``seqtrepick``: S-EqT re-picking as a SeisComP-style module (mirrors screpick).

    seqtrepick --ep events.xml -I file:///data/day.mseed --inventory-xml stations.xml -o out.xml
    seqtrepick --ep - -I sdsarchive:///archive --repicker.zThreshold=6 < events.xml > out.xml

Reads the event parameters (SCML or QuakeML: origins, their arrivals and the picks; an origin
without arrivals takes the picks nearest its predicted arrivals, given station coordinates),
fetches the waveforms around each origin, re-picks (see :mod:`seqt_plugins.repicker.engine`) and writes
the input event parameters plus the re-picks — each also an arrival of its origin — as SCML
(default) or QuakeML, to stdout or atomically to ``-o``. Nothing is written when the input
cannot be read; inputs without origins, picks or waveforms are written back unchanged.
Without ``--ep`` the event parameters are read from stdin when it is a file or a pipe.

With SeisComP's Python API importable and an input but no ``--offline``/``-o``, the re-picks
of that input and their snr amplitudes are sent to the messaging instead (``-H``). Where
SeisComP is importable and there is no input and none of ``--offline``, ``--ep``, ``-o``,
``--dump-config``, ``seqtrepick`` is a SeisComP application listening to the origins
(:mod:`seqt_plugins.modules.repick_app`); this shell is then not used::

    seqtrepick -H localhost/production -I sdsarchive:///archive -d mysql://sysop:sysop@localhost/seiscomp
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from seqt_plugins.modules.app import Application, run_application
from seqt_plugins.plotbase import plural
from seqt_plugins.modules.cli import stdin_has_data
from seqt_plugins.modules.logs import options_text, phase_counts

from seqt_plugins.repicker.engine import repick_in_groups


class SeqtRepick(Application):
    module_name = "seqtrepick"
    offline_switches = ("offline", "output")  # --ep is the input here

    def __init__(self, argv=None, stdout=None, stderr=None):
        super().__init__(argv, stdout, stderr)
        self.ep = None
        self.record_stream = None
        self.inventory = None
        self._coordinates = None  # {} once looked up without result (station_coordinates)
        self.repicker = None
        self.repicks: list = []  # all re-picks of this run (the summary line)
        self.origins_done = 0

    def validateParameters(self) -> bool:  # noqa: N802
        if not super().validateParameters():
            return False
        if not self.args.ep:
            if stdin_has_data():
                self.args.ep = "-"  # as screpick: the event parameters on stdin
            else:
                self.log.error("no event parameters: give --ep FILE, or the XML on stdin (--ep - or < FILE)%s",
                               "" if self.offline else "; listening to origins needs SeisComP's Python API "
                               "(seiscomp.client): see seqtrepick inside SeisComP")
                return False
        inputs = [f for f in (self.args.ep, self.args.inventory_xml) if f and f != "-"]
        return (self.check_record_url() and self.check_input_file("--inventory-xml", self.args.inventory_xml)
                and self.check_output_dir("--plot", self.args.plot)
                and self.check_output_file("-o", self.args.output, inputs + self.record_input_files()))

    def init(self) -> bool:
        from seqt_plugins.io.records import RecordStreamError, open_record_stream
        from seqt_plugins.io.records.inventory import load_inventory
        from seqt_plugins.io.xml import XMLInputError, read_event_parameters
        from seqt_plugins.repicker import Repicker

        source = self.args.ep
        try:
            if source == "-":
                self.ep = read_event_parameters(getattr(sys.stdin, "buffer", sys.stdin))
            else:
                if not Path(source).is_file():
                    self.log.error("--ep %s: file not found", source)
                    return False
                self.ep = read_event_parameters(source)
        except XMLInputError as exc:
            self.log.error("%s", str(exc).splitlines()[0])
            return False
        self.log.info("read %d pick(s), %d origin(s), %d event(s)", len(self.ep.picks), len(self.ep.origins),
                      len(self.ep.events))
        try:
            self.record_stream = open_record_stream(self.config.get("recordstream"))
            if self.args.inventory_xml:
                self.inventory = load_inventory(self.args.inventory_xml)
        except RecordStreamError as exc:
            self.log.error("%s", exc)
            return False
        options = self.config.options("repicker")
        options.validate()
        self.log.info("re-picker options: %s", options_text(options, "repicker"))
        self.repicker = Repicker(options=options)
        _ = self.repicker.head  # siamese mode: fail here, before any work
        if not self.offline:
            self.open_sender()  # MessagingError: exit 1
        return True

    def run(self) -> bool:
        done = self.process(self.ep)
        if done:
            self.summary("re-picked %d P and %d S for %s", *phase_counts(self.repicks), plural(self.origins_done, "origin"))
        return done

    def process(self, ep) -> bool:
        """Re-pick the origins of ``ep``; write the result (files) or send the re-picks."""
        done = self.repick_event_parameters(ep)
        if done is None:
            return False
        out, repicks = done
        if self.sender is not None:  # messaging mode: the re-picks (a locator makes the arrivals)
            from seqt_plugins.picker import amplitudes_of

            self.sender.send(repicks, amplitudes_of(repicks))
            self.log.info("sent %d re-pick(s) to %s", len(repicks), self.sender.pick_group)
        else:
            self.write_event_parameters(out)
        return True

    def repick_event_parameters(self, ep, waveforms=None):
        """(``ep`` with the re-picks added as picks and arrivals, the re-picks), or None when no
        origin is valid or the records cannot be read (logged). ``waveforms(origins, t0, t1)``
        gives the records of a group of origins (an ObsPy Stream); by default
        :meth:`read_waveforms`. Used by both shells: the SeisComP application passes its
        RecordStream's."""
        from seqt_plugins.io.records import RecordStreamError

        self.ep = ep
        out = self.ep
        repicks = []
        origins = self.repicker.origins_to_process(self.ep)
        bad = {}
        source = f"--ep {self.args.ep}" if self.args.ep else "messaging"
        for origin in origins:  # one bad origin must not end the run (nor pass silently)
            problem = origin_problem(origin)
            if problem:
                self.log.error("%s: origin %s: %s: skipped", source, origin.public_id, problem)
                bad[origin.public_id] = origin
        if bad:
            if len(bad) == len(origins):
                self.log.error("no valid origin to re-pick%s", ": nothing written" if self.args.ep else "")
                return None
            self.skipped_inputs += len(bad)
            origins = [o for o in origins if o.public_id not in bad]
        if not origins:
            self.log.warning("the event parameters hold no origin: nothing to re-pick; writing the input unchanged")
            return out, repicks
        # origins in groups whose waveforms span at most CHUNK: a day of origins never loads a
        # day of every channel (memory stays that of one group's stretch)
        current = dataclasses.replace(self.ep, origins=[o for o in self.ep.origins if o.public_id not in bad])
        read = waveforms or self.read_waveforms

        def read_group(group, t0, t1):
            stream = read(group, t0, t1)
            if not len(stream):
                self.log.warning("no waveforms between %s and %s in %s: %d origin(s) left unchanged", t0, t1,
                                 self.config.get("recordstream"), len(group))
            return stream

        def after_group(group, stream, part, results):
            group_repicks = [r.pick for r in results]
            repicks.extend(group_repicks)
            self.repicks += group_repicks
            self.origins_done += len(group)
            self.measure_snr(stream, group_repicks)
            for r in results:
                p = r.pick
                self.log.info("re-pick %s %s %s p=%.2f (%s, origin %s)", p.waveform_id.nslc, p.phase_hint,
                              p.time, p.probability, r.path, r.origin_id)
            if self.args.plot:
                ids = {o.public_id for o in group}
                self.plot(dataclasses.replace(part, origins=[o for o in part.origins if o.public_id in ids]), stream)

        coordinates = self.station_coordinates(origins) if self.inventory is None else None
        try:
            done, _results, any_data = repick_in_groups(self.repicker, current, origins, read_group,
                                                        inventory=self.inventory, coordinates=coordinates,
                                                        on_group=after_group)
        except RecordStreamError as exc:
            self.log.error("%s", exc)
            return None
        if any_data:  # every origin where it was: the re-picked ones replaced, bad ones unchanged
            by_id = {o.public_id: o for o in done.origins}
            out = dataclasses.replace(done, origins=[by_id.get(o.public_id, o) for o in self.ep.origins])
        return out, repicks

    def station_coordinates(self, origins):
        """Station coordinates where no inventory was given: from the record source's station
        service (``fdsnws://``) when it has one, else None, with a warning, since the search
        then falls back to the templates' times (S-EqT's original rule): geometry is what lets
        the re-picker look where each station's arrival is predicted."""
        from seqt_plugins.geo import coordinates_from_inventory
        from seqt_plugins.io.records import RecordStreamError
        from seqt_plugins.repicker.engine import READ_AFTER, READ_BEFORE

        if self._coordinates is not None:
            return self._coordinates or None
        self._coordinates = {}
        get_inventory = getattr(self.record_stream, "get_inventory", None)
        if get_inventory is not None and origins:
            t0 = min(o.time for o in origins) - READ_BEFORE
            t1 = max(o.time for o in origins) + READ_AFTER
            try:
                self._coordinates = coordinates_from_inventory(get_inventory(starttime=t0, endtime=t1,
                                                                             level="station"))
            except RecordStreamError as exc:
                self.log.warning("no station coordinates from %s: %s", self.config.get("recordstream"),
                                 str(exc).splitlines()[0])
            if self._coordinates:
                self.log.info("coordinates of %s from the station service of %s",
                              plural(len(self._coordinates), "station"), self.config.get("recordstream"))
                return self._coordinates
        o = self.repicker.options
        self.log.warning("no station coordinates (--inventory-xml): stations are searched within %g s (P) and "
                         "%g s (S) of the templates' picks instead of at their predicted arrivals, and not where "
                         "they hold a pick of the phase within %g s of them", o.p_range, o.s_range, o.exist_range)
        return None

    def read_waveforms(self, origins, t0, t1):
        """Every stream the record stream (``-I``) has between ``t0`` and ``t1``."""
        from obspy import Stream

        stream = Stream()
        available = self.record_stream.available_streams(t0, t1)
        for net, sta, loc, cha in sorted(set(available)):
            stream += self.record_stream.get_waveforms(net, sta, loc, cha, t0, t1)
        return stream

    def measure_snr(self, stream, picks) -> None:
        """Each re-pick's SNR as the picker measures it (``triggers.snr_db`` on the prepared
        100 Hz data): its snr amplitude is what scautoloc needs before it uses a pick."""
        from seqt_plugins.picker.prepare import FS, prepare_stream
        from seqt_plugins.picker.triggers import snr_db

        by_station = {}
        for p in picks:
            by_station.setdefault((p.waveform_id.network, p.waveform_id.station, p.waveform_id.location), []).append(p)
        for (net, sta, loc), group in by_station.items():
            try:
                prepared = prepare_stream(stream.select(network=net, station=sta, location=loc), inventory=self.inventory,
                                          pad_from=self.repicker.pad_from)
            except Exception as exc:  # no SNR is no reason to drop a re-pick
                self.log.debug("%s.%s.%s: no SNR (%s)", net, sta, loc, exc)
                continue
            segments = [seg for st in prepared for seg in st.segments]
            for p in group:
                for seg in segments:
                    i = int(round((p.time - seg.start) * FS))
                    if 0 <= i < seg.real:  # a padded short segment: its data only
                        p.snr = snr_db(seg.data[:seg.real], i)
                        break

    def plot(self, ep, stream) -> None:
        try:
            from seqt_plugins.repicker.plot import plot_origins

            paths = plot_origins(ep, stream, self.repicker.last_results, self.args.plot)
            self.log.info("%d plot(s) in %s", len(paths), self.args.plot)
        except Exception as exc:
            self.log.warning("plotting failed: %s: %s", type(exc).__name__, exc)


def origin_problem(origin) -> str:
    """Why ``origin`` cannot be re-picked ('' when it can): coordinates, depth or time invalid."""
    import math

    def bad_number(value, lo, hi):
        try:
            return value is None or not math.isfinite(float(value)) or not lo <= float(value) <= hi
        except (TypeError, ValueError):
            return True

    if bad_number(origin.latitude, -90.0, 90.0):
        return f"latitude {origin.latitude!r} is not within [-90, 90]"
    if bad_number(origin.longitude, -180.0, 360.0):
        return f"longitude {origin.longitude!r} is not within [-180, 360]"
    if origin.depth is not None and bad_number(origin.depth, -10e3, 1000e3):
        return f"depth {origin.depth!r} m is not within [-10 km, 1000 km]"
    if origin.time is None:
        return "no origin time"
    return ""


def main(argv=None) -> int:
    """``seqtrepick``: a SeisComP Application listening to origins where SeisComP is importable and
    neither an input nor an offline option is given (seqt_plugins.modules.repick_app), else the
    argparse shell."""
    from seqt_plugins.modules import repick_app

    if repick_app.wanted(sys.argv[1:] if argv is None else argv):
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        return repick_app.run(SeqtRepick, argv)
    return run_application(SeqtRepick, argv)


if __name__ == "__main__":
    sys.exit(main())

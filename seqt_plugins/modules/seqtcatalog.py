"""``seqt-catalog``: the standalone catalog pipeline as a SeisComP-style module.

    seqt-catalog -I file:///data/hengill/mseed --inventory-xml stations.xml \\
        --velocity-model velocity_model.txt -o catalog.xml --csv catalog.csv --plot plots/
    seqt-catalog -I sdsarchive:///archive --begin 2024-03-01 --end 2024-03-01T01:00 \\
        --inventory-xml stations.xml --format quakeml > catalog.xml

Reads the record stream, picks with EqT, associates and locates with PyOcto (the layered
velocity model, else constant vP/vS), re-picks every event with S-EqT, associates again, and
writes events, origins (both passes), arrivals and picks as SCML (default) or QuakeML to stdout or
atomically to ``-o``; ``--csv`` adds a one-row-per-event summary and ``--plot DIR`` a map and a
record section per event (see :mod:`seqt_plugins.catalog`). Inside SeisComP the host associates
and locates: use seqtpick/seqtrepick there.
"""

from __future__ import annotations

import sys

from seqt_plugins.modules.app import Application, run_application
from seqt_plugins.modules.logs import options_text

_ALL_BEGIN = "1900-01-01T00:00:00"
_ALL_END = "2200-01-01T00:00:00"


class SeqtCatalog(Application):
    module_name = "seqt-catalog"

    def __init__(self, argv=None, stdout=None, stderr=None):
        super().__init__(argv, stdout, stderr)
        self.record_stream = None
        self.inventory = None
        self.pipeline = None
        self.begin = None
        self.end = None
        self._streams = None  # the record stream's channel list (see streams)

    def validateParameters(self) -> bool:  # noqa: N802
        if not super().validateParameters():
            return False
        args = self.args
        if not (self.check_record_url() and self.check_time_span()):
            return False
        if not args.inventory_xml:
            self.log.error("no station coordinates: give --inventory-xml FILE (the associator needs them)")
            return False
        if not (self.check_input_file("--inventory-xml", args.inventory_xml)
                and self.check_input_file("--velocity-model", self.config.get("associator.velocityModel", ""))):
            return False
        scheme = self.record_scheme()
        if scheme != "file" and (self.begin is None or self.end is None):
            self.log.error("%s record streams need --begin and --end", scheme)
            return False
        if not self.check_output_dir("--plot", args.plot):
            return False
        inputs = self.record_input_files() + [args.inventory_xml]
        return (self.require_extra("catalog", ("pandas", "pyocto", "pyrocko"), "seqt-catalog (PyOcto association)")
                and self.check_output_file("-o", args.output, inputs))

    def init(self) -> bool:
        from seqt_plugins.catalog import CatalogPipeline, VelocityModelError
        from seqt_plugins.io.records import RecordStreamError, open_record_stream
        from seqt_plugins.io.records.inventory import load_inventory

        try:
            self.record_stream = open_record_stream(self.config.get("recordstream"))
            self.inventory = load_inventory(self.args.inventory_xml)
        except RecordStreamError as exc:
            self.log.error("%s", exc)
            return False
        picker_options = self.config.options("picker")
        repicker_options = self.config.options("repicker")
        associator_options = self.config.options("associator")
        try:
            repicker_options.validate()
            associator_options.validate()
        except ValueError as exc:
            self.log.error("%s", exc)
            return False
        for name, group, options in (("picker", "picker", picker_options), ("re-picker", "repicker", repicker_options),
                                     ("associator", "associator", associator_options)):
            self.log.info("%s options: %s", name, options_text(options, group))
        try:
            self.pipeline = CatalogPipeline(associator_options.velocity_model or None, picker_options,
                                            repicker_options, associator_options,
                                            repick=self.config.get("catalog.repick"))
        except VelocityModelError as exc:
            self.log.error("%s", exc)
            return False
        if self.pipeline.repicker is not None:
            _ = self.pipeline.repicker.head  # siamese mode: fail here, before any work
        return True

    def span(self):
        """[--begin, --end], open ends as far as any record goes."""
        from obspy import UTCDateTime

        return (self.begin if self.begin is not None else UTCDateTime(_ALL_BEGIN),
                self.end if self.end is not None else UTCDateTime(_ALL_END))

    def streams(self):
        """The record stream's channels within --begin/--end, listed once per run (every piece,
        group and plot reads the same ones)."""
        if self._streams is None:
            self._streams = sorted(set(self.record_stream.available_streams(self.begin, self.end)))
        return self._streams

    def read_stream(self, t0=None, t1=None):
        """Every stream the record stream has in [t0, t1] (default: --begin/--end, else all)."""
        from obspy import Stream

        a, b = self.span()
        t0, t1 = (a if t0 is None else t0), (b if t1 is None else t1)
        stream = Stream()
        for net, sta, loc, cha in self.streams():
            stream += self.record_stream.get_waveforms(net, sta, loc, cha, t0, t1)
        return stream

    def plan_pieces(self):
        """The [start, end) pieces the picker reads one at a time (``catalog.pieceLength`` of
        data each; None: the record stream cannot say where its data are, read it whole)."""
        t0, t1 = self.span()
        spans = []
        for net, sta, loc, cha in self.streams():
            found = self.record_stream.data_spans(net, sta, loc, cha, t0, t1)
            if found is None:
                return None
            spans += found
        length = self.config.get("catalog.pieceLength")
        return self.pipeline.picker.pieces(spans, self.begin, self.end, length) if spans and length > 0 else None

    def run(self) -> bool:
        from seqt_plugins.catalog import summarize, write_csv_summary
        from seqt_plugins.catalog.pipeline import station_coordinates
        from seqt_plugins.io.records import RecordStreamError
        from seqt_plugins.picks import EventParameters

        stream = None
        try:
            pieces = self.plan_pieces()
            if pieces is not None and len(pieces) > 1:
                # a long span: picked piece by piece and re-picked group by group (bounded memory)
                self.log.info("reading the records in %d pieces", len(pieces))
                ep = self.pipeline.run_in_pieces(self.read_stream, pieces, self.inventory)
            else:
                stream = self.read_stream()
                ep = None
        except RecordStreamError as exc:
            self.log.error("%s", exc)
            return False
        picked = repicked = 0
        if ep is None and not len(stream):
            self.log.warning("no waveforms in %s: writing an empty catalog", self.config.get("recordstream"))
            ep = EventParameters()
        else:
            if ep is None:
                ep = self.pipeline.run(stream, self.inventory, starttime=self.begin, endtime=self.end)
            st = self.pipeline.stages
            picked, repicked = len(st.picks), len(st.repick_results)
            self.log.info("%d EqT pick(s), %d first-pass event(s), %d re-pick(s), %d event(s)", picked,
                          len(st.first.events) if st.first else 0, repicked, len(ep.events))
            for s in summarize(ep):
                o = s.origin
                self.log.info("event %s %.4f %.4f %.1f km P %d S %d re-picks %d", o.time, o.latitude, o.longitude,
                              (o.depth or 0.0) / 1000.0, s.n_p, s.n_s, s.n_repicks)
        self.write_event_parameters(ep)
        if self.args.csv:
            write_csv_summary(ep, self.args.csv)
            self.log.info("wrote %d event(s) to %s", len(ep.events), self.args.csv)
        if self.args.plot and (stream is None or len(stream)):
            self.plot(ep, stream, station_coordinates(self.inventory))
        events = summarize(ep)
        self.summary("catalog: %d events located with %d P and %d S arrivals (%d of them re-picks), from %d EqT "
                     "picks and %d re-picks", len(events), sum(e.n_p for e in events), sum(e.n_s for e in events),
                     sum(e.n_repicks_located for e in events), picked, repicked)
        return True

    def plot(self, ep, stream, coordinates) -> None:
        """The map and a record section per event; without ``stream`` (a run in pieces) each
        group of events gets its own read of the records."""
        try:
            from seqt_plugins.catalog.plot import plot_catalog, plot_event_sections, plot_map

            if stream is not None:
                paths = plot_catalog(ep, stream, self.args.plot, coordinates)
            else:
                import dataclasses
                from pathlib import Path

                from seqt_plugins.repicker.engine import READ_AFTER, READ_BEFORE, origin_groups

                paths = [plot_map(ep, coordinates, Path(self.args.plot) / "map.png")]
                preferred = {e.preferred_origin_id: e for e in ep.events}
                for group in origin_groups([o for o in ep.origins if o.public_id in preferred]):
                    part = self.read_stream(min(o.time for o in group) - READ_BEFORE,
                                            max(o.time for o in group) + READ_AFTER)
                    events = [preferred[o.public_id] for o in group]
                    paths += plot_event_sections(dataclasses.replace(ep, events=events), part, self.args.plot,
                                                 coordinates)
            self.log.info("%d plot(s) in %s", len(paths), self.args.plot)
        except Exception as exc:
            self.log.warning("plotting failed: %s: %s", type(exc).__name__, exc)
            self.log.debug("traceback", exc_info=True)


def main(argv=None) -> int:
    return run_application(SeqtCatalog, argv)


if __name__ == "__main__":
    sys.exit(main())

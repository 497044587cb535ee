"""``seqtrepick``: S-EqT re-picking as a SeisComP-style module (mirrors screpick).

    seqtrepick --ep events.xml -I file:///data/day.mseed --inventory-xml stations.xml -o out.xml
    seqtrepick --ep - -I sdsarchive:///archive --repicker.zThreshold=6 < events.xml > out.xml

Reads the event parameters (SCML or QuakeML: origins, their arrivals and the picks), fetches
the waveforms around each origin, re-picks (see :mod:`seqt_plugins.repicker.engine`) and writes
the input event parameters plus the re-picks — each also an arrival of its origin — as SCML
(default) or QuakeML, to stdout or atomically to ``-o``. Nothing is written when the input
cannot be read; inputs without origins, picks or waveforms are written back unchanged.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from seqt_plugins.modules.app import Application, run_application

#: Data fetched before the earliest and after the latest origin time.
PRE, POST = 60.0, 120.0


class SeqtRepick(Application):
    module_name = "seqtrepick"
    offline_switches = ("offline", "output")  # --ep is the input here

    def __init__(self, argv=None, stdout=None, stderr=None):
        super().__init__(argv, stdout, stderr)
        self.ep = None
        self.record_stream = None
        self.inventory = None
        self.repicker = None

    def validateParameters(self) -> bool:  # noqa: N802
        if not super().validateParameters():
            return False
        if not self.args.ep:
            if not stdin_has_data():
                self.log.error("no event parameters: give --ep FILE, or the XML on stdin (--ep - or < FILE)")
                return False
            self.args.ep = "-"  # as screpick: the event parameters on stdin
        return (self.check_record_url() and self.check_input_file("--inventory-xml", self.args.inventory_xml)
                and self.check_output_dir("--plot", self.args.plot))

    def init(self) -> bool:
        from seqt_plugins.io.records import RecordStreamError, load_inventory, open_record_stream
        from seqt_plugins.io.xml import XMLInputError, read_event_parameters
        from seqt_plugins.repicker import Repicker, RepickerOptions

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
        options = self.config.options(RepickerOptions, "repicker")
        options.validate()
        self.log.info("re-picker options: %s", dataclasses.asdict(options))
        self.repicker = Repicker(options=options)
        _ = self.repicker.head  # siamese mode: fail here, before any work
        if not self.offline:
            self.open_sender()  # MessagingError: exit 1
        return True

    def run(self) -> bool:
        from obspy import Stream

        from seqt_plugins.io.records import RecordStreamError

        out = self.ep
        repicks = []
        origins = self.repicker.origins_to_process(self.ep)
        if not origins:
            self.log.warning("the event parameters hold no origin: nothing to re-pick; writing the input unchanged")
        else:
            times = [o.time for o in origins]
            t0, t1 = min(times) - PRE, max(times) + POST
            stream = Stream()
            try:
                available = self.record_stream.available_streams(t0, t1)
                for net, sta, loc, cha in sorted(set(available)):
                    stream += self.record_stream.get_waveforms(net, sta, loc, cha, t0, t1)
            except RecordStreamError as exc:
                self.log.error("%s", exc)
                return False
            if not len(stream):
                self.log.warning("no waveforms between %s and %s in %s: writing the input unchanged", t0, t1,
                                 self.config.get("recordstream"))
            else:
                out = self.repicker.repick(self.ep, stream, inventory=self.inventory)
                repicks = [r.pick for r in self.repicker.last_results]
                for r in self.repicker.last_results:
                    p = r.pick
                    self.log.info("re-pick %s %s %s p=%.2f (%s, origin %s)", p.waveform_id.nslc, p.phase_hint,
                                  p.time, p.probability, r.path, r.origin_id)
                if self.args.plot:
                    self.plot(out, stream)
        if self.sender is not None:  # messaging mode: the re-picks only (not the arrivals)
            self.sender.send(repicks)
            self.log.info("sent %d re-pick(s) to %s", len(repicks), self.sender.pick_group)
        else:
            self.write_event_parameters(out)
        return True

    def plot(self, ep, stream) -> None:
        try:
            from seqt_plugins.repicker.plot import plot_origins

            paths = plot_origins(ep, stream, self.repicker.last_results, self.args.plot)
            self.log.info("%d plot(s) in %s", len(paths), self.args.plot)
        except Exception as exc:
            self.log.warning("plotting failed: %s: %s", type(exc).__name__, exc)


def stdin_has_data() -> bool:
    """Whether stdin is a file or a pipe (not a terminal, not /dev/null or closed)."""
    import os
    import stat

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def main(argv=None) -> int:
    return run_application(SeqtRepick, argv)


if __name__ == "__main__":
    sys.exit(main())

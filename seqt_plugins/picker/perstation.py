"""The one picking core of playback, reprocessing and real time: the picker plus the bindings.

A station's bindings decide three things (:class:`StationSettings`): whether it is picked at all
(``detecEnable``, a binding of the module), on which sensor (``detecLocid``/``detecStream``) and
with which thresholds (detection, P, S). :class:`StationPicker` applies all three wherever
picks are made, so no mode can fall back to module-wide values by accident:

* the traces of streams the bindings do not select are dropped before the model sees them;
* the probabilities depend only on the module-wide options (model, overlap, stacking, ...), so
  the model runs once over all selected stations, batched together;
* each station is then triggered with its own thresholds, which only the trigger stage reads.

``settings_for`` is ``(network, station) -> StationSettings`` or a mapping ``"NET.STA" ->
StationSettings`` (picklable, for reprocessing workers); stations it does not name get the
module's settings. Playback (``SeqtPick.pick_stream``), archive reprocessing
(``scale.reprocess.process_task``), real time (``scale.realtime.RealtimePicker``) and the
SeisComP StreamApplication shell (``modules.stream_app``) all pick through this class.
"""

from __future__ import annotations

from typing import Callable, List, Mapping, Optional, Tuple, Union

from ..config.stations import StationSettings
from ..memory import release_freed_memory
from .engine import Picker
from .options import PickerOptions


#: The settings of a station without bindings: picked, module thresholds.
MODULE_SETTINGS = StationSettings()

SettingsFor = Union[Callable[[str, str], StationSettings], Mapping[str, StationSettings], None]


def trigger_picker(picker: Picker, options) -> Picker:
    """``picker`` itself, or a picker with ``options`` for triggering (no model of its own)."""
    if options is None or options == picker.options:
        return picker
    return Picker(options=options)


class StationPicker:
    """A :class:`Picker` that applies each station's bindings (see the module doc)."""

    def __init__(self, picker: Picker, settings_for: SettingsFor = None):
        self.picker = picker
        if settings_for is None:
            self._settings = lambda network, station: MODULE_SETTINGS
        elif isinstance(settings_for, Mapping):
            table = dict(settings_for)
            self._settings = lambda network, station: table.get(f"{network}.{station}", MODULE_SETTINGS)
        else:
            self._settings = settings_for

    @property
    def options(self) -> PickerOptions:
        return self.picker.options

    def settings(self, network: str, station: str) -> StationSettings:
        return self._settings(network, station)

    def selects(self, network: str, station: str, location: str, channel: str) -> bool:
        return self.settings(network, station).selects(location, channel)

    def select(self, stream):
        """The traces of ``stream`` whose streams the bindings pick (a new Stream)."""
        from obspy import Stream

        return Stream([tr for tr in stream if self.selects(tr.stats.network, tr.stats.station,
                                                           tr.stats.location, tr.stats.channel)])

    def station_options(self, network: str, station: str) -> PickerOptions:
        return self.settings(network, station).options or self.picker.options

    def trigger(self, result, starttime=None, endtime=None) -> Tuple[List, List]:
        """Picks and detections of one station's probabilities (an item of
        ``Picker.probabilities``) with the station's own thresholds, within [starttime, endtime)."""
        st = result[0]
        picker = trigger_picker(self.picker, self.station_options(st.network, st.station))
        return picker.picks_from_probabilities([result], starttime, endtime)

    def probabilities(self, stream, inventory=None):
        """``Picker.probabilities`` of the selected traces (module-wide options)."""
        return self.picker.probabilities(self.select(stream), inventory)

    def classify(self, stream, inventory=None, starttime=None, endtime=None) -> Tuple[List, List]:
        """As :meth:`Picker.classify` (pieces for long streams), bindings applied."""
        picks, detections = [], []
        stream = self.select(stream)
        for piece, a, b in self.picker._chunks(stream, starttime, endtime):
            for result in self.picker.probabilities(piece, inventory):
                p, d = self.trigger(result, a, b)
                picks += p
                detections += d
            del piece  # this piece's arrays go before the next one is prepared
            release_freed_memory()
        picks.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint))
        detections.sort(key=lambda d: (d.start, d.waveform_id.nslc))
        return picks, detections

    def pick(self, stream, inventory=None, starttime=None, endtime=None) -> List:
        return self.classify(stream, inventory, starttime, endtime)[0]


def classify_per_station(picker: Picker, stream, inventory=None, starttime=None, endtime=None,
                         options_for: Optional[Callable[[str, str], object]] = None) -> Tuple[List, List]:
    """As :meth:`Picker.classify`, each station triggered with ``options_for(net, sta)``."""
    settings = None if options_for is None else (
        lambda net, sta: StationSettings(options=options_for(net, sta)))
    return StationPicker(picker, settings).classify(stream, inventory, starttime, endtime)


def pick_per_station(picker: Picker, stream, inventory=None, starttime=None, endtime=None,
                     options_for: Optional[Callable[[str, str], object]] = None) -> List:
    return classify_per_station(picker, stream, inventory, starttime, endtime, options_for)[0]

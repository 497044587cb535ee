"""seqtpick --plot on a real record (ObsPy's CER event, real EqT): what a reader needs is on the
figure: amplitude axes in counts on one scale, UTC time after a whole minute, P on the vertical
and S on the horizontals, a legend for every curve, threshold and pick, the filter, '1 pick'."""

import re
from pathlib import Path

import numpy as np
import obspy
import pytest
from obspy import UTCDateTime

CER = Path(obspy.__file__).parent / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed"


@pytest.fixture(scope="module")
def cer(eqt_original):
    """The record, its D/P/S probability traces, picks and detections from the real model."""
    from seqt_plugins.modules.plotting import probability_traces
    from seqt_plugins.picker import Picker

    stream = obspy.read(str(CER))
    # the original model alone also puts P peaks of 0.15-0.3 at whole seconds (28, 30, 32 s)
    # inside this record's strong detection, which picker.strongPFactor would pick; the figure
    # is tested on the record's one clear P
    picker = Picker(model=eqt_original, strong_p_factor=1.0)
    results = picker.probabilities(stream)
    picks, detections = picker.picks_from_probabilities(results)
    assert detections and {p.phase_hint for p in picks} == {"P", "S"}
    return stream, probability_traces(*results[0]), picks, detections[0]


def _marks(ax, x):
    """Vertical lines of ``ax`` drawn at ``x``."""
    return [ln for ln in ax.lines if len(ln.get_xdata()) == 2 and np.allclose(ln.get_xdata(), x)]


def _channel(ax) -> str:
    return next(t.get_text() for t in ax.texts if t.get_text().startswith("BH"))


def test_detection_figure(cer):
    from seqt_plugins.modules.plotting import detection_figure

    stream, annotations, picks, det = cer
    fig = detection_figure(stream, annotations, picks, det.start, det.end, {"D": 0.3, "P": 0.3, "S": 0.1})
    *waves, prob = fig.axes
    assert sorted(_channel(ax) for ax in waves) == ["BHE", "BHN", "BHZ"]
    # one amplitude axis in counts for the three components, holding every sample shown
    assert all(ax.get_ylabel() == "counts" for ax in waves)
    assert len({ax.get_ylim() for ax in waves}) == 1
    peak = max(np.abs(ln.get_ydata()).max() for ax in waves for ln in ax.lines if len(ln.get_xdata()) > 2)
    assert peak <= waves[0].get_ylim()[1] < 1.2 * peak
    # time: s after a whole minute, stated once with its date and UTC
    label = prob.get_xlabel()
    ref = UTCDateTime(re.fullmatch(r"s after (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", label).group(1))
    assert ref.second == 0 and ref.microsecond == 0 and 0 <= det.start - 10.0 - ref < 60.0
    assert all(ax.get_xlabel() == "" for ax in waves)
    # P on the vertical only, S on the horizontals only, both on the probabilities
    for p in picks:
        on = {_channel(ax) for ax in waves if _marks(ax, p.time - ref)}
        assert on == ({"BHZ"} if p.phase_hint == "P" else {"BHN", "BHE"}), (p.phase_hint, on)
        assert _marks(prob, p.time - ref)
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {"detection probability (EqT)", "P probability (EqT)", "S probability (EqT)", "detection threshold 0.30",
            "P threshold 0.30", "S threshold 0.10", "P pick (on the vertical)", "S pick (on the horizontals)",
            "detection span"} <= legend
    assert "band-pass 1–45 Hz" in waves[0].get_title()
    title = fig._suptitle.get_text()
    assert title.startswith(".CER.00.BH ") and f"{len(picks)} picks" in title
    one = detection_figure(stream, annotations, [p for p in picks if p.phase_hint == "P"], det.start, det.end,
                           {"D": 0.3})
    assert "1 pick:" in one._suptitle.get_text()
    assert "P threshold 0.30" not in {t.get_text() for t in one.legends[0].get_texts()}


def test_plot_detections_writes_titled_pngs(cer, tmp_path):
    """One PNG per detection, written atomically (no partial file left), its Title as drawn."""
    from PIL import Image

    from seqt_plugins.modules.plotting import plot_detections
    from seqt_plugins.plotbase import safe_name

    stream, annotations, picks, det = cer
    paths = plot_detections(stream, annotations, picks, tmp_path / "plots", threshold=0.3, p_threshold=0.3,
                            s_threshold=0.1, detections=[(det.start, det.end)])
    assert [p.name for p in (tmp_path / "plots").iterdir()] == [paths[0].name]  # nothing else, no .part
    with Image.open(paths[0]) as image:
        title = image.text["Title"]
    sensor, when = paths[0].stem.split("_")
    assert safe_name(title.split()[0]) == sensor and when == det.start.strftime("%Y%m%dT%H%M%S")

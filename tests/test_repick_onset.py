"""The re-picker's onset path (repicker/onset.py) on real records with analyst picks."""

import numpy as np
import pytest

from conftest import require_shared
from seqt_plugins.evaluation import add_noise, labelled_arrays
from seqt_plugins.picker.prepare import FS, WINDOW, prepare_stream
from seqt_plugins.repicker.onset import onset_ratio


@pytest.fixture(scope="module")
def corinth():
    records = labelled_arrays(require_shared("data", "labelled_arrays"))
    return next(r for r in records if r.name.startswith("CRL_2010.01.20"))


def _windows_around(record, phase, lead=20.0):
    """(station, prepared 60-s window, index of the analyst pick in it) per labelled station-phase."""
    out = []
    for sd in prepare_stream(record.stream, inventory=record.inventory):
        t = record.labels.get((sd.network, sd.station, phase))
        if t is None:
            continue
        for seg in sd.segments:
            if seg.npts < WINDOW:
                continue
            pick = int(round((t - seg.start) * FS))
            i = min(max(0, pick - int(round(lead * FS))), seg.npts - WINDOW)  # a short record: as much lead as it has
            if 500 <= pick - i <= WINDOW - 300:
                out.append((sd.station, seg.data[i:i + WINDOW], pick - i))
                break
    return out


def test_onset_ratio_peaks_at_the_analyst_p(corinth):
    """Inside ±2 s of each analyst P (what a located origin predicts to a second or two), the
    ratio's maximum lies on the analyst pick, and stands far above its level on noise."""
    windows = _windows_around(corinth, "P")
    assert len(windows) >= 12
    errors, peaks, noise = [], [], []
    for sta, w, k in windows:
        r = onset_ratio(w, "P")
        j = k - 200 + int(np.argmax(r[k - 200:k + 200]))
        errors.append(abs(j - k) / FS)
        peaks.append(r[j])
        noise.append(np.median(r[200:k - 300]))  # the seconds before the arrival
    errors, peaks, noise = map(np.array, (errors, peaks, noise))
    print("P onset errors (s):", np.round(errors, 2), "ratios:", np.round(peaks, 1))
    assert np.mean(errors <= 0.5) >= 0.9
    assert np.median(peaks) > 5 * np.median(noise)
    assert np.median(noise) < 1.5  # on noise, the energy after a sample is about that before it


def test_onset_ratio_falls_with_the_snr(corinth):
    """The same windows with the SNR divided by 10 (the station's own pre-event noise added): the
    ratio at the analyst P drops, and a dead component is no onset."""
    clear = {sta: onset_ratio(w, "P")[k - 200:k + 200].max() for sta, w, k in _windows_around(corinth, "P")}
    noisy = {sta: onset_ratio(w, "P")[k - 200:k + 200].max()
             for sta, w, k in _windows_around(add_noise(corinth, 10.0, seed=3), "P")}
    common = sorted(set(clear) & set(noisy))
    assert len(common) >= 12
    assert np.median([noisy[s] / clear[s] for s in common]) < 0.7
    dead = np.zeros((WINDOW, 3), dtype=np.float32)
    assert not onset_ratio(dead, "P").any() and not onset_ratio(dead, "S").any()


def test_onset_path_recovers_clear_arrivals_eqt_missed():
    """The re-picker's defaults on events located from the picker's own picks (as recorded):
    EqT misses the P of CRL's KOU (a borehole station without a vertical) and of IPOC's PB02
    (the conservative model gives 0.00 there), both clear on the seismograms; the onset path
    re-picks them within the analyst tolerance, and none of its re-picks is wrong."""
    from seqt_plugins.catalog.locate import locate_events
    from seqt_plugins.evaluation import TOL, WRONG_WITHIN, with_events
    from seqt_plugins.picker import Picker
    from seqt_plugins.repicker import Repicker

    records = labelled_arrays(require_shared("data", "labelled_arrays"))
    picker = Picker()
    onset = {}
    for r in records:
        if not r.name.startswith(("CRL_2010.01.18", "IPOC")):
            continue
        picks = picker.pick(r.stream, r.inventory)
        ep = with_events(picks, locate_events(picks, r.coordinates))
        rp = Repicker()
        rp.repick(ep, r.stream, inventory=r.inventory, coordinates=r.coordinates)
        for x in rp.last_results:
            if x.path == "onset":
                key = (x.pick.waveform_id.network, x.pick.waveform_id.station, x.pick.phase_hint)
                assert x.score >= rp.options.onset_threshold
                if key in r.labels:
                    onset[key] = x.pick.time - r.labels[key]
    print({k[1] + k[2]: round(v, 2) for k, v in onset.items()})
    assert abs(onset[("CL", "KOU", "P")]) <= TOL["P"]
    assert abs(onset[("CX", "PB02", "P")]) <= TOL["P"]
    assert all(abs(dt) <= TOL[k[2]] or abs(dt) > WRONG_WITHIN for k, dt in onset.items())


def test_onset_path_needs_eqt_detection_on_a_busy_array():
    """Hengill (ten events in five minutes) with its own quiet noise added (SNR / 10), through
    seqt-catalog's pipeline: inside a predicted window the strongest energy jump is often another
    event's arrival. Without the detection condition the onset path re-picks such arrivals; with
    it (the default), it adds none there."""
    from seqt_plugins.catalog import AssociatorOptions, CatalogPipeline
    from seqt_plugins.evaluation import Record, origin_arrivals
    from seqt_plugins.picker import Picker
    from seqt_plugins.repick_case import load_hengill
    from seqt_plugins.repicker import Repicker
    from seqt_plugins.repicker.options import RepickerOptions

    root = require_shared("data", "hengill")
    stream, inv, coords = load_hengill(root)
    assoc = AssociatorOptions(velocity_model=str(root / "velocity_model.txt"))
    picker = Picker()
    clean = CatalogPipeline(associator_options=assoc, picker=picker, repick=False)
    clean.run(stream, inv, coords)
    first = {}
    for net, sta, ph, t in origin_arrivals(clean.stages.first):  # where the pre-event noise ends
        first[(net, sta, ph)] = min(first.get((net, sta, ph), t), t)
    noisy = add_noise(Record("hengill", stream, first, inv, coords), 10.0, seed=7).stream
    onsets = {}
    for gate in (0.0, RepickerOptions().detection_threshold):
        pipe = CatalogPipeline(associator_options=assoc, picker=picker,
                               repicker=Repicker(options=RepickerOptions(detection_threshold=gate)))
        pipe.run(noisy, inv, coords)
        onsets[gate] = [x for x in pipe.stages.repick_results if x.path == "onset"]
    print({g: len(v) for g, v in onsets.items()})
    assert len(onsets[0.0]) >= 3
    assert onsets[RepickerOptions().detection_threshold] == []

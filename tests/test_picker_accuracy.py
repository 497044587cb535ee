"""Pick accuracy of the default Picker (both published models, mean) on the labelled shared data.

Levels asserted are the measured ones (benchmarks/pick_quality.py, defaults: model both/mean,
detection 0.3, P 0.3, S 0.1, max stacking, overlap 0.5) less a small slack:

- single_station, 154 records cut 0–20 s late (seeded): P within 0.5 s on 148 (0.961),
  13 other P picks, mean |error| 0.035 s; S within 1.0 s on 153 (0.994), 17 other S picks;
- hengill: stations (of 20) with a P within [T−1, T+4] s of the listed events:
  [0, 3, 20, 17, 19, 8, 19, 14, 11, 15] → 7 of 10 events at ≥ 10 stations. The first event
  (03:00:05, 5 s into the recording, small) and the second are too early/small for EqT.
"""

import csv

import numpy as np
import pytest
from obspy import Stream, UTCDateTime, read

from conftest import require_shared
from seqt_plugins.picker import Picker

EVENTS = ["03:00:05", "03:00:15", "03:00:40", "03:01:18", "03:01:43", "03:02:13", "03:03:00", "03:03:19", "03:03:55", "03:04:29"]


@pytest.fixture(scope="module")
def picker(eqt_conservative, eqt_original):
    return Picker(model=[eqt_conservative, eqt_original])  # the default model="both", loaded once


def test_single_station_p_and_s_timing(picker):
    root = require_shared("data", "single_station")
    rng = np.random.default_rng(20200807)
    st, labels = Stream(), {}
    with open(root / "picks.csv") as f:
        for i, row in enumerate(csv.DictReader(f)):
            rec = read(str(root / row["file"]))
            offset = round(float(rng.uniform(0.0, 20.0)), 2)  # P no longer at a fixed position
            rec.trim(UTCDateTime(row["starttime"]) + offset, None)
            for tr in rec:
                tr.stats.network, tr.stats.station = "XX", f"R{i:03d}"
            st += rec
            labels[f"R{i:03d}"] = {"P": UTCDateTime(row["p_time"]), "S": UTCDateTime(row["s_time"])}
    picks = picker.pick(st)
    hits = {"P": [], "S": []}
    false = {"P": 0, "S": 0}
    tol = {"P": 0.5, "S": 1.0}
    for code, lab in labels.items():
        for phase in ("P", "S"):
            errs = [pk.time - lab[phase] for pk in picks if pk.waveform_id.station == code and pk.phase_hint == phase]
            good = [e for e in errs if abs(e) <= tol[phase]]
            if good:
                hits[phase].append(min(good, key=abs))
            false[phase] += len(errs) - (1 if good else 0)
    n = len(labels)
    assert n == 154
    assert len(hits["P"]) >= 145, (len(hits["P"]), false)  # measured 148
    assert len(hits["S"]) >= 149, (len(hits["S"]), false)  # measured 153
    assert false["P"] <= 20 and false["S"] <= 25, false  # measured 13 and 17
    assert np.mean(np.abs(hits["P"])) < 0.06  # measured 0.035 s
    assert np.mean(np.abs(hits["S"])) < 0.12  # measured 0.075 s
    some = [pk for pk in picks if pk.phase_hint == "P"][:5]
    assert all(pk.method_id == "EQTransformer" and 0 < pk.probability <= 1 and pk.time_uncertainty > 0 for pk in some)
    assert all(pk.snr is not None and pk.amplitude > 0 for pk in some)


def test_hengill_events_picked_at_most_stations(picker):
    root = require_shared("data", "hengill", "mseed")
    st = read(str(root / "*.mseed"))
    picks = picker.pick(st)
    counts = []
    for t in EVENTS:
        t = UTCDateTime(f"2018-12-30T{t}")
        counts.append(len({pk.waveform_id.station for pk in picks if pk.phase_hint == "P" and t - 1 <= pk.time <= t + 4}))
    assert sum(c >= 10 for c in counts) >= 7, counts  # measured 7 of 10
    assert counts[2] >= 19, counts  # the largest event: measured 20 of 20
    assert len({pk.waveform_id.station for pk in picks}) == 20

"""Shard-edge equality: one long run equals hourly pieces picked with the needed margin.

Data: 2.5 hours built by tiling the 5-minute Hengill recording of three stations (200 Hz
starting half a 200 Hz sample off the 10 ms grid, 200 Hz on it, and 100 Hz off the grid).
The hour boundaries fall 41 s into a tile, i.e. during the largest event of the recording,
so picks right at the shard edges are exercised. Real model, real weights.
"""

import numpy as np
from obspy import Stream, Trace, UTCDateTime, read

from conftest import require_shared
from seqt_plugins.picker import Picker

HOUR = 3600.0
TILE = 300.0


def _tiled(hours=2.5):
    root = require_shared("data", "hengill", "mseed")
    src = read(str(root / "*.mseed"))
    first_hour = UTCDateTime("2024-03-01T01:00:00")
    t0 = first_hour - (12 * TILE + 41.0)  # hour boundaries 41 s into a tile
    out = Stream()
    for sta, offset in (("BIT06", 0.0025), ("GAN02", 0.0), ("NESJV", 0.003)):
        for tr in src.select(station=sta):
            n_tile = int(round(TILE * tr.stats.sampling_rate))
            one = tr.data[:n_tile].astype(np.float64)
            reps = int(np.ceil(hours * HOUR / TILE))
            out += Trace(np.tile(one, reps), header={**{k: tr.stats[k] for k in ("network", "station", "location", "channel", "sampling_rate")},
                                                     "starttime": t0 + offset})
    return out, t0, first_hour



def assert_same_picks(whole, pieces):
    """Picks of a cut-up run equal those of the whole run (also used by the chunking tests)."""
    assert len(pieces) == len(whole)
    for w, c in zip(whole, pieces):
        assert (w.waveform_id.nslc, w.phase_hint) == (c.waveform_id.nslc, c.phase_hint)
        # identical preparation away from the cuts (fixed taper, edge-local offset): the same
        # pick, measured equal to the last digit
        assert w.public_id == c.public_id and w.time == c.time
        assert abs(w.probability - c.probability) <= 1e-6
        assert abs((w.time_uncertainty or 0) - (c.time_uncertainty or 0)) <= 1e-6

def test_hourly_shards_equal_whole_run(eqt_conservative):
    st, t0, first_hour = _tiled()
    picker = Picker(model=eqt_conservative)
    margin = picker.options.margin
    t_end = max(tr.stats.endtime for tr in st)
    whole = picker.pick(st)
    assert len(whole) > 50

    bounds = [t0, first_hour, first_hour + HOUR, t_end + 1]
    sharded = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        piece = st.slice(a - margin, b + margin)
        sharded += picker.pick(piece, starttime=a, endtime=b)
    sharded.sort(key=lambda p: (p.time, p.waveform_id.nslc, p.phase_hint))

    assert_same_picks(whole, sharded)
    # picks near the shard edges exist and survived
    near_edges = [p for p in whole if min(abs(p.time - first_hour), abs(p.time - first_hour - HOUR)) < 15]
    assert near_edges

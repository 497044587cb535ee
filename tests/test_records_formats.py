"""file:// reads other waveform formats obspy knows, but never half-reads damaged miniSEED."""

from pathlib import Path

import numpy as np
import obspy
import pytest

from seqt_plugins.io.records import RecordStreamError, open_record_stream

OBSPY = Path(obspy.__file__).parent
SEISAN_EVENT = OBSPY / "io/seisan/tests/data/2001-01-13-1742-24S.KONO__004"


def test_a_seisan_event_file_reads_like_obspy():
    rs = open_record_stream(f"file://{SEISAN_EVENT}")
    expected = obspy.read(str(SEISAN_EVENT))
    t0 = min(tr.stats.starttime for tr in expected)
    t1 = max(tr.stats.endtime for tr in expected)
    got = rs.get_waveforms("*", "*", "*", "*", t0, t1)
    assert {tr.id for tr in got} == {tr.id for tr in expected}
    for tr in got:
        want = expected.select(id=tr.id)[0]
        assert tr.stats.starttime == want.stats.starttime
        assert np.array_equal(tr.data, want.data)


def test_damaged_miniseed_stays_an_error(tmp_path):
    good = OBSPY / "io/seisan/tests/data/2005-07-23-1452-04S.CER___030.mseed"
    data = bytearray(good.read_bytes())
    data[600:1200] = b"\x07" * 600  # damage the second record's header and data
    bad = tmp_path / "CER.mseed"
    bad.write_bytes(bytes(data))
    with pytest.raises(RecordStreamError, match="CER.mseed"):
        open_record_stream(f"file://{bad}").get_waveforms("*", "*", "*", "*", "2005-07-23", "2005-07-24")

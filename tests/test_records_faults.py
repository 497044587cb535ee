"""fdsnws record stream under faults, against :class:`servers.FaultyDataselect` on loopback
(a dataselect server over an SDS archive of hengill that misbehaves on request)."""

import pytest
from obspy import UTCDateTime

from conftest import require_shared
from seqt_plugins.io.records import RecordStreamError, open_record_stream
from servers import FaultyDataselect, build_sds, free_port

A, B = UTCDateTime("2018-12-30T03:01:00"), UTCDateTime("2018-12-30T03:02:00")
REQ = ("2C", "BIT06", "", "HHZ", A, B)


@pytest.fixture(scope="module")
def sds(tmp_path_factory):
    return build_sds(require_shared("data", "hengill") / "mseed", tmp_path_factory.mktemp("sds"))


@pytest.fixture(scope="module")
def reference(sds):
    st = open_record_stream(f"sdsarchive://{sds}").get_waveforms(*REQ)
    assert len(st) == 1 and st[0].stats.npts == 12001
    return st


@pytest.fixture
def server(sds):
    with FaultyDataselect(sds) as srv:
        yield srv


def _open(srv, **opts):
    q = "&".join(f"{k}={v}" for k, v in {"retries": 2, "backoff": 0.01, "timeout": 10, **opts}.items())
    return open_record_stream(f"fdsnws://{srv.address}?{q}")


def test_ok_equals_archive(server, reference):
    assert _open(server).get_waveforms(*REQ) == reference
    assert len(server.requests) == 1 and server.requests[0][0][:4] == ("2C", "BIT06", "", "HHZ")


def test_server_down_names_url_after_retries():
    url = f"fdsnws://127.0.0.1:{free_port()}?retries=2&backoff=0.01"
    with pytest.raises(RecordStreamError) as err:
        open_record_stream(url).get_waveforms(*REQ)
    msg = str(err.value)
    assert url in msg and "after 3 attempts" in msg and "\n" not in msg


@pytest.mark.parametrize("fault", ["500", "503", "corrupt", "truncate", "drop"])
def test_transient_fault_is_retried(server, reference, fault):
    server.faults = [fault, fault]
    assert _open(server).get_waveforms(*REQ) == reference
    assert len(server.requests) == 3


@pytest.mark.parametrize("fault,text", [("500", "Internal server error"),
                                        ("corrupt", "corrupt miniSEED"),
                                        ("truncate", "interrupted"),
                                        ("drop", "")])
def test_persistent_fault_fails_with_message(server, fault, text):
    server.default = fault
    with pytest.raises(RecordStreamError) as err:
        _open(server).get_waveforms(*REQ)
    msg = str(err.value)
    assert f"fdsnws://{server.address}" in msg and "after 3 attempts" in msg and text in msg
    assert len(server.requests) == 3


@pytest.mark.parametrize("fault,text", [("400", "HTTP 400"), ("413", "HTTP 413")])
def test_client_errors_are_not_retried(server, fault, text):
    server.default = fault
    with pytest.raises(RecordStreamError, match=text):
        _open(server).get_waveforms(*REQ)
    assert len(server.requests) == 1


def test_no_data_is_empty_stream(server, reference):
    server.nodata_stations = {"2C.BIT06"}
    rs = _open(server)
    assert len(rs.get_waveforms(*REQ)) == 0
    both = rs.get_waveforms_bulk([REQ, ("ON", "NESJV", "00", "HHZ", A, B)])
    assert [tr.id for tr in both] == ["ON.NESJV.00.HHZ"]
    assert len(server.requests) == 2  # 204 is an answer, not a failure


def test_empty_200_is_reported_not_empty_stream(server):
    """HTTP 200 without a body is not "no data" (that is 204): report it, do not retry it."""
    server.default = "empty200"
    with pytest.raises(RecordStreamError, match="HTTP 200 with an empty body") as err:
        _open(server).get_waveforms(*REQ)
    assert f"fdsnws://{server.address}" in str(err.value) and "\n" not in str(err.value)
    assert len(server.requests) == 1


def test_slow_server_times_out(server, reference):
    server.slow_s = 3.0
    server.faults = ["slow"]
    with pytest.raises(RecordStreamError, match="timed out after 0.5 s"):
        _open(server, timeout=0.5, retries=0).get_waveforms(*REQ)
    server.faults = ["slow"]
    assert _open(server, timeout=0.5, retries=1).get_waveforms(*REQ) == reference

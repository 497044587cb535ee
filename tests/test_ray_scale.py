"""Reprocessing on a local Ray with 2 workers: the picks of one process; a worker that dies
mid-task costs nothing. Station-days are 60 s shards of the 5-minute hengill data."""

import os
import re
from pathlib import Path

import pytest

from conftest import require_shared
from servers import build_sds

try:
    import ray  # noqa: F401  (the check that Ray is installed)
except ImportError:  # the [ray] or [test] extra is not installed
    if os.environ.get("SEQT_REQUIRE_SHARED") == "1":  # CI installs .[test]: Ray must be there
        raise
    pytest.skip("needs Ray (pip install '.[ray]')", allow_module_level=True)

STATIONS = ["2C.BIT06", "2C.GAN02", "ON.NESJV.00"]
BEGIN, END = "2018-12-30T03:00:00", "2018-12-30T03:05:00"
SHARD = 60.0


def xml_without_creation_time(path) -> str:
    return re.sub(r"\s*<creationTime>[^<]*</creationTime>", "", Path(path).read_text())


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    sds = build_sds(require_shared("data", "hengill", "mseed"), tmp_path_factory.mktemp("sds"))
    return f"sdsarchive://{sds}"


@pytest.fixture(scope="module")
def one_process(url, eqt_conservative, tmp_path_factory):
    from seqt_plugins.picker import Picker
    from seqt_plugins.scale.reprocess import reprocess

    out = tmp_path_factory.mktemp("one")
    summary = reprocess(url, STATIONS, BEGIN, END, out, shard=SHARD,
                        picker_factory=lambda: Picker(model=eqt_conservative),
                        merged_output=out / "picks.xml")
    assert summary.done == 15 and summary.picks > 0
    return out / "picks.xml"


@pytest.fixture(scope="module")
def backend():
    from seqt_plugins.scale.ray_backend import RayBackend

    b = RayBackend(workers=2)
    yield b
    b.close()


def test_two_ray_workers_give_the_picks_of_one_process(url, one_process, backend, tmp_path):
    from seqt_plugins.scale.reprocess import reprocess

    summary = reprocess(url, STATIONS, BEGIN, END, tmp_path, shard=SHARD, backend=backend,
                        picker_options={"model": "conservative"},
                        merged_output=tmp_path / "picks.xml")
    assert (summary.done, summary.failed) == (15, 0)
    assert len(backend.actor_pids()) == 2
    assert xml_without_creation_time(tmp_path / "picks.xml") == \
        xml_without_creation_time(one_process)


def test_worker_killed_mid_task_run_completes_with_the_same_output(url, one_process, backend,
                                                                   tmp_path):
    from seqt_plugins.scale.ledger import Ledger
    from seqt_plugins.scale.reprocess import reprocess

    marker = tmp_path / "crashed"
    victim = "2C.GAN02/2018-12-30T03:01:00"
    lost, replaced = backend.lost_tasks, backend.replacements
    summary = reprocess(url, STATIONS, BEGIN, END, tmp_path / "out", shard=SHARD,
                        backend=backend, picker_options={"model": "conservative"},
                        merged_output=tmp_path / "picks.xml",
                        crash_once=(victim, str(marker)))  # os._exit in the worker
    assert marker.exists(), "the worker never reached the victim task"
    assert backend.lost_tasks == lost + 1 and backend.replacements == replaced + 1
    assert (summary.done, summary.failed) == (15, 0)
    with Ledger(tmp_path / "out" / "ledger.sqlite") as ledger:
        assert ledger.counts() == {"done": 15}
    assert xml_without_creation_time(tmp_path / "picks.xml") == \
        xml_without_creation_time(one_process)

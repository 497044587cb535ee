"""seqt-train on a tiny STEAD-format set built here from real waveforms.

The set: 3 "events", each one labelled recording of ../shared/data/single_station; its
"stations" are 60 s windows cut at different offsets of that same recording (shifted copies of
one waveform, with their own P / S / coda-end samples), plus a small amount of noise. That is
not a real network, but it has the STEAD layout (data/<trace_name> (6000, 3) E,N,Z with
p_arrival_sample, s_arrival_sample, coda_end_sample, source_id, trace_category attributes, and a
CSV) and real EqT features, which is what the training code needs to be exercised.
"""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest
from conftest import require_shared

from seqt_plugins.repicker import siamese
from seqt_plugins.repicker.training import TrainConfig, TrainingDataError, SteadPairs, latest_checkpoint, train

OFFSETS = (600, 1500, 2100)  # window starts: P at 2400, 1500, 900 samples


def _stead_set(directory):
    import obspy

    base = require_shared("data", "single_station")
    with open(base / "picks.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["npts"]) >= 9000 and len(r["channels"].split(";")) == 3]
    rows = sorted(rows, key=lambda r: -float(r["s_minus_p_s"]))
    rows = [r for r in rows if int(r["s_sample"]) - int(r["p_sample"]) < 1500][:3]
    rng = np.random.default_rng(0)
    h5_path, csv_path = directory / "tiny.hdf5", directory / "tiny.csv"
    with h5py.File(h5_path, "w") as h5, open(csv_path, "w", newline="") as fc:
        out = csv.writer(fc)
        out.writerow(["network_code", "receiver_code", "p_arrival_sample", "s_arrival_sample", "coda_end_sample",
                      "source_id", "trace_category", "trace_name"])
        data = h5.create_group("data")
        for e, row in enumerate(rows):
            st = obspy.read(str(base / row["file"]))
            x = np.stack([st.select(component=c)[0].data.astype(np.float64) for c in "ENZ"], axis=1)
            p, s = int(row["p_sample"]), int(row["s_sample"])
            for k, off in enumerate(OFFSETS):
                w = x[off : off + 6000] + rng.normal(0, 0.05 * x.std(), (6000, 3))
                name = f"EV{e}.ST{k}_{row['file'][:-6]}_EV"
                ds = data.create_dataset(name, data=w.astype(np.float32))
                attrs = {"p_arrival_sample": p - off, "s_arrival_sample": s - off,
                         "coda_end_sample": np.array([[min(5999, s - off + 2 * (s - p) + 300)]], dtype=np.float64),
                         "source_id": f"ev{e}", "trace_category": "earthquake_local"}
                ds.attrs.update(attrs)
                out.writerow(["XX", f"ST{k}", p - off, s - off, "", f"ev{e}", "earthquake_local", name])
    return h5_path, csv_path


@pytest.fixture(scope="module")
def stead(tmp_path_factory):
    return _stead_set(tmp_path_factory.mktemp("stead"))


def _cfg(stead, directory, **kw):
    base = dict(hdf5=str(stead[0]), csv=str(stead[1]), branch="P", steps=6, batch_size=2, lr=1e-3,
                checkpoint_dir=str(directory), checkpoint_every=3, seed=3, progress=False)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def full_run(stead, eqt_conservative, tmp_path_factory):
    directory = tmp_path_factory.mktemp("ckpt_full")
    return directory, train(_cfg(stead, directory), eqt=eqt_conservative)


def test_stead_pairs(stead):
    data = SteadPairs(str(stead[0]), str(stead[1]))
    try:
        assert len(data.events) == 3 and all(len(ts) == 3 for _, ts in data.events)
        t, s = data.draw(np.random.default_rng(0))
        assert t.station != s.station and t.p < t.s
    finally:
        data.close()


def test_training_loss_decreases_and_head_reloads(full_run):
    directory, result = full_run
    losses = result.losses
    assert len(losses) == 6 and result.last_step == 6
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < losses[0]
    # The saved head (the published file layout) reloads and gives identical outputs.
    reloaded = siamese.load_siamese_head(result.head_path)
    x = [np.random.default_rng(1).standard_normal((1,) + s).astype(np.float32) for s in siamese.input_shapes()]
    for a, b in zip(result.head(x, training=False), reloaded(x, training=False)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    step, state = latest_checkpoint(directory)
    assert step == 6 and (directory / "ckpt-00000003.hdf5").is_file()


def test_resume_continues_the_same_run(stead, eqt_conservative, full_run, tmp_path):
    _, full = full_run
    first = train(_cfg(stead, tmp_path, steps=3), eqt=eqt_conservative)
    assert first.last_step == 3 and latest_checkpoint(tmp_path)[0] == 3
    resumed = train(_cfg(stead, tmp_path, steps=6, resume=True), eqt=eqt_conservative)
    assert resumed.first_step == 3 and resumed.last_step == 6 and len(resumed.losses) == 3
    # Same pairs, weights and optimizer state as the uninterrupted run: the same losses.
    np.testing.assert_allclose(first.losses + resumed.losses, full.losses, rtol=1e-3)


def test_bad_input_is_one_line(tmp_path, stead):
    with pytest.raises(TrainingDataError, match="file not found"):
        SteadPairs(str(tmp_path / "none.hdf5"), str(stead[1]))
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("trace_name,other\nx,1\n")
    with pytest.raises(TrainingDataError, match=r"missing column\(s\) \['source_id'\]"):
        SteadPairs(str(stead[0]), str(bad_csv))


def test_cli(tmp_path, stead, capsys):
    from seqt_plugins.modules.seqttrain import main

    assert main(["--hdf5", "x"]) == 255
    assert main(["--hdf5", str(tmp_path / "none.hdf5"), "--csv", str(stead[1]), "--steps", "1",
                 "--checkpoint-dir", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "[error/seqt-train] " in err[-1] and "none.hdf5: file not found" in err[-1]


def test_cli_logs_like_the_modules(tmp_path, stead, eqt_conservative, capsys):
    """One summary line at the default verbosity (stdout empty); the deprecated --log-level
    still works, with a warning naming its replacement."""
    import re

    from seqt_plugins.modules.seqttrain import main

    ckpt = tmp_path / "c"
    argv = ["--hdf5", str(stead[0]), "--csv", str(stead[1]), "--steps", "1", "--batch-size", "1",
            "--checkpoint-dir", str(ckpt)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out == ""
    head = ckpt / "S_EqT_P_branch.hdf5"
    assert head.is_file()
    line = (r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice/seqt-train\] trained the P head from step 0 to 1, "
            r"last loss \d+\.\d{4}: %s in \d+\.\d s" % re.escape(str(head)))
    assert re.fullmatch(line, err.strip()), err
    assert main(argv + ["--steps", "2", "--resume", "--log-level", "INFO"]) == 0
    err = capsys.readouterr().err
    assert "[warning/seqt-train] --log-level is deprecated: use --verbosity 3" in err
    assert re.search(r"\[info/seqt-train\] resumed from .*ckpt-00000001\.\S+ at step 1", err)

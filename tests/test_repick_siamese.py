"""Re-picker in ``mode="siamese"`` end to end on one Hengill event, with RANDOM heads.

The P and S heads are ``build_siamese_head()`` with seeded random initial weights, saved with
``save_siamese_head`` and loaded back by the re-picker: the authors' trained weights are not
available here, and random weights cannot give meaningful picks (their fused traces are close to
0.5 everywhere, so the argmax inside each search interval is arbitrary). What is checked is the
wiring: the taps the heads read, the shapes of what flows between engine and head, batched ==
one pair at a time, and that every re-pick is a well-formed S-EqT pick with a reference pick and
an arrival. Plus the module's one-line error when siamese mode lacks its weight files.
"""

import copy

import numpy as np
import pytest

from conftest import require_shared

ORIGIN = 2  # the event tests/test_seqtrepick_cli.py uses
N_SEARCH = 3  # stations searched (the first without picks of the event), to keep the test short


@pytest.fixture(scope="module")
def heads(tmp_path_factory):
    import keras

    from seqt_plugins.repicker import siamese

    d = tmp_path_factory.mktemp("heads")
    paths = {}
    for seed, branch in enumerate("PS"):
        keras.utils.set_random_seed(100 + seed)
        paths[branch] = siamese.save_siamese_head(siamese.build_siamese_head(), d / f"random_{branch}.hdf5",
                                                  attrs={"branch": branch, "note": "random init (tests)"})
    return paths


@pytest.fixture(scope="module")
def event(eqt_conservative):
    """One origin with only its own picks, and the waveforms of its picked stations + a few others."""
    from obspy import Stream

    from seqt_plugins.picks.model import EventParameters
    from seqt_plugins.repick_case import hengill_case

    root = require_shared("data", "hengill")
    stream, inv, coords, ref, conf, ep, hidden = hengill_case(root, eqt_conservative)
    o = copy.deepcopy(ep.origins[ORIGIN])
    ids = {a.pick_id for a in o.arrivals}
    picks = [p for p in ep.picks if p.public_id in ids]
    small = EventParameters(picks=picks, origins=[o], events=[copy.deepcopy(ep.events[ORIGIN])])
    picked = {p.waveform_id.station for p in picks}
    others = sorted({tr.stats.station for tr in stream} - picked)[:N_SEARCH]
    sub = Stream([tr for tr in stream if tr.stats.station in picked or tr.stats.station in others])
    return small, sub, inv, root


def test_siamese_mode_wiring_and_batching(eqt_conservative, heads, event, monkeypatch):
    from seqt_plugins.repicker import METHOD_ID, Repicker, siamese

    small, stream, inv, root = event
    rp = Repicker(model=eqt_conservative, mode="siamese", siamese_p=str(heads["P"]), siamese_s=str(heads["S"]),
                  eqt_max=False, max_templates=2)
    assert rp.names("P") == siamese.tap_names("P") and rp.names("S") == siamese.tap_names("S")
    calls = []
    predict = rp.head.predict

    def spy(phase, templates, searches, batched=True, valid=None):
        out = predict(phase, templates, searches, batched, valid=valid)
        calls.append((phase, templates, searches, batched, out))
        return out

    monkeypatch.setattr(rp.head, "predict", spy)
    a = rp.repick(small, stream, inventory=inv, batched=True)
    ra = list(rp.last_results)
    b = rp.repick(small, stream, inventory=inv, batched=False)
    rb = list(rp.last_results)

    # both phases went through the head, batched then one pair at a time, with the same inputs
    assert [(c[0], c[3]) for c in calls] == [("P", True), ("S", True), ("P", False), ("S", False)]
    shapes = [(L, c2 // 2) for L, c2 in siamese.input_shapes()]
    for (phase, templates, searches, _, out), (_, templates2, searches2, _, out2) in zip(calls[:2], calls[2:]):
        assert 1 <= len(templates) <= 2 and searches
        assert out.shape == (len(templates), len(searches), 6000) and out.dtype == np.float32
        assert np.all((out >= 0) & (out <= 1))
        for t in templates:
            assert t.full and 0 < t.start_frac < t.end_frac < 1 and t.phase == phase
        for s in searches:
            for name, shape in zip(siamese.tap_names(phase), shapes):
                assert s[name].shape == shape, name
        assert [t.pick_id for t in templates] == [t.pick_id for t in templates2] and len(searches) == len(searches2)
        np.testing.assert_allclose(out2, out, rtol=1e-4, atol=1e-5)

    # one template broadcast over n searches == the template repeated == one pair at a time
    phase, templates, searches = calls[0][:3]
    names = siamese.tap_names(phase)
    t = templates[0]
    tP, tS = t.start_frac * 6000, t.end_frac * 6000
    sf = {n: np.stack([s[n] for s in searches]) for n in names}
    one = siamese.head_inputs({n: t.maps[n][None] for n in names}, sf, tP, tS, phase)
    rep = siamese.head_inputs({n: np.repeat(t.maps[n][None], len(searches), 0) for n in names}, sf, tP, tS, phase)
    assert [x.shape for x in one] == [(len(searches),) + s for s in siamese.input_shapes()]
    for k in range(len(searches)):
        pair = siamese.head_inputs({n: t.maps[n][None] for n in names}, {n: v[k : k + 1] for n, v in sf.items()},
                                   tP, tS, phase)
        for x, y, z in zip(one, rep, pair):
            np.testing.assert_array_equal(x[k], y[k])
            np.testing.assert_array_equal(x[k], z[0])

    # batched == one pair at a time: the same re-picks
    assert [r.pick.public_id for r in ra] == [r.pick.public_id for r in rb]
    for x, y in zip(ra, rb):
        assert x.path == y.path == "siamese"
        assert x.pick.probability == pytest.approx(y.pick.probability, abs=2e-4)
    assert [p.public_id for p in a.picks] == [p.public_id for p in b.picks]

    # every re-pick (a random head may make any number) is a well-formed S-EqT pick with an arrival
    inputs = {p.public_id for p in small.picks}
    new = [p for p in a.picks if p.public_id not in inputs]
    assert len(new) == len(ra)
    arrivals = {x.pick_id for x in a.origins[0].arrivals}
    for p in new:
        assert p.method_id == METHOD_ID and "-SEQTR-" in p.public_id and p.evaluation_mode == "automatic"
        assert p.reference_pick_id in inputs and 0 < p.probability <= 1
        assert p.public_id in arrivals
    assert all("-SEQTR-" not in x.pick_id for x in small.origins[0].arrivals)  # the input is left unchanged


@pytest.mark.parametrize("weights", ["none", "missing"])
def test_cli_siamese_without_weights(event, tmp_path, capsys, weights):
    from seqt_plugins.io.xml import write_event_parameters
    from seqt_plugins.modules.seqtrepick import main

    small, stream, inv, root = event
    events = tmp_path / "events.xml"
    write_event_parameters(small, events, format="scml", version="0.13")
    out = tmp_path / "out.xml"
    argv = ["--ep", str(events), "-I", f"file://{root}/mseed/*.mseed", "-o", str(out), "--repicker.mode=siamese"]
    if weights == "missing":
        argv += [f"--repicker.siameseP={tmp_path / 'nope_P.hdf5'}", f"--repicker.siameseS={tmp_path / 'nope_S.hdf5'}"]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0 and not out.exists()
    assert not [f for f in tmp_path.iterdir() if f.name != "events.xml"]
    errors = [line for line in err.splitlines() if "[error/" in line]
    assert len(errors) == 1, err
    if weights == "none":
        assert "siameseP" in errors[0] and "siameseS" in errors[0]
    else:
        assert "nope_P.hdf5" in errors[0] and "not found" in errors[0]

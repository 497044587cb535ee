"""The Keras 3 port reproduces the original EqT graphs (golden vectors, both weight sets)."""

import numpy as np
import pytest

from conftest import require_shared

TOLERANCE = 1e-5  # golden/README.md: a faithful float32 port agrees to about 1e-6


@pytest.fixture(scope="module")
def golden():
    return np.load(require_shared("golden", "eqt_golden.npz"))


@pytest.mark.parametrize("name", ["original", "conservative"])
@pytest.mark.parametrize("batch_size", [5, 1])
def test_matches_golden_outputs(request, golden, name, batch_size):
    model = request.getfixturevalue(f"eqt_{name}")
    det, p, s = model.predict(golden["inputs"], batch_size=batch_size)
    for got, key in ((det, "detection"), (p, "p"), (s, "s")):
        want = golden[f"{name}_{key}"]
        assert got.shape == want.shape == (5, 6000)
        assert got.dtype == np.float32
        assert np.abs(got - want).max() <= TOLERANCE, f"{name} {key}"


@pytest.mark.parametrize("name", ["original", "conservative"])
def test_golden_weights_are_the_packaged_ones(golden, name):
    from seqt_plugins.eqt import PACKAGED_WEIGHTS

    assert str(golden[f"{name}_weights_sha256"]) == PACKAGED_WEIGHTS[name][2]


def test_every_stored_tensor_is_loaded(eqt_original, eqt_conservative):
    # Counts from the published files (specs/eqt.md §1): 212 tensors / 373,495 scalars and 224 / 378,311.
    for model, tensors, scalars in ((eqt_original, 212, 373_495), (eqt_conservative, 224, 378_311)):
        assert model.n_tensors == tensors
        assert sum(int(np.prod(w.shape)) for w in model.keras_model.weights) == scalars


def test_graph_variants_follow_the_weight_files(eqt_original, eqt_conservative):
    assert (eqt_original.spec.n_bilstm, eqt_original.spec.recurrent_activation) == (2, "sigmoid")
    assert (eqt_conservative.spec.n_bilstm, eqt_conservative.spec.recurrent_activation) == (3, "hard_sigmoid")
    assert eqt_conservative.spec.decoder_conv_names("P") == [f"conv1d_{i}" for i in range(32, 39)]


def test_bfloat16_is_no_longer_offered():
    """bfloat16 was dropped (0.99-1.07x on the CPU measured, outputs moved by up to 0.03, issue
    15's rule): asking for it is a clear error at load time and in the picker's options."""
    from seqt_plugins.eqt import load_eqt
    from seqt_plugins.picker import Picker

    with pytest.raises(ValueError, match="precision must be one of"):
        load_eqt("conservative", precision="bfloat16")
    with pytest.raises(ValueError, match="bfloat16"):
        Picker(model="conservative", precision="bfloat16")


@pytest.mark.parametrize("name", ["original", "conservative"])
def test_folded_decoders_equal_the_published_layer_sequence(request, golden, name):
    """The decoders' folded upsample-then-conv (the default) against the literal layers, taps included."""
    from seqt_plugins.eqt.graph import build_graph
    from seqt_plugins.eqt.weights import assign_weights

    model = request.getfixturevalue(f"eqt_{name}")
    taps = model.spec.decoder_conv_names("P") + model.spec.decoder_conv_names("S")
    literal = build_graph(model.spec, extra_outputs=taps, fold_upsampling=False)
    assign_weights(literal, model.weights_path)
    assert any(layer.name.startswith("up_sampling1d") for layer in literal.layers)
    want = [np.asarray(t) for t in literal(golden["inputs"], training=False)]
    (det, p, s), maps = model.taps(taps, golden["inputs"])
    got = [det, p, s] + [maps[n] for n in taps]
    for g, w, label in zip(got, want, ["detector", "picker_P", "picker_S"] + taps):
        w = w[..., 0] if g.ndim == 2 else w
        assert g.shape == w.shape, label
        assert np.abs(g - w).max() <= TOLERANCE * max(1.0, float(np.abs(w).max())), label

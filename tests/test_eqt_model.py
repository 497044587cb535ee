"""EqT API behaviour on real data shipped with obspy: picks, determinism, MC dropout, taps."""

import numpy as np
import obspy
import pytest

from seqt_plugins.eqt import normalize_windows


@pytest.fixture(scope="module")
def rjob_window():
    """obspy's example event BW.RJOB (local event 2009-08-24 00:20:03), 30 s, as one window."""
    st = obspy.read()
    st.detrend("demean")
    st.filter("bandpass", freqmin=1.0, freqmax=45.0, corners=2, zerophase=True)
    x = np.zeros((1, 6000, 3), np.float32)
    for col, comp in enumerate("ENZ"):
        data = st.select(component=comp)[0].data
        x[0, : len(data), col] = data
    return normalize_windows(x), st[0].stats.starttime


def test_predict_finds_p_before_s_on_a_real_event(eqt_conservative, rjob_window):
    x, _ = rjob_window
    det, p, s = eqt_conservative.predict(x)
    assert det.max() > 0.5
    assert p.max() > 0.5 and s.max() > 0.5
    p_idx, s_idx = int(p.argmax()), int(s.argmax())
    # obspy's example: P about 4.7 s, S about 5.7 s into the trace.
    assert 400 < p_idx < s_idx < 700


def test_predict_is_deterministic_and_batch_independent(eqt_original, rjob_window):
    x, _ = rjob_window
    batch = np.concatenate([x, x[:, ::-1], x])
    a = eqt_original.predict(batch, batch_size=3)
    b = eqt_original.predict(batch, batch_size=2)
    for u, v in zip(a, b):
        assert np.abs(u - v).max() < 1e-5
    # The same window at another position of the batch: equal to float32 round-off.
    assert np.abs(a[0][0] - a[0][2]).max() < 1e-6
    # The same call twice: bit-identical (no dropout, no randomness at inference).
    for u, v in zip(a, eqt_original.predict(batch, batch_size=3)):
        assert np.array_equal(u, v)


def test_mc_dropout_gives_spread_and_a_close_mean(eqt_conservative, rjob_window):
    x, _ = rjob_window
    det, p, s = eqt_conservative.predict(x)
    (m_det, m_p, m_s), (s_det, s_p, s_s) = eqt_conservative.predict_mc(x, passes=8)
    assert s_p.max() > 0  # passes differ: dropout is really on
    assert np.all(s_det >= 0)
    # The ensemble mean still peaks where the deterministic graph does.
    assert abs(int(m_p.argmax()) - int(p.argmax())) < 20
    assert abs(int(m_s.argmax()) - int(s.argmax())) < 30


def test_taps_expose_named_latent_features(eqt_conservative, rjob_window):
    x, _ = rjob_window
    names = eqt_conservative.spec.decoder_conv_names("P") + ["batch_normalization_17"]
    (det, p, s), feats = eqt_conservative.taps(names, x)
    lengths = [94, 188, 376, 750, 1500, 3000, 6000]
    channels = [64, 64, 32, 32, 16, 16, 8]
    for name, length, ch in zip(names, lengths, channels):
        assert feats[name].shape == (1, length, ch)
    assert feats["batch_normalization_17"].shape == (1, 47, 16)
    np.testing.assert_allclose(p, eqt_conservative.predict(x)[1], atol=1e-5)


def test_bad_input_shape_is_a_clear_error(eqt_conservative):
    with pytest.raises(ValueError, match=r"\(n, 6000, 3\)"):
        eqt_conservative.predict(np.zeros((2, 3000, 3), np.float32))


def test_normalisation_keeps_dead_channels_zero():
    x = np.random.default_rng(0).standard_normal((2, 6000, 3)).astype(np.float32) * 5 + 3
    x[1, :, 0] = 0
    y = normalize_windows(x)
    np.testing.assert_allclose(y[0].std(axis=0), 1, rtol=1e-4)
    np.testing.assert_allclose(y[0].mean(axis=0), 0, atol=1e-4)
    assert np.all(y[1, :, 0] == 0)


@pytest.mark.parametrize("kernel_size", [3, 5, 7, 9, 11])
@pytest.mark.parametrize("length", [47, 94])
@pytest.mark.parametrize("crop", [False, True])
def test_upsampled_conv_equals_upsampling_then_conv(kernel_size, length, crop):
    """The folded layer computes UpSampling1D(2) + Conv1D('same') exactly (summation order aside)."""
    import keras

    from seqt_plugins.eqt.layers import UpsampledConv1D

    rng = np.random.default_rng(kernel_size)
    x = rng.standard_normal((3, length, 6)).astype(np.float32)
    folded = UpsampledConv1D(4, kernel_size, activation="relu", crop=crop)
    literal = keras.layers.Conv1D(4, kernel_size, padding="same", activation="relu")
    folded.build(x.shape)
    literal.build((3, 2 * length, 6))
    kernel = rng.standard_normal((kernel_size, 6, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    folded.set_weights([kernel, bias])
    literal.set_weights([kernel, bias])
    upsampled = keras.layers.UpSampling1D(2)(x)
    if crop:
        upsampled = keras.layers.Cropping1D((1, 1))(upsampled)
    want = np.asarray(literal(upsampled))
    got = np.asarray(folded(x))
    assert got.shape == want.shape == (3, 2 * length - 2 * crop, 4)
    assert np.abs(got - want).max() < 1e-5
    folded.freeze()  # kernels folded once, as loaded models run
    assert np.abs(np.asarray(folded(x)) - want).max() < 1e-5


def test_importing_the_model_leaves_out_kerass_optional_pandas_and_pyplot():
    """Keras imports pandas and matplotlib.pyplot when installed; EqT needs neither (~30 MB of
    resident memory per picker process). Both still import normally afterwards (plots, PyOcto)."""
    import subprocess
    import sys

    code = (
        "import importlib.util, sys\n"
        "import seqt_plugins.eqt, keras\n"
        "assert 'matplotlib.pyplot' not in sys.modules and 'pandas' not in sys.modules, sorted(sys.modules)\n"
        "import matplotlib.pyplot\n"
        "if importlib.util.find_spec('pandas'):\n"
        "    import pandas; pandas.DataFrame({'a': [1]})\n"
        "print(keras.ops.convert_to_numpy(keras.ops.ones(2)).sum())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("2.0")

"""The S-EqT Siamese head (spec seqt.md §5): architecture, weight files, pair preparation.

The authors' S_EqT_P_branch.hdf5 / S_EqT_S_branch.hdf5 cannot be had here. The loader is tested
on SYNTHETIC files in the PUBLISHED LAYOUT: a Keras 2 whole-model HDF5 (model_weights/<layer>/
<layer>/<tensor>:0, layer_names / weight_names attributes, Keras 2 auto-names, Conv2D kernels
(k,1,in,out), Conv2DTranspose kernels (k,1,out,in)), written with h5py from an independent
Conv2D (k,1) replica of the §5 graph with random weights, in the layer order Keras 2.3.1 gives
that graph (replayed below).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from seqt_plugins.repicker import siamese as S
from seqt_plugins.repicker.correlation import edge_width


@pytest.fixture(scope="module")
def head():
    return S.build_siamese_head()


def _inputs(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + shape).astype(np.float32) for shape in S.input_shapes()]


# -- architecture -----------------------------------------------------------------------------
def test_architecture(head):
    import keras

    convs = [la for la in head.layers if type(la) is keras.layers.Conv1D]
    ups = [la for la in head.layers if isinstance(la, keras.layers.Conv1DTranspose)]
    assert len(convs) == 40 and len(ups) == 14
    assert sorted(la.name for la in convs + ups) == sorted(S.KERAS2_WEIGHT_ORDER)
    assert head.count_params() == 2_187_591  # ≈ 2.19 M (spec §5)
    assert [tuple(t.shape[1:]) for t in head.inputs] == S.input_shapes()
    assert S.input_shapes()[0] == (94, 128) and S.input_shapes()[6] == (6000, 16)
    assert sum(c for L, c in S.input_shapes()[7:]) == 992
    assert len(head.outputs) == 8 and all(tuple(t.shape[1:]) == (6000, 1) for t in head.outputs)
    # The fused output reads concatenate_26, as in the authors' graph; its kernel starts at 1/7.
    fuse = head.get_layer("conv2d_40")
    assert fuse._inbound_nodes[0].parent_nodes[0].operation.name == "concatenate_26"
    np.testing.assert_allclose(fuse.get_weights()[0], 1 / 7)
    y = head(_inputs(), training=False)
    assert all(0 <= float(np.min(o)) and float(np.max(o)) <= 1 for o in y)


# -- the authors' graph, abstractly, and Keras 2.3.1's layer order -------------------------------
class _Node:
    def __init__(self, kind, name, inputs, **kw):
        self.kind, self.name, self.inputs, self.kw = kind, name, list(inputs), kw


def _authors_graph():
    """The §5 graph as the authors' builder creates it (creation order, Keras 2 auto-names)."""
    counts, made = {}, []

    def mk(kind, inputs=(), **kw):
        counts[kind] = counts.get(kind, 0) + 1
        node = _Node(kind, f"{kind}_{counts[kind]}", inputs, **kw)
        made.append(node)
        return node

    ins = {}
    for group, n in (("dec", 7), ("enc", 10)):
        for i in range(n):
            ins[group, i] = (mk("input_T"), mk("input_S", tap=(group, i)))
    cat = {}
    for key, (t, s) in ins.items():
        cat[key] = mk("concatenate", [mk("lambda", [t, s]), s], tap=key)
    x = mk("concatenate", [cat["enc", j] for j in range(10)])
    for f, k, s in ((512, 3, 0), (256, 3, 0), (128, 3, 0), (128, 2, 2), (64, 3, 0), (64, 3, 0)):
        x = mk("conv2d_transpose" if s else "conv2d", [x], f=f, k=k, s=s)
    logits, acts, res = [], [], None
    for i in range(7):
        h = mk("conv2d", [mk("concatenate", [cat["dec", 0], x]) if i == 0 else cat["dec", i]], f=32, k=3)
        h = mk("conv2d", [h], f=32, k=3)
        h = mk("conv2d", [h], f=32, k=3)
        h = mk("conv2d", [h], f=16, k=1)
        if i:
            r = mk("conv2d_transpose", [res], f=8, k=3, s=2)
            if i == 3:
                r = mk("cropping2d", [r], c=1)
            h = mk("conv2d", [mk("concatenate", [h, r])], f=8 if i == 6 else 16, k=1)
        cls = h
        if i < 6:
            res = mk("lambda", [h], sl=(0, 8))
            cls = mk("lambda", [h], sl=(8, 16) if i == 0 else None)
        lg = mk("conv2d_transpose", [cls], f=1, k=1, s=S.SIDE_UPSCALES[i])
        if S.SIDE_CROPS[i]:
            lg = mk("cropping2d", [lg], c=S.SIDE_CROPS[i])
        logits.append(lg)
        acts.append(mk("activation", [lg]))
    fused = mk("conv2d", [mk("concatenate", logits)], f=1, k=1, sigmoid=True)
    return made, acts + [fused]


def _keras2_layer_order(outputs):
    """keras 2.3.1 Network._map_graph_network: by decreasing depth, ties by DFS first visit."""
    index, done, post = {}, set(), []

    def visit(node):
        if node in done:
            return
        index.setdefault(node, len(index))
        for parent in node.inputs:
            visit(parent)
        done.add(node)
        post.append(node)

    for out in outputs:
        visit(out)
    depth = {}
    for node in reversed(post):
        d = depth.setdefault(node, 0)
        for parent in node.inputs:
            depth[parent] = max(d + 1, depth.get(parent, 0))
    return sorted(depth, key=lambda node: (-depth[node], index[node]))


def test_keras2_weight_order_replayed():
    made, outputs = _authors_graph()
    order = _keras2_layer_order(outputs)
    assert len(order) == len(made)
    weighted = [n.name for n in order if n.kind in ("conv2d", "conv2d_transpose")]
    assert tuple(weighted) == S.KERAS2_WEIGHT_ORDER
    assert [n.name for n in made if n.kind == "concatenate"][-1] == "concatenate_26"


# -- a synthetic file in the published layout ----------------------------------------------------
def _replica_conv2d(seed=1):
    """An independent Keras 3 Conv2D (k,1) build of the authors' graph from the abstract one."""
    import keras
    from keras import layers

    made, outputs = _authors_graph()
    rng = np.random.default_rng(seed)
    shapes = dict(zip([("dec", i) for i in range(7)] + [("enc", j) for j in range(10)], S.input_shapes()))
    tensors, inputs, model_layers = {}, [], {}
    for node in made:
        src = [tensors.get(p) for p in node.inputs]
        if node.kind == "input_T":
            continue
        if node.kind == "input_S":
            L, c2 = shapes[node.kw["tap"]]
            tensors[node] = keras.Input((L, 1, c2), name=f"x_{node.name}")
            inputs.append((node.kw["tap"], tensors[node]))
        elif node.kind == "lambda" and len(node.inputs) == 2:
            tensors[node] = None  # correlation: part of the prepared input here
        elif node.kind == "concatenate" and "tap" in node.kw:
            tensors[node] = tensors[node.inputs[1]]  # the prepared input is concat(C, Ŝ) already
        elif node.kind == "concatenate":
            tensors[node] = layers.Concatenate(axis=-1)(src)
        elif node.kind == "lambda":
            sl = node.kw["sl"]
            tensors[node] = src[0][..., sl[0]:sl[1]] if sl else src[0]
        elif node.kind == "cropping2d":
            tensors[node] = layers.Cropping2D(((node.kw["c"], node.kw["c"]), (0, 0)))(src[0])
        elif node.kind == "activation":
            tensors[node] = layers.Activation("sigmoid")(src[0])
        elif node.kind == "conv2d":
            layer = layers.Conv2D(node.kw["f"], (node.kw["k"], 1), padding="same",
                                  activation="sigmoid" if node.kw.get("sigmoid") else None)
            tensors[node] = layer(src[0])
            model_layers[node.name] = layer
        elif node.kind == "conv2d_transpose":
            s = node.kw["s"]
            layer = layers.Conv2DTranspose(node.kw["f"], (node.kw["k"], 1), strides=(s, 1), padding="same")
            tensors[node] = layer(src[0])
            model_layers[node.name] = layer
    model = keras.Model([t for _, t in inputs], [tensors[o] for o in outputs])
    for layer in model_layers.values():
        layer.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model, made, outputs, model_layers


def _write_authors_layout(path, made, outputs, model_layers, mutate=None):
    order = _keras2_layer_order(outputs)
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.3.1"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = b"{}"  # a whole-model save; the loader never reads it
        g = f.create_group("model_weights")
        names = [n.name for n in order]
        if mutate == "drop_layer":
            names.remove("conv2d_17")
        g.attrs["layer_names"] = np.array([n.encode() for n in names])
        for node in order:
            lg = g.create_group(node.name)
            layer = model_layers.get(node.name)
            if layer is None:
                lg.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            kernel, bias = layer.get_weights()
            if mutate == "bad_shape" and node.name == "conv2d_17":
                kernel = kernel[:, :, :-1]
            lg.attrs["weight_names"] = np.array([f"{node.name}/kernel:0".encode(), f"{node.name}/bias:0".encode()])
            lg.create_dataset(f"{node.name}/kernel:0", data=kernel)
            lg.create_dataset(f"{node.name}/bias:0", data=bias)


@pytest.fixture(scope="module")
def replica():
    return _replica_conv2d()


def test_synthetic_published_layout_loads_and_reproduces(tmp_path, replica):
    model, made, outputs, model_layers = replica
    path = tmp_path / "S_EqT_P_branch.hdf5"  # SYNTHETIC: random weights in the published layout
    _write_authors_layout(path, made, outputs, model_layers)
    loaded = S.load_siamese_head(path)
    x = _inputs(2, seed=3)
    want = model([v[:, :, None, :] for v in x], training=False)
    got = loaded(x, training=False)
    for w, g in zip(want, got):
        np.testing.assert_allclose(np.asarray(g)[..., 0], np.asarray(w)[:, :, 0, 0], rtol=1e-4, atol=1e-5)


def test_save_load_roundtrip_identical(tmp_path, head):
    rng = np.random.default_rng(5)
    for layer in S.weight_layers(head):
        layer.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) for w in layer.get_weights()])
    path = S.save_siamese_head(head, tmp_path / "ours.hdf5", attrs={"branch": "P"})
    with h5py.File(path) as f:  # our heads use the published layout too
        assert f["model_weights/conv2d_1/conv2d_1/kernel:0"].shape == (3, 1, 992, 512)
        assert f["model_weights/conv2d_transpose_1/conv2d_transpose_1/kernel:0"].shape == (2, 1, 128, 128)
    again = S.load_siamese_head(path)
    x = _inputs(1, seed=7)
    for a, b in zip(head(x, training=False), again(x, training=False)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("mutate, words", [
    ("bad_shape", ["layer conv2d_17", "do not fit"]),
    ("drop_layer", ["53 layers with weights", "the S-EqT head has 54"]),
])
def test_bad_file_one_line_error(tmp_path, replica, mutate, words):
    model, made, outputs, model_layers = replica
    path = tmp_path / f"{mutate}.hdf5"
    _write_authors_layout(path, made, outputs, model_layers, mutate=mutate)
    with pytest.raises(S.SiameseWeightError) as err:
        S.load_siamese_head(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    for w in words:
        assert w in msg


def test_missing_or_foreign_file(tmp_path):
    with pytest.raises(S.SiameseWeightError, match="not found"):
        S.load_siamese_head(tmp_path / "nope.hdf5")
    (tmp_path / "junk.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(S.SiameseWeightError, match="cannot read as HDF5"):
        S.load_siamese_head(tmp_path / "junk.hdf5")


# -- pair preparation ------------------------------------------------------------------------------
@pytest.mark.parametrize("stride, length", [(64, 94), (2, 3000), (1, 6000)])
def test_zero_insertion_equals_transposed_conv(stride, length):
    """The kernel-1 transposed convs avoid a crashing oneDNN op; same values as Conv1DTranspose."""
    import keras

    x = np.random.default_rng(stride).standard_normal((2, length, 16)).astype(np.float32)
    ref = keras.layers.Conv1DTranspose(1, 1, strides=stride, padding="same")
    ours = S._zero_insertion_class()(1, 1, strides=stride, padding="same")
    ref.build(x.shape), ours.build(x.shape)
    w = [np.random.default_rng(9).standard_normal(v.shape).astype(np.float32) for v in ref.get_weights()]
    ref.set_weights(w), ours.set_weights(w)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(ref(x)), rtol=1e-5, atol=1e-5)


def test_edge_widths_and_cut():
    assert [edge_width(L) for L in (47, 94, 188, 376, 750, 1500, 3000, 6000)] == [2, 4, 7, 13, 26, 51, 101, 201]
    assert S.cut_bounds(1000, 1500, 47) == (6, 12)  # ⌊7.83⌋−1, ⌊11.75⌋+1
    with pytest.raises(ValueError):
        S.cut_bounds(50, 1500, 47)  # tP·L < 1


def test_correlate_matches_the_formula():
    rng = np.random.default_rng(0)
    for lt in (2, 3, 8, 11):
        t, s = rng.standard_normal((lt, 4)), rng.standard_normal((40, 4))
        m = (lt - 1) // 2
        want = np.zeros((40, 4))
        for i in range(40):
            for k in range(lt):
                if 0 <= i + k - m < 40:
                    want[i] += t[k] * s[i + k - m]
        np.testing.assert_allclose(S.correlate(t, s), want, atol=1e-5)


def test_enhancement():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((94, 3)).astype(np.float32)
    y = S.enhance_search(x)
    h = edge_width(94)
    assert np.all(y[:h] == y[h]) and np.all(y[94 - h:] == y[94 - h])
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(np.abs(y).max(axis=0), 1, atol=1e-6)
    t = S.enhance_template(x[10:20])
    np.testing.assert_allclose(np.abs(t).max(axis=0), 1 / 10, atol=1e-6)
    flat = S.enhance_template(np.full((10, 2), 3.0, np.float32))  # max|y| < ε → divide by 1
    assert np.all(flat == 0)


def test_score_pairs_shapes(head):
    rng = np.random.default_rng(2)
    names = S.tap_names("S")
    shapes = [(L, c // 2) for L, c in S.input_shapes()]
    tmpl = {n: rng.standard_normal((1,) + s).astype(np.float32) for n, s in zip(names, shapes)}
    srch = {n: rng.standard_normal((3,) + s).astype(np.float32) for n, s in zip(names, shapes)}
    y = S.score_pairs(head, tmpl, srch, tP=1000, tS=1800, batch_size=2)
    assert y.shape == (3, 6000) and y.dtype == np.float32
    first = S.score_pairs(head, {n: v for n, v in tmpl.items()}, {n: v[:1] for n, v in srch.items()}, 1000, 1800)
    np.testing.assert_allclose(first[0], y[0], rtol=1e-5, atol=1e-6)


def test_head_inputs_of_a_padded_search_window_skip_its_padding():
    """A search window padded after 35 s of data (``valid``): its enhanced maps are scaled over
    the real part and clamped over the padding, so what the padding holds changes no input of
    the head; the full window beside it gets the inputs it gets alone."""
    rng = np.random.default_rng(4)
    names = S.tap_names("P")
    shapes = [(L, c // 2) for L, c in S.input_shapes()]
    tmpl = {n: rng.standard_normal((1,) + s).astype(np.float32) for n, s in zip(names, shapes)}
    srch = {n: rng.standard_normal((2,) + s).astype(np.float32) for n, s in zip(names, shapes)}
    other = {n: v.copy() for n, v in srch.items()}
    for n, (L, _) in zip(names, shapes):
        other[n][1, -(-3500 * L // 6000):] = 0.0  # another padding
    a = S.head_inputs(tmpl, srch, 1000, 1800, "P", valid=[None, 3500])
    b = S.head_inputs(tmpl, other, 1000, 1800, "P", valid=[None, 3500])
    alone = S.head_inputs(tmpl, {n: v[:1] for n, v in srch.items()}, 1000, 1800, "P")
    plain = S.head_inputs(tmpl, srch, 1000, 1800, "P")
    for x, y, z, w in zip(a, b, alone, plain):
        np.testing.assert_allclose(x[1], y[1], atol=1e-5)
        np.testing.assert_array_equal(x[0], z[0])
    assert not all(np.allclose(x[1], w[1]) for x, w in zip(a, plain))

"""S-EqT's Siamese head (Xiao et al. 2021, the variant the authors shipped) in Keras 3, its
weight files, and pair scoring.

The head turns the 17 per-tap inputs X_i = concat(C_i, Ŝ_i) of one (template, search) pair
(C_i: correlation of the enhanced template cut with the enhanced search map, Ŝ_i: the enhanced
search map; see :mod:`seqt_plugins.repicker.correlation`) into 7 side outputs and a fused
6000-sample probability trace for the search window. Inputs, in this order (the authors'):

- 7 decoder taps of the branch (P: conv1d_32…38, S: conv1d_39…45), L = 94 … 6000;
- 10 encoder taps (batch_normalization_17, 16, 15, 14, 12, 10, 8, 6, 4, 2), L = 47.

The authors built it with Conv2D (k, 1) on (L, 1, C) tensors; here Conv1D / Conv1DTranspose on
(L, C) tensors, which compute the same thing. Layers carry the names Keras 2 gave the authors'
layers (conv2d_1 … conv2d_40, conv2d_transpose_1 … conv2d_transpose_14, in creation order), so
file and model name the same layer the same way.

Weight files: the authors' ``S_EqT_P_branch.hdf5`` / ``S_EqT_S_branch.hdf5`` are whole-model
Keras 2 HDF5 files (``model.save``), which Keras 2 loads "by layer order": the n-th layer with
weights in the file's ``layer_names`` goes to the n-th layer with weights of ``model.layers``.
``KERAS2_WEIGHT_ORDER`` is that order for this graph, derived by replaying Keras 2.3.1's
graph ordering (layers by decreasing depth to the outputs, ties by first visit of a depth-first
walk from the outputs) on the authors' graph. ``load_siamese_head`` follows it, converts the
kernels (Conv2D (k,1,in,out) → (k,in,out); Conv2DTranspose (k,1,out,in) → (k,out,in)) and checks
every shape before assigning anything. ``save_siamese_head`` writes the same layout, so one
loader reads both the published files and heads trained here (``seqt-train``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import correlation as _corr
from .correlation import correlate, enhance_search

log = logging.getLogger("seqt_plugins.repicker.siamese")

WINDOW = 6000
DECODER_LENGTHS = (94, 188, 376, 750, 1500, 3000, 6000)
DECODER_CHANNELS = (64, 64, 32, 32, 16, 16, 8)
DECODER_TAPS = {
    "P": tuple(f"conv1d_{i}" for i in range(32, 39)),
    "S": tuple(f"conv1d_{i}" for i in range(39, 46)),
}
ENCODER_TAPS = (
    "batch_normalization_17", "batch_normalization_16", "batch_normalization_15",
    "batch_normalization_14", "batch_normalization_12", "batch_normalization_10",
    "batch_normalization_8", "batch_normalization_6", "batch_normalization_4", "batch_normalization_2",
)
ENCODER_LENGTH = 47
ENCODER_CHANNELS = (16, 16, 16, 64, 64, 64, 64, 64, 64, 64)
SIDE_UPSCALES = (64, 32, 16, 8, 4, 2, 1)
SIDE_CROPS = (8, 8, 8, 0, 0, 0, 0)
N_CONV, N_CONV_T = 40, 14

# The file order of the 54 layers with weights (see the module docstring).
KERAS2_WEIGHT_ORDER = (
    "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_transpose_1", "conv2d_4", "conv2d_5",
    "conv2d_6", "conv2d_7", "conv2d_8", "conv2d_10", "conv2d_9", "conv2d_11", "conv2d_12",
    "conv2d_13", "conv2d_transpose_3", "conv2d_15", "conv2d_14", "conv2d_16", "conv2d_17",
    "conv2d_18", "conv2d_transpose_5", "conv2d_19", "conv2d_20", "conv2d_21", "conv2d_22",
    "conv2d_transpose_7", "conv2d_23", "conv2d_25", "conv2d_24", "conv2d_26", "conv2d_27",
    "conv2d_28", "conv2d_transpose_9", "conv2d_30", "conv2d_29", "conv2d_31", "conv2d_32",
    "conv2d_33", "conv2d_transpose_11", "conv2d_35", "conv2d_34", "conv2d_36", "conv2d_37",
    "conv2d_38", "conv2d_transpose_13", "conv2d_transpose_2", "conv2d_transpose_4",
    "conv2d_transpose_6", "conv2d_39", "conv2d_transpose_8", "conv2d_transpose_10",
    "conv2d_transpose_12", "conv2d_transpose_14", "conv2d_40",
)


class SiameseWeightError(ValueError):
    """A Siamese head weight file that is missing, unreadable or does not fit (one line)."""


# -- inputs ------------------------------------------------------------------------------------
def tap_names(branch: str) -> List[str]:
    """The 17 EqT layers a head of ``branch`` ("P" or "S") reads, in input order."""
    return list(DECODER_TAPS[_branch(branch)]) + list(ENCODER_TAPS)


def input_shapes() -> List[Tuple[int, int]]:
    """(L, 2C) of the 17 head inputs, in input order."""
    return [(L, 2 * C) for L, C in zip(DECODER_LENGTHS, DECODER_CHANNELS)] + [
        (ENCODER_LENGTH, 2 * C) for C in ENCODER_CHANNELS
    ]


def _branch(branch: str) -> str:
    b = str(branch).upper()
    if b not in DECODER_TAPS:
        raise ValueError(f"branch must be 'P' or 'S', not {branch!r}")
    return b


# -- pair preparation (template cut, enhancement, correlation: ``correlation``'s implementation) --
# edge_width, enhance_search and correlate are correlation's (re-exported here); the wrappers below
# take pick samples instead of window fractions and default to the authors' training order.
def cut_bounds(tP: float, tS: float, L: int) -> Tuple[int, int]:
    """Template cut [s, e) in a tap of length ``L`` for picks at samples tP < tS of the window.

    s = ⌊(tP/6000)·L⌋ − 1, e = ⌊(tS/6000)·L⌋ + 1; ValueError when the cut leaves the tap.
    """
    return _corr.cut_bounds(float(tP) / WINDOW, float(tS) / WINDOW, L, strict=True)


def cut_template(feat: np.ndarray, tP: float, tS: float) -> np.ndarray:
    """The P→S template cut of one tap's map ``feat`` (L, C); both branches use it, as the
    authors' head was trained with this one cut for P and S."""
    return _corr.cut_template(feat, float(tP) / WINDOW, float(tS) / WINDOW, strict=True)


def enhance_template(cut: np.ndarray, eps: float = 1e-3, divide: bool = True) -> np.ndarray:
    """Template enhancement of a cut (Lt, C) as the authors' training code does it.

    The cut is first divided by Lt, then per channel y = x − max x, y = −y, y −= mean y,
    y /= max|y| (1 if < eps; the pre-division makes this test see x/Lt), then y /= Lt
    (``correlation.enhance_template`` with ``divide_first=True``). ``divide=False`` is
    tutorial_02's variant (no /Lt anywhere; use eps=0.01 with it).
    """
    return _corr.enhance_template(cut, eps, divide, divide_first=True)


def enhance(feat: np.ndarray, template: bool = False, eps: float = 1e-3, divide: bool = True) -> np.ndarray:
    """``enhance_template`` for a template cut, else ``enhance_search``."""
    return enhance_template(feat, eps, divide) if template else enhance_search(feat, eps)


def head_inputs(template_feats: Mapping[str, np.ndarray], search_feats: Mapping[str, np.ndarray],
                tP, tS, branch: str, eps: float = 1e-3, divide: bool = True,
                valid: Optional[Sequence[Optional[int]]] = None) -> List[np.ndarray]:
    """The head's 17 inputs for n pairs: list of float32 (n, L_i, 2C_i), in input order.

    ``template_feats`` / ``search_feats``: tap name → (n, L, C) EqT maps of the template and the
    search windows of each pair (a leading dimension of 1 is shared by all pairs, so one template
    can be scored against n search windows and vice versa); ``tP``, ``tS``: the template's P and S
    pick samples (scalars or (n,)). A template shared by several pairs is cut, enhanced and
    correlated once with all their search maps. The encoder taps are cut at the template's picks
    too: the authors' training cut them at the search trace's shifted picks, a bug that their
    inference (and ours) does not repeat. ``valid``: per search map, the real samples of a window
    padded after its data (None: a full window), whose enhancement then skips the padding
    (``correlation.enhance_search_cf``'s ``length``).
    """
    names = tap_names(branch)
    nt, ns = len(np.asarray(template_feats[names[0]])), len(np.asarray(search_feats[names[0]]))
    n = max(nt, ns)
    if nt not in (1, n) or ns not in (1, n):
        raise ValueError(f"{nt} template and {ns} search maps: give equal numbers, or one of either")
    try:
        tP = np.broadcast_to(np.asarray(tP, dtype=np.float64), (n,))
        tS = np.broadcast_to(np.asarray(tS, dtype=np.float64), (n,))
    except ValueError:
        raise ValueError(f"tP/tS must be scalars or have {n} values") from None
    groups: Dict[tuple, List[int]] = {}
    for j in range(n):
        groups.setdefault((j if nt > 1 else 0, tP[j], tS[j]), []).append(j)
    out = []
    for name, (L, c2) in zip(names, input_shapes()):
        tf_, sf = np.asarray(template_feats[name]), np.asarray(search_feats[name])
        if tf_.shape[1:] != (L, c2 // 2) or sf.shape[1:] != (L, c2 // 2):
            raise ValueError(f"tap {name}: expected maps (n, {L}, {c2 // 2}), got {tf_.shape} and {sf.shape}")
        s_hat = enhance_search(sf, eps)
        for k, v in enumerate(valid if valid is not None else ()):
            if v is not None and v < _corr.WINDOW:
                s_hat[k] = enhance_search(sf[k], eps, _corr.real_length(v, L))
        s_hat = np.broadcast_to(s_hat, (n, L, c2 // 2))
        x = np.empty((n, L, c2), dtype=np.float32)
        x[..., c2 // 2 :] = s_hat
        for (k, p, s), js in groups.items():
            t_hat = enhance_template(cut_template(tf_[k], p, s), eps, divide)
            x[js, :, : c2 // 2] = correlate(t_hat, s_hat[js])
        out.append(x)
    return out


# -- the head ------------------------------------------------------------------------------------
def build_siamese_head(name: str = "s_eqt_head"):
    """The authors' head: 17 inputs (see ``input_shapes``) → 7 side outputs + fused, each (n, 6000, 1).

    No conv has an activation; side outputs are sigmoid(logit_i); the fused output is
    sigmoid(conv(1,1) over the 7 stacked logits), kernel initialised to 1/7.
    """
    import keras
    from keras import layers

    count = {"conv2d": 0, "conv2d_transpose": 0, "concatenate": 0, "cropping2d": 0, "activation": 0}

    def auto(kind):
        count[kind] += 1
        return f"{kind}_{count[kind]}"

    def conv(x, filters, k, **kw):
        return layers.Conv1D(filters, k, padding="same", name=auto("conv2d"), **kw)(x)

    def up(x, filters, k, stride):
        cls = _zero_insertion_class() if k == 1 else layers.Conv1DTranspose
        return cls(filters, k, strides=stride, padding="same", name=auto("conv2d_transpose"))(x)

    def crop(x, n):
        return layers.Cropping1D((n, n), name=auto("cropping2d"))(x)

    def concat(xs):
        return layers.Concatenate(axis=-1, name=auto("concatenate"))(xs)

    shapes = input_shapes()
    dec_in = [keras.Input(shape=shapes[i], name=f"dec{i}") for i in range(7)]
    enc_in = [keras.Input(shape=shapes[7 + j], name=f"enc{j}") for j in range(10)]
    count["concatenate"] = 17  # the authors' per-tap concat(C, Ŝ) layers happen before the head here

    # Trunk E over the encoder taps (@47 → @94).
    e = concat(enc_in)
    e = conv(e, 512, 3)
    e = conv(e, 256, 3)
    e = conv(e, 128, 3)
    e = up(e, 128, 2, 2)
    e = conv(e, 64, 3)
    e = conv(e, 64, 3)

    logits, sides = [], []
    residual = None
    for i in range(7):
        x = concat([dec_in[0], e]) if i == 0 else dec_in[i]
        h = conv(x, 32, 3)
        h = conv(h, 32, 3)
        h = conv(h, 32, 3)
        h = conv(h, 16, 1)
        if i > 0:
            r = up(residual, 8, 3, 2)
            if i == 3:
                r = crop(r, 1)  # 752 → 750
            h = concat([h, r])
            h = conv(h, 8 if i == 6 else 16, 1)
        if i < 6:
            residual = h[..., 0:8]
        # Stage 0 reads channels 8:16; stages 1–5 all 16 channels (the authors' slice hits the
        # width axis; copied for weight compatibility); stage 6 its 8 channels.
        classifier = h[..., 8:16] if i == 0 else h
        logit = up(classifier, 1, 1, SIDE_UPSCALES[i])
        if SIDE_CROPS[i]:
            logit = crop(logit, SIDE_CROPS[i])
        logits.append(logit)
        sides.append(layers.Activation("sigmoid", name=auto("activation"))(logit))
    fused = concat(logits)  # concatenate_26, as in the authors' graph
    fused = conv(fused, 1, 1, activation="sigmoid", kernel_initializer=keras.initializers.Constant(1.0 / 7.0))
    return keras.Model(inputs=dec_in + enc_in, outputs=sides + [fused], name=name)


_ZERO_INSERTION = None


def _zero_insertion_class():
    """Conv1DTranspose with kernel 1 computed as projection + zero insertion (same weights, same values).

    TF 2.21's oneDNN backward pass of a kernel-1 transposed convolution crashes the process
    (heap corruption) for some shapes, e.g. stride 2 on 3000 × 16; this form avoids that op.
    For kernel 1, stride s, 'same' padding the transposed conv puts x·W at multiples of s and the
    bias elsewhere, which is what this computes.
    """
    global _ZERO_INSERTION
    if _ZERO_INSERTION is None:
        import keras
        from keras import ops

        class ZeroInsertionConv1DTranspose(keras.layers.Conv1DTranspose):
            def call(self, inputs):
                z = ops.matmul(inputs, ops.transpose(self.kernel[0]))  # kernel (1, filters, in)
                s = self.strides[0]
                if s > 1:
                    n_time = inputs.shape[1]
                    z = ops.pad(z[:, :, None, :], [[0, 0], [0, 0], [0, s - 1], [0, 0]])
                    z = ops.reshape(z, (-1, n_time * s, self.filters))
                return z + self.bias if self.use_bias else z

        _ZERO_INSERTION = ZeroInsertionConv1DTranspose
    return _ZERO_INSERTION


def weight_layers(head) -> List:
    """The head's layers with weights, in ``KERAS2_WEIGHT_ORDER``."""
    return [head.get_layer(n) for n in KERAS2_WEIGHT_ORDER]


# -- weight files --------------------------------------------------------------------------------
_AUTO = re.compile(r"^(conv2d|conv2d_transpose)_(\d+)$")


def _text(v) -> str:
    return v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v)


def read_head_weights(path: Union[str, os.PathLike]) -> List[Tuple[str, List[np.ndarray]]]:
    """(layer name, [kernel, bias]) of every layer with weights in a Keras 2 HDF5, in file order.

    Reads whole-model files (group ``model_weights``) and ``save_weights`` files (root group).
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise SiameseWeightError(f"{path}: Siamese head weight file not found")
    try:
        with h5py.File(path, "r") as f:
            g = f["model_weights"] if "model_weights" in f else f
            if "layer_names" not in g.attrs:
                raise SiameseWeightError(f"{path}: not a Keras 2 HDF5 weight file (no layer_names attribute)")
            out = []
            for lname in (_text(n) for n in g.attrs["layer_names"]):
                if lname not in g:
                    raise SiameseWeightError(f"{path}: layer {lname} is listed in layer_names but has no group")
                wnames = [_text(w) for w in g[lname].attrs.get("weight_names", [])]
                if wnames:
                    try:
                        out.append((lname, [np.asarray(g[lname][w]) for w in wnames]))
                    except KeyError:
                        raise SiameseWeightError(f"{path}: layer {lname}: weight tensor missing ({wnames})") from None
            return out
    except OSError as err:
        raise SiameseWeightError(f"{path}: cannot read as HDF5 ({str(err).splitlines()[0]})") from None


def _convert(path, fname, ours, arrays, layer) -> List[np.ndarray]:
    """File tensors of one layer → our Conv1D / Conv1DTranspose (kernel, bias), shape-checked."""
    want = [tuple(v.shape) for v in layer.weights]
    where = f"{path}: layer {fname} (file position {KERAS2_WEIGHT_ORDER.index(ours) + 1} → head layer {ours})"
    if len(arrays) != len(want):
        raise SiameseWeightError(f"{where}: {len(arrays)} tensors, expected {len(want)} (kernel, bias)")
    kernel, bias = arrays
    if kernel.ndim == 4:  # Keras 2 Conv2D (k,1,in,out) / Conv2DTranspose (k,1,out,in)
        if kernel.shape[1] != 1:
            raise SiameseWeightError(f"{where}: kernel {kernel.shape} is not (k, 1, ., .)")
        kernel = kernel[:, 0]
    if tuple(kernel.shape) != want[0] or tuple(bias.shape) != want[1]:
        raise SiameseWeightError(
            f"{where}: kernel {tuple(kernel.shape)} / bias {tuple(bias.shape)} do not fit {want[0]} / {want[1]}"
        )
    return [kernel.astype(np.float32), bias.astype(np.float32)]


def assign_head_weights(head, path: Union[str, os.PathLike]) -> None:
    """Assign a Keras 2 HDF5 (authors' or ours) to ``head`` by layer order; all or nothing."""
    path = Path(path)
    entries = read_head_weights(path)
    if len(entries) != len(KERAS2_WEIGHT_ORDER):
        have = ", ".join(n for n, _ in entries[:3]) + (" …" if len(entries) > 3 else "")
        raise SiameseWeightError(
            f"{path}: {len(entries)} layers with weights ({have}), the S-EqT head has {len(KERAS2_WEIGHT_ORDER)}"
            f" ({N_CONV} conv + {N_CONV_T} transposed conv)"
        )
    values = [_convert(path, fname, ours, arrays, head.get_layer(ours))
              for (fname, arrays), ours in zip(entries, KERAS2_WEIGHT_ORDER)]
    _check_auto_names(path, [n for n, _ in entries])
    for ours, v in zip(KERAS2_WEIGHT_ORDER, values):
        head.get_layer(ours).set_weights(v)


def _check_auto_names(path, file_names: Sequence[str]) -> None:
    """Warn when the file's Keras auto-names (creation order) disagree with the layer-order map."""
    parsed = [_AUTO.match(n) for n in file_names]
    if not all(parsed):
        return
    for kind in ("conv2d", "conv2d_transpose"):
        file_nums = [int(m.group(2)) for m in parsed if m.group(1) == kind]
        ours = [int(_AUTO.match(n).group(2)) for n in KERAS2_WEIGHT_ORDER if _AUTO.match(n).group(1) == kind]
        if list(np.argsort(np.argsort(file_nums))) != list(np.argsort(np.argsort(ours))):
            log.warning("%s: the %s layer names are not in the creation order this head expects; "
                        "weights were assigned by layer order (as Keras 2 does) and all shapes fit", path, kind)


def load_siamese_head(path: Union[str, os.PathLike]):
    """Build the head and load a weight file: the authors' ``S_EqT_{P,S}_branch.hdf5`` or ours."""
    head = build_siamese_head()
    assign_head_weights(head, path)
    log.info("loaded S-EqT head weights from %s", path)
    return head


def save_siamese_head(head, path: Union[str, os.PathLike], attrs: Optional[Mapping[str, str]] = None) -> Path:
    """Write ``head``'s weights in the authors' layout (Keras 2 HDF5, Conv2D-shaped kernels), atomically.

    ``model_weights/<layer>/<layer>/{kernel,bias}:0`` with ``layer_names`` in Keras 2 layer order
    and ``weight_names`` per layer, so ``load_siamese_head`` (and Keras 2's ``load_weights`` on the
    authors' graph) reads it. ``attrs``: extra root attributes (e.g. branch, training step).
    """
    import h5py

    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = b"2.3.1"  # the layout's version, so Keras 2 tools accept it
            f.attrs["writer"] = b"seqt_plugins.repicker.siamese"
            for k, v in (attrs or {}).items():
                f.attrs[k] = str(v).encode()
            g = f.create_group("model_weights")
            g.attrs["backend"] = b"tensorflow"
            g.attrs["keras_version"] = b"2.3.1"
            g.attrs["layer_names"] = np.array([n.encode() for n in KERAS2_WEIGHT_ORDER])
            for name in KERAS2_WEIGHT_ORDER:
                kernel, bias = head.get_layer(name).get_weights()
                lg = g.create_group(name)
                lg.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
                lg.create_dataset(f"{name}/kernel:0", data=kernel[:, None].astype(np.float32))
                lg.create_dataset(f"{name}/bias:0", data=bias.astype(np.float32))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# -- scoring --------------------------------------------------------------------------------------
def _infer_branch(feats: Mapping[str, np.ndarray]) -> str:
    found = [b for b, names in DECODER_TAPS.items() if names[0] in feats]
    if len(found) != 1:
        raise ValueError("cannot tell the branch from the tap names; pass branch='P' or 'S'")
    return found[0]


def run_head(head, inputs: Sequence[np.ndarray], batch_size: int = 16, all_outputs: bool = False):
    """Run the head over prepared inputs in batches: fused (n, 6000), or all 8 outputs (8, n, 6000)."""
    n = len(inputs[0])
    outs = []
    for a in range(0, n, batch_size):
        res = head([x[a : a + batch_size] for x in inputs], training=False)
        res = res if all_outputs else res[-1:]
        outs.append(np.stack([np.asarray(r)[..., 0] for r in res]))
    if not outs:
        return np.zeros((8 if all_outputs else 1, 0, WINDOW), np.float32)[slice(None) if all_outputs else 0]
    y = np.concatenate(outs, axis=1)
    return y if all_outputs else y[0]


def score_pairs(head, template_feats: Mapping[str, np.ndarray], search_feats: Mapping[str, np.ndarray],
                tP, tS, branch: Optional[str] = None, batch_size: int = 16, eps: float = 1e-3,
                divide: bool = True, valid: Optional[Sequence[Optional[int]]] = None) -> np.ndarray:
    """Fused S-EqT probability traces (n_pairs, 6000) for the search windows of n pairs.

    Feature dicts as ``head_inputs`` takes them (tap name → (n, L, C), from
    ``EqTModel.taps(tap_names(branch), windows)``); ``tP``/``tS``: template pick samples.
    """
    branch = _branch(branch) if branch else _infer_branch(search_feats)
    return run_head(head, head_inputs(template_feats, search_feats, tP, tS, branch, eps, divide, valid), batch_size)


class SiameseRepicker:
    """A frozen EqT plus a Siamese head of one branch: windows in, fused traces out."""

    def __init__(self, eqt, head, branch: str, batch_size: int = 16):
        self.eqt, self.head, self.branch, self.batch_size = eqt, head, _branch(branch), batch_size
        self.names = tap_names(self.branch)

    @classmethod
    def from_file(cls, eqt, path, branch: str, **kw) -> "SiameseRepicker":
        return cls(eqt, load_siamese_head(path), branch, **kw)

    def features(self, windows: np.ndarray) -> Dict[str, np.ndarray]:
        """EqT maps of the 17 taps for normalised windows (n, 6000, 3)."""
        return self.eqt.taps(self.names, windows)[1]

    def score(self, template_windows: np.ndarray, search_windows: np.ndarray, tP, tS) -> np.ndarray:
        """Fused traces (n, 6000) for pairs of normalised windows; tP/tS: the template's picks."""
        return score_pairs(self.head, self.features(template_windows), self.features(search_windows),
                           tP, tS, self.branch, self.batch_size)

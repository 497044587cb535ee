"""EQTransformer's graph, layer by layer and name by name, as the original Keras 2 code builds it.

Every layer is named as Keras 2 auto-named it in the published .h5, so weights map by name and
the S-EqT taps (``conv1d_32`` …) can be requested by the names the S-EqT paper uses. The two
published graphs differ only in the number of BiLSTM blocks and the LSTM gate activation,
which ``GraphSpec`` carries.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from .layers import (
    FeedForward,
    LayerNormalization,
    MCSpatialDropout1D,
    SeqSelfAttention,
    UpsampledConv1D,
    keras2_hard_sigmoid,
)

WINDOW = 6000
ENCODER_FILTERS = [8, 16, 16, 32, 32, 64, 64]
ENCODER_KERNELS = [11, 9, 7, 7, 5, 5, 3]
RESIDUAL_KERNELS = [3, 3, 3, 3, 2, 3, 2]
DECODER_FILTERS = [64, 64, 32, 32, 16, 16, 8]
DECODER_KERNELS = [3, 5, 5, 7, 7, 9, 11]


def check_input(x) -> np.ndarray:
    """EqT's input as contiguous float32 (n, 6000, 3), or a ValueError naming the shape.

    Here, beside :data:`WINDOW`, so the Keras model and the TFLite model check alike without
    importing each other."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (WINDOW, 3):
        raise ValueError(f"EqT input must have shape (n, {WINDOW}, 3) with channels E, N, Z; got {x.shape}")
    return np.ascontiguousarray(x)


@dataclass(frozen=True)
class GraphSpec:
    n_bilstm: int  # 2 for "original", 3 for "conservative"
    recurrent_activation: str  # "sigmoid" or "hard_sigmoid" (Keras-2 definition)
    dropout_rate: float  # rate of the always-on SpatialDropout1D (used in MC mode only)

    def decoder_conv_names(self, branch: str) -> list:
        """Names of the 7 decoder convolutions of branch "D", "P" or "S"."""
        first = 22 + self.n_bilstm + 7 * "DPS".index(branch)
        return [f"conv1d_{first + i}" for i in range(7)]


def _recurrent(spec: GraphSpec):
    return keras2_hard_sigmoid if spec.recurrent_activation == "hard_sigmoid" else "sigmoid"


def build_graph(
    spec: GraphSpec, mc_dropout: bool = False, extra_outputs=(), fold_upsampling: bool = True
) -> keras.Model:
    """Build the functional model: outputs (detector, picker_P, picker_S) + ``extra_outputs``.

    ``mc_dropout`` inserts the published graph's always-on spatial dropout (Monte-Carlo
    passes); without it the graph is the deterministic one the golden vectors use.
    ``extra_outputs`` names inner layers whose outputs are returned too (S-EqT taps).
    ``fold_upsampling`` computes each decoder's upsample-then-conv as one folded conv on the
    coarse signal (``UpsampledConv1D``: same result, ~1.6× less arithmetic). ``False`` builds
    the published layer sequence verbatim.
    """
    inp = keras.Input(shape=(WINDOW, 3), name="input", dtype="float32")
    x = inp
    for i, (f, k) in enumerate(zip(ENCODER_FILTERS, ENCODER_KERNELS), start=1):
        x = layers.Conv1D(f, k, padding="same", activation="relu", name=f"conv1d_{i}")(x)
        x = layers.MaxPooling1D(2, strides=2, padding="same", name=f"max_pooling1d_{i}")(x)

    for b, k in enumerate(RESIDUAL_KERNELS, start=1):
        y = x
        for half in (0, 1):
            n = 2 * b - 1 + half
            y = layers.BatchNormalization(epsilon=1e-3, name=f"batch_normalization_{n}")(y)
            y = layers.Activation("relu", name=f"activation_{n}")(y)
            if mc_dropout:
                y = MCSpatialDropout1D(spec.dropout_rate, name=f"spatial_dropout1d_{n}")(y)
            y = layers.Conv1D(64, k, padding="same", name=f"conv1d_{6 + 2 * b + half}")(y)
        x = layers.Add(name=f"add_{b}")([x, y])

    for j in range(1, spec.n_bilstm + 1):
        lstm = layers.LSTM(16, return_sequences=True, recurrent_activation=_recurrent(spec), name=f"lstm_{j}")
        x = layers.Bidirectional(lstm, merge_mode="concat", name=f"bidirectional_{j}")(x)
        x = layers.Conv1D(16, 1, padding="same", name=f"conv1d_{21 + j}")(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"batch_normalization_{14 + j}")(x)

    for block, (att, add1, ln1, ff, add2, ln2) in enumerate(
        [
            ("attentionD0", "add_8", "layer_normalization_1", "feed_forward_1", "add_9", "layer_normalization_2"),
            ("attentionD", "add_10", "layer_normalization_3", "feed_forward_2", "add_11", "layer_normalization_4"),
        ]
    ):
        a = SeqSelfAttention(32, None, name=att)(x)
        x = LayerNormalization(name=ln1)(layers.Add(name=add1)([x, a]))
        f = FeedForward(128, name=ff)(x)
        x = LayerNormalization(name=ln2)(layers.Add(name=add2)([x, f]))
    encoded = x

    branch_inputs = {"D": encoded}
    for offset, (branch, att) in enumerate((("P", "attentionP"), ("S", "attentionS")), start=1):
        lstm = layers.LSTM(
            16, return_sequences=True, recurrent_activation=_recurrent(spec), name=f"lstm_{spec.n_bilstm + offset}"
        )(encoded)
        branch_inputs[branch] = SeqSelfAttention(32, 3, name=att)(lstm)

    heads = []
    for bi, (branch, head) in enumerate((("D", "detector"), ("P", "picker_P"), ("S", "picker_S"))):
        y = branch_inputs[branch]
        for i, (name, f, k) in enumerate(zip(spec.decoder_conv_names(branch), DECODER_FILTERS, DECODER_KERNELS)):
            if fold_upsampling:
                y = UpsampledConv1D(f, k, activation="relu", crop=i == 3, name=name)(y)
                continue
            y = layers.UpSampling1D(2, name=f"up_sampling1d_{7 * bi + i + 1}")(y)
            if i == 3:
                y = layers.Cropping1D((1, 1), name=f"cropping1d_{bi + 1}")(y)
            y = layers.Conv1D(f, k, padding="same", activation="relu", name=name)(y)
        heads.append(layers.Conv1D(1, 11, padding="same", activation="sigmoid", name=head)(y))

    model = keras.Model(inp, heads, name="eqtransformer")
    if extra_outputs:
        taps = [model.get_layer(name).output for name in extra_outputs]
        model = keras.Model(inp, heads + taps, name="eqtransformer_taps")
    return model


def freeze_folded(model: keras.Model) -> keras.Model:
    """Fold the decoders' kernels once (``UpsampledConv1D.freeze``) after the weights are set."""
    for layer in model.layers:
        if isinstance(layer, UpsampledConv1D):
            layer.freeze()
    return model

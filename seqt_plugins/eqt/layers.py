"""The custom layers of EQTransformer, in Keras 3, with Keras-2 numerics.

Each reproduces the layer of the original EQTransformer code (Keras 2) exactly (additive
self-attention with ε = 1e-7 after a global max shift, layer norm with ε = 1e-14, Keras-2 hard
sigmoid), because the published weights were trained with those definitions and Keras 3's
built-ins differ from them.
Weights are created in the order the .h5 stores them, so they load positionally.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqt_plugins")
def keras2_hard_sigmoid(x):
    """Keras 2's hard sigmoid, clip(0.2 x + 0.5, 0, 1); Keras 3's differs (relu6(x + 3) / 6)."""
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="seqt_plugins")
class SeqSelfAttention(keras.layers.Layer):
    """Additive self-attention (units 32), optionally restricted to a local width."""

    def __init__(self, units: int = 32, attention_width=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.attention_width = attention_width

    def build(self, input_shape):
        features = int(input_shape[-1])
        prefix = self.name
        self.Wt = self.add_weight(shape=(features, self.units), name=f"{prefix}_Add_Wt")
        self.Wx = self.add_weight(shape=(features, self.units), name=f"{prefix}_Add_Wx")
        self.bh = self.add_weight(shape=(self.units,), name=f"{prefix}_Add_bh", initializer="zeros")
        self.Wa = self.add_weight(shape=(self.units, 1), name=f"{prefix}_Add_Wa")
        self.ba = self.add_weight(shape=(1,), name=f"{prefix}_Add_ba", initializer="zeros")

    def call(self, x):
        q = ops.expand_dims(ops.matmul(x, self.Wt), 2)  # (B, T, 1, U)
        k = ops.expand_dims(ops.matmul(x, self.Wx), 1)  # (B, 1, T, U)
        h = ops.tanh(q + k + self.bh)
        e = ops.squeeze(ops.matmul(h, self.Wa), -1) + self.ba  # (B, T, T)
        e = ops.exp(e - ops.max(e, axis=-1, keepdims=True))
        if self.attention_width is not None:
            steps = ops.shape(x)[1]
            pos = ops.arange(steps)
            lower = ops.expand_dims(pos - self.attention_width // 2, -1)
            upper = lower + self.attention_width
            other = ops.expand_dims(pos, 0)
            mask = ops.logical_and(other >= lower, other < upper)
            e = e * ops.cast(mask, e.dtype)
        a = e / (ops.sum(e, axis=-1, keepdims=True) + 1e-7)
        return ops.matmul(a, x)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "attention_width": self.attention_width}


@keras.saving.register_keras_serializable(package="seqt_plugins")
class FeedForward(keras.layers.Layer):
    """Position-wise feed-forward block: relu(x W1 + b1) W2 + b2 (its dropout is training-only)."""

    def __init__(self, units: int = 128, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        features = int(input_shape[-1])
        p = self.name
        self.W1 = self.add_weight(shape=(features, self.units), name=f"{p}_W1")
        self.b1 = self.add_weight(shape=(self.units,), name=f"{p}_b1", initializer="zeros")
        self.W2 = self.add_weight(shape=(self.units, features), name=f"{p}_W2")
        self.b2 = self.add_weight(shape=(features,), name=f"{p}_b2", initializer="zeros")

    def call(self, x):
        return ops.matmul(ops.relu(ops.matmul(x, self.W1) + self.b1), self.W2) + self.b2

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="seqt_plugins")
class LayerNormalization(keras.layers.Layer):
    """Layer norm over the last axis with the Keras-2 ε of 1e-14 (population variance)."""

    def build(self, input_shape):
        features = int(input_shape[-1])
        self.gamma = self.add_weight(shape=(features,), name="gamma", initializer="ones")
        self.beta = self.add_weight(shape=(features,), name="beta", initializer="zeros")

    def call(self, x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        var = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
        return (x - mean) / ops.sqrt(var + 1e-14) * self.gamma + self.beta


@keras.saving.register_keras_serializable(package="seqt_plugins")
class MCSpatialDropout1D(keras.layers.Layer):
    """Spatial dropout that is always on: EqT's Monte-Carlo dropout at inference.

    Keras 3 functional models override a per-call ``training=True`` with the model's flag, so
    the published graph's always-on SpatialDropout1D would silently turn off; this layer takes
    no ``training`` argument and drops whole channels with noise shape (B, 1, C).
    """

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x):
        shape = ops.shape(x)
        return keras.random.dropout(x, self.rate, noise_shape=(shape[0], 1, shape[2]), seed=self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


def polyphase_selection(kernel_size: int):
    """Selection matrices (2, D, k) folding a 'same' conv over a 2× nearest-upsampled input.

    Output sample 2j + r of ``conv(upsample(x), W)`` reads ``x[j + d]`` with the summed taps
    ``K_r[d] = Σ_t [⌊(r + t - p)/2⌋ = d] W[t]`` (p = (k - 1)/2); for odd k the offsets d are
    symmetric, -D//2 … D//2, so both phases are one 'same' conv of kernel size D on x.
    """
    import numpy as np

    if kernel_size % 2 != 1:
        raise ValueError("polyphase folding needs an odd kernel size")
    p = (kernel_size - 1) // 2
    d_min, d_max = -((p + 1) // 2), (p + 1) // 2
    size = d_max - d_min + 1
    select = np.zeros((2, size, kernel_size), dtype="float32")
    for r in (0, 1):
        for t in range(kernel_size):
            select[r, (r + t - p) // 2 - d_min, t] = 1.0
    return select


@keras.saving.register_keras_serializable(package="seqt_plugins")
class UpsampledConv1D(keras.layers.Layer):
    """``UpSampling1D(2)`` then ``Conv1D(filters, k, 'same')``, computed without upsampling.

    Both phases of the output (even and odd samples) are a conv of the *un*-upsampled input
    with folded kernels (``polyphase_selection``), run as one conv with 2·filters outputs and
    a reshape. The decoders spend most of EqT's arithmetic here, and the folded conv needs
    ~1.6× fewer multiply-adds for the same result (only the summation order differs). The
    weights are the published Conv1D's kernel (k, C_in, filters) and bias, in that order.
    ``crop`` folds a ``Cropping1D((1, 1))`` after the upsampling as well.
    """

    def __init__(self, filters: int, kernel_size: int, activation=None, crop: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.activation = keras.activations.get(activation)
        self.crop = bool(crop)
        self._select = polyphase_selection(self.kernel_size)
        self._frozen = None

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.kernel = self.add_weight(shape=(self.kernel_size, channels, self.filters), name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")

    def _folded(self, kernel):
        """(D, C_in, 2·filters) phase-major folded kernel, and the edge taps of ``_cropped``."""
        p = (self.kernel_size - 1) // 2
        select = ops.cast(ops.convert_to_tensor(self._select), kernel.dtype)
        folded = ops.einsum("rdt,tio->dior", select, kernel)  # (D, C_in, filters, 2)
        folded = ops.reshape(ops.transpose(folded, (0, 1, 3, 2)), (folded.shape[0], folded.shape[1], 2 * self.filters))
        return folded, ops.flip(kernel[:p], axis=0), ops.flip(kernel[p + 1 :], axis=0)

    def freeze(self) -> None:
        """Fold the current weights once, so inference graphs skip the per-call folding.

        Call after the weights are final (``EqTModel`` does, after loading); assigning new
        weights afterwards needs another ``freeze``.
        """
        import numpy as np

        self._frozen = tuple(np.asarray(t) for t in self._folded(self.kernel))

    def call(self, x):
        if self._frozen is not None:
            folded, left_taps, right_taps = (ops.cast(ops.convert_to_tensor(t), self.compute_dtype) for t in self._frozen)
        else:
            folded, left_taps, right_taps = self._folded(self.kernel)
        y = ops.conv(x, folded, strides=1, padding="same")  # (B, L, 2·filters): phase-major
        shape = ops.shape(x)
        y = ops.reshape(y, (shape[0], 2 * shape[1], self.filters))
        if self.crop:
            y = self._cropped(x, y, left_taps, right_taps)
        return self.activation(y + self.bias)

    def _cropped(self, x, y, left_taps, right_taps):
        """``Cropping1D((1, 1))`` between the upsampling and the conv (EqT's 752 → 750 step).

        The conv then sees the first and last upsampled samples as zero padding, so the
        uncropped result, shifted by one, is exact except within p samples of each end, where
        those two samples' contributions are subtracted.
        """
        p = (self.kernel_size - 1) // 2
        n = ops.shape(y)[1] - 2
        left = ops.einsum("bi,tio->bto", x[:, 0, :], left_taps)
        right = ops.einsum("bi,tio->bto", x[:, -1, :], right_taps)
        return ops.concatenate([y[:, 1 : 1 + p] - left, y[:, 1 + p : n + 1 - p], y[:, n + 1 - p : n + 1] - right], axis=1)

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else 2 * input_shape[1] - (2 if self.crop else 0)
        return (input_shape[0], length, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "activation": keras.activations.serialize(self.activation),
            "crop": self.crop,
        }

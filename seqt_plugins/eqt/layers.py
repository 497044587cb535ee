"""The custom layers of EQTransformer, in Keras 3, with Keras-2 numerics.

Each reproduces the layer of the published graph exactly as ../shared/specs/eqt.md §4 states
(additive self-attention with ε = 1e-7 after a global max shift, layer norm with ε = 1e-14,
Keras-2 hard sigmoid), because the published weights were trained with those definitions.
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

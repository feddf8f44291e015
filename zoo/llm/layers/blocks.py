"""The transformer block: attention, optional cross-attention, feed-forward.

One class covers the three block types of the tutorial: a GPT block (causal
self-attention), a BERT or Transformer-encoder block (bidirectional
self-attention) and a Transformer-decoder block (causal self-attention plus
cross-attention to the encoder). `norm="pre"` puts LayerNorm before each
sublayer (GPT-2: trains deep stacks without warm-up tricks), `norm="post"`
after each residual add (the 2017 paper and BERT).

Example:
    >>> import numpy as np
    >>> block = TransformerBlock(hidden_dim=8, num_heads=2, intermediate_dim=16, causal=True)
    >>> tuple(block(np.zeros((1, 4, 8), "float32")).shape)
    (1, 4, 8)
"""

import keras

from zoo.llm.attention import get_attention_class
from zoo.llm.attention.full import MultiHeadAttention

_ACTIVATIONS = {
    "gelu": lambda x: keras.activations.gelu(x, approximate=False),
    "gelu_approximate": lambda x: keras.activations.gelu(x, approximate=True),
    "relu": keras.activations.relu,
    "silu": keras.activations.silu,
}


def activation_fn(name):
    """The feed-forward activation function named in LLMConfig.activation."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}. Choose one of: {', '.join(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]


@keras.saving.register_keras_serializable(package="zoo")
class TransformerBlock(keras.layers.Layer):
    """A residual transformer block with optional cache for incremental decoding.

    Call arguments:
        x: [batch, seq, hidden_dim]; with a cache and no cross-attention also
            [batch, hidden_dim], one token per row (a decode step without tensordot's shape ops).
        padding_mask: [batch, seq] 1 for real tokens (keys of self-attention).
        context, context_padding_mask: encoder output and its mask (decoder blocks).
        cache, cache_index: self-attention key/value cache; the call then
            returns `(x, cache)`.
        cross_cache: precomputed encoder keys/values (see `cross_key_value`).

    Example:
        >>> import numpy as np
        >>> block = TransformerBlock(8, 2, 16, causal=True, cross_attention=True)
        >>> tuple(block(np.zeros((1, 3, 8), "float32"), context=np.zeros((1, 5, 8), "float32")).shape)
        (1, 3, 8)
    """

    def __init__(
        self,
        hidden_dim,
        num_heads,
        intermediate_dim,
        causal=False,
        cross_attention=False,
        dropout=0.0,
        norm="pre",
        activation="gelu",
        attention="full",
        use_bias=True,
        layer_norm_epsilon=1e-5,
        rotary=False,
        rotary_max_wavelength=10000.0,
        attention_options=None,
        norm_type="layernorm",
        mlp="standard",
        num_key_value_heads=None,
        qkv_bias=None,
        rope_options=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = int(hidden_dim)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.causal = bool(causal)
        self.has_cross_attention = bool(cross_attention)
        self.dropout = float(dropout)
        self.norm = norm
        self.activation = activation
        self.attention = attention
        self.use_bias = bool(use_bias)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.rotary = bool(rotary)
        self.rotary_max_wavelength = float(rotary_max_wavelength)
        self._activation_fn = activation_fn(activation)
        # The attention kind's own settings (window, block size...): its layer's keyword arguments.
        self.attention_options = dict(attention_options or {})
        self.norm_type = norm_type
        self.mlp = mlp
        self.num_key_value_heads = None if num_key_value_heads is None else int(num_key_value_heads)
        self.qkv_bias = None if qkv_bias is None else bool(qkv_bias)
        # RoPE scaling (rope_scaling_type, rope_scaling_factor, ...), passed on to self-attention.
        self.rope_options = dict(rope_options or {})
        gqa = {} if self.num_key_value_heads is None else {"num_key_value_heads": self.num_key_value_heads}
        # Set by zoo.llm.layers.reversible.ReversibleStack: the block then runs only as part of it.
        self.in_reversible_stack = False

        head_dim = self.hidden_dim // self.num_heads
        common = dict(dtype=self.dtype_policy)
        self.self_attention = get_attention_class(attention)(
            self.num_heads,
            head_dim,
            causal=self.causal,
            dropout=self.dropout,
            use_bias=self.use_bias,
            rotary=self.rotary,
            rotary_max_wavelength=self.rotary_max_wavelength,
            qkv_bias=self.qkv_bias,
            name="self_attention",
            **gqa,
            **self.rope_options,
            **self.attention_options,
            **common,
        )
        self.self_attention_norm = self._layer_norm("self_attention_norm")
        if self.has_cross_attention:
            # Cross-attention always sees the whole source: efficient kinds are for self-attention.
            self.cross_attention = MultiHeadAttention(
                self.num_heads,
                head_dim,
                cross_attention=True,
                dropout=self.dropout,
                use_bias=self.use_bias,
                qkv_bias=self.qkv_bias,
                name="cross_attention",
                **common,
            )
            self.cross_attention_norm = self._layer_norm("cross_attention_norm")
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.ffn_in = keras.layers.Dense(
            self.intermediate_dim, use_bias=self.use_bias, kernel_initializer=init, name="ffn_in", **common
        )
        self.ffn_gate = None
        if self.mlp == "gated":
            # GLU feed-forward (Shazeer 2020): act(x W_gate) * (x W_up); SwiGLU when act is silu (Llama).
            self.ffn_gate = keras.layers.Dense(
                self.intermediate_dim, use_bias=self.use_bias, kernel_initializer=init, name="ffn_gate", **common
            )
        self.ffn_out = keras.layers.Dense(
            self.hidden_dim, use_bias=self.use_bias, kernel_initializer=init, name="ffn_out", **common
        )
        self.ffn_norm = self._layer_norm("ffn_norm")
        self.residual_dropout = keras.layers.Dropout(self.dropout, **common)

    def _layer_norm(self, name):
        return make_norm(self.norm_type, self.layer_norm_epsilon, self.dtype_policy, name)

    def build(self, x_shape, context_shape=None):
        width = (None, None, self.hidden_dim)
        self.self_attention.build(width)
        self.self_attention_norm.build(width)
        if self.has_cross_attention:
            self.cross_attention.build(width)
            self.cross_attention_norm.build(width)
        self.ffn_in.build(width)
        if self.ffn_gate is not None:
            self.ffn_gate.build(width)
        self.ffn_out.build((None, None, self.intermediate_dim))
        self.ffn_norm.build(width)
        self.built = True

    def _residual(self, x, norm, sublayer, training):
        if self.norm == "pre":
            return x + self.residual_dropout(sublayer(norm(x)), training=training)
        return norm(x + self.residual_dropout(sublayer(x), training=training))

    def cross_key_value(self, context):
        """Encoder keys/values for cross-attention, computed once per source."""
        return self.cross_attention.project_key_value(context)

    def attention_branch(self, x, padding_mask=None, training=None):
        """Attention(LN(x)) without the residual add: F of a reversible block."""
        return self.self_attention(self.self_attention_norm(x), padding_mask=padding_mask, training=training)

    def ffn_branch(self, x):
        """FFN(LN(x)) without the residual add: G of a reversible block."""
        return self._feed_forward(self.ffn_norm(x))

    def _feed_forward(self, h):
        if self.ffn_gate is not None:
            return self.ffn_out(self._activation_fn(self.ffn_gate(h)) * self.ffn_in(h))
        return self.ffn_out(self._activation_fn(self.ffn_in(h)))

    def call(
        self,
        x,
        padding_mask=None,
        context=None,
        context_padding_mask=None,
        cache=None,
        cache_index=None,
        cross_cache=None,
        training=None,
    ):
        if self.in_reversible_stack:
            raise ValueError(
                f"{self.name} is part of a reversible stack and runs inside it (ReversibleStack), "
                "not as a standard residual block; decode a reversible model without a KV cache."
            )
        new_cache = []

        def self_attend(h):
            out = self.self_attention(
                h, padding_mask=padding_mask, cache=cache, cache_index=cache_index, training=training
            )
            if cache is not None:
                out, updated = out
                new_cache.append(updated)
            return out

        x = self._residual(x, self.self_attention_norm, self_attend, training)
        if self.has_cross_attention:

            def cross_attend(h):
                return self.cross_attention(
                    h, context=context, padding_mask=context_padding_mask, cache=cross_cache, training=training
                )

            x = self._residual(x, self.cross_attention_norm, cross_attend, training)

        x = self._residual(x, self.ffn_norm, self._feed_forward, training)
        return (x, new_cache[0]) if cache is not None else x

    def compute_output_spec(self, x, *args, cache=None, **kwargs):
        # Declared rather than traced when the model is built: on JAX a free sequence length is a symbolic
        # dimension, and block-sparse padding (max of lengths) cannot compare it with a number.
        if cache is None:
            return keras.KerasTensor(x.shape, dtype=self.compute_dtype)
        return super().compute_output_spec(x, *args, cache=cache, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            causal=self.causal,
            cross_attention=self.has_cross_attention,
            dropout=self.dropout,
            norm=self.norm,
            activation=self.activation,
            attention=self.attention,
            use_bias=self.use_bias,
            layer_norm_epsilon=self.layer_norm_epsilon,
            rotary=self.rotary,
            rotary_max_wavelength=self.rotary_max_wavelength,
            attention_options=self.attention_options,
            norm_type=self.norm_type,
            mlp=self.mlp,
            num_key_value_heads=self.num_key_value_heads,
            qkv_bias=self.qkv_bias,
            rope_options=self.rope_options,
        )
        return config


def make_norm(norm_type, epsilon, dtype, name):
    """A LayerNorm or an RMSNorm (LLMConfig.norm_type) over the last axis.

    Example:
        >>> make_norm("rmsnorm", 1e-6, None, "norm").name
        'norm'
    """
    if norm_type == "rmsnorm":
        # Llama's RMSNorm: x / sqrt(mean(x^2) + eps) * scale, no centring and no bias (Zhang & Sennrich 2019).
        return keras.layers.RMSNormalization(epsilon=epsilon, dtype=dtype, name=name)
    if norm_type != "layernorm":
        raise ValueError(f"Unknown norm_type {norm_type!r}. Choose one of: layernorm, rmsnorm.")
    return keras.layers.LayerNormalization(epsilon=epsilon, dtype=dtype, name=name)


def rope_options(config):
    """RoPE scaling settings of an LLMConfig, as TransformerBlock's rope_options (empty when unscaled)."""
    if config.rope_scaling_type == "none":
        return {}
    names = (
        "rope_scaling_type",
        "rope_scaling_factor",
        "rope_low_freq_factor",
        "rope_high_freq_factor",
        "rope_original_max_length",
    )
    return {name: getattr(config, name) for name in names}


def supports_kv_cache(config):
    """Whether cached decoding of the (decoder) self-attention equals recomputing the sequence.

    False for kinds without a cache ("axial", "lsh") and for reversible causal
    stacks (their blocks run as a pair of streams); generation then recomputes.

    Example:
        >>> from zoo.llm.config import LLMConfig
        >>> supports_kv_cache(LLMConfig(attention="sliding_window")), supports_kv_cache(LLMConfig(attention="lsh"))
        (True, False)
    """
    return get_attention_class(config.attention).supports_cache and not config.reversible


def block_from_config(config, name, causal, cross_attention=False, dtype=None):
    """A TransformerBlock with the sizes and choices of an LLMConfig."""
    return TransformerBlock(
        hidden_dim=config.hidden_dim,
        num_heads=config.num_heads,
        intermediate_dim=config.intermediate_dim,
        causal=causal,
        cross_attention=cross_attention,
        dropout=config.dropout,
        norm=config.norm,
        activation=config.activation,
        attention=config.attention,
        use_bias=config.use_bias,
        layer_norm_epsilon=config.layer_norm_epsilon,
        rotary=config.position == "rotary",
        rotary_max_wavelength=config.rotary_max_wavelength,
        attention_options=config.attention_options.layer_arguments(config.max_length),
        norm_type=config.norm_type,
        mlp=config.mlp,
        num_key_value_heads=None if config.key_value_heads == config.num_heads else config.key_value_heads,
        qkv_bias=config.qkv_bias,
        rope_options=rope_options(config),
        dtype=dtype,
        name=name,
    )

"""Full multi-head attention with a key/value cache: the "full" attention kind.

The textbook softmax(QK^T / sqrt(d)) V over every allowed key. The efficient
kinds in this folder subclass it and override `attention_mask()` (which keys
each query may see), `attend()` (how the weighted sum is computed) or
`attend_sequence()` (self-attention over a whole sequence without a cache, where
the sub-quadratic kinds compute block by block); projections, rotary positions
and the cache stay shared.

Example:
    >>> import numpy as np
    >>> layer = MultiHeadAttention(num_heads=2, head_dim=4, causal=True)
    >>> tuple(layer(np.zeros((1, 5, 8), "float32")).shape)
    (1, 5, 8)
"""

import math

import keras
from keras import ops

from zoo.llm.attention.registry import register_attention


@keras.saving.register_keras_serializable(package="zoo")
@register_attention("full")
class MultiHeadAttention(keras.layers.Layer):
    """Full multi-head attention: self-attention (optionally causal) or cross-attention.

    Self-attention projects Q, K and V with one fused matrix (one large matmul
    is faster than three small ones); cross-attention projects Q from the
    decoder and K, V from the encoder output `context`.

    Call arguments:
        x: [batch, query_len, hidden] queries (and keys/values for self-attention); with a
            self-attention cache also [batch, hidden], one token per row (a decode step:
            the Dense layers then run a plain matmul, and the output is [batch, hidden] too).
        context: [batch, key_len, hidden] encoder output, for cross-attention.
        padding_mask: [batch, key_len], 1 where a key is a real token.
        cache: self-attention: [2, batch, kv_heads, max_len, head_dim] keys and values
            of earlier positions (keys and values first, so reading either is a free slice;
            heads before positions, so attention reads it without a transpose); this call writes its own at `cache_index` and returns `(output, cache)`. Cross-attention: keys and values from
            `project_key_value(context)`, computed once per encoder output.
        cache_index: position of the first query token in the sequence.

    Example:
        >>> import numpy as np
        >>> mha = MultiHeadAttention(num_heads=2, head_dim=4, causal=True)
        >>> cache = np.zeros((2, 1, 2, 6, 4), "float32")
        >>> out, cache = mha(np.ones((1, 1, 8), "float32"), cache=cache, cache_index=0)
        >>> tuple(out.shape), tuple(cache.shape)
        ((1, 1, 8), (2, 1, 2, 6, 4))
    """

    # Whether a key/value cache gives the same outputs as recomputing the sequence.
    supports_cache = True
    # How the cached call writes keys/values (see `write_cache`). "keras": slice_update, what
    # Keras' XLA-compiled generate wants. "core": a select over every position, plain ops any
    # graph runtime has (the reference the export writers are tested against). Or a function
    # (cache, new, index) -> cache that an export installs while it traces: the TF Serving graph
    # writes in place (zoo.export.generate_loop), the LiteRT file with DYNAMIC_UPDATE_SLICE.
    cache_ops = "keras"
    # Full attention over a sequence through keras.ops.dot_product_attention (flash attention
    # where the backend and device have it): True, False, or None to choose per backend and
    # device (`prefers_dot_product_attention`). A kernel choice, not architecture: not saved.
    use_dot_product_attention = None

    def __init__(
        self,
        num_heads,
        head_dim,
        causal=False,
        cross_attention=False,
        dropout=0.0,
        use_bias=True,
        rotary=False,
        rotary_max_wavelength=10000.0,
        num_key_value_heads=None,
        qkv_bias=None,
        rope_scaling_type="none",
        rope_scaling_factor=1.0,
        rope_low_freq_factor=1.0,
        rope_high_freq_factor=4.0,
        rope_original_max_length=8192,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if rotary and cross_attention:
            raise ValueError("Rotary positions apply to self-attention only.")
        if num_key_value_heads is not None and cross_attention:
            raise ValueError("Grouped-query attention (num_key_value_heads) applies to self-attention only.")
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.hidden_dim = self.num_heads * self.head_dim
        self.causal = bool(causal)
        self.cross_attention = bool(cross_attention)
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.rotary = bool(rotary)
        self.rotary_max_wavelength = float(rotary_max_wavelength)
        self.num_key_value_heads = None if num_key_value_heads is None else int(num_key_value_heads)
        # Grouped-query attention (Ainslie et al. 2023): fewer key/value heads, each shared by a
        # group of query heads; the cache holds only the key/value heads.
        self.kv_heads = self.num_heads if self.num_key_value_heads is None else self.num_key_value_heads
        if self.num_heads % self.kv_heads:
            raise ValueError(f"num_key_value_heads={self.kv_heads} does not divide num_heads={self.num_heads}.")
        self.qkv_bias = None if qkv_bias is None else bool(qkv_bias)
        self.rope_scaling_type = rope_scaling_type
        self.rope_scaling_factor = float(rope_scaling_factor)
        self.rope_low_freq_factor = float(rope_low_freq_factor)
        self.rope_high_freq_factor = float(rope_high_freq_factor)
        self.rope_original_max_length = int(rope_original_max_length)

        dense = dict(use_bias=self.use_bias, kernel_initializer=_init(), dtype=self.dtype_policy)
        # Qwen2 keeps biases on the q/k/v projections only.
        projection = {**dense, "use_bias": self.use_bias if self.qkv_bias is None else self.qkv_bias}
        if self.cross_attention:
            self.query_dense = keras.layers.Dense(self.hidden_dim, name="query", **projection)
            self.key_value_dense = keras.layers.Dense(2 * self.hidden_dim, name="key_value", **projection)
        else:
            # Columns: queries (num_heads * head_dim), then keys, then values (kv_heads * head_dim each).
            width = (self.num_heads + 2 * self.kv_heads) * self.head_dim
            self.qkv_dense = keras.layers.Dense(width, name="qkv", **projection)
        self.output_dense = keras.layers.Dense(self.hidden_dim, name="output", **dense)
        self.probs_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        if self.rotary:
            self.rotary_embedding = self._rotary_layer()

    def _rotary_layer(self):
        # [batch, seq, heads, head_dim]: rotate along seq, pairs along head_dim.
        common = {"sequence_axis": 1, "feature_axis": -1, "dtype": self.dtype_policy, "name": "rotary"}
        if self.rope_scaling_type == "llama3":
            from keras_hub.src.models.llama.llama_rotary_embedding import (
                LlamaRotaryEmbedding,
            )

            # Llama 3.1: long wavelengths stretched by the factor, short ones kept, a smooth band between.
            return LlamaRotaryEmbedding(
                max_wavelength=self.rotary_max_wavelength,
                frequency_adjustment_factor=self.rope_scaling_factor,
                low_freq_factor=self.rope_low_freq_factor,
                high_freq_factor=self.rope_high_freq_factor,
                pretraining_sequence_length=self.rope_original_max_length,
                **common,
            )
        from keras_hub.layers import RotaryEmbedding

        factor = self.rope_scaling_factor if self.rope_scaling_type == "linear" else 1.0
        return RotaryEmbedding(max_wavelength=self.rotary_max_wavelength, scaling_factor=factor, **common)

    def build(self, x_shape, context_shape=None):
        width = (None, None, self.hidden_dim)
        if self.cross_attention:
            self.query_dense.build(width)
            self.key_value_dense.build(width)
        else:
            self.qkv_dense.build(width)
        self.output_dense.build(width)
        self.built = True

    def _split_heads(self, x, parts):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        return ops.reshape(x, (batch, length, parts, self.num_heads, self.head_dim))

    def _split_qkv(self, qkv):
        """Queries [b, n, heads, d] and keys, values [b, n, kv_heads, d] from the fused projection."""
        batch, length = ops.shape(qkv)[0], 1 if len(qkv.shape) == 2 else ops.shape(qkv)[1]
        q_width, kv_width = self.num_heads * self.head_dim, self.kv_heads * self.head_dim
        # A split, not three slices: the gradient of a slice writes a zero tensor as wide as qkv and
        # copies into it (StridedSliceGrad, 4% of a training step on CPU); a split's gradient is one concat.
        query, key, value = ops.split(qkv, [q_width, q_width + kv_width], axis=-1)
        query = ops.reshape(query, (batch, length, self.num_heads, self.head_dim))
        key = ops.reshape(key, (batch, length, self.kv_heads, self.head_dim))
        value = ops.reshape(value, (batch, length, self.kv_heads, self.head_dim))
        return query, key, value

    def _repeat_kv(self, x, axis=2):
        """Key/value heads repeated for their query-head groups: [b, n, kv_heads, d] -> [b, n, heads, d]
        (`axis=1` for the cache's heads-first [b, kv_heads, n, d])."""
        if self.kv_heads == self.num_heads:
            return x
        # Query head h reads key/value head h // group (Hugging Face's repeat_kv order).
        return ops.repeat(x, self.num_heads // self.kv_heads, axis=axis)

    def project_key_value(self, context):
        """Keys and values of an encoder output, [batch, 2, key_len, heads, head_dim]."""
        kv = self._split_heads(self.key_value_dense(context), 2)
        return ops.transpose(kv, (0, 2, 1, 3, 4))

    def attention_mask(self, query_positions, key_positions):
        """[query_len, key_len] bool: which keys each query may attend to (None: all).

        Subclasses narrow this (a sliding window keeps the last `w` keys).
        """
        if not self.causal:
            return None
        return ops.expand_dims(key_positions, 0) <= ops.expand_dims(query_positions, 1)

    def attend_sequence(self, query, key, value, padding_mask=None, training=None):
        """Self-attention over a whole sequence (no cache); query, key, value [b, n, h, d].

        The full kind builds the [n, n] mask and calls `attend()`; the efficient
        kinds override this to compute on blocks, rows or hash buckets.
        """
        if self._dot_product_attention(training) and type(self).attention_mask is MultiHeadAttention.attention_mask:
            # The causal mask as a flag, not a tensor: what lets Keras pick a flash kernel.
            return ops.dot_product_attention(
                query,
                key,
                value,
                mask=_with_padding(None, padding_mask),
                is_causal=self.causal,
                scale=1.0 / math.sqrt(self.head_dim),
            )
        positions = ops.arange(ops.shape(query)[1], dtype="int32")
        mask = self.attention_mask(positions, positions)
        mask = None if mask is None else mask[None, None]
        return self.attend(query, key, value, _with_padding(mask, padding_mask), training=training)

    def attend(self, query, key, value, mask, training=None, heads_first=False):
        """softmax(QK^T / sqrt(head_dim)) V; mask is bool, broadcastable to [b, h, q, k].

        query [b, q, h, d]; key and value [b, k, h, d], or [b, h, k, d] with
        `heads_first` (the KV cache's layout). Output [b, q, h, d].
        """
        # One query against the cache (a decode step): [b, h, 1, d] has the memory order of
        # [b, 1, h, d], so the einsums need no transpose of the query or the output.
        one_query = heads_first and query.shape[1] == 1
        if not heads_first and self._dot_product_attention(training):
            return ops.dot_product_attention(query, key, value, mask=mask, scale=1.0 / math.sqrt(self.head_dim))
        kv = "bhkd" if heads_first else "bkhd"
        # Scale the queries, not the [q, k] scores: a smaller tensor, and smaller float16 logits.
        query = query * ops.cast(1.0 / math.sqrt(self.head_dim), query.dtype)
        if one_query:
            query = ops.reshape(query, (-1, self.num_heads, 1, self.head_dim))  # [b, h, 1, d]: same memory order
            scores = ops.einsum("bhqd,bhkd->bhqk", query, key)
        else:
            scores = ops.einsum(f"bqhd,{kv}->bhqk", query, key)
        # Softmax in float32: float16 logits overflow and its exp underflows.
        scores = ops.cast(scores, "float32")
        if mask is not None:
            # Adding -1e9 to hidden keys is measurably faster on CPU than a select (where).
            scores = scores + ops.cast(ops.logical_not(mask), "float32") * -1e9
        probs = ops.cast(ops.softmax(scores, axis=-1), self.compute_dtype)
        probs = self.probs_dropout(probs, training=training)
        if one_query:
            out = ops.einsum("bhqk,bhkd->bhqd", probs, value)  # [b, h, 1, d]
            return ops.reshape(out, (-1, 1, self.num_heads, self.head_dim))
        return ops.einsum(f"bhqk,{kv}->bqhd", probs, value)

    def _dot_product_attention(self, training):
        # Keras' fused attention has no dropout on the probabilities: with dropout active, the einsums.
        if self.dropout > 0 and training:
            return False
        choice = self.use_dot_product_attention
        return prefers_dot_product_attention() if choice is None else bool(choice)

    def call(self, x, context=None, padding_mask=None, cache=None, cache_index=None, training=None):
        rows = len(x.shape) == 2  # [batch, hidden]: one token per row
        if rows and (cache is None or self.cross_attention):
            raise ValueError("A [batch, hidden] input (one token per row) needs a self-attention cache.")
        batch, query_len = ops.shape(x)[0], 1 if rows else ops.shape(x)[1]
        start = 0 if cache_index is None else cache_index
        if self.cross_attention:
            query = self._split_heads(self.query_dense(x), 1)[:, :, 0]
            if cache is None and context is None:
                raise ValueError("Cross-attention needs the encoder output `context` (or its cache).")
            kv = self.project_key_value(context) if cache is None else cache
            key, value = kv[:, 0], kv[:, 1]
            out = self.attend(query, key, value, _with_padding(None, padding_mask), training=training)
        else:
            if cache is not None and not self.supports_cache:
                raise ValueError(
                    f"{type(self).__name__} has no key/value cache: its output for a token depends on more "
                    "than the keys and values of earlier tokens. Decode without a cache "
                    "(generate(..., use_cache=False); zoo.llm.models.generation does this by itself for this kind)."
                )
            query, key, value = self._split_qkv(self.qkv_dense(x))
            if self.rotary:
                query = self.rotary_embedding(query, start_index=start)
                key = self.rotary_embedding(key, start_index=start)
            if cache is None:
                key, value = self._repeat_kv(key), self._repeat_kv(value)
                out = self.attend_sequence(query, key, value, padding_mask, training=training)
            else:
                if cache_index is None:
                    raise ValueError("A self-attention cache needs `cache_index`.")
                # Write this call's keys/values into the cache, then attend over all
                # of it: the prefix is read back, never recomputed. Every kind with a
                # cache states its pattern as a [q, k] mask here (q is one token or a
                # prompt, so the mask is small).
                # The cache is [2, b, kv_heads, max_len, d]: transposing the new token's keys is
                # cheap, transposing the whole cache every step is not (on CPU it was most of a
                # served decode step's time), and cache[0] is a view, not a copy.
                new = ops.transpose(ops.stack((key, value), axis=0), (0, 1, 3, 2, 4))
                new = ops.cast(new, cache.dtype)
                if callable(self.cache_ops):
                    cache = self.cache_ops(cache, new, cache_index)
                else:
                    cache = write_cache(cache, new, cache_index, "select" if self.cache_ops == "core" else "slice")
                key, value = self._repeat_kv(cache[0], axis=1), self._repeat_kv(cache[1], axis=1)
                query_positions = ops.arange(query_len, dtype="int32") + ops.cast(start, "int32")
                key_positions = ops.arange(ops.shape(key)[2], dtype="int32")
                mask = self.attention_mask(query_positions, key_positions)
                mask = None if mask is None else mask[None, None]
                out = self.attend(
                    query, key, value, _with_padding(mask, padding_mask), training=training, heads_first=True
                )
        out = ops.reshape(out, (batch, self.hidden_dim) if rows else (batch, query_len, self.hidden_dim))
        out = self.output_dense(out)
        # A self-attention cache changes every step, so it is returned; a cross-attention
        # cache (the encoder's keys and values) is fixed and is not.
        return (out, cache) if cache is not None and not self.cross_attention else out

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            head_dim=self.head_dim,
            causal=self.causal,
            cross_attention=self.cross_attention,
            dropout=self.dropout,
            use_bias=self.use_bias,
            rotary=self.rotary,
            rotary_max_wavelength=self.rotary_max_wavelength,
            num_key_value_heads=self.num_key_value_heads,
            qkv_bias=self.qkv_bias,
            rope_scaling_type=self.rope_scaling_type,
            rope_scaling_factor=self.rope_scaling_factor,
            rope_low_freq_factor=self.rope_low_freq_factor,
            rope_high_freq_factor=self.rope_high_freq_factor,
            rope_original_max_length=self.rope_original_max_length,
        )
        return config


def write_cache(cache, new, index, mode="slice"):
    """`cache` [2, b, h, max_len, d] with `new` [2, b, h, q, d] written at positions index .. index + q - 1.

    "slice" uses `ops.slice_update`, which on the TensorFlow backend is XLA's
    XlaDynamicUpdateSlice op: fine inside a jit-compiled decode loop, but TF
    Serving has no kernel for it. "select" spreads `new` over every cache
    position (a broadcast for one token, a gather for several) and keeps it
    where it belongs with `where`: core TensorFlow ops, at the cost of touching
    the whole cache, which attention reads anyway.

    Example:
        >>> import numpy as np
        >>> cache = write_cache(np.zeros((2, 1, 1, 4, 1), "float32"), np.ones((2, 1, 1, 2, 1), "float32"), 1, "select")
        >>> ops.convert_to_numpy(cache)[0, 0, 0, :, 0].tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    if mode == "slice":
        return ops.slice_update(cache, (0, 0, 0, index, 0), new)
    if mode != "select":
        raise ValueError(f"Unknown write_cache mode {mode!r}: use 'slice' or 'select'.")
    offset = ops.arange(ops.shape(cache)[3], dtype="int32") - ops.cast(index, "int32")
    count = ops.shape(new)[3]
    inside = ops.logical_and(offset >= 0, offset < count)
    if new.shape[3] == 1:
        spread = new  # one position (a decode step): `where` broadcasts it, no gather needed
    else:
        # Positions outside the new span read entry 0 (clipped); `where` then keeps the old cache there.
        spread = ops.take(new, ops.clip(offset, 0, ops.maximum(count - 1, 0)), axis=3)
    return ops.where(inside[None, None, None, :, None], spread, cache)


def prefers_dot_product_attention():
    """Whether full attention should go through keras.ops.dot_product_attention on this backend and device.

    Yes where Keras runs a fused or flash kernel: JAX and PyTorch on a GPU (cuDNN flash
    attention, PyTorch's scaled_dot_product_attention). No on the TensorFlow backend,
    where Keras' version is the same two einsums plus a select and measured slower
    (benchmarks/attention_kernels.py), and no on CPUs.

    Example:
        >>> prefers_dot_product_attention()  # TensorFlow on a CPU
        False
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def _with_padding(mask, padding_mask):
    """Combine a [.., q, k] bool mask with a [batch, k] key padding mask (1 = real token)."""
    if padding_mask is None:
        return mask
    keys_ok = ops.cast(padding_mask, "bool")[:, None, None, :]
    return keys_ok if mask is None else ops.logical_and(mask, keys_ok)


def _init():
    # GPT-2 / BERT initialise weights from N(0, 0.02).
    return keras.initializers.RandomNormal(stddev=0.02)

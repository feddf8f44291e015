"""Axial attention: the sequence as a 2-D grid, attention along rows, then along columns.

The n tokens are laid out row by row in a grid of `row_length` columns
(Ho et al. 2019, "Axial Attention in Multidimensional Transformers"). A first
pass attends within each row; a second pass attends within each column, using
the same queries and keys and the row pass's outputs as values. Two hops
connect any two tokens, and the work is n * (row_length + n / row_length):
about n^1.5 with row_length ~ sqrt(n), instead of n^2.

Causal: the row pass sees earlier columns of the row, the column pass earlier
rows, so no token sees the future. (Token (r, c) then reaches every (r, c' <= c)
and (r' < r, c' <= c), not the later columns of earlier rows: the blind spot
the Axial Transformer closes with an extra shifted pass.) On a grid of one row
the column pass returns the row pass unchanged: plain full attention.

Lengths that are not a multiple of `row_length` are padded to whole rows
internally. There is no KV cache: a token's output depends on the row-pass
outputs of earlier tokens, not only their keys and values, so generation
recomputes the sequence each step (zoo.llm.models.generation does this by itself).

Example:
    >>> import numpy as np
    >>> layer = AxialAttention(num_heads=2, head_dim=4, row_length=4, causal=True)
    >>> tuple(layer(np.zeros((1, 10, 8), "float32")).shape)
    (1, 10, 8)
"""

import math

import keras
from keras import ops

from zoo.llm.attention.blocked import _check_int, key_mask_for, masked_softmax, pad_sequence, padded_length
from zoo.llm.attention.full import MultiHeadAttention
from zoo.llm.attention.registry import register_attention


@keras.saving.register_keras_serializable(package="zoo")
@register_attention("axial")
class AxialAttention(MultiHeadAttention):
    """Row attention, then column attention, over a grid of `row_length` columns.

    Example:
        >>> AxialAttention(num_heads=1, head_dim=2, row_length=64).row_length
        64
    """

    supports_cache = False

    def __init__(self, num_heads, head_dim, row_length=64, **kwargs):
        super().__init__(num_heads, head_dim, **kwargs)
        _check_int("row_length", row_length, 1)
        self.row_length = int(row_length)

    def attend_sequence(self, query, key, value, padding_mask=None, training=None):
        batch, n = ops.shape(query)[0], ops.shape(query)[1]
        heads, depth, cols = self.num_heads, self.head_dim, self.row_length
        padded = padded_length(n, cols)
        rows = padded // cols
        keys_ok = ops.reshape(key_mask_for(padding_mask, batch, n, padded), (batch, rows, cols))
        grid = (batch, rows, cols, heads, depth)
        query = query * ops.cast(1.0 / math.sqrt(depth), query.dtype)
        q, k, v = (ops.reshape(pad_sequence(t, padded), grid) for t in (query, key, value))

        # Row pass: [batch, heads, rows, cols, cols] scores.
        row_mask = keys_ok[:, None, :, None, :]
        if self.causal:
            row_mask = ops.logical_and(row_mask, _lower_triangle(cols))
        scores = ops.einsum("bxqhd,bxkhd->bhxqk", q, k)
        probs = self._probs(scores, row_mask, v.dtype, training)
        row_out = ops.einsum("bhxqk,bxkhd->bxqhd", probs, v)

        # Column pass: [batch, heads, cols, rows, rows] scores, the row outputs as values.
        col_mask = ops.transpose(keys_ok, (0, 2, 1))[:, None, :, None, :]
        if self.causal:
            col_mask = ops.logical_and(col_mask, _lower_triangle(rows))
        scores = ops.einsum("bqchd,bkchd->bhcqk", q, k)
        probs = self._probs(scores, col_mask, v.dtype, training)
        out = ops.einsum("bhcqk,bkchd->bqchd", probs, row_out)
        return ops.reshape(out, (batch, padded, heads, depth))[:, :n]

    def _probs(self, scores, mask, dtype, training):
        probs, _ = masked_softmax(scores, mask)
        return self.probs_dropout(ops.cast(probs, dtype), training=training)

    def get_config(self):
        config = super().get_config()
        config["row_length"] = self.row_length
        return config


def _lower_triangle(size):
    positions = ops.arange(size, dtype="int32")
    return positions[None, :] <= positions[:, None]

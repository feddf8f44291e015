"""Attention computed block by block: the engine of the sub-quadratic attention kinds.

The sequence is cut into blocks of `block_size` tokens. Each query block gathers
only the key blocks at a fixed set of relative offsets (its neighbours, strided
blocks...) plus an optional global prefix, so the score tensor is
[batch, heads, n / block, block, K * block] with K fixed: memory and time grow
linearly with n, never n x n. A position-level `allowed(q, k)` rule masks inside
the gathered blocks; the same rule, evaluated on a [q, k] grid, is the kind's
dense `attention_mask()` (used with a KV cache, and as the reference in tests).

Sequences whose length is not a multiple of the block size are zero-padded at
the end (padded keys are masked, padded outputs dropped): every length works.

Example:
    >>> import numpy as np
    >>> q = np.random.rand(1, 8, 2, 4).astype("float32")
    >>> out = blocked_attend(q, q, q, np.ones((1, 8), bool), block_size=4, offsets=[-1, 0],
    ...                      allowed=lambda qi, ki: ki <= qi)
    >>> tuple(out.shape)
    (1, 8, 2, 4)
"""

import math

from keras import ops

from zoo.llm.attention.full import MultiHeadAttention

_HIDDEN = -1e9


def padded_length(length, multiple, minimum=0):
    """The smallest multiple of `multiple` that is >= length and >= minimum (works on tensors)."""
    blocks = (length + multiple - 1) // multiple
    if minimum:
        least = -(-minimum // multiple)
        # Python ints stay ints (static shapes, as JAX needs); symbolic lengths use ops.
        blocks = max(blocks, least) if isinstance(blocks, int) else ops.maximum(blocks, least)
    return blocks * multiple


def pad_sequence(x, length):
    """Zero-pad x [batch, n, ...] along axis 1 to `length` tokens."""
    widths = [[0, 0] for _ in range(len(x.shape))]
    widths[1] = [0, length - ops.shape(x)[1]]
    return ops.pad(x, widths)


def key_mask_for(padding_mask, batch, length, padded):
    """[batch, padded] bool: True for real keys (from padding_mask), False for block padding."""
    if padding_mask is None:
        real = ops.arange(padded, dtype="int32") < length
        return ops.broadcast_to(real[None, :], (batch, padded))
    return pad_sequence(ops.cast(padding_mask, "bool"), padded)


def masked_softmax(scores, mask, bias=None):
    """softmax over the last axis in float32; mask is bool (True = may attend)."""
    scores = ops.cast(scores, "float32")
    if bias is not None:
        scores = scores + bias
    # Adding -1e9 to hidden keys is faster on CPU than a select, as in the full kind.
    scores = scores + ops.cast(ops.logical_not(mask), "float32") * _HIDDEN
    # Written out (not ops.softmax): axial grids of one row have a length-1 axis, which is fine here.
    exp = ops.exp(scores - ops.stop_gradient(ops.max(scores, axis=-1, keepdims=True)))
    return exp / ops.sum(exp, axis=-1, keepdims=True), scores


def blocked_attend(
    query,
    key,
    value,
    key_mask,
    block_size,
    offsets,
    allowed,
    global_length=0,
    global_queries=False,
    score_bias=None,
    dropout=None,
    training=None,
    return_lse=False,
):
    """Attention of every query block over its gathered key blocks.

    Args:
        query, key, value: [batch, n, heads, head_dim], n a multiple of block_size
            and >= global_length (see `padded_length`, `pad_sequence`).
        key_mask: [batch, n] bool, False for padding keys.
        offsets: static relative key-block offsets (0 = the query's own block).
        allowed: `allowed(q_idx, k_idx)` -> bool; q_idx [nb, b, 1] and k_idx
            [nb, 1, K*b] are token indices; the result broadcasts to [nb, b, K*b]
            or carries a leading batch axis [batch, nb, b, K*b].
        global_length: the first g tokens are global keys of every query (a
            separate key segment; the gathered blocks skip them so none counts twice).
        global_queries: the first g queries also attend to every key (bidirectional).
        score_bias: optional `score_bias(q_idx, k_idx)` -> float added to scores.
        dropout: callable applied to attention probabilities (with `training`).
        return_lse: also return the log-sum-exp of each query's scores [batch, n, heads].

    Example:
        >>> import numpy as np
        >>> x = np.ones((1, 4, 1, 2), "float32")
        >>> tuple(blocked_attend(x, x, x, np.ones((1, 4), bool), 2, [0], lambda q, k: k <= q).shape)
        (1, 4, 1, 2)
    """
    b = int(block_size)
    offsets = sorted(set(int(o) for o in offsets))
    K = len(offsets)
    batch, n = ops.shape(query)[0], ops.shape(query)[1]
    heads, depth = query.shape[2], query.shape[3]
    nb = n // b
    query = query * ops.cast(1.0 / math.sqrt(depth), query.dtype)
    key_mask = ops.cast(key_mask, "bool")

    blocks = ops.arange(nb, dtype="int32")
    table = blocks[:, None] + ops.convert_to_tensor(offsets, dtype="int32")[None, :]  # [nb, K]
    in_range = ops.logical_and(table >= 0, table < nb)
    table = ops.clip(table, 0, nb - 1)
    flat = ops.reshape(table, (-1,))

    def gather(x):  # [batch, n, ...] -> [batch, nb, K*b, ...]
        x = ops.reshape(x, (batch, nb, b) + tuple(x.shape[2:]))
        return ops.reshape(ops.take(x, flat, axis=1), (batch, nb, K * b) + tuple(x.shape[3:]))

    q_blocks = ops.reshape(query, (batch, nb, b, heads, depth))
    k_local, v_local = gather(key), gather(value)
    q_idx = ops.reshape(ops.arange(n, dtype="int32"), (nb, b))
    k_idx = ops.reshape(table[:, :, None] * b + ops.arange(b, dtype="int32")[None, None, :], (nb, K * b))
    valid = ops.reshape(ops.broadcast_to(in_range[:, :, None], (nb, K, b)), (nb, K * b))
    if global_length:
        valid = ops.logical_and(valid, k_idx >= global_length)
    mask = ops.logical_and(allowed(q_idx[:, :, None], k_idx[:, None, :]), valid[:, None, :])
    mask = _batched(mask, 4)
    mask = ops.logical_and(mask, gather(key_mask)[:, :, None, :])[:, None]  # [batch, 1, nb, b, K*b]
    scores = ops.einsum("bnqhd,bnkhd->bhnqk", q_blocks, k_local)
    bias = None
    if score_bias is not None:
        bias = _batched(score_bias(q_idx[:, :, None], k_idx[:, None, :]), 4)[:, None]

    g = int(global_length)
    if g:
        g_idx = ops.arange(g, dtype="int32")
        g_mask = _batched(allowed(q_idx[:, :, None], g_idx[None, None, :]), 4)
        g_mask = ops.logical_and(g_mask, key_mask[:, :g][:, None, None, :])[:, None]
        g_scores = ops.einsum("bnqhd,bkhd->bhnqk", q_blocks, key[:, :g])
        scores = ops.concatenate([g_scores, scores], axis=-1)
        mask = ops.concatenate([ops.broadcast_to(g_mask, ops.shape(mask)[:-1] + (g,)), mask], axis=-1)
        if bias is not None:
            bias = ops.concatenate([ops.zeros(ops.shape(bias)[:-1] + (g,), bias.dtype), bias], axis=-1)

    probs, scores = masked_softmax(scores, mask, bias)
    lse = ops.logsumexp(scores, axis=-1) if return_lse else None
    probs = ops.cast(probs, value.dtype)
    if dropout is not None:
        probs = dropout(probs, training=training)
    if g:
        out = ops.einsum("bhnqk,bkhd->bnqhd", probs[..., :g], value[:, :g])
        out = out + ops.einsum("bhnqk,bnkhd->bnqhd", probs[..., g:], v_local)
    else:
        out = ops.einsum("bhnqk,bnkhd->bnqhd", probs, v_local)
    out = ops.reshape(out, (batch, n, heads, depth))

    if g and global_queries:
        # Global queries see every key: [g, n] scores, linear in n.
        all_idx = ops.arange(n, dtype="int32")
        row_mask = ops.logical_and(_batched(allowed(g_idx[:, None], all_idx[None, :]), 3), key_mask[:, None, :])
        row_probs, _ = masked_softmax(ops.einsum("bqhd,bkhd->bhqk", query[:, :g], key), row_mask[:, None])
        row_probs = ops.cast(row_probs, value.dtype)
        if dropout is not None:
            row_probs = dropout(row_probs, training=training)
        rows = ops.einsum("bhqk,bkhd->bqhd", row_probs, value)
        out = ops.concatenate([rows, out[:, g:]], axis=1)
    if return_lse:
        lse = ops.transpose(ops.reshape(lse, (batch, heads, n)), (0, 2, 1))
        return out, lse
    return out


def _batched(mask, rank):
    """Give a mask without a batch axis a leading one of size 1."""
    return mask[None] if len(mask.shape) < rank else mask


class BlockedAttention(MultiHeadAttention):
    """Base of the kinds that compute on blocks: pads, calls `blocked_attend`, drops the padding.

    A subclass defines `allowed(q, k)` (the position-level pattern, elementwise on
    broadcast int tensors), `key_block_offsets()` and `global_length`; the dense
    mask for cached decoding follows from `allowed`.
    """

    global_length = 0

    def __init__(self, num_heads, head_dim, block_size=64, **kwargs):
        super().__init__(num_heads, head_dim, **kwargs)
        _check_int("block_size", block_size, 1)
        self.block_size = int(block_size)

    def attention_mask(self, query_positions, key_positions):
        return self.allowed(query_positions[:, None], key_positions[None, :])

    def attend_sequence(self, query, key, value, padding_mask=None, training=None):
        batch, n = ops.shape(query)[0], ops.shape(query)[1]
        padded = padded_length(n, self.block_size, self.global_length)
        out = blocked_attend(
            pad_sequence(query, padded),
            pad_sequence(key, padded),
            pad_sequence(value, padded),
            key_mask_for(padding_mask, batch, n, padded),
            self.block_size,
            self.key_block_offsets(),
            self.allowed,
            global_length=self.global_length,
            global_queries=not self.causal,
            dropout=self.probs_dropout,
            training=training,
        )
        return out[:, :n]

    def get_config(self):
        config = super().get_config()
        config["block_size"] = self.block_size
        return config


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")

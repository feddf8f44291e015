"""LSH attention (Reformer, Kitaev et al. 2020): attend only within hash buckets.

Queries and keys share one projection (a key is its query scaled to unit
length). Random rotations hash each vector into one of `num_buckets` buckets
(argmax over [xR, -xR]); similar vectors land in the same bucket. The sequence
is sorted by (bucket, position) and cut into chunks of `chunk_size`; each chunk
attends to itself and the chunk before it, so the work is n * 2 * chunk_size.
Within that, a query sees the same-bucket keys less than `chunk_size` sorted
places away (before it when causal, either side otherwise). A fixed sorted
window rather than raw chunk boundaries means that, causally, what a token sees
never depends on later tokens: the same-bucket tokens just before it in sorted
order are exactly its most recent same-bucket predecessors.

A token attends to itself only when nothing else is visible (score - 1e5, as in
the paper: with shared QK its own key would always win). `num_hashes` rounds
with independent rotations are combined by their softmax normalisers
(log-sum-exp), the paper's formula. The rotations are a fixed, non-trainable
weight drawn at build time and saved with the model, so a model gives the same
output for the same input (the paper redraws them every step).

Lengths that are not a multiple of `chunk_size` are padded internally. There is
no KV cache (a new token can change which keys share its bucket neighbourhood),
so generation recomputes the sequence each step (zoo.llm.models.generation does this).

Example:
    >>> import numpy as np
    >>> layer = LSHAttention(num_heads=2, head_dim=4, chunk_size=4, num_buckets=4, num_hashes=2, causal=True)
    >>> tuple(layer(np.zeros((1, 10, 8), "float32")).shape)
    (1, 10, 8)
"""

import keras
from keras import ops

from zoo.llm.attention.blocked import _check_int, blocked_attend, key_mask_for, pad_sequence, padded_length
from zoo.llm.attention.full import MultiHeadAttention
from zoo.llm.attention.registry import register_attention

SELF_PENALTY = -1e5


@keras.saving.register_keras_serializable(package="zoo")
@register_attention("lsh")
class LSHAttention(MultiHeadAttention):
    """Reformer attention: shared QK, random-rotation hashing, sorted chunks, `num_hashes` rounds.

    The key projection of the fused QKV matrix is not used (shared QK); it is
    kept so every kind has the same weights and parameter count.

    Example:
        >>> LSHAttention(num_heads=1, head_dim=2, num_buckets=8, num_hashes=2).num_hashes
        2
    """

    supports_cache = False

    def __init__(self, num_heads, head_dim, chunk_size=64, num_buckets=8, num_hashes=2, **kwargs):
        super().__init__(num_heads, head_dim, **kwargs)
        _check_int("chunk_size", chunk_size, 1)
        _check_int("num_hashes", num_hashes, 1)
        _check_int("num_buckets", num_buckets, 1)
        if num_buckets > 1 and num_buckets % 2:
            raise ValueError(f"num_buckets must be 1 or even (hashing takes argmax over [xR, -xR]), got {num_buckets}.")
        self.chunk_size = int(chunk_size)
        self.num_buckets = int(num_buckets)
        self.num_hashes = int(num_hashes)

    def build(self, x_shape, context_shape=None):
        super().build(x_shape, context_shape)
        self.rotations = self.add_weight(
            name="rotations",
            shape=(self.head_dim, self.num_hashes, max(1, self.num_buckets // 2)),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
        )

    def hash_buckets(self, key):
        """[batch, heads, num_hashes, n] int32: the bucket of each (unit-length) key in each hashing round.

        Angular LSH (Andoni et al. 2015): rotate randomly, take argmax over [xR, -xR].
        """
        if self.num_buckets == 1:
            shape = ops.shape(key)
            return ops.zeros((shape[0], shape[2], self.num_hashes, shape[1]), "int32")
        rotated = ops.einsum("bnhd,drk->bhrnk", key, ops.cast(self.rotations, key.dtype))
        return ops.cast(ops.argmax(ops.concatenate([rotated, -rotated], axis=-1), axis=-1), "int32")

    def attend_sequence(self, query, key, value, padding_mask=None, training=None):
        batch, n = ops.shape(query)[0], ops.shape(query)[1]
        heads, depth, rounds, buckets_n = self.num_heads, self.head_dim, self.num_hashes, self.num_buckets
        padded = padded_length(n, self.chunk_size)
        keys_ok = key_mask_for(padding_mask, batch, n, padded)
        query, value = pad_sequence(query, padded), pad_sequence(value, padded)
        # Shared QK: the key is the unit-length query.
        norm = ops.sqrt(ops.sum(ops.square(ops.cast(query, "float32")), axis=-1, keepdims=True) + 1e-6)
        key = ops.cast(ops.cast(query, "float32") / norm, query.dtype)

        buckets = self.hash_buckets(key)
        # Padding goes to an extra last bucket: sorted to the end, never seen.
        buckets = ops.where(keys_ok[:, None, None, :], buckets, buckets_n)
        folded = batch * heads * rounds
        buckets = ops.reshape(buckets, (folded, padded))
        positions = ops.broadcast_to(ops.arange(padded, dtype="int32")[None, :], (folded, padded))
        order = ops.argsort(buckets * padded + positions, axis=-1)
        undo = ops.argsort(order, axis=-1)

        def fold_sort(x):  # [batch, n, heads, d] -> sorted [batch*heads*rounds, n, 1, d]
            x = ops.broadcast_to(ops.transpose(x, (0, 2, 1, 3))[:, :, None], (batch, heads, rounds, padded, depth))
            x = ops.reshape(x, (folded, padded, 1, depth))
            return ops.take_along_axis(x, ops.broadcast_to(order[:, :, None, None], ops.shape(x)), axis=1)

        sorted_pos = ops.take_along_axis(positions, order, axis=1)
        sorted_bucket = ops.take_along_axis(buckets, order, axis=1)
        window = self.chunk_size

        def allowed(qi, ki):  # sorted indices [nb, b, 1], [nb, 1, K*b] -> [folded, nb, b, K*b]
            same = ops.equal(ops.take(sorted_bucket, qi, axis=1), ops.take(sorted_bucket, ki, axis=1))
            apart = qi - ki
            if self.causal:
                near = ops.logical_and(apart >= 0, apart < window)
                earlier = ops.take(sorted_pos, ki, axis=1) <= ops.take(sorted_pos, qi, axis=1)
                return ops.logical_and(ops.logical_and(same, near[None]), earlier)
            near = ops.logical_and(apart < window, apart > -window)
            return ops.logical_and(same, near[None])

        def self_bias(qi, ki):
            own = ops.equal(ops.take(sorted_pos, qi, axis=1), ops.take(sorted_pos, ki, axis=1))
            return ops.cast(own, "float32") * SELF_PENALTY

        out, lse = blocked_attend(
            fold_sort(query),
            fold_sort(key),
            fold_sort(value),
            sorted_bucket < buckets_n,
            self.chunk_size,
            [-1, 0] if self.causal else [-1, 0, 1],
            allowed,
            score_bias=self_bias,
            dropout=self.probs_dropout,
            training=training,
            return_lse=True,
        )
        out = ops.take_along_axis(out, ops.broadcast_to(undo[:, :, None, None], ops.shape(out)), axis=1)
        lse = ops.take_along_axis(lse[:, :, 0], undo, axis=1)
        out = ops.reshape(out, (batch, heads, rounds, padded, depth))
        if rounds > 1:
            # Rounds are combined by how much probability mass each found (its log-sum-exp).
            weights = ops.softmax(ops.reshape(lse, (batch, heads, rounds, padded)), axis=2)
            out = ops.sum(out * ops.cast(weights[..., None], out.dtype), axis=2)
        else:
            out = out[:, :, 0]
        return ops.transpose(out, (0, 2, 1, 3))[:, :n]

    def get_config(self):
        config = super().get_config()
        config.update(chunk_size=self.chunk_size, num_buckets=self.num_buckets, num_hashes=self.num_hashes)
        return config

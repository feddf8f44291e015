"""Sliding-window attention with optional global tokens (Longformer, Beltagy et al. 2020).

Each query sees the keys less than `window` positions away: the `window` most
recent tokens (itself included) when causal, `window - 1` on each side when
bidirectional. The first `global_tokens` positions (a [CLS] token, a task
prompt) are global: every query sees them and, bidirectionally, they see every
key. Computed block by block (`zoo.llm.attention.blocked`): a query block
gathers the ceil((window - 1) / block_size) blocks before it (and after it,
bidirectionally), so time and memory grow as n * window, not n^2.

Lengths that are not a multiple of `block_size` are padded internally. With a
KV cache (generation) the same window is applied as a mask over the cache, so
cached and uncached decoding give the same tokens.

Example:
    >>> import numpy as np
    >>> layer = SlidingWindowAttention(num_heads=2, head_dim=4, window=3, block_size=4, causal=True)
    >>> tuple(layer(np.zeros((1, 10, 8), "float32")).shape)
    (1, 10, 8)
"""

import math

import keras
from keras import ops

from zoo.llm.attention.blocked import BlockedAttention, _check_int
from zoo.llm.attention.registry import register_attention


@keras.saving.register_keras_serializable(package="zoo")
@register_attention("sliding_window")
class SlidingWindowAttention(BlockedAttention):
    """Attention over a local window of `window` positions plus `global_tokens` global ones.

    Example:
        >>> layer = SlidingWindowAttention(num_heads=1, head_dim=2, window=256, block_size=64)
        >>> layer.key_block_offsets()
        [-4, -3, -2, -1, 0, 1, 2, 3, 4]
    """

    def __init__(self, num_heads, head_dim, window=128, global_tokens=0, block_size=64, **kwargs):
        super().__init__(num_heads, head_dim, block_size=block_size, **kwargs)
        _check_int("window", window, 1)
        _check_int("global_tokens", global_tokens, 0)
        self.window = int(window)
        self.global_tokens = int(global_tokens)
        self.global_length = self.global_tokens

    def key_block_offsets(self):
        # Keys up to window - 1 positions back lie at most this many blocks back.
        reach = math.ceil((self.window - 1) / self.block_size)
        return list(range(-reach, 1 if self.causal else reach + 1))

    def allowed(self, q, k):
        distance = q - k
        if self.causal:
            ok = ops.logical_and(distance >= 0, distance < self.window)
        else:
            ok = ops.logical_and(distance < self.window, distance > -self.window)
        g = self.global_tokens
        if g:
            global_key = k < g
            if self.causal:
                global_key = ops.logical_and(global_key, k <= q)
            else:
                global_key = ops.logical_or(global_key, q < g)
            ok = ops.logical_or(ok, global_key)
        return ok

    def get_config(self):
        config = super().get_config()
        config.update(window=self.window, global_tokens=self.global_tokens)
        return config

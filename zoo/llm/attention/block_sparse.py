"""Block-sparse attention: local blocks, strided blocks and global blocks (Sparse Transformer, BigBird).

The sequence is cut into blocks of `block_size` tokens. A query block attends to
- its own block and `local_blocks` blocks on each side (only earlier ones when causal),
- strided blocks: every `block_stride`-th block before it (and after it,
  bidirectionally) -- the Sparse Transformer's strided pattern at block level,
  which lets information hop across the sequence in two steps,
- the first `global_blocks` blocks (BigBird's global tokens); bidirectionally
  those blocks also attend to everything.
Inside the allowed blocks a causal model still masks later positions.

Only the chosen blocks are gathered (`zoo.llm.attention.blocked`), so no n x n
score matrix is built; with strides the work is n * n / block_stride, without
them n * block_size * (local + global blocks). The number of strided offsets is
fixed by `max_length` (a static shape). Lengths that are not a multiple of
`block_size` are padded internally. With a KV cache the same block pattern is
applied as a mask over the cache (cached decoding equals uncached).

Example:
    >>> import numpy as np
    >>> layer = BlockSparseAttention(num_heads=2, head_dim=4, block_size=4, block_stride=2, causal=True)
    >>> tuple(layer(np.zeros((1, 12, 8), "float32")).shape)
    (1, 12, 8)
"""

import math

import keras
from keras import ops

from zoo.llm.attention.blocked import BlockedAttention, _check_int
from zoo.llm.attention.registry import register_attention


@keras.saving.register_keras_serializable(package="zoo")
@register_attention("block_sparse")
class BlockSparseAttention(BlockedAttention):
    """Local + strided + global block attention.

    Example:
        >>> BlockSparseAttention(1, 2, block_size=16, local_blocks=1, block_stride=4, max_length=128,
        ...                      causal=True).key_block_offsets()
        [-8, -4, -1, 0]
    """

    def __init__(
        self,
        num_heads,
        head_dim,
        block_size=64,
        local_blocks=1,
        global_blocks=1,
        block_stride=0,
        max_length=2048,
        **kwargs,
    ):
        super().__init__(num_heads, head_dim, block_size=block_size, **kwargs)
        _check_int("local_blocks", local_blocks, 0)
        _check_int("global_blocks", global_blocks, 0)
        _check_int("block_stride", block_stride, 0)
        _check_int("max_length", max_length, 1)
        self.local_blocks = int(local_blocks)
        self.global_blocks = int(global_blocks)
        self.block_stride = int(block_stride)
        self.max_length = int(max_length)
        self.global_length = self.global_blocks * self.block_size

    def key_block_offsets(self):
        back = set(range(-self.local_blocks, 1))
        if self.block_stride:
            most = math.ceil(self.max_length / self.block_size)
            back |= {-self.block_stride * i for i in range(1, most // self.block_stride + 1)}
        if self.causal:
            return sorted(back)
        return sorted(back | {-o for o in back})

    def allowed(self, q, k):
        q_block, k_block = q // self.block_size, k // self.block_size
        distance = q_block - k_block
        if self.causal:
            ok = ops.logical_and(distance >= 0, distance <= self.local_blocks)
        else:
            ok = ops.abs(distance) <= self.local_blocks
        if self.block_stride:
            ok = ops.logical_or(ok, ops.equal(ops.mod(ops.abs(distance), self.block_stride), 0))
        if self.global_blocks:
            ok = ops.logical_or(ok, k_block < self.global_blocks)
            if not self.causal:
                ok = ops.logical_or(ok, q_block < self.global_blocks)
        if self.causal:
            ok = ops.logical_and(ok, k <= q)
        return ok

    def get_config(self):
        config = super().get_config()
        config.update(
            local_blocks=self.local_blocks,
            global_blocks=self.global_blocks,
            block_stride=self.block_stride,
            max_length=self.max_length,
        )
        return config

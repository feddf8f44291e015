"""Gradient checkpointing (rematerialization) per transformer block.

Backprop needs every block's intermediate activations. With remat a block
keeps only its input; during the backward pass it runs its forward again to
rebuild the rest. Peak activation memory then grows with one block instead of
all of them, for about one extra forward pass of compute. Gradients are the
same: the recomputation is the same arithmetic.

Why not `keras.RematScope`: it wraps a layer's whole `call` in `keras.remat`,
and on the TensorFlow backend that is `tf.recompute_grad`, which rejects
keyword arguments inside `fit()`'s graph ("supports keywords arguments only
when eager execution is enabled"). A zoo block is called with
`padding_mask=...`, so `enable_remat` wraps each block's call in a function of
the hidden states alone and closes over the mask (and the encoder context of a
decoder block) instead. KV-cached decoding has no backward pass and runs the
block as it is.

Dropout caveat: the recomputed forward draws new dropout masks, so with
dropout > 0 the gradients are those of a slightly different mask; the
recipes say so when both are on.

Example:
    >>> from zoo.llm import build_llm
    >>> model = enable_remat(build_llm("causal", "tiny", compile=False))
    >>> rematerialized_blocks(model)
    ['block_0', 'block_1']
"""

import functools

import keras

_CACHE_ARGS = ("cache", "cache_index", "cross_cache")


def transformer_blocks(model):
    """The transformer blocks of a zoo LLM task model (or backbone)."""
    backbone = getattr(model, "backbone", model)
    return [
        *getattr(backbone, "blocks", []),
        *getattr(backbone, "encoder_blocks", []),
        *getattr(backbone, "decoder_blocks", []),
    ]


def enable_remat(model):
    """Checkpoint every transformer block of `model` (in place); returns the model."""
    blocks = transformer_blocks(model)
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no transformer blocks to checkpoint; pass a zoo LLM.")
    for block in blocks:
        if not getattr(block, "_zoo_remat", False):
            block.call = _rematerialized(block.call)
            block._zoo_remat = True
    return model


def rematerialized_blocks(model):
    """Names of the blocks whose forward is recomputed in the backward pass."""
    return [block.name for block in transformer_blocks(model) if getattr(block, "_zoo_remat", False)]


def _rematerialized(call):
    @functools.wraps(call)
    def remat_call(x, *args, **kwargs):
        if args or any(kwargs.get(name) is not None for name in _CACHE_ARGS):
            return call(x, *args, **kwargs)  # cached decoding: no backward pass to save memory for

        def block_forward(hidden):
            return call(hidden, **kwargs)

        return keras.remat(block_forward)(x)

    return remat_call

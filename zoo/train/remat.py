"""Gradient checkpointing (rematerialization) per transformer block.

Backprop needs every block's intermediate activations. With remat a block
keeps only its input; during the backward pass it runs its forward again to
rebuild the rest. Peak activation memory then grows with one block instead of
all of them, for about one extra forward pass of compute. Gradients are the
same: the recomputation is the same arithmetic.

Keras does it with `keras.RematScope(mode="list_of_layers", ...)`: layers
*created* inside the scope with a listed name wrap their call in `keras.remat`.
zoo's backbones name their blocks `block_<i>` (and `encoder_block_<i>`,
`decoder_block_<i>`), so building the model inside `remat_scope(config)`
checkpoints exactly the blocks.

Example:
    >>> from zoo.llm import build_llm
    >>> from zoo.llm.presets import get_preset
    >>> with remat_scope(get_preset("tiny")):
    ...     model = build_llm("causal", "tiny", compile=False)
    >>> rematerialized_blocks(model)
    ['block_0', 'block_1']
"""

import contextlib

import keras


def block_names(config):
    """Names of the transformer blocks an LLMConfig's backbones create."""
    names = [f"block_{i}" for i in range(config.num_layers)]
    names += [f"encoder_block_{i}" for i in range(config.num_layers)]
    names += [f"decoder_block_{i}" for i in range(config.decoder_layers)]
    return names


@contextlib.contextmanager
def remat_scope(config, enabled=True):
    """Build models inside this scope to checkpoint every transformer block (no-op when not enabled)."""
    if not enabled:
        yield None
        return
    with keras.RematScope(mode="list_of_layers", layer_names=block_names(config)) as scope:
        yield scope


def rematerialized_blocks(model):
    """Names of the layers of a zoo LLM whose call is rematerialized."""
    backbone = model.backbone
    blocks = [*getattr(backbone, "blocks", []), *getattr(backbone, "encoder_blocks", []),
              *getattr(backbone, "decoder_blocks", [])]
    return [block.name for block in blocks if getattr(block, "_remat_mode", None) is not None]

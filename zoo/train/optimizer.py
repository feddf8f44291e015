"""AdamW for transformer pretraining: decay on 2-D weights only, global-norm clipping, accumulation.

Weight decay pulls weights toward zero. That regularizes matrices, but pulling
biases, LayerNorm scales/offsets or embedding rows toward zero only hurts
(nanoGPT, BERT), so they are excluded by variable name. Global-norm clipping
(`global_clipnorm`) rescales all gradients together, so one bad batch cannot
throw the weights far while the update keeps its direction.

This is zoo's one AdamW default: the recipes call `build_optimizer`, and a zoo LLM's
`compile()` (optimizer="auto") calls it too, so both decay the same set of weights.

Example:
    >>> from zoo.train.schedules import WarmupDecay
    >>> opt = build_optimizer(WarmupDecay(1e-3, 100, 10), weight_decay=0.1, clipnorm=1.0, accum_steps=4)
    >>> opt.gradient_accumulation_steps, opt.global_clipnorm
    (4, 1.0)
"""

import keras

from zoo.train.accumulation import optimizer_accumulation_steps

# Substrings of variable paths that get no weight decay: biases, LayerNorm and RMSNorm parameters.
NO_DECAY_NAMES = ["bias", "gamma", "beta", "scale"]
# Token, position and segment tables (and the tied output projection that is the token table).
EMBEDDING_NAMES = ["embeddings"]


def build_optimizer(
    learning_rate,
    weight_decay=0.1,
    clipnorm=1.0,
    accum_steps=1,
    decay_embeddings=False,
    beta_1=0.9,
    beta_2=0.95,
    epsilon=1e-8,
):
    """Return an AdamW optimizer with the exclusions, clipping and accumulation set.

    Args:
        learning_rate: a float or a schedule (see `zoo.train.schedules`).
        weight_decay: decoupled decay of 2-D weights (0 turns it off).
        clipnorm: global gradient norm limit (None or 0 turns it off).
        accum_steps: micro-batches per update (1 = none).
        decay_embeddings: also decay the embedding tables.

    Example:
        >>> build_optimizer(1e-3, clipnorm=None).global_clipnorm is None
        True
    """
    if weight_decay < 0:
        raise ValueError(f"--weight-decay must be >= 0, got {weight_decay!r}.")
    if clipnorm is not None and clipnorm < 0:
        raise ValueError(f"--clipnorm must be >= 0 (0 = no clipping), got {clipnorm!r}.")
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=clipnorm or None,
        gradient_accumulation_steps=optimizer_accumulation_steps(accum_steps),
    )
    exclude_from_decay(optimizer, decay_embeddings)
    return optimizer


def exclude_from_decay(optimizer, decay_embeddings=False):
    """Exclude biases, norms (and embeddings unless asked) from an optimizer's weight decay."""
    names = NO_DECAY_NAMES + ([] if decay_embeddings else EMBEDDING_NAMES)
    optimizer.exclude_from_weight_decay(var_names=names)
    return optimizer


def decayed_variables(optimizer, variables):
    """The paths of the variables the optimizer decays (to show and to test the exclusions).

    Example:
        >>> import keras
        >>> layer = keras.layers.Dense(2, name="dense"); layer.build((None, 3))
        >>> decayed_variables(build_optimizer(1e-3), layer.weights)
        ['dense/kernel']
    """
    return [v.path for v in variables if optimizer._use_weight_decay(v)]

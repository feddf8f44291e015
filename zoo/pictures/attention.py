"""Which keys each query sees under every attention kind: computed by the kinds' own layers, then drawn.

The picture is not drawn by hand. `attention_weights` builds the kind's real layer
(`zoo.llm.attention`) with one head as wide as the sequence, feeds it random queries and
keys and the identity matrix as values, so output row i *is* the weight query i put on
each key. That works for every kind alike: the masked ones (full, sliding window,
block-sparse), and axial and LSH, which compute on rows and columns or on hash buckets
and have no dense mask (for axial the row then the column pass; a key reaches a query
through both). For LSH the cells are coloured by the query's hash bucket (`hash_buckets`).

Example:
    >>> pattern = attention_pattern("sliding_window", {"window": 4, "block_size": 4}, seq_len=8)
    >>> pattern.sum(axis=1).tolist()   # causal: the last 4 keys at most
    [1, 2, 3, 4, 4, 4, 4, 4]
"""

import numpy as np

from zoo.pictures.figures import pyplot, save_figure

# Small settings that show each pattern on 32 positions (the defaults are sized for thousands).
DOC_OPTIONS = {
    "full": {},
    "sliding_window": {"window": 6, "global_tokens": 2, "block_size": 4},
    "block_sparse": {"block_size": 4, "local_blocks": 1, "global_blocks": 1, "block_stride": 3},
    "axial": {"row_length": 8},
    "lsh": {"chunk_size": 4, "num_buckets": 4, "num_hashes": 1},
}


def _layer(kind, options, seq_len, causal, max_length, seed):
    from zoo.llm.attention import get_attention_class
    from zoo.llm.attention.options import options_for

    options = options_for(kind, options)
    layer = get_attention_class(kind)(
        num_heads=1, head_dim=seq_len, causal=causal, dtype="float32", **options.layer_arguments(max_length or seq_len)
    )
    layer.build((1, seq_len, seq_len))
    # Random weights (LSH's rotations) from the seed, without touching the global seed: resetting
    # it inside a training run would drop the ops its data pipeline has already traced.
    rng = np.random.default_rng(seed + 1)
    for weight in layer.non_trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(weight.dtype))
    return layer, options


def attention_weights(kind, options=None, seq_len=32, causal=True, seed=0, max_length=None):
    """[seq_len, seq_len] float: the weight each query (row) gives each key (column) in `kind`'s layer.

    Example:
        >>> weights = attention_weights("full", seq_len=4)
        >>> np.allclose(weights.sum(axis=1), 1.0), bool(weights[0, 1] == 0)
        (True, True)
    """
    import keras

    layer, _ = _layer(kind, options, seq_len, causal, max_length, seed)
    rng = np.random.default_rng(seed)
    # Small scores keep every allowed weight far from underflow, so "> 0" means "attended".
    query = (0.1 * rng.normal(size=(1, seq_len, 1, seq_len))).astype("float32")
    key = (0.1 * rng.normal(size=(1, seq_len, 1, seq_len))).astype("float32")
    value = np.eye(seq_len, dtype="float32")[None, :, None, :]
    out = layer.attend_sequence(query, key, value)
    return np.asarray(keras.ops.convert_to_numpy(out))[0, :, 0, :]


def attention_pattern(kind, options=None, seq_len=32, causal=True, seed=0, max_length=None):
    """[seq_len, seq_len] int 0/1: which keys each query attends to (see `attention_weights`)."""
    return (attention_weights(kind, options, seq_len, causal, seed, max_length) > 1e-12).astype("int64")


def lsh_buckets(options=None, seq_len=32, seed=0):
    """The first hashing round's bucket of each position, with the same queries as `attention_weights`."""
    import keras

    layer, _ = _layer("lsh", options, seq_len, True, None, seed)
    rng = np.random.default_rng(seed)
    query = (0.1 * rng.normal(size=(1, seq_len, 1, seq_len))).astype("float32")
    unit = query / np.sqrt(np.sum(np.square(query), axis=-1, keepdims=True) + 1e-6)  # shared QK, as the layer
    return np.asarray(keras.ops.convert_to_numpy(layer.hash_buckets(unit)))[0, 0, 0]


def _describe(kind, options):
    fields = [f"{k}={v}" for k, v in options.items()]
    # Two settings a line, so that a panel's title is no wider than the panel.
    lines = [", ".join(fields[i : i + 2]) for i in range(0, len(fields), 2)] or ["(no options)"]
    return "\n".join([kind, *lines])


def _panel(ax, kind, options, seq_len, causal, seed, max_length=None):
    plt = pyplot()
    pattern = attention_pattern(kind, options, seq_len, causal, seed, max_length)
    if kind == "lsh":
        buckets = lsh_buckets(options, seq_len, seed)
        colours = plt.get_cmap("tab10")(buckets % 10)[:, :3]
        image = np.where(pattern[..., None] > 0, colours[:, None, :], 1.0)
    else:
        image = np.where(pattern[..., None] > 0, np.array([0.12, 0.3, 0.6]), 1.0)
    ax.imshow(image, interpolation="nearest")
    keys = pattern.sum(axis=1).mean()
    ax.set_title(f"{_describe(kind, options)}\n{keys:.1f} keys/query", fontsize=8)
    ax.set_xlabel("key position", fontsize=8)
    ax.set_ylabel("query position", fontsize=8)
    ax.tick_params(labelsize=7)
    return pattern


def draw_attention_kinds(path, seq_len=32, causal=True, kinds=None, seed=0):
    """One panel per kind (default: every built-in kind at DOC_OPTIONS) to a PNG; returns {kind: pattern}.

    Example:
        >>> import tempfile, os
        >>> patterns = draw_attention_kinds(os.path.join(tempfile.mkdtemp(), "a.png"), seq_len=8,
        ...                                 kinds={"full": {}})
        >>> int(patterns["full"].sum())   # causal: 1 + 2 + ... + 8
        36
    """
    kinds = DOC_OPTIONS if kinds is None else kinds
    plt = pyplot()
    fig, axes = plt.subplots(1, len(kinds), figsize=(2.8 * len(kinds), 3.9), squeeze=False)
    patterns = {}
    for ax, (kind, options) in zip(axes[0], kinds.items()):
        patterns[kind] = _panel(ax, kind, options, seq_len, causal, seed)
    word = "causal" if causal else "bidirectional"
    fig.suptitle(f"Which keys each query sees ({word}, {seq_len} positions; LSH coloured by the query's bucket)")
    fig.tight_layout()
    save_figure(fig, path)
    return patterns


def draw_config_attention(config, path, seq_len, causal=True, seed=0):
    """The attention pattern of an LLMConfig's own kind and options at `seq_len` (capped at 128) to a PNG.

    Example:
        >>> import tempfile, os
        >>> from zoo.llm.config import LLMConfig
        >>> p = draw_config_attention(LLMConfig(max_length=16), os.path.join(tempfile.mkdtemp(), "a.png"), 16)
        >>> int(p.sum())
        136
    """
    import dataclasses

    seq_len = min(int(seq_len), 128, config.max_length)
    options = dataclasses.asdict(config.attention_options)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4.4))
    pattern = _panel(ax, config.attention, options, seq_len, causal, seed, max_length=config.max_length)
    fig.tight_layout()
    save_figure(fig, path)
    return pattern

"""Command-line options that pick a recipe's attention kind and its settings (LLMConfig overrides).

A recipe adds the options with `add_attention_args(parser)` and merges
`attention_overrides(args)` into its LLMConfig: only the options given on the
command line are returned, so a preset keeps its own values otherwise. The
config validates the values (LLMConfig.__post_init__), so a bad one fails with
the config's message.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> group = add_attention_args(parser)
    >>> attention_overrides(parser.parse_args(["--attention", "sliding_window", "--attention-window", "64"]))
    {'attention': 'sliding_window', 'attention_window': 64}
"""

# The registered kinds of zoo.llm.attention, listed here so that `--help` needs no Keras
# (tests/test_cli.py checks that the two lists agree).
ATTENTION_KINDS = ("full", "sliding_window", "block_sparse", "axial", "lsh")

# option -> (LLMConfig field, type, help)
_OPTIONS = {
    "--attention-window": ("attention_window", int, "sliding_window: keys closer than this many positions"),
    "--global-tokens": ("global_tokens", int, "sliding_window: leading positions every query sees"),
    "--block-size": ("block_size", int, "sliding_window / block_sparse: tokens per computed block"),
    "--local-blocks": ("local_blocks", int, "block_sparse: neighbour blocks on each side"),
    "--global-blocks": ("global_blocks", int, "block_sparse: leading blocks every query sees"),
    "--block-stride": ("block_stride", int, "block_sparse: also every k-th block (0: none)"),
    "--axial-row-length": ("axial_row_length", int, "axial: columns of the grid"),
    "--lsh-chunk-size": ("lsh_chunk_size", int, "lsh: sorted chunk length (bucket size)"),
    "--lsh-num-buckets": ("lsh_num_buckets", int, "lsh: hash buckets (1 or even)"),
    "--lsh-num-hashes": ("lsh_num_hashes", int, "lsh: hashing rounds"),
}


def add_attention_args(parser):
    """Add an "attention" option group to an argparse parser.

    Example:
        >>> import argparse
        >>> add_attention_args(argparse.ArgumentParser()).title
        'attention'
    """
    group = parser.add_argument_group("attention")
    group.add_argument("--attention", choices=ATTENTION_KINDS, default=None,
                       help="self-attention kind (default: the preset's, usually full)")
    for option, (field, kind, text) in _OPTIONS.items():
        group.add_argument(option, dest=field, type=kind, default=None, help=text)
    group.add_argument("--reversible", action="store_true", default=None,
                       help="reversible residual blocks: activation memory flat in depth (needs dropout 0)")
    return group


def attention_overrides(args):
    """LLMConfig overrides from parsed args: only the attention options that were given.

    Example:
        >>> import argparse
        >>> attention_overrides(argparse.Namespace(attention=None, reversible=True, lsh_num_hashes=None))
        {'reversible': True}
    """
    overrides = {}
    for field in ("attention", *(field for field, _, _ in _OPTIONS.values()), "reversible"):
        value = getattr(args, field, None)
        if value is not None:
            overrides[field] = value
    return overrides

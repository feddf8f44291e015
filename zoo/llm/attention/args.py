"""Command-line options that pick a recipe's attention kind and its settings (LLMConfig overrides).

A recipe adds the options with `add_attention_args(parser)` and merges
`attention_overrides(args)` into its LLMConfig (`resolve_config(**overrides)` or
`config.replace(**overrides)`): only the options given on the command line are
returned, and `replace` merges them into the kind's options, so a preset keeps
its own values otherwise. The options object of the kind validates the values,
so a bad one (or one the kind does not have) fails with its message.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> group = add_attention_args(parser)
    >>> attention_overrides(parser.parse_args(["--attention", "sliding_window", "--attention-window", "64"]))
    {'attention': 'sliding_window', 'attention_options': {'window': 64}}
"""

# option -> (the kind's option name, type, help)
_OPTIONS = {
    "--attention-window": ("window", int, "sliding_window: keys closer than this many positions"),
    "--global-tokens": ("global_tokens", int, "sliding_window: leading positions every query sees"),
    "--block-size": ("block_size", int, "sliding_window / block_sparse: tokens per computed block"),
    "--local-blocks": ("local_blocks", int, "block_sparse: neighbour blocks on each side"),
    "--global-blocks": ("global_blocks", int, "block_sparse: leading blocks every query sees"),
    "--block-stride": ("block_stride", int, "block_sparse: also every k-th block (0: none)"),
    "--axial-row-length": ("row_length", int, "axial: columns of the grid"),
    "--lsh-chunk-size": ("chunk_size", int, "lsh: sorted chunk length (bucket size)"),
    "--lsh-num-buckets": ("num_buckets", int, "lsh: hash buckets (1 or even)"),
    "--lsh-num-hashes": ("num_hashes", int, "lsh: hashing rounds"),
}


def _dest(option):
    # argparse attribute of an option: "--lsh-num-hashes" -> "lsh_num_hashes" (the old LLMConfig field name).
    return option[2:].replace("-", "_")


def add_attention_args(parser):
    """Add an "attention" option group to an argparse parser.

    Example:
        >>> import argparse
        >>> add_attention_args(argparse.ArgumentParser()).title
        'attention'
    """
    from zoo.llm.attention import attention_kinds

    group = parser.add_argument_group("attention")
    group.add_argument(
        "--attention",
        choices=attention_kinds(),
        default=None,
        help="self-attention kind (default: the preset's, usually full)",
    )
    for option, (_, kind, text) in _OPTIONS.items():
        group.add_argument(option, dest=_dest(option), type=kind, default=None, help=text)
    group.add_argument(
        "--reversible",
        action="store_true",
        default=None,
        help="reversible residual blocks: activation memory flat in depth (needs dropout 0)",
    )
    return group


def attention_overrides(args):
    """LLMConfig overrides from parsed args: only the attention options that were given.

    Example:
        >>> import argparse
        >>> attention_overrides(argparse.Namespace(attention=None, reversible=True, lsh_num_hashes=4))
        {'attention_options': {'num_hashes': 4}, 'reversible': True}
    """
    overrides = {}
    if getattr(args, "attention", None) is not None:
        overrides["attention"] = args.attention
    options = {}
    for option, (name, _, _) in _OPTIONS.items():
        value = getattr(args, _dest(option), None)
        if value is not None:
            options[name] = value
    if options:
        overrides["attention_options"] = options
    if getattr(args, "reversible", None) is not None:
        overrides["reversible"] = args.reversible
    return overrides

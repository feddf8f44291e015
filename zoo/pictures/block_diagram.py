"""A transformer (decoder-only or encoder) drawn from an LLMConfig, each part labelled with the config field that sets it.

Reading the picture next to `zoo explain`'s numbers answers "which option changes which
box": hidden_dim is the width of every arrow, num_heads splits attention, intermediate_dim
is the MLP's inner width, norm="pre" or "post" moves the norms, num_layers repeats the block.

Example:
    >>> import tempfile, os
    >>> from zoo.llm.config import LLMConfig
    >>> boxes = draw_transformer_block(LLMConfig(), os.path.join(tempfile.mkdtemp(), "block.png"))
    >>> boxes[0], boxes[-1]
    ('token_ids', 'logits')
"""

from zoo.pictures.figures import pyplot, save_figure


def block_parts(config):
    """[(name, detail)] from the input up, the repeated block's parts marked with a leading "|"."""
    head_dim = config.hidden_dim // config.num_heads
    kv = config.num_key_value_heads
    attention = f"attention={config.attention}, num_heads={config.num_heads} (head_dim {head_dim})"
    if kv is not None and kv != config.num_heads:
        attention += f", num_key_value_heads={kv}"
    if config.position == "rotary":
        attention += ", rotary positions"
    mlp = f"mlp={config.mlp}, intermediate_dim={config.intermediate_dim}, activation={config.activation}"
    norm = f"{config.norm_type} (norm={config.norm!r})"
    embedding = f"token embedding: vocab_size={config.vocab_size} x hidden_dim={config.hidden_dim}"
    if config.position == "learned":
        embedding += f"\n+ learned positions (max_length={config.max_length})"
    sublayers = [("attention", attention), ("mlp", mlp)]
    block = []
    for name, detail in sublayers:
        if config.norm == "pre":
            block += [("|norm", norm), (f"|{name}", detail), ("|add", f"+ residual (the {name}'s input)")]
        else:
            block += [(f"|{name}", detail), ("|add", f"+ residual (the {name}'s input)"), ("|norm", norm)]
    head = "tied to the embedding" if config.tie_embeddings else "its own weights"
    return [
        ("token_ids", f"[batch, seq <= max_length={config.max_length}]"),
        ("embedding", embedding),
        *block,
        *([("final norm", norm)] if config.norm == "pre" else []),
        ("lm head", f"hidden_dim -> vocab_size ({head}, tie_embeddings={config.tie_embeddings})"),
        ("logits", f"[batch, seq, vocab_size={config.vocab_size}]"),
    ]


def draw_transformer_block(config, path, kind="causal", title=None):
    """Draw `config`'s model as stacked boxes (input at the bottom) to a PNG; returns the box names in order.

    `kind` is the task head's word for the attention direction: "causal" (GPT) or "masked" (BERT).
    """
    from matplotlib.patches import FancyBboxPatch, Rectangle

    parts = block_parts(config)
    plt = pyplot()
    height = 0.62 * len(parts) + 1.0
    fig, ax = plt.subplots(figsize=(7.2, height))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.6, len(parts) - 0.2)
    ax.axis("off")
    colours = {"norm": "#dde8f5", "attention": "#f8d9c4", "mlp": "#d6ecd2", "add": "#ffffff"}
    repeated = [i for i, (name, _) in enumerate(parts) if name.startswith("|")]
    for y, (name, detail) in enumerate(parts):
        key = name.lstrip("|")
        colour = colours.get(key, "#eeeeee")
        ax.add_patch(FancyBboxPatch((1.2, y - 0.32), 7.6, 0.64, boxstyle="round,pad=0.02", fc=colour, ec="#555555"))
        ax.text(1.4, y, key, va="center", fontsize=8, fontweight="bold")
        ax.text(3.0, y, detail, va="center", fontsize=7)
        if y:
            ax.annotate("", (5.0, y - 0.32), (5.0, y - 0.68), arrowprops={"arrowstyle": "->", "color": "#555555"})
    if repeated:
        low, high = repeated[0] - 0.45, repeated[-1] + 0.45
        ax.add_patch(Rectangle((0.9, low), 8.2, high - low, fill=False, ls="--", ec="#888888"))
        ax.text(
            0.75,
            (low + high) / 2,
            f"x num_layers={config.num_layers}",
            rotation=90,
            ha="right",
            va="center",
            fontsize=8,
        )
    words = {"causal": "causal (GPT-style)", "masked": "bidirectional encoder (BERT-style)"}.get(kind, kind)
    ax.set_title(title or f"transformer, {words}: hidden_dim={config.hidden_dim} on every arrow", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    return [name.lstrip("|") for name, _ in parts]

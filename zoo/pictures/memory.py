"""`zoo explain`'s training-memory estimate as a bar chart: weights, gradients, AdamW state, activations.

The numbers are `zoo.llm.sizing.explain.memory_bytes` (what `zoo explain` prints and the
--max-memory check uses); the picture shows which part dominates, so you can see what
mixed precision (weights and activations), --remat (activations) or a smaller batch would cut.

Example:
    >>> import tempfile, os
    >>> from zoo.llm.models.presets import get_preset
    >>> from zoo.llm.sizing.explain import memory_bytes
    >>> memory = memory_bytes(get_preset("tiny"), batch_size=8, seq_len=128)
    >>> draw_memory(memory, os.path.join(tempfile.mkdtemp(), "memory.png")).endswith("memory.png")
    True
"""

from zoo.pictures.figures import pyplot, save_figure

PARTS = ("weights", "gradients", "optimizer", "activations")
LABELS = {"optimizer": "optimizer (AdamW m, v)", "activations": "activations (kept for backward)"}


def _unit(n):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return unit, size
    return "bytes", 1


def draw_memory(memory, path, title=None):
    """Draw a memory_bytes() dict ({"weights", "gradients", "optimizer", "activations", "total"}) to a PNG."""
    plt = pyplot()
    values = [memory[part] for part in PARTS]
    total = memory.get("total", sum(values))
    unit, size = _unit(max(values))
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    colours = ["#4c72b0", "#8172b2", "#c44e52", "#dd8452"]
    bars = ax.barh([LABELS.get(p, p) for p in PARTS], [v / size for v in values], color=colours)
    for bar, value in zip(bars, values):
        share = value / total if total else 0.0
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f" {value / size:,.1f} {unit} ({share:.0%})",
            va="center",
            fontsize=8,
        )
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_xlim(0, max(values) / size * 1.35)
    total_unit, total_size = _unit(total)
    ax.set_title(f"{title or 'training memory estimate'}: {total / total_size:,.1f} {total_unit} in all", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def draw_explain(report, path, name=None):
    """Draw an explain() report's memory with its batch size and precision in the title."""
    title = f"{name or 'model'}, batch {report['batch_size']}, {report['precision']}"
    return draw_memory(report["memory_bytes"], path, title=title)

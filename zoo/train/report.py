"""The training report: loss, learning-rate and throughput plots, and the summary lines a run prints.

Example:
    >>> print(summary_lines({"val_loss": 4.1, "unigram_entropy": 6.0, "steps": 300, "train_seconds": 95.0})[0])
    validation loss 4.100 nats/token (perplexity 60.3) vs unigram baseline 6.000: 1.900 nats better
    >>> summary_lines({"steps": 300, "resumed_from_step": 200, "train_seconds": 31.0})[0]
    '100 steps in 31 s (resumed at step 200, 300 in all)'
"""

import io
import math

from zoo.data.atomic_files import write_bytes_atomic


def plot_training(history, path, steps_per_epoch, title=None):
    """Three panels against the fit step: train/validation loss, learning rate, tokens per second."""
    import matplotlib

    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt

    logs = history.history if hasattr(history, "history") else dict(history)
    if not logs.get("loss"):
        raise ValueError("The history has no loss to plot; was the model trained?")
    steps = [(i + 1) * steps_per_epoch for i in range(len(logs["loss"]))]
    panels = [
        ("loss", ["loss", "val_loss"], "nats/token"),
        ("learning rate", ["learning_rate"], None),
        ("throughput", ["tokens_per_second"], "tokens/s"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for ax, (name, keys, unit) in zip(axes, panels):
        for key in keys:
            if logs.get(key):
                ax.plot(steps[: len(logs[key])], logs[key], marker="o", label=key.replace("_", " "))
        ax.set_title(name)
        ax.set_xlabel("step")
        if unit:
            ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, dpi=100, format="png")
    plt.close(fig)
    write_bytes_atomic(path, image.getvalue())  # a crash never leaves half a PNG
    return path


def summary_lines(results):
    """Human-readable lines of a results dict: validation loss next to the unigram baseline, speed."""
    lines = []
    if "val_loss" in results and "unigram_entropy" in results:
        gap = results["unigram_entropy"] - results["val_loss"]
        lines.append(
            f"validation loss {results['val_loss']:.3f} nats/token (perplexity {math.exp(results['val_loss']):.1f}) "
            f"vs unigram baseline {results['unigram_entropy']:.3f}: {gap:.3f} nats {'better' if gap >= 0 else 'worse'}"
        )
    if "steps" in results and "train_seconds" in results:
        # The steps this process trained (train_seconds is their time), not the resumed run's total.
        ran = results.get("steps_run", results["steps"] - results.get("resumed_from_step", 0))
        line = f"{ran} steps in {results['train_seconds']:.0f} s"
        if results.get("resumed_from_step"):
            line += f" (resumed at step {results['resumed_from_step']}, {results['steps']} in all)"
        lines.append(line)
    return lines

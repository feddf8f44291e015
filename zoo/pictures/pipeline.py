"""The GPipe schedule as a timeline: one row per pipeline stage (device), the idle bubble shaded.

The bars come from `zoo.parallel.pipeline_parallel.simulate_gpipe`, the same clock the
pipeline-parallel recipe uses to report its bubble: given each forward/backward item's
duration (measured, or the textbook backward = 2 x forward), it says when each item runs.

Example:
    >>> import tempfile, os
    >>> result = draw_gpipe_timeline(os.path.join(tempfile.mkdtemp(), "gpipe.png"), stages=2, micro_batches=2)
    >>> result["timeline"][("F", 1, 0)]   # stage 1 waits for stage 0's forward of micro-batch 0
    (1.0, 2.0)
"""

from zoo.pictures.figures import pyplot, save_figure


def textbook_durations(stages, micro_batches, forward=1.0, backward=2.0):
    """Equal stages, a backward twice as long as a forward (it computes two gradients per weight use)."""
    from zoo.parallel.pipeline_parallel import gpipe_order

    return {item: forward if item[0] == "F" else backward for item in gpipe_order(stages, micro_batches)}


def draw_gpipe_timeline(path, stages=4, micro_batches=8, durations=None, title=None):
    """Draw the GPipe clock of `durations` (default `textbook_durations`) to a PNG; returns simulate_gpipe's dict."""
    from zoo.parallel.pipeline_parallel import bubble_fraction, simulate_gpipe

    textbook = durations is None
    durations = textbook_durations(stages, micro_batches) if textbook else durations
    result = simulate_gpipe(durations, stages, micro_batches)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(7.0, 0.45 * 3 * micro_batches + 2), 0.55 * stages + 1.6))
    makespan = result["makespan"]
    for stage in range(stages):
        ax.broken_barh([(0, makespan)], (stage - 0.4, 0.8), facecolors="#eeeeee", hatch="//", edgecolor="#bbbbbb")
    forward, backward = plt.get_cmap("Blues"), plt.get_cmap("Oranges")
    for (kind, stage, micro), (start, end) in result["timeline"].items():
        shade = 0.35 + 0.5 * micro / max(1, micro_batches - 1)
        colour = (forward if kind == "F" else backward)(shade)
        ax.broken_barh([(start, end - start)], (stage - 0.4, 0.8), facecolors=colour, edgecolor="white")
        if end - start > 0.02 * makespan:
            ax.text((start + end) / 2, stage, f"{kind}{micro}", ha="center", va="center", fontsize=7)
    ax.set_yticks(range(stages), [f"stage {s}" for s in range(stages)])
    ax.invert_yaxis()
    ax.set_xlim(0, makespan)
    ax.set_xlabel("time (a forward of one micro-batch on one stage = 1)" if textbook else "seconds (measured)")
    formula = bubble_fraction(stages, micro_batches)
    ax.set_title(
        title
        or f"GPipe: {stages} stages, {micro_batches} micro-batches; F = forward, B = backward, hatched = idle\n"
        f"bubble {result['bubble']:.0%} of device time (equal stages: (p-1)/(m+p-1) = {formula:.0%})",
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, path)
    return result

"""The data pipeline as a funnel: documents and bytes after each stage, and why documents were removed.

It reads the report.json that `zoo data prepare` writes beside the corpus (`stages`: one
entry per stage with docs_in/docs_out, bytes_in/bytes_out and `reasons`: removal reason ->
count), so the picture of a run is always the run's own numbers.

Example:
    >>> import tempfile, os
    >>> report = {"name": "demo", "stages": [
    ...     {"stage": "acquire", "docs_in": None, "docs_out": 10, "bytes_in": None, "bytes_out": 5000, "reasons": {}},
    ...     {"stage": "filter", "docs_in": 10, "docs_out": 7, "bytes_in": 5000, "bytes_out": 4000,
    ...      "reasons": {"filter:too_short": 3}}]}
    >>> draw_funnel(report, os.path.join(tempfile.mkdtemp(), "funnel.png")).endswith("funnel.png")
    True
"""

import json

from zoo.pictures.figures import pyplot, save_figure


def funnel_rows(report):
    """[(label, documents, bytes)]: what went in, then what each stage kept."""
    stages = report.get("stages") or []
    if not stages:
        raise ValueError("the report has no stages; give the report.json that `zoo data prepare` wrote")
    first = stages[0]
    rows = []
    if first.get("docs_in") is not None:
        rows.append(("input", first["docs_in"], first.get("bytes_in") or 0))
    rows += [(entry["stage"], entry["docs_out"], entry.get("bytes_out") or 0) for entry in stages]
    return rows


def removal_reasons(report, top=8):
    """{reason: documents removed} over every stage, the most frequent first (at most `top`)."""
    import collections

    total = collections.Counter()
    for entry in report.get("stages") or []:
        total.update(entry.get("reasons") or {})
    return dict(total.most_common(top))


def draw_funnel(report, path):
    """Draw a report (dict, or the path of report.json) as a funnel plus a removal-reason chart to a PNG."""
    if not isinstance(report, dict):
        with open(report, encoding="utf-8") as f:
            report = json.load(f)
    rows = funnel_rows(report)
    reasons = removal_reasons(report)
    plt = pyplot()
    fig, (docs_ax, bytes_ax, why_ax) = plt.subplots(1, 3, figsize=(12, 0.45 * len(rows) + 2.0))
    labels = [label for label, _, _ in rows]
    for ax, values, unit, colour in (
        (docs_ax, [d for _, d, _ in rows], "documents", "#4c72b0"),
        (bytes_ax, [b / 1e6 for _, _, b in rows], "MB (UTF-8)", "#55a868"),
    ):
        widest = max(values) or 1
        # Centred bars: a funnel narrowing as stages remove documents.
        ax.barh(labels, values, left=[(widest - v) / 2 for v in values], color=colour)
        for y, v in enumerate(values):
            ax.text(
                widest / 2,
                y,
                f"{v:,.0f}" if unit == "documents" else f"{v:,.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v > 0.25 * widest else "black",
            )
        ax.invert_yaxis()
        ax.set_xticks([])
        ax.set_title(unit, fontsize=9)
    bytes_ax.set_yticks([])
    if reasons:
        why_ax.barh(list(reasons), list(reasons.values()), color="#c44e52")
        why_ax.invert_yaxis()
        why_ax.tick_params(axis="y", labelsize=7)
        why_ax.set_title("documents removed, by reason", fontsize=9)
    else:
        why_ax.axis("off")
        why_ax.text(0.5, 0.5, "no documents removed", ha="center", va="center")
    fig.suptitle(f"data pipeline funnel: {report.get('name', 'corpus')}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)

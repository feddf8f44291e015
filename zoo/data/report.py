"""The pipeline report: documents and bytes in and out of every stage, and why documents went.

Each stage adds one entry; the report is saved as JSON (atomically) next to
the corpus, so a person can see what acquire, clean, filter and dedup did.
A stage that removes every document raises `EmptyCorpusError`, naming it.

Example:
    >>> from zoo.data.document import Document
    >>> report = PipelineReport(name="demo")
    >>> docs = [Document(id="1", text="abc")]
    >>> entry = report.add_stage("filter", docs, [], removed=[(docs[0], "quality:too_short")])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    zoo.data.report.EmptyCorpusError: the filter stage removed all 1 documents (top reasons: quality:too_short: 1). ...
"""

import collections
import datetime
import time

from zoo.data.atomic_files import write_json_atomic
from zoo.data.document import total_bytes


class EmptyCorpusError(RuntimeError):
    """Raised when a stage leaves no documents; the message names the stage and its top reasons."""


_HINTS = {
    "acquire": "Check the input paths or URLs (see the skipped list in the report).",
    "clean": "The inputs had no text after cleaning; check that HTML pages have a main body.",
    "filter": "Loosen its settings (see `zoo data clean --help`) or give more input.",
    "dedup": "Every document was a duplicate of an earlier one; lower --threshold or raise --shingle-size.",
}


def reasons_by_language(removed):
    """Return {language: {reason: documents}} for (document, reason) pairs, so each rule's toll per language shows.

    Example:
        >>> from zoo.data.document import Document
        >>> reasons_by_language([(Document(id="1", text="日本語の文章です。"), "quality:too_short")])
        {'ja': {'quality:too_short': 1}}
    """
    from zoo.data.language import document_language

    table = collections.defaultdict(collections.Counter)
    for doc, reason in removed:
        table[document_language(doc.text) if doc.text.strip() else "empty"][reason] += 1
    return {lang: dict(counts.most_common()) for lang, counts in sorted(table.items())}


class PipelineReport:
    """Collects one entry per stage and writes them as JSON.

    Example:
        >>> from zoo.data.document import Document
        >>> r = PipelineReport(name="x")
        >>> _ = r.add_stage("clean", [Document(id="1", text="ab")], [Document(id="1", text="a")])
        >>> r.stages[0]["bytes_in"], r.stages[0]["bytes_out"]
        (2, 1)
    """

    def __init__(self, name="corpus", config=None):
        self.name = name
        self.config = config or {}
        self.stages = []
        self.extra = {}
        self.started = time.time()

    def add_stage(
        self, stage, documents_in, documents_out, removed=(), skipped=(), details=None, seconds=None, allow_empty=False
    ):
        """Record one stage; raise EmptyCorpusError when it left nothing (unless `allow_empty`).

        `removed` is a list of (document, reason); `skipped` a list of {"source", "reason", "detail"}
        for inputs that never became documents (unreadable files, failed URLs).

        Example:
            >>> r = PipelineReport()
            >>> r.add_stage("acquire", [], [], allow_empty=True)["docs_out"]
            0
        """
        reasons = collections.Counter(reason for _, reason in removed)
        reasons.update(item["reason"] for item in skipped)
        entry = {
            "stage": stage,
            "docs_in": len(documents_in) if documents_in is not None else None,
            "docs_out": len(documents_out),
            "bytes_in": total_bytes(documents_in) if documents_in is not None else None,
            "bytes_out": total_bytes(documents_out),
            "removed": len(removed),
            "removed_bytes": total_bytes(doc for doc, _ in removed),
            "reasons": dict(reasons.most_common()),
        }
        if skipped:
            entry["skipped"] = list(skipped)
        if removed:
            entry["reasons_by_language"] = reasons_by_language(removed)
            # A few examples per reason let a person judge a rule without opening the shards.
            examples = collections.defaultdict(list)
            for doc, reason in removed:
                if len(examples[reason]) < 3:
                    examples[reason].append({"id": doc.id, "source": doc.source, "start": doc.text[:120]})
            entry["examples"] = dict(examples)
        if details:
            entry.update(details)
        if seconds is not None:
            entry["seconds"] = round(seconds, 3)
        self.stages.append(entry)
        if not documents_out and not allow_empty:
            count = entry["docs_in"] if entry["docs_in"] is not None else 0
            top = ", ".join(f"{k}: {v}" for k, v in list(entry["reasons"].items())[:3]) or "none recorded"
            raise EmptyCorpusError(
                f"the {stage} stage removed all {count} documents (top reasons: {top}). "
                f"{_HINTS.get(stage, 'Check its settings and its input.')}"
            )
        return entry

    def top_reasons(self, n=10):
        """Return the `n` most frequent removal reasons over all stages as {reason: count}.

        Example:
            >>> r = PipelineReport()
            >>> r.stages = [{"reasons": {"a": 2}}, {"reasons": {"a": 1, "b": 1}}]
            >>> r.top_reasons()
            {'a': 3, 'b': 1}
        """
        total = collections.Counter()
        for entry in self.stages:
            total.update(entry.get("reasons", {}))
        return dict(total.most_common(n))

    def to_dict(self):
        """Return the report as a JSON-ready dict.

        Example:
            >>> PipelineReport(name="n").to_dict()["name"]
            'n'
        """
        first = self.stages[0] if self.stages else {}
        last = self.stages[-1] if self.stages else {}
        return {
            "name": self.name,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.time() - self.started, 3),
            "summary": {
                "docs_in": first.get("docs_in") if first.get("docs_in") is not None else first.get("docs_out"),
                "bytes_in": first.get("bytes_in") if first.get("bytes_in") is not None else first.get("bytes_out"),
                "docs_out": last.get("docs_out"),
                "bytes_out": last.get("bytes_out"),
                "top_removal_reasons": self.top_reasons(),
            },
            "stages": self.stages,
            "config": self.config,
            **self.extra,
        }

    def save(self, path):
        """Write the report as JSON to `path` atomically and return the path.

        Example:
            >>> import tempfile, os
            >>> path = PipelineReport().save(os.path.join(tempfile.mkdtemp(), "report.json"))
            >>> os.path.exists(path)
            True
        """
        write_json_atomic(path, self.to_dict())
        return path

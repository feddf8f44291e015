"""`zoo data prepare`: acquire -> clean -> filter -> dedup -> tokenizer, into one corpus folder.

The folder it writes (default `data/corpus-<name>`; keep `data/` out of git):

    shards/shard-00000.jsonl   the cleaned, filtered, deduplicated documents
    tokenizer/                 tokenizer.json + sentencepiece.model (or vocab files)
    report.json                documents and bytes in/out per stage, removal reasons, examples,
                               dedup clusters, skipped inputs, corpus and token statistics
    funnel.png                 (`zoo data prepare` only) report.json as a picture: documents and bytes
                               per stage, removal reasons (zoo.pictures.funnel)
    crawl-state/               (only with URLs) fetched pages, so a rerun resumes

With no inputs it uses the built-in corpus (CPython's pydoc topics). Training
code then takes `corpus_texts(folder)` and `load_tokenizer(folder / "tokenizer")`.

Example:
    >>> result = prepare_corpus(config=PrepareConfig(output="/tmp/zoo-corpus-doc", vocab_size=2000),
    ...                         progress=False)  # doctest: +SKIP
    >>> sorted(p.name for p in result["output"].iterdir())                              # doctest: +SKIP
    ['report.json', 'shards', 'tokenizer']
"""

import dataclasses
import time
from pathlib import Path

from zoo.data.acquire import MAX_DOCUMENT_BYTES, MAX_FILE_BYTES, AcquireResult, acquire_paths
from zoo.data.atomic_folders import staged_folder
from zoo.data.clean import CleanConfig, clean_documents
from zoo.data.crawler import CrawlConfig, Crawler
from zoo.data.dedup import DedupConfig, deduplicate
from zoo.data.document import Document, document_id, with_unique_ids
from zoo.data.filters import FilterConfig, filter_documents
from zoo.data.report import PipelineReport
from zoo.data.shards import write_shards

DEFAULT_ROOT = Path("data")


@dataclasses.dataclass
class PrepareConfig:
    """Every setting of a `prepare` run; each stage's own config is a field.

    Example:
        >>> PrepareConfig(name="mine").output_dir()
        PosixPath('data/corpus-mine')
    """

    name: str = "builtin"
    output: str | None = None  # default: data/corpus-<name>
    text_field: str = "text"
    max_file_bytes: int = MAX_FILE_BYTES  # an input file, decompressed; larger ones are skipped and reported
    max_document_bytes: int = MAX_DOCUMENT_BYTES  # one document; larger ones are skipped and reported
    crawl: CrawlConfig = dataclasses.field(default_factory=CrawlConfig)
    clean: CleanConfig = dataclasses.field(default_factory=CleanConfig)
    filter: FilterConfig = dataclasses.field(default_factory=FilterConfig)
    dedup: DedupConfig = dataclasses.field(default_factory=DedupConfig)
    apply_filter: bool = True
    workers: int = 1  # processes for clean and filter (pure Python: more cores, more speed)
    tokenizer_kind: str = "sentencepiece-unigram"
    pretokenizer: str | None = None  # "fugashi": Japanese words before a wordpiece vocabulary
    vocab_size: int = 2000  # what the built-in corpus supports (at most ~3,600 for unigram)
    seed: int = 0

    def output_dir(self):
        """Return the corpus folder this run writes.

        Example:
            >>> PrepareConfig(output="/tmp/x").output_dir()
            PosixPath('/tmp/x')
        """
        return Path(self.output) if self.output else DEFAULT_ROOT / f"corpus-{self.name}"


def builtin_documents():
    """Return the built-in corpus (pydoc topics) as documents.

    Example:
        >>> len(builtin_documents()) > 50
        True
    """
    from zoo.data.builtin_corpus import load_builtin_corpus

    # The position is part of the source: a few topics share their text, and ids must differ.
    return [
        Document(id=document_id(f"pydoc_data.topics[{i}]", text), text=text, source=f"pydoc_data.topics[{i}]")
        for i, text in enumerate(load_builtin_corpus())
    ]


def acquire(inputs=(), urls=(), config=None, state_dir=None, progress=True):
    """Run the acquire stage: local files and folders, then URLs; no inputs at all means the built-in corpus.

    Example:
        >>> len(acquire(progress=False).documents) > 50
        True
    """
    config = config or PrepareConfig()
    result = AcquireResult()
    if not inputs and not urls:
        result.documents.extend(builtin_documents())
        return result
    if inputs:
        result.extend(
            acquire_paths(
                inputs,
                text_field=config.text_field,
                progress=progress,
                max_file_bytes=config.max_file_bytes,
                max_document_bytes=config.max_document_bytes,
            )
        )
    if urls:
        result.extend(Crawler(config.crawl, state_dir=state_dir).crawl(list(urls), progress=progress))
    result.documents = with_unique_ids(result.documents)
    return result


def run_clean_and_filter(documents, config, report, progress=True):
    """Clean, then (if enabled) filter; add both stages to `report`; return the kept documents.

    Example:
        >>> from zoo.data.report import PipelineReport
        >>> docs = builtin_documents()[:3]
        >>> len(run_clean_and_filter(docs, PrepareConfig(apply_filter=False), PipelineReport(), progress=False))
        3
    """
    started = time.perf_counter()
    structure = {}
    cleaned, removed = clean_documents(
        documents, config.clean, progress=progress, workers=config.workers, structure=structure
    )
    report.add_stage(
        "clean",
        documents,
        cleaned,
        removed=removed,
        seconds=time.perf_counter() - started,
        details={"structure": structure} if structure else None,
    )
    if not config.apply_filter:
        return cleaned
    started = time.perf_counter()
    result = filter_documents(cleaned, config.filter, progress=progress, workers=config.workers)
    report.add_stage(
        "filter",
        cleaned,
        result.kept,
        removed=result.removed,
        seconds=time.perf_counter() - started,
        details=section_details(result.sections_removed),
    )
    return result.kept


def section_details(sections_removed):
    """Return the report fields for sections dropped from long documents ({} when none were).

    Example:
        >>> section_details([(None, "quality:bullet_lines", 120)])
        {'sections_removed': 1, 'section_bytes_removed': 120, 'section_reasons': {'quality:bullet_lines': 1}}
    """
    if not sections_removed:
        return {}
    import collections

    reasons = collections.Counter(reason for _, reason, _ in sections_removed)
    return {
        "sections_removed": len(sections_removed),
        "section_bytes_removed": sum(size for _, _, size in sections_removed),
        "section_reasons": dict(reasons.most_common()),
    }


def run_dedup(documents, config, report, progress=True):
    """Deduplicate; add the stage (with its clusters) to `report`; return the kept documents.

    Example:
        >>> from zoo.data.report import PipelineReport
        >>> docs = builtin_documents()[:2] * 2
        >>> len(run_dedup(docs, PrepareConfig(), PipelineReport(), progress=False))
        2
    """
    started = time.perf_counter()
    result = deduplicate(documents, config.dedup, progress=progress)
    # Sources next to ids, so a person can open the files or URLs a cluster names.
    source = {doc.id: doc.source for doc in documents}
    clusters = [
        {**cluster, "kept_source": source[cluster["kept"]], "removed_sources": [source[i] for i in cluster["removed"]]}
        for cluster in result.clusters
    ]
    report.add_stage(
        "dedup",
        documents,
        result.kept,
        removed=result.removed,
        details={"clusters": clusters},
        seconds=time.perf_counter() - started,
    )
    return result.kept


def _config_dict(config):
    data = dataclasses.asdict(config)
    data["filter"]["top_ngram_limits"] = {str(k): v for k, v in (config.filter.top_ngram_limits or {}).items()}
    data["filter"]["duplicate_ngram_limits"] = {
        str(k): v for k, v in (config.filter.duplicate_ngram_limits or {}).items()
    }
    return data


def prepare_corpus(inputs=(), urls=(), config=None, progress=True, log=print):
    """Run every stage and write the corpus folder; return {"output", "report", "tokenizer"}.

    A stage that removes every document raises EmptyCorpusError naming it; the
    report written so far is saved first, so the reasons can be read.

    Example:
        >>> prepare_corpus(["/no/such/dir"], progress=False)
        Traceback (most recent call last):
        ...
        FileNotFoundError: input path /no/such/dir does not exist; give a file or folder of .txt/.md/.html/.jsonl(.gz) files
    """
    from zoo.data.report import EmptyCorpusError
    from zoo.data.stats import corpus_stats
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer

    config = config or PrepareConfig()
    output = config.output_dir()
    report = PipelineReport(name=config.name, config=_config_dict(config))
    report.extra["inputs"] = {"paths": [str(p) for p in inputs], "urls": list(urls), "builtin": not inputs and not urls}
    try:
        started = time.perf_counter()
        acquired = acquire(inputs, urls, config, state_dir=output / "crawl-state" if urls else None, progress=progress)
        report.add_stage(
            "acquire", None, acquired.documents, skipped=acquired.skipped, seconds=time.perf_counter() - started
        )
        log(f"acquire: {len(acquired.documents)} documents, {len(acquired.skipped)} inputs skipped")
        kept = run_clean_and_filter(acquired.documents, config, report, progress)
        log(f"clean+filter: {len(kept)} documents kept")
        kept = run_dedup(kept, config, report, progress)
        log(f"dedup: {len(kept)} documents kept")
    except EmptyCorpusError:
        # Beside a previous corpus the failed run's report gets its own name: that corpus stays whole.
        failed = "report.json" if not (output / "shards").is_dir() else "report-failed.json"
        report.save(output / failed)
        raise
    # Train before writing anything, so that a failure here (say, a vocabulary too large for
    # the corpus) leaves a previous corpus folder as it was.
    started = time.perf_counter()
    tokenizer = train_tokenizer(
        [doc.text for doc in kept],
        kind=config.tokenizer_kind,
        vocab_size=config.vocab_size,
        seed=config.seed,
        pretokenizer=config.pretokenizer,
    )
    seconds = time.perf_counter() - started
    log(f"tokenizer: {config.tokenizer_kind}, {tokenizer.vocabulary_size()} tokens")
    report.extra["tokenizer"] = {
        "kind": config.tokenizer_kind,
        "vocabulary_size": int(tokenizer.vocabulary_size()),
        "seconds": round(seconds, 3),
        "path": "tokenizer",
    }
    report.extra["corpus"] = corpus_stats(kept, tokenizer)
    # All or nothing: shards, tokenizer and report are built in a hidden sibling folder that replaces
    # the old corpus in one rename, so a kill midway never mixes new shards with an old tokenizer.
    with staged_folder(output, keep=("crawl-state",)) as staging:
        write_shards(kept, staging / "shards")
        save_tokenizer(tokenizer, staging / "tokenizer")
        report.save(staging / "report.json")
    return {
        "output": output,
        "report": output / "report.json",
        "tokenizer": output / "tokenizer",
        "report_data": report.to_dict(),
    }

"""`zoo data`: the data pipeline from the command line.

Subcommands (each has --help):

    acquire    files/folders/URLs -> raw documents (shards + report)
    clean      raw documents -> cleaned and quality/language/harmful-filtered documents
    dedup      documents -> exact and near-duplicates removed (clusters in the report)
    tokenizer  documents -> a trained tokenizer folder (SentencePiece, WordPiece, byte-level BPE)
    stats      sizes, languages and token counts of a corpus
    prepare    all of the above in one go; no input = the built-in corpus

Every stage folder holds `shards/shard-*.jsonl` and `report.json`, and any
stage takes the folder of the one before as its input.

Example:
    $ zoo data prepare                                  # built-in corpus -> data/corpus-builtin
    $ zoo data prepare ~/texts --name mine --vocab-size 16000
    $ zoo data acquire --url http://127.0.0.1:8000/ --out data/raw
    $ zoo data clean data/raw --out data/clean --languages ja
    $ zoo data dedup data/clean --out data/dedup --threshold 0.85
    $ zoo data tokenizer data/dedup --out data/tok --kind wordpiece --vocab-size 8000
    $ zoo data tokenizer data/dedup --out data/tok --kind wordpiece --pretokenizer fugashi   # Japanese words
    $ zoo data tokenizer data/dedup --show "共有メモリーを作成する。"   # how each kind splits it
    $ zoo data prepare ~/manual-html --tables sentences --code drop
    $ zoo data stats data/corpus-builtin
"""

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from zoo.data.acquire import MAX_DOCUMENT_BYTES, MAX_FILE_BYTES
from zoo.errors import UsageError
from zoo.options import memory_size


def _add_acquire_options(parser):
    group = parser.add_argument_group("acquire")
    group.add_argument("inputs", nargs="*", help="files or folders of .txt/.md/.html/.jsonl (optionally .gz)")
    group.add_argument("--url", action="append", default=[], help="a URL to crawl from (repeatable)")
    group.add_argument("--urls-file", help="a text file with one URL per line")
    group.add_argument("--text-field", default="text", help="JSONL field that holds the text (default: text)")
    group.add_argument(
        "--max-file-size",
        type=memory_size,
        default=f"{MAX_FILE_BYTES // 2**20}MiB",
        help="largest input file once decompressed; larger ones are skipped and reported (default: %(default)s)",
    )
    group.add_argument(
        "--max-document-size",
        type=memory_size,
        default=f"{MAX_DOCUMENT_BYTES // 2**20}MiB",
        help="largest single document; larger ones are skipped and reported (default: %(default)s)",
    )
    group.add_argument("--max-pages", type=int, default=50, help="pages to keep per crawl (default: 50)")
    group.add_argument("--max-bytes", type=int, default=2_000_000, help="largest page in bytes (default: 2000000)")
    group.add_argument("--delay", type=float, default=1.0, help="seconds between requests to one host (default: 1)")
    group.add_argument("--connect-timeout", type=float, default=5.0, help="seconds (default: 5)")
    group.add_argument("--read-timeout", type=float, default=10.0, help="seconds (default: 10)")
    group.add_argument("--max-depth", type=int, default=None, help="link hops from a seed URL (default: no limit)")
    group.add_argument("--all-sites", action="store_true", help="follow links to other sites too")


def _size_limits(args):
    from zoo.train.memory_check import parse_memory

    return {
        "max_file_bytes": parse_memory(args.max_file_size),
        "max_document_bytes": parse_memory(args.max_document_size),
    }


def _add_clean_options(parser):
    group = parser.add_argument_group("clean and filter")
    group.add_argument("--no-mojibake-fix", action="store_true", help="skip ftfy's mojibake repair")
    group.add_argument("--no-nfkc", action="store_true", help="skip Unicode NFKC normalization")
    group.add_argument("--no-filter", action="store_true", help="clean only, apply no filter rule")
    group.add_argument(
        "--tables",
        choices=("drop", "sentences", "keep"),
        default="drop",
        help="HTML tables: drop them, turn each row into a sentence, or keep trafilatura's "
        "'| a | b |' rows (default: drop)",
    )
    group.add_argument(
        "--code",
        choices=("keep", "drop"),
        default="keep",
        help="HTML code blocks (<pre>): keep them as ``` fenced blocks or drop them (default: keep)",
    )
    group.add_argument(
        "--min-words",
        type=int,
        default=50,
        help="shortest document in words (default: 50; Japanese counts 2 characters as a word)",
    )
    group.add_argument("--max-words", type=int, default=100_000, help="longest document (default: 100000)")
    group.add_argument(
        "--languages", default="en,ja", help="languages to keep, comma-separated ISO codes, or 'any' (default: en,ja)"
    )
    group.add_argument("--min-language-score", type=float, default=0.5, help="language id confidence (default: 0.5)")
    group.add_argument("--harmful-words", help="your own harmful-word list (one term per line)")
    group.add_argument("--no-harmful-filter", action="store_true", help="turn the harmful-word rule off")
    group.add_argument(
        "--processes",
        "--workers",
        dest="workers",
        type=int,
        default=1,
        help="processes for cleaning and filtering (default: 1; use your core count for big corpora)",
    )
    group.add_argument(
        "--filter-config",
        help='JSON file setting any FilterConfig field, e.g. {"max_digit_ratio": 0.3, "top_ngram_limits": null}',
    )


def _add_dedup_options(parser):
    group = parser.add_argument_group("dedup")
    group.add_argument("--threshold", type=float, default=0.8, help="near-duplicate Jaccard threshold (default: 0.8)")
    group.add_argument(
        "--shingle-size", type=int, default=5, help="words per shingle; characters in Japanese (default: 5)"
    )
    group.add_argument("--num-perm", type=int, default=128, help="MinHash permutations (default: 128)")
    group.add_argument("--no-exact", action="store_true", help="skip exact dedup")
    group.add_argument("--no-near", action="store_true", help="skip near dedup")


def _add_tokenizer_options(parser):
    from zoo.data.special_tokens import TOKENIZER_KINDS

    group = parser.add_argument_group("tokenizer")
    group.add_argument(
        "--kind",
        choices=TOKENIZER_KINDS,
        default="sentencepiece-unigram",
        help="tokenizer to train (default: sentencepiece-unigram)",
    )
    group.add_argument(
        "--vocab-size",
        type=int,
        default=2000,
        help="vocabulary size (default: 2000, which the ~360 KB built-in corpus supports; "
        "raise it for bigger corpora, e.g. 16000-32000 for 100 MB+)",
    )
    group.add_argument("--lowercase", action="store_true", help="lowercase text before training")
    group.add_argument(
        "--pretokenizer",
        choices=("fugashi",),
        default=None,
        help="cut Japanese into words with a morphological analyser before a wordpiece vocabulary "
        "is learned (needs pip install 'zoo[ja]')",
    )
    group.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


def _crawl_config(args):
    from zoo.data.crawler import CrawlConfig

    return CrawlConfig(
        max_pages=args.max_pages,
        max_bytes=args.max_bytes,
        delay=args.delay,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        max_depth=args.max_depth,
        same_site=not args.all_sites,
    )


def _clean_config(args):
    from zoo.data.clean import CleanConfig

    return CleanConfig(fix_mojibake=not args.no_mojibake_fix, nfkc=not args.no_nfkc, tables=args.tables, code=args.code)


def _filter_config(args):
    from zoo.data.filters import FilterConfig

    values = {}
    if args.filter_config:
        path = Path(args.filter_config)
        if not path.is_file():
            raise FileNotFoundError(f"--filter-config {path} not found")
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as err:
            raise UsageError(f"--filter-config {path} is not valid JSON ({err})") from None
        if not isinstance(values, dict):
            raise UsageError(f"--filter-config {path} must hold a JSON object of FilterConfig fields")
        known = {field.name for field in dataclasses.fields(FilterConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"--filter-config: unknown fields {unknown}; known: {sorted(known)}")
    languages = (
        None
        if args.languages.strip().lower() == "any"
        else tuple(code.strip() for code in args.languages.split(",") if code.strip())
    )
    values.setdefault("min_words", args.min_words)
    values.setdefault("max_words", args.max_words)
    values.setdefault("languages", languages)
    values.setdefault("min_language_score", args.min_language_score)
    values.setdefault("harmful_words_path", args.harmful_words)
    if args.no_harmful_filter:
        values["harmful_max_hits"] = None
    try:
        return FilterConfig(**values)
    except (ValueError, TypeError) as err:
        raise UsageError(f"--filter-config {args.filter_config}: {err}" if args.filter_config else str(err)) from None


def _dedup_config(args):
    from zoo.data.dedup import DedupConfig

    return DedupConfig(
        threshold=args.threshold,
        shingle_size=args.shingle_size,
        num_perm=args.num_perm,
        exact=not args.no_exact,
        near=not args.no_near,
    )


def _urls(args):
    urls = list(args.url)
    if args.urls_file:
        path = Path(args.urls_file)
        if not path.is_file():
            raise FileNotFoundError(f"--urls-file {path} not found")
        urls += [
            line.strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
    return urls


def _read_corpus(path):
    from zoo.data.shards import read_shards

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; give a folder written by another `zoo data` command")
    return list(read_shards(path))


def _write_stage(out, documents, report):
    from zoo.data.shards import write_shards

    out = Path(out)
    write_shards(documents, out / "shards")
    report.save(out / "report.json")
    print(f"wrote {len(documents)} documents to {out / 'shards'} and the report to {out / 'report.json'}")


def _summary(stages):
    for entry in stages:
        top = ", ".join(f"{k} {v}" for k, v in list(entry["reasons"].items())[:3])
        docs_in = "" if entry["docs_in"] is None else f"{entry['docs_in']} -> "
        bytes_in = "" if entry["bytes_in"] is None else f"{entry['bytes_in']:,} -> "
        print(
            f"  {entry['stage']:<8} docs {docs_in}{entry['docs_out']}   bytes {bytes_in}{entry['bytes_out']:,}"
            + (f"   removed: {top}" if top else "")
        )
        by_language = entry.get("reasons_by_language", {})
        if len(by_language) > 1:
            print(
                "           by language: "
                + "; ".join(
                    f"{lang} " + ", ".join(f"{k} {v}" for k, v in list(reasons.items())[:2])
                    for lang, reasons in by_language.items()
                )
            )
        structure = {k: v for k, v in entry.get("structure", {}).items() if v}
        if structure:
            print("           html structure: " + ", ".join(f"{k} {v}" for k, v in structure.items()))
        if entry.get("sections_removed"):
            print(
                f"           sections dropped from long documents: {entry['sections_removed']} "
                f"({entry['section_bytes_removed']:,} bytes): "
                + ", ".join(f"{k} {v}" for k, v in list(entry["section_reasons"].items())[:3])
            )


def _cmd_acquire(args):
    from zoo.data.prepare import PrepareConfig, acquire
    from zoo.data.report import PipelineReport

    if not args.inputs and not args.url and not args.urls_file:
        print("no inputs or URLs given: using the built-in corpus (pydoc topics)")
    config = PrepareConfig(text_field=args.text_field, crawl=_crawl_config(args), **_size_limits(args))
    started = time.perf_counter()
    out = Path(args.out)
    result = acquire(args.inputs, _urls(args), config, state_dir=out / "crawl-state", progress=not args.quiet)
    report = PipelineReport(name=out.name)
    for item in result.skipped:
        print(f"skipped {item['source']}: {item['reason']} ({item['detail']})", file=sys.stderr)
    report.add_stage("acquire", None, result.documents, skipped=result.skipped, seconds=time.perf_counter() - started)
    _write_stage(out, result.documents, report)


def _cmd_clean(args):
    from zoo.data.prepare import PrepareConfig, run_clean_and_filter
    from zoo.data.report import PipelineReport

    config = PrepareConfig(
        clean=_clean_config(args), filter=_filter_config(args), apply_filter=not args.no_filter, workers=args.workers
    )
    report = PipelineReport(name=Path(args.out).name)
    kept = run_clean_and_filter(_read_corpus(args.input), config, report, progress=not args.quiet)
    _summary(report.stages)
    _write_stage(args.out, kept, report)


def _cmd_dedup(args):
    from zoo.data.prepare import PrepareConfig, run_dedup
    from zoo.data.report import PipelineReport

    report = PipelineReport(name=Path(args.out).name)
    kept = run_dedup(
        _read_corpus(args.input), PrepareConfig(dedup=_dedup_config(args)), report, progress=not args.quiet
    )
    _summary(report.stages)
    _write_stage(args.out, kept, report)


def _show_splits(texts, sentences, vocab_size, seed):
    from zoo.data.morphology import available
    from zoo.data.special_tokens import TOKENIZER_KINDS
    from zoo.data.tokenizer import token_pieces, train_tokenizer

    variants = [(kind, None) for kind in TOKENIZER_KINDS]
    if available("fugashi"):
        variants.insert(3, ("wordpiece", "fugashi"))
    else:
        print("(wordpiece + fugashi not shown: pip install 'zoo[ja]' for the morphological pre-tokenizer)")
    for kind, pretokenizer in variants:
        name = kind + (f" + {pretokenizer}" if pretokenizer else "")
        try:
            tokenizer = train_tokenizer(texts, kind=kind, vocab_size=vocab_size, seed=seed, pretokenizer=pretokenizer)
        except ValueError as err:
            print(f"{name}: not trained ({err})")
            continue
        for sentence in sentences:
            pieces = token_pieces(tokenizer, sentence)
            print(
                f"{name:<24} {len(pieces):>3} tokens ({len(sentence) / max(1, len(pieces)):.2f} chars/token): "
                + " | ".join(pieces)
            )


def _cmd_tokenizer(args):
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer

    texts = [doc.text for doc in _read_corpus(args.input)]
    if args.show:
        _show_splits(texts, args.show, args.vocab_size, args.seed)
        if not args.out:
            return
    if not args.out:
        raise ValueError("--out is required (or give --show TEXT to only print how each kind splits TEXT)")
    started = time.perf_counter()
    tokenizer = train_tokenizer(
        texts,
        kind=args.kind,
        vocab_size=args.vocab_size,
        lowercase=args.lowercase,
        seed=args.seed,
        pretokenizer=args.pretokenizer,
    )
    folder = save_tokenizer(tokenizer, args.out)
    print(
        f"trained a {args.kind} tokenizer ({tokenizer.vocabulary_size()} tokens) in "
        f"{time.perf_counter() - started:.1f}s; saved to {folder}"
    )


def _cmd_stats(args):
    from zoo.data.stats import corpus_stats
    from zoo.data.tokenizer import load_tokenizer

    tokenizer_dir = Path(args.tokenizer) if args.tokenizer else Path(args.input) / "tokenizer"
    tokenizer = load_tokenizer(tokenizer_dir) if (tokenizer_dir / "tokenizer.json").is_file() else None
    if args.tokenizer and tokenizer is None:
        raise FileNotFoundError(f"--tokenizer {tokenizer_dir} has no tokenizer.json")
    stats = corpus_stats(_read_corpus(args.input), tokenizer, progress=not args.quiet)
    print(json.dumps(stats, ensure_ascii=False, indent=2))


def _cmd_prepare(args):
    from zoo.data.prepare import PrepareConfig, prepare_corpus

    urls = _urls(args)
    name = args.name or (Path(args.inputs[0]).stem if args.inputs else "web" if urls else "builtin")
    config = PrepareConfig(
        name=name,
        output=args.out,
        text_field=args.text_field,
        crawl=_crawl_config(args),
        **_size_limits(args),
        clean=_clean_config(args),
        filter=_filter_config(args),
        apply_filter=not args.no_filter,
        dedup=_dedup_config(args),
        tokenizer_kind=args.kind,
        vocab_size=args.vocab_size,
        pretokenizer=args.pretokenizer,
        seed=args.seed,
        workers=args.workers,
    )
    if not args.inputs and not urls:
        print("no inputs or URLs given: using the built-in corpus (pydoc topics)")
    result = prepare_corpus(args.inputs, urls, config, progress=not args.quiet)
    data = result["report_data"]
    # The application edge draws; zoo.data itself draws nothing.
    from zoo.data.tokenizer import load_tokenizer
    from zoo.pictures.funnel import draw_funnel
    from zoo.pictures.tokenizers import draw_corpus_tokenizer

    draw_funnel(data, Path(result["output"]) / "funnel.png")
    draw_corpus_tokenizer(
        load_tokenizer(Path(result["output"]) / "tokenizer"), Path(result["output"]) / "tokenizer_splits.png"
    )
    _summary(data["stages"])
    corpus = data["corpus"]
    print(
        f"corpus: {corpus['documents']} documents, {corpus['bytes']:,} bytes, {corpus['tokens']:,} tokens "
        f"({corpus['bytes_per_token']} bytes/token)"
    )
    print(f"wrote {result['output']} (shards/, tokenizer/, report.json, funnel.png, tokenizer_splits.png)")


def build_parser(prog=None):
    """Return the argparse parser of `zoo data` with its six subcommands.

    Example:
        >>> build_parser("zoo data").parse_args(["stats", "data/corpus-builtin"]).command
        'stats'
    """
    parser = argparse.ArgumentParser(
        prog=prog or "zoo data",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `zoo data <subcommand> --help` for its options.\n\nexamples:\n"
        "  zoo data prepare --out data/corpus-builtin\n"
        "  zoo data stats data/corpus-builtin",
    )
    sub = parser.add_subparsers(dest="command", metavar="subcommand")

    def add(name, help_text, func):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.set_defaults(func=func)
        return p

    p = add("acquire", "read files, folders and URLs into raw documents", _cmd_acquire)
    _add_acquire_options(p)
    p.add_argument("--out", required=True, help="folder to write (shards/ and report.json)")

    p = add("clean", "clean (HTML to text, NFKC, invisible characters, mojibake) and filter documents", _cmd_clean)
    p.add_argument("input", help="a folder written by `zoo data acquire` (or any shards folder)")
    p.add_argument("--out", required=True, help="folder to write")
    _add_clean_options(p)

    p = add("dedup", "remove exact and near-duplicate documents (MinHash LSH)", _cmd_dedup)
    p.add_argument("input", help="a folder written by `zoo data clean`")
    p.add_argument("--out", required=True, help="folder to write")
    _add_dedup_options(p)

    p = add("tokenizer", "train a tokenizer on a corpus and save it as files", _cmd_tokenizer)
    p.add_argument("input", help="a corpus folder (shards)")
    p.add_argument("--out", help="tokenizer folder to write (required unless --show is given)")
    p.add_argument(
        "--show",
        action="append",
        metavar="TEXT",
        help="train every tokenizer kind on the corpus and print how each splits TEXT (repeatable)",
    )
    _add_tokenizer_options(p)

    p = add("stats", "print a corpus's size, languages and token count as JSON", _cmd_stats)
    p.add_argument("input", help="a corpus folder")
    p.add_argument("--tokenizer", help="tokenizer folder for token counts (default: <input>/tokenizer if present)")

    p = add("prepare", "run every stage; no input = the built-in corpus", _cmd_prepare)
    _add_acquire_options(p)
    p.add_argument("--name", help="corpus name (default: builtin, or the first input's name)")
    p.add_argument("--out", help="corpus folder (default: data/corpus-<name>)")
    _add_clean_options(p)
    _add_dedup_options(p)
    _add_tokenizer_options(p)
    return parser


def main(argv=None, prog=None):
    """Run `zoo data` with `argv`; return the exit code (0 ok, 1 a stage failed, 2 bad usage).

    Example:
        >>> main(["--help"])  # doctest: +SKIP
        0
    """
    from zoo.data.report import EmptyCorpusError
    from zoo.errors import EnvironmentFault

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        args.func(args)
    except UsageError as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (EmptyCorpusError, FileNotFoundError, ValueError, TypeError, EnvironmentFault) as err:
        # EnvironmentFault: a full disk or read-only folder, named with its path; earlier files stay intact.
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 1
    except RecursionError:
        print(f"{parser.prog} {args.command}: error: an input is nested too deeply to read", file=sys.stderr)
        return 2
    except OSError as err:  # a read-only or full output folder: the machine's fault
        where = f" {err.filename}" if err.filename else ""
        print(f"{parser.prog} {args.command}: error: cannot write{where}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0

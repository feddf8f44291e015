"""Benchmark: Japanese text through the whole pipeline, on real pages (zoo/data/eval/ja_manpages.jsonl.gz).

Writes one JSON object (stdout and --out):

- stages: documents and bytes kept per stage (acquire -> clean -> filter -> dedup)
  when `zoo data prepare` reads the 120 real man pages as a folder of HTML files,
  with today's defaults and with the previous defaults (tables kept as "| a |"
  rows, Gopher's word rules for Japanese, whole-document judging) for comparison;
- tokenizers: tokens per character on the validation documents for every kind
  (SentencePiece unigram/BPE, WordPiece, WordPiece over fugashi words, byte-level
  BPE), each trained on the training documents with the same vocabulary size;
- clm: a tiny causal LM (`zoo pretrain-clm`, tiny preset) trained for --steps
  steps: validation loss against the unigram baseline, and its samples, whose
  prompts come from the validation documents.

Example:
    $ python benchmarks/japanese_text.py --out benchmarks/japanese_text.json   # about 3 minutes on 2 CPU cores
"""

import argparse
import contextlib
import dataclasses
import gzip
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EVAL_SET = ROOT / "zoo" / "data" / "eval" / "ja_manpages.jsonl.gz"


def write_html_folder(folder):
    """Write the evaluation pages as standalone .html files (what a user's folder of manual chapters looks like)."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(EVAL_SET, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            page = (
                f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{row["id"]}</title></head>'
                f"<body>{row['html']}</body></html>"
            )
            (folder / (row["id"].replace("/", "_") + ".html")).write_text(page, encoding="utf-8")
    return folder


def stage_table(report):
    return [
        {
            "stage": s["stage"],
            "docs_in": s["docs_in"],
            "docs_out": s["docs_out"],
            "bytes_in": s["bytes_in"],
            "bytes_out": s["bytes_out"],
            "reasons": s["reasons"],
            **({"structure": s["structure"]} if s.get("structure") else {}),
            **(
                {"section_reasons": s["section_reasons"], "section_bytes_removed": s["section_bytes_removed"]}
                if s.get("section_reasons")
                else {}
            ),
        }
        for s in report["stages"]
    ]


def previous_defaults(config):
    """The settings before Japanese-aware rules: HTML as trafilatura gives it, Gopher rules, whole documents."""
    import dataclasses

    from zoo.data.clean import CleanConfig

    return dataclasses.replace(
        config,
        clean=CleanConfig(restructure=False, join_cjk_breaks=False),
        filter=dataclasses.replace(config.filter, japanese=None, section_chars=None),
    )


def pipe_grid_rows(documents):
    """Lines that are table rows as trafilatura writes them: "| a | b |"."""
    return sum(
        1
        for doc in documents
        for line in doc.text.split("\n")
        if line.startswith("|") and line.rstrip().endswith("|") and line.count("|") >= 2
    )


def tokens_per_char(train_texts, val_texts, vocab_size, seed):
    import numpy as np

    from zoo.data.morphology import available
    from zoo.data.special_tokens import TOKENIZER_KINDS
    from zoo.data.tokenizer import train_tokenizer

    variants = [(kind, None) for kind in TOKENIZER_KINDS]
    if available("fugashi"):
        variants.append(("wordpiece", "fugashi"))
    chars = sum(len(text) for text in val_texts)
    rows = []
    for kind, pretokenizer in variants:
        started = time.perf_counter()
        tokenizer = train_tokenizer(train_texts, kind=kind, vocab_size=vocab_size, seed=seed, pretokenizer=pretokenizer)
        ids = [np.asarray(tokenizer.tokenize(text)).ravel() for text in val_texts]
        tokens = sum(len(row) for row in ids)
        unk = sum(int((row == tokenizer.unk_token_id).sum()) for row in ids)
        rows.append(
            {
                "kind": kind + (f"+{pretokenizer}" if pretokenizer else ""),
                "vocabulary_size": int(tokenizer.vocabulary_size()),
                "tokens_per_char": round(tokens / chars, 4),
                "unk_share": round(unk / max(1, tokens), 4),
                "train_seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(rows[-1], file=sys.stderr)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="also write the JSON here")
    parser.add_argument("--steps", type=int, nargs="+", default=[200], help="CLM training steps (one run each)")
    parser.add_argument("--vocab-size", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras

    from zoo.data.pipelines import split_documents
    from zoo.data.prepare import PrepareConfig, prepare_corpus
    from zoo.data.shards import read_shards
    from zoo.recipe import Run
    from zoo.train.pretraining import TrainingOptions, pretrain_causal_lm

    result = {"eval_set": str(EVAL_SET.relative_to(ROOT)), "vocab_size": args.vocab_size, "seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        html = write_html_folder(tmp / "ja_html")
        config = PrepareConfig(name="ja", output=str(tmp / "corpus-ja"), vocab_size=args.vocab_size, seed=args.seed)
        with contextlib.redirect_stdout(io.StringIO()):
            now = prepare_corpus([str(html)], config=config, progress=False)
        result["stages"] = stage_table(now["report_data"])
        before_config = previous_defaults(
            PrepareConfig(
                name="ja-before", output=str(tmp / "corpus-before"), vocab_size=args.vocab_size, seed=args.seed
            )
        )
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                before = prepare_corpus([str(html)], config=before_config, progress=False)
            result["stages_previous_defaults"] = stage_table(before["report_data"])
            result["previous_defaults_pipe_grid_rows"] = pipe_grid_rows(read_shards(tmp / "corpus-before" / "shards"))
        except Exception as err:  # noqa: BLE001 - the old settings may keep too little to train a tokenizer
            result["stages_previous_defaults"] = f"{type(err).__name__}: {err}"
        result["pipe_grid_rows"] = pipe_grid_rows(read_shards(tmp / "corpus-ja" / "shards"))

        train_texts, val_texts = split_documents(tmp / "corpus-ja", 0.1, seed=args.seed)
        result["split"] = {
            "train_documents": len(train_texts),
            "validation_documents": len(val_texts),
            "validation_chars": sum(map(len, val_texts)),
        }
        result["tokenizers"] = tokens_per_char(train_texts, val_texts, args.vocab_size, args.seed)

        result["clm"] = []
        for steps in args.steps:
            started = time.perf_counter()
            # The library loop `zoo pretrain-clm` runs, with that recipe's defaults (tiny preset).
            options = TrainingOptions(
                data=str(tmp / "corpus-ja"), steps=steps, eval_every=min(100, steps), seed=args.seed, verbose=0
            )
            keras.utils.set_random_seed(args.seed)
            run = Run("pretrain-clm", dataclasses.asdict(options), root=str(tmp / "runs"))
            out = pretrain_causal_lm(options, run)
            final = [s for s in out["samples"] if s["step"] == max(x["step"] for x in out["samples"])]
            result["clm"].append(
                {
                    "preset": "tiny",
                    "steps": steps,
                    "params": out["params"],
                    "val_loss": round(out["val_loss"], 4),
                    "unigram_entropy": round(out["unigram_entropy"], 4),
                    "beats_unigram_by": round(out["beats_unigram_by"], 4),
                    "prompts": out["prompts"],
                    "samples": [s["text"] for s in final],
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The main job: the whole story of the tutorial on the built-in corpus, offline, in minutes on a CPU.

    1. prepare data   acquire -> clean -> filter -> dedup the built-in corpus (CPython's pydoc topics)
    2. tokenizer      train a SentencePiece tokenizer on it (both written to data/corpus-builtin)
    3. pretrain       a tiny causal LM with model.fit: warmup + cosine AdamW, clipping, checkpoints,
                      validation loss/perplexity, sample generations, TensorBoard, plots
    4. generate       continue a few prompts with the trained model
    5. export         a versioned SavedModel for TF Serving (with its tokenizer) under saved_models/

It ends by printing the validation loss next to the unigram baseline (the
entropy of the token distribution) and where every output is.

Run:
    zoo run                      # or: python recipes/run.py
    zoo run --steps 200 --no-export
"""

import argparse
import json
import os
import sys
import time

from zoo.recipe import Recipe
from zoo.train.pretraining import TrainingOptions, add_training_args, pretrain_causal_lm

recipe = Recipe(
    "run",
    "The main job: prepare data, train a tokenizer, pretrain a small causal LM, generate, export.",
    examples=["zoo run", "zoo run --steps 200 --no-export", "zoo run --prompt 'def ' --max-new-tokens 60"],
)


@recipe.options
def add_options(parser):
    # 800 steps of 16 x 64 tokens: about 7.7 passes over the built-in corpus, 3-4 minutes on 2 CPU cores.
    add_training_args(
        parser, preset="tiny", steps=800, batch_size=16, seq_len=64, learning_rate=3e-3, eval_every=100, warmup_steps=50
    )
    story = parser.add_argument_group("main job")
    story.add_argument("--fresh-data", action="store_true", help="prepare the corpus again even if it exists")
    story.add_argument(
        "--prompt",
        action="append",
        default=None,
        help="a prompt to continue (repeatable; default: openings from the validation documents)",
    )
    story.add_argument("--max-new-tokens", type=int, default=40, help="tokens to generate per prompt (default: 40)")
    story.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="export a SavedModel for TF Serving (default: on)",
    )
    story.add_argument("--saved-models", default="saved_models", help="export folder (default: saved_models)")


def stage(number, title):
    print(f"\n[{number}/5] {title}", flush=True)


def prepare(args):
    """Stages 1 and 2: the corpus folder with its tokenizer (reused when already there)."""
    from pathlib import Path

    from zoo.data.corpus import ensure_corpus

    folder = Path(args.data)
    if args.fresh_data:
        from zoo.data.prepare import PrepareConfig, prepare_corpus

        prepare_corpus(config=PrepareConfig(output=str(folder)), progress=True)
    elif (folder / "tokenizer" / "tokenizer.json").is_file():
        print(f"reusing the corpus folder {folder} (--fresh-data prepares it again)")
    else:
        ensure_corpus(folder)
    report = (
        json.loads((folder / "report.json").read_text(encoding="utf-8")) if (folder / "report.json").is_file() else {}
    )
    corpus = report.get("corpus", {})
    if corpus:
        print(
            f"corpus: {corpus.get('documents')} documents, {corpus.get('bytes'):,} bytes, "
            f"{corpus.get('tokens'):,} tokens"
        )
    return folder


def generate_texts(model, tokenizer, prompts, max_new_tokens, seed):
    """Top-k sampled continuations of each prompt, as printable lines.

    Sampling, not greedy: a model this small puts most mass on whitespace, and greedy
    decoding then prints blanks.
    """
    from zoo.llm.models.generation import generate

    ids = [[int(t) for t in tokenizer(p)] for p in prompts]
    outputs = generate(
        model,
        ids,
        max_new_tokens=max_new_tokens,
        sampler="top_k",
        top_k=20,
        temperature=0.8,
        seed=seed,
        stop_token_ids=[tokenizer.end_token_id],
    )
    # Detokenize prompt and continuation together: SentencePiece drops a leading space of a piece on its own.
    return [str(tokenizer.detokenize(prompt + new)) for prompt, new in zip(ids, outputs)]


def export(run_dir, output):
    """Stage 5: a versioned SavedModel of the run, or the reason it could not be made."""
    from zoo.errors import UsageError

    try:
        from zoo.export.saved_model import export_saved_model

        result = export_saved_model(run_dir, output=output)
        return result.path, None
    except UsageError as err:  # e.g. on the JAX backend: the message says how to export the run afterwards
        return None, str(err)
    except Exception as err:  # the story still ends with everything else in place; say why export failed
        return None, f"{type(err).__name__}: {err}"


@recipe.body
def main_job(args, run):
    """Run the five stages; returns the main-job summary (also written to <run>/main_job.json)."""
    from zoo.runs import atomic_write_json

    started = time.perf_counter()
    stage(1, "prepare data (built-in corpus: acquire, clean, filter, dedup)")
    stage(2, "tokenizer (SentencePiece unigram, trained with the corpus)")
    folder = prepare(args)
    args.data = str(folder)

    stage(3, f"pretrain a {args.preset} causal LM with model.fit ({args.steps} steps)")
    results = pretrain_causal_lm(TrainingOptions.from_args(args), run, title="run")
    run_dir = results["run_dir"]

    stage(4, "generate")
    lines = generate_texts(results["model"], results["tokenizer"], results["prompts"], args.max_new_tokens, args.seed)
    print("\n\n".join(lines))
    generated = os.path.join(run_dir, "generated.txt")
    with open(generated, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    exported, why = None, "skipped (--no-export)"
    if args.export:
        stage(5, f"export a SavedModel for TF Serving into {args.saved_models}/")
        exported, why = export(run_dir, args.saved_models)
        print(f"exported to {exported}" if exported else f"export failed: {why}")
    else:
        stage(5, "export skipped (--no-export)")

    wall = time.perf_counter() - started
    summary = {
        "wall_seconds": round(wall, 1),
        "val_loss": results["val_loss"],
        "unigram_entropy": results["unigram_entropy"],
        "beats_unigram_by": results["beats_unigram_by"],
        "run_dir": run_dir,
        "plots": [os.path.join(run_dir, "training.png"), os.path.join(run_dir, "plot.png")],
        "samples": os.path.join(run_dir, "samples.txt"),
        "generated": generated,
        "model": os.path.join(run_dir, "model.keras"),
        "tensorboard": os.path.join(run_dir, "tensorboard") if args.tensorboard else None,
        "exported": exported,
        "export_note": None if exported else why,
    }
    atomic_write_json(os.path.join(run_dir, "main_job.json"), summary)
    print(
        f"\ndone in {wall / 60:.1f} min. "
        f"validation loss {summary['val_loss']:.3f} vs unigram baseline {summary['unigram_entropy']:.3f} "
        f"nats/token ({summary['beats_unigram_by']:.2f} better)"
    )
    print(f"  run folder      {run_dir}")
    print(f"  plots           {', '.join(summary['plots'])}")
    print(f"  samples         {summary['samples']} (during training), {generated} (final)")
    print(f"  model           {summary['model']}")
    if summary["tensorboard"]:
        print(f"  tensorboard     tensorboard --logdir {summary['tensorboard']}")
    print(f"  exported model  {exported or why}")
    return summary


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())

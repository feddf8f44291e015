"""Recipe: pretrain a BERT-style masked language model, optionally with next-sentence prediction.

MLM: 15% of the tokens of each `[CLS] ... [SEP]` window are picked (80% become
[MASK], 10% a random token, 10% stay) and the model predicts the originals;
masks are drawn anew every pass (dynamic masking). With --nsp every example is
a pair `[CLS] A [SEP] B [SEP]`, B the true next segment half of the time, and a
second head classifies "B follows A" from the [CLS] token; the loss is the sum
of both. Options for schedule, AdamW, clipping, accumulation, precision, remat,
memory budget, checkpoints and resume are those of `pretrain_clm`.

Run:
    zoo pretrain-mlm                          # or: python recipes/pretrain_mlm.py
    zoo pretrain-mlm --nsp --steps 300 --precision mixed_bfloat16
"""

import math
import sys

from zoo.errors import UsageError
from zoo.recipe import Recipe
from zoo.train.pretraining import TrainingOptions, add_training_args

recipe = Recipe(
    "pretrain-mlm",
    "Pretrain a masked language model (BERT) with model.fit.",
    examples=[
        "zoo pretrain-mlm --steps 20 --eval-every 10",
        "zoo pretrain-mlm --nsp --steps 300 --precision mixed_bfloat16",
    ],
)


@recipe.options
def add_options(parser):
    add_training_args(parser, learning_rate=1e-3)
    mlm = parser.add_argument_group("masked LM")
    mlm.add_argument("--nsp", action="store_true", help="add next-sentence prediction on sentence pairs")
    mlm.add_argument("--mask-rate", type=float, default=0.15, help="share of tokens to predict (default: 0.15)")


def mlm_config(args, options, vocab_size):
    """The preset's config as a bidirectional encoder; with --nsp, two segments and the NSP head."""
    from zoo.train.pretraining import model_config

    config = model_config(options, vocab_size)
    if args.nsp:
        config = config.replace(num_segments=2, next_sentence_prediction=True)
    return config


def nsp_with_masks(dataset, tokenizer, mask_rate, seq_len, seed):
    """Mask the token ids of NSP pairs: x gains mask_positions; y = {"mlm", "nsp"}, MLM weights per mask."""
    import tensorflow as tf

    from zoo.data.masking import SeededMaskedLMMaskGenerator

    masker = SeededMaskedLMMaskGenerator(
        seed=seed,
        vocabulary_size=tokenizer.vocabulary_size(),
        mask_selection_rate=mask_rate,
        mask_token_id=tokenizer.mask_token_id,
        mask_selection_length=math.ceil(seq_len * mask_rate),
        unselectable_token_ids=sorted(set(tokenizer.special_token_ids)),
        mask_token_rate=0.8,
        random_token_rate=0.1,
    )

    def mask(x, label):
        out = masker(x["token_ids"])
        inputs = {
            **x,
            "token_ids": out["token_ids"],
            "mask_positions": out["mask_positions"],
            "padding_mask": tf.cast(x["padding_mask"], "int32"),
        }
        weights = {"mlm": out["mask_weights"], "nsp": tf.ones_like(label, "float32")}
        return inputs, {"mlm": out["mask_ids"], "nsp": label}, weights

    # One call at a time: the masker's random ops then run in the same order in every run.
    return dataset.map(mask)


def without_segments(dataset):
    """Drop the all-zero segment ids of single-segment MLM windows: a model without NSP has no such input."""
    return dataset.map(lambda x, y, w: ({k: v for k, v in x.items() if k != "segment_ids"}, y, w))


def mlm_splits(folder, args):
    """(train stream, validation, tokenizer, train texts) for MLM or MLM+NSP."""
    from zoo.data.pipelines import mlm_dataset, nsp_dataset, split_documents
    from zoo.data.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(folder / "tokenizer")
    train_texts, val_texts = split_documents(folder, args.validation_fraction, seed=args.seed)
    if len(val_texts) < (2 if args.nsp else 1):
        raise UsageError(f"{folder} has too few documents for a validation split; give more text.")
    if args.nsp:
        train = nsp_dataset(train_texts, tokenizer, args.seq_len, args.batch_size, seed=args.seed).repeat()
        train = nsp_with_masks(train, tokenizer, args.mask_rate, args.seq_len, args.seed)
        validation = nsp_with_masks(
            nsp_dataset(val_texts, tokenizer, args.seq_len, args.batch_size, shuffle=False, seed=args.seed),
            tokenizer,
            args.mask_rate,
            args.seq_len,
            args.seed,
        )
    else:
        options = dict(mask_rate=args.mask_rate, seed=args.seed)
        # New masks every pass: the seeded masker's generator state moves on (see zoo.data.masking).
        train = without_segments(mlm_dataset(train_texts, tokenizer, args.seq_len, args.batch_size, **options).repeat())
        validation = without_segments(
            mlm_dataset(val_texts, tokenizer, args.seq_len, args.batch_size, shuffle=False, **options)
        )
    return train, validation, tokenizer, train_texts


def mlm_loss(nsp):
    """Cross-entropy per *masked* token: windows with fewer maskable tokens pad their mask slots with
    weight 0, and the mean must divide by the real masks, not by every slot."""
    import keras

    mlm = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")
    if not nsp:
        return mlm
    return {"mlm": mlm, "nsp": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}


def token_entropy(texts, tokenizer):
    """Unigram entropy (nats/token) of the tokenized texts: the baseline the MLM loss is set against."""
    import numpy as np

    from zoo.train.baseline import unigram_entropy

    ids = np.concatenate([np.asarray(tokenizer(text)).ravel() for text in texts])
    return unigram_entropy(ids)


@recipe.body
def train(args, run, extra_callbacks=()):
    """Pretrain and validate the masked LM; returns the results dict (also in <run>/results.json)."""
    from zoo.data.corpus import ensure_corpus
    from zoo.data.pipelines import split_documents
    from zoo.data.tokenizer import save_tokenizer
    from zoo.parallel.distribution import describe_layout
    from zoo.pictures.run_pictures import draw_training_pictures
    from zoo.train.checkpoints import restore
    from zoo.train.fill_in import fill_in_examples, fill_in_lines
    from zoo.train.pretraining import (
        build_model,
        check_fits,
        check_same_settings,
        distribution_report,
        fit_from,
        read_resume_state,
        resume_settings,
        standard_callbacks,
    )
    from zoo.train.report import plot_training

    # Data: [CLS] ... [SEP] windows (or NSP pairs) with masks drawn anew every pass.
    options = TrainingOptions.from_args(args)
    options.check()
    if not 0.0 < args.mask_rate < 1.0:
        raise UsageError(f"--mask-rate must be in (0, 1), got {args.mask_rate}.")
    if args.seq_len < 8:
        raise UsageError(f"--seq-len must be at least 8 for [CLS] ... [SEP] windows, got {args.seq_len}.")
    if args.epochs is not None:
        raise UsageError("pretrain-mlm counts --steps (masks are redrawn every pass); --epochs is for pretrain-clm.")
    state = read_resume_state(options)
    folder = ensure_corpus(args.data)
    stream, validation, tokenizer, train_texts = mlm_splits(folder, args)
    # Fill-in examples from the validation documents: in the corpus's language, on text not trained on.
    fill_ins = fill_in_examples(
        split_documents(folder, args.validation_fraction, seed=args.seed)[1],
        tokenizer,
        count=3,
        seed=args.seed,
        max_tokens=args.seq_len,
    )
    config = mlm_config(args, options, tokenizer.vocabulary_size())
    check_fits(options, config, state, kind="masked")
    eval_every = min(args.eval_every, args.steps)
    total_steps = math.ceil(args.steps / eval_every) * eval_every
    start_step = 0 if state is None else int(state["step"])
    if start_step >= total_steps:
        raise UsageError(f"--resume: the checkpoint is at step {start_step}, this run ends at step {total_steps}.")
    settings = resume_settings(options, total_steps, len(train_texts), mask_rate=args.mask_rate, nsp=bool(args.nsp))
    check_same_settings(state, settings)

    # Model: the preset as a bidirectional encoder with the MLM (and NSP) head.
    model = build_model(options, config, total_steps, kind="masked", loss=mlm_loss(args.nsp))
    sharded = describe_layout(model)  # on JAX with --distribution: which weights the mesh cuts
    if state is not None:
        restore(model, state)
        print(f"resumed from {state['folder']} at step {start_step} (masks of the remaining steps are drawn anew)")

    # Fit: validate and checkpoint every eval_every steps.
    run.note(tokenizer="tokenizer", llm_config=config.get_config(), total_steps=total_steps)
    save_tokenizer(tokenizer, run.file("tokenizer"))
    draw_training_pictures(run, config, args.batch_size, args.seq_len, args.precision, kind="masked")
    callbacks = [
        *standard_callbacks(
            run,
            options,
            config,
            eval_every,
            start_step,
            args.batch_size * args.seq_len,
            kind="masked",
            settings=settings,
        ),
        *extra_callbacks,
    ]
    print(
        f"training {model.count_params():,} parameters for {total_steps} steps, batch {args.batch_size} x "
        f"{args.seq_len} tokens{', MLM + NSP' if args.nsp else ', MLM'}, {args.precision}"
    )
    history, seconds = fit_from(model, stream, validation, start_step, total_steps, eval_every, callbacks, args.verbose)

    # Report: the MLM loss per masked token against the unigram baseline.
    plot_training(history, run.file("training.png"), eval_every, title=f"pretrain-mlm ({args.preset})")
    mlm_key = "val_mlm_loss" if args.nsp else "val_loss"
    results = {
        "val_loss": float(history["val_loss"][-1]),
        "val_mlm_loss": float(history[mlm_key][-1]),
        "unigram_entropy": float(token_entropy(train_texts, tokenizer)),
        "steps": int(total_steps),
        "resumed_from_step": int(start_step),
        "steps_run": int(total_steps - start_step),  # by this process: train_seconds is their time
        "train_seconds": float(seconds),
        "params": int(model.count_params()),
        **distribution_report(sharded),
    }
    if args.nsp:
        results["val_nsp_accuracy"] = float(history["val_nsp_accuracy"][-1])
    results["fill_in"] = fill_in_lines(model, tokenizer, fill_ins)
    results = run.finish(model, history, results, plot_title=f"pretrain-mlm ({args.preset})")
    print("\n".join(["fill-in examples (validation text):", *results["fill_in"]]))
    print(
        f"validation MLM loss {results['val_mlm_loss']:.3f} nats/token vs unigram baseline "
        f"{results['unigram_entropy']:.3f}" + (f"; NSP accuracy {results['val_nsp_accuracy']:.3f}" if args.nsp else "")
    )
    return {**results, "model": model, "tokenizer": tokenizer}


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())

"""Recipe: pretrain a causal (GPT-style) language model on a corpus folder with model.fit.

The corpus folder comes from `zoo data prepare` (shards + tokenizer); with the
default --data and no such folder, the built-in corpus is prepared first. The
model is a zoo preset whose vocabulary is set to the tokenizer's. Training is an
endless stream of shuffled windows: one Keras "epoch" is --eval-every steps,
after which the validation loss and perplexity are measured, a few sample
generations are printed and the history row is written.

Every technique of the tutorial is an option:
    --accum-steps k        gradient accumulation (one update per k micro-batches)
    --precision P          float32, mixed_bfloat16 or mixed_float16 (loss scaling)
    --remat                gradient checkpointing per transformer block
    --decay/--warmup-steps linear warmup, then cosine/linear/constant decay
    --weight-decay         AdamW decay on 2-D weights only (--decay-embeddings to add tables)
    --clipnorm             global-norm gradient clipping
    --max-memory 2GiB      refuse a batch that the memory estimate says will not fit
    --checkpoint-every N   checkpoints (weights + optimizer); --resume RUN continues at that step

Run:
    zoo pretrain-clm                          # or: python recipes/pretrain_clm.py
    zoo pretrain-clm --steps 400 --accum-steps 4 --precision mixed_bfloat16 --remat
    zoo pretrain-clm --resume runs/pretrain-clm-20260101-120000
"""

import argparse
import math
import os
import sys
import time
import warnings

from zoo.llm.attention.args import add_attention_args, attention_overrides
from zoo.train.strategy import add_strategy_args, distributed

DEFAULT_DATA = os.path.join("data", "corpus-builtin")
PROMPTS = ["The ", "def ", "A class"]


def add_training_args(parser, preset="tiny", steps=300, batch_size=16, seq_len=64, learning_rate=3e-3,
                      eval_every=50, warmup_steps=30):
    """Options shared by the pretraining recipes (CLM, MLM) and the main job."""
    from zoo.train.precision import PRECISIONS
    from zoo.train.schedules import DECAYS

    data = parser.add_argument_group("data and model")
    data.add_argument("--data", default=DEFAULT_DATA,
                      help=f"corpus folder from `zoo data prepare` (default: {DEFAULT_DATA}, prepared on first use)")
    data.add_argument("--preset", default=preset, help=f"model preset, vocabulary set to the tokenizer's (default: {preset})")
    data.add_argument("--seq-len", type=int, default=seq_len, help=f"tokens per training window (default: {seq_len})")
    data.add_argument("--dropout", type=float, default=None, help="override the preset's dropout rate")
    data.add_argument("--validation-fraction", type=float, default=0.1,
                      help="share of documents held out for validation (default: 0.1)")

    length = parser.add_argument_group("length of training")
    length.add_argument("--steps", type=int, default=steps, help=f"fit steps (micro-batches) to train (default: {steps})")
    length.add_argument("--epochs", type=float, default=None,
                        help="passes over the training split instead of --steps (may be fractional)")
    length.add_argument("--batch-size", type=int, default=batch_size,
                        help=f"sequences per fit step (the micro-batch; default: {batch_size})")
    length.add_argument("--eval-every", type=int, default=eval_every,
                        help=f"validate, log and sample every N steps (default: {eval_every})")

    optim = parser.add_argument_group("optimization")
    optim.add_argument("--learning-rate", type=float, default=learning_rate,
                       help=f"peak learning rate (default: {learning_rate})")
    optim.add_argument("--min-learning-rate", type=float, default=None,
                       help="learning rate at the end of the decay (default: peak / 10)")
    optim.add_argument("--warmup-steps", type=int, default=warmup_steps,
                       help=f"linear warmup steps (default: {warmup_steps})")
    optim.add_argument("--decay", choices=DECAYS, default="cosine", help="decay after warmup (default: cosine)")
    optim.add_argument("--weight-decay", type=float, default=0.1,
                       help="AdamW weight decay on 2-D weights (default: 0.1)")
    optim.add_argument("--decay-embeddings", action="store_true", help="also decay the embedding tables")
    optim.add_argument("--clipnorm", type=float, default=1.0, help="global gradient norm limit, 0 = off (default: 1.0)")
    optim.add_argument("--accum-steps", type=int, default=1,
                       help="gradient accumulation: micro-batches per optimizer update (default: 1 = off)")
    optim.add_argument("--precision", choices=PRECISIONS, default="float32", help="Keras dtype policy (default: float32)")
    optim.add_argument("--remat", action="store_true", help="gradient checkpointing per transformer block")
    optim.add_argument("--max-memory", default=None,
                       help="memory budget such as 2GiB: fail before training if the estimate is larger")

    hygiene = parser.add_argument_group("checkpoints and logs")
    hygiene.add_argument("--checkpoint-every", type=int, default=None,
                         help="save weights + optimizer every N steps (default: --eval-every)")
    hygiene.add_argument("--resume", default=None, help="a run folder (or its checkpoints/) to continue from")
    hygiene.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=True,
                         help="write TensorBoard logs to <run>/tensorboard (default: on)")
    hygiene.add_argument("--sample-tokens", type=int, default=24, help="tokens per sample generation (default: 24)")
    add_attention_args(parser)
    return add_strategy_args(parser)


def build_parser(prog=None):
    from zoo.runs import add_run_args

    parser = argparse.ArgumentParser(prog=prog, description="Pretrain a causal language model with model.fit.")
    add_training_args(parser)
    return add_run_args(parser)


def check_args(args):
    """Raise SystemExit with a clear message for options that cannot work."""
    from zoo.train.accumulation import check_accum_steps

    try:
        check_accum_steps(args.accum_steps)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    for name in ("steps", "batch_size", "seq_len", "eval_every"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if args.seq_len < 2:
        raise SystemExit("--seq-len must be at least 2.")
    if args.epochs is not None and not args.epochs > 0:
        raise SystemExit(f"--epochs must be > 0, got {args.epochs}.")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise SystemExit(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}.")
    if args.learning_rate <= 0:
        raise SystemExit(f"--learning-rate must be > 0, got {args.learning_rate}.")


def ensure_corpus(folder, log=print):
    """Return the corpus folder; prepare the built-in corpus there when it is the default and missing."""
    from pathlib import Path

    folder = Path(folder)
    if (folder / "tokenizer" / "tokenizer.json").is_file() and (folder / "shards").is_dir():
        return folder
    if folder != Path(DEFAULT_DATA) and not str(folder).endswith("corpus-builtin"):
        raise SystemExit(f"{folder} is not a corpus folder (no tokenizer/ and shards/); "
                         f"make one with `zoo data prepare <your texts> --out {folder}`.")
    from zoo.data.prepare import PrepareConfig, prepare_corpus

    log(f"preparing the built-in corpus into {folder} (acquire, clean, dedup, tokenizer)")
    prepare_corpus(config=PrepareConfig(output=str(folder)), progress=True, log=log)
    return folder


def model_config(args, vocab_size):
    """The LLMConfig of the preset, sized to the tokenizer and the sequence length."""
    from zoo.llm.models.factory import resolve_config

    base = resolve_config(args.preset)
    overrides = {"vocab_size": int(vocab_size), "max_length": max(base.max_length, args.seq_len)}
    if args.dropout is not None:
        overrides["dropout"] = args.dropout
    # Only the attention options given on the command line; the preset keeps the rest.
    overrides.update(attention_overrides(args))
    try:
        return base.replace(**overrides)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def as_model_inputs(dataset):
    """(ids, labels) windows -> ({"token_ids", "padding_mask"}, labels); packed windows have no padding."""
    import tensorflow as tf

    return dataset.map(lambda x, y: ({"token_ids": x, "padding_mask": tf.ones_like(x)}, y),
                       num_parallel_calls=tf.data.AUTOTUNE)


def clm_splits(folder, seq_len, batch_size, validation_fraction, seed):
    """(train, validation, tokenizer) of a corpus folder, split by document, both in corpus order.

    The training split stays unshuffled here: `training_stream` shuffles each pass itself.
    """
    from zoo.data.pipelines import clm_dataset, split_documents
    from zoo.data.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(folder / "tokenizer")
    train_texts, val_texts = split_documents(folder, validation_fraction, seed=seed)
    if not val_texts:
        raise SystemExit(f"{folder} has too few documents for a validation split; give more text.")
    train = clm_dataset(train_texts, tokenizer, seq_len, batch_size, shuffle=False, seed=seed)
    validation = clm_dataset(val_texts, tokenizer, seq_len, batch_size, shuffle=False, seed=seed)
    return train, validation, tokenizer


def training_windows(dataset):
    """All training windows as numpy arrays (inputs, labels) from one pass over the unshuffled split."""
    import numpy as np

    xs, ys = [], []
    for x, y in dataset:
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    if not xs:
        raise SystemExit("The training split has no full batch: use a smaller --batch-size or --seq-len, "
                         "or give more text.")
    return np.concatenate(xs), np.concatenate(ys)


def training_stream(inputs, labels, batch_size, seed):
    """An endless stream of shuffled model-input batches whose order depends only on the seed.

    Each pass over the windows is a stateless permutation keyed by (seed, pass), so
    `stream.skip(n)` in a resumed run sees exactly the batches an uninterrupted run
    saw after step n; tf.data's own reshuffling would depend on how many iterators
    were made before. The windows are held in memory (4 bytes per token, twice).
    """
    import tensorflow as tf

    inputs, labels = tf.constant(inputs), tf.constant(labels)
    count = int(inputs.shape[0])

    def one_pass(index):
        key = tf.stack([tf.constant(int(seed), tf.int64), index])
        return tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(tf.range(count), key))

    def gather(order):
        x = tf.gather(inputs, order)
        return {"token_ids": x, "padding_mask": tf.ones_like(x)}, tf.gather(labels, order)

    stream = tf.data.Dataset.range(2**62).flat_map(one_pass).batch(batch_size, drop_remainder=True)
    return stream.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def schedule_steps(args, batches_per_pass):
    """Total fit steps (rounded up to whole --eval-every intervals) and the steps per interval."""
    steps = math.ceil(args.epochs * batches_per_pass) if args.epochs is not None else args.steps
    eval_every = min(args.eval_every, steps)
    intervals = math.ceil(steps / eval_every)
    return intervals * eval_every, eval_every


def build_model(args, config, total_steps, kind="causal", loss="auto"):
    """Build and compile a zoo LLM of `kind` with the recipe's precision, remat and optimizer options."""
    from zoo.llm import build_llm
    from zoo.train.optimizer import build_optimizer
    from zoo.train.precision import precision_scope, wrap_optimizer
    from zoo.train.remat import enable_remat
    from zoo.train.schedules import WarmupDecay, check_schedule

    peak = args.learning_rate
    floor = peak / 10 if args.min_learning_rate is None else args.min_learning_rate
    warmup = min(args.warmup_steps, total_steps)
    try:
        check_schedule(peak, total_steps, warmup, args.decay, floor)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    with precision_scope(args.precision):
        model = build_llm(kind, config=config, compile=False, dtype=args.precision)
    if args.remat:
        enable_remat(model)
        if config.dropout > 0:
            print(f"note: --remat with dropout {config.dropout}: the recomputed forward draws new dropout masks")
    optimizer = build_optimizer(WarmupDecay(peak, total_steps, warmup, args.decay, floor),
                                weight_decay=args.weight_decay, clipnorm=args.clipnorm,
                                accum_steps=args.accum_steps, decay_embeddings=args.decay_embeddings)
    model.compile(optimizer=wrap_optimizer(optimizer, args.precision), loss=loss)
    return model


def start(args):
    """Checks that need no data: options, the seed, replicas, and the checkpoint to resume (or None)."""
    import keras
    import tensorflow as tf

    from zoo.train.accumulation import check_global_batch
    from zoo.train.checkpoints import read_checkpoint

    check_args(args)
    # Seed first: tf.random.set_seed later would drop the tokenizer ops the data pipeline already traced.
    keras.utils.set_random_seed(args.seed)
    try:
        check_global_batch(args.batch_size, tf.distribute.get_strategy().num_replicas_in_sync)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    state = None
    if args.resume:
        state = read_checkpoint(args.resume)
        if state is None:
            raise SystemExit(f"--resume {args.resume}: no checkpoint there (looked for checkpoints/state.json).")
    return state


def check_fits(args, config, state, kind="causal"):
    """Refuse a checkpoint of another architecture and a batch over --max-memory, before any training."""
    from zoo.train.checkpoints import check_resumable
    from zoo.train.memory_check import check_memory

    if state is not None:
        try:
            check_resumable(state, config.get_config(), kind)
        except ValueError as err:
            raise SystemExit(str(err)) from None
    if args.max_memory:
        try:
            memory = check_memory(config, args.batch_size, args.seq_len, args.max_memory, args.precision,
                                  args.remat, args.accum_steps, kind)
        except ValueError as err:  # MemoryBudgetError is a ValueError, as is a malformed budget
            raise SystemExit(str(err)) from None
        print(f"memory estimate: {memory['total'] / 2**20:.1f} MiB, within --max-memory {args.max_memory}")


def standard_callbacks(run, args, config, eval_every, start_step, tokens_per_step, kind="causal"):
    """NaN guard, LR/throughput/perplexity log, checkpoints, TensorBoard and the CSV history."""
    import keras

    from zoo.train.callbacks import TrainingLog
    from zoo.train.checkpoints import StepCheckpoint

    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        TrainingLog(tokens_per_step),
        StepCheckpoint(run.file("checkpoints"), args.checkpoint_every or eval_every, config.get_config(),
                       start_step=start_step, kind=kind),
    ]
    if args.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(run.file("tensorboard"), update_freq="epoch", write_graph=False))
    return callbacks + run.callbacks()


def fit_from(model, stream, validation, start_step, total_steps, eval_every, callbacks, verbose):
    """fit() from `start_step` to `total_steps`, validating every `eval_every` steps; (history dict, seconds).

    `stream` is an endless dataset whose order is fixed by the seed, so `stream.skip(step)` continues
    exactly where a killed run stopped.
    """
    from zoo.runs import merge_histories

    # The stream is endless and the validation set is finite by design; Keras' warnings about both are noise here.
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    histories = []
    started = time.perf_counter()
    step = start_step
    if step % eval_every:
        # A checkpoint inside a validation interval: finish that interval first, so that
        # validation, logs and the data order fall on the same steps as an uninterrupted run.
        rest = eval_every - step % eval_every
        epoch = step // eval_every
        histories.append(model.fit(stream.skip(step), steps_per_epoch=rest, initial_epoch=epoch, epochs=epoch + 1,
                                   validation_data=validation, callbacks=callbacks, verbose=verbose))
        step += rest
    if step < total_steps:
        histories.append(model.fit(stream.skip(step), steps_per_epoch=eval_every, initial_epoch=step // eval_every,
                                   epochs=total_steps // eval_every, validation_data=validation,
                                   callbacks=callbacks, verbose=verbose))
    seconds = time.perf_counter() - started
    history = merge_histories(*histories)
    if model.stop_training and not history.get("val_loss"):
        raise SystemExit("Training stopped before the first validation (a NaN loss?): lower --learning-rate.")
    return history, seconds


@distributed
def train(args, extra_callbacks=(), recipe="pretrain-clm"):
    """Pretrain, validate and save; returns the results dict (also in <run>/results.json).

    The returned dict also holds the trained "model" and its "tokenizer" (not in the JSON).
    """
    from zoo.data.tokenizer import save_tokenizer
    from zoo.runs import RunFolder
    from zoo.train.baseline import unigram_entropy
    from zoo.train.callbacks import SampleGenerations
    from zoo.train.checkpoints import restore
    from zoo.train.report import plot_training, summary_lines

    state = start(args)
    folder = ensure_corpus(args.data)
    train_ds, val_ds, tokenizer = clm_splits(folder, args.seq_len, args.batch_size, args.validation_fraction,
                                             args.seed)
    config = model_config(args, tokenizer.vocabulary_size())
    check_fits(args, config, state)

    train_x, train_y = training_windows(train_ds)
    batches_per_pass = len(train_x) // args.batch_size
    entropy = unigram_entropy(train_y.ravel())
    total_steps, eval_every = schedule_steps(args, batches_per_pass)
    start_step = 0 if state is None else int(state["step"])
    if start_step >= total_steps:
        raise SystemExit(f"--resume: the checkpoint is at step {start_step}, this run ends at step {total_steps}.")

    model = build_model(args, config, total_steps)
    if state is not None:
        restore(model, state)
        print(f"resumed from {state['folder']} at step {start_step}")

    run = RunFolder(recipe, {**vars(args), "tokenizer": "tokenizer", "llm_config": config.get_config(),
                             "total_steps": total_steps}, root=args.runs_dir)
    save_tokenizer(tokenizer, run.file("tokenizer"))
    sampler = SampleGenerations(tokenizer, PROMPTS, path=run.file("samples.txt"), max_new_tokens=args.sample_tokens,
                                seed=args.seed, print_fn=print if args.verbose else (lambda *_: None))
    callbacks = [sampler, *standard_callbacks(run, args, config, eval_every, start_step,
                                              args.batch_size * args.seq_len), *extra_callbacks]
    print(f"training {model.count_params():,} parameters for {total_steps} steps "
          f"({total_steps / batches_per_pass:.1f} passes over {batches_per_pass} batches), "
          f"global batch {args.batch_size * args.accum_steps} x {args.seq_len} tokens, {args.precision}"
          f"{', remat' if args.remat else ''}")
    stream = training_stream(train_x, train_y, args.batch_size, args.seed)
    history, train_seconds = fit_from(model, stream, as_model_inputs(val_ds), start_step, total_steps, eval_every,
                                      callbacks, args.verbose)

    plot_training(history, run.file("training.png"), eval_every, title=f"{recipe} ({args.preset})")
    results = {
        "val_loss": float(history["val_loss"][-1]),
        "val_perplexity": float(math.exp(min(history["val_loss"][-1], 50.0))),
        "train_loss": float(history["loss"][-1]),
        "unigram_entropy": float(entropy),
        "beats_unigram_by": float(entropy - history["val_loss"][-1]),
        "steps": int(total_steps),
        "resumed_from_step": int(start_step),
        "train_seconds": float(train_seconds),
        "tokens_per_second": float(history["tokens_per_second"][-1]),
        "params": int(model.count_params()),
        "samples": [{"step": epoch * eval_every, "prompt": p, "text": t} for epoch, p, t in sampler.samples],
    }
    results = run.finish(model, history, results, plot_title=f"{recipe} ({args.preset})")
    for line in summary_lines(results):
        print(line)
    return {**results, "model": model, "tokenizer": tokenizer}


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The fit() loop the three fine-tuning recipes share: options, start point, optimizer, scores each epoch.

Fine-tuning follows BERT's recipe: AdamW with a small peak learning rate, linear
warmup over the first 10% of the steps and linear decay to zero, a few epochs,
and the whole network trained (backbone and new head). The task score on the
evaluation set (accuracy and macro-F1, or exact match and F1) is measured after
every epoch by `TaskScores` and lands in history.csv next to the loss.

Example:
    >>> import argparse
    >>> parser = add_finetune_args(argparse.ArgumentParser(), task="sentiment", seq_len=64, epochs=8,
    ...                            learning_rate=1e-3)
    >>> parser.parse_args(["--language", "ja"]).language
    'ja'
"""

import math

import keras

from zoo.finetune.datasets import LANGUAGES


def add_finetune_args(parser, task, seq_len, epochs, learning_rate, batch_size=16, labels=None):
    """Options shared by finetune-qa, finetune-nli and finetune-sentiment."""
    from zoo.runs import add_run_args

    start = parser.add_argument_group("where to start")
    start.add_argument("--pretrained", default=None,
                       help="a pretrain-mlm / pretrain-clm run folder or a .keras file (default: a quick built-in "
                            "masked-LM pretraining first)")
    start.add_argument("--tokenizer", default=None,
                       help="tokenizer folder of --pretrained (default: tokenizer/ next to the model)")
    start.add_argument("--from-scratch", action="store_true",
                       help="no pretraining at all: random weights (the baseline that shows what pretraining adds)")
    start.add_argument("--pretrain-steps", type=int, default=300,
                       help="steps of the quick built-in masked-LM pretraining (default: 300)")
    start.add_argument("--preset", default="tiny", help="model preset (or an LLMConfig .json file) of the built-in start (default: tiny)")
    start.add_argument("--vocab-size", type=int, default=1000,
                       help="tokenizer size of the built-in start (default: 1000)")

    data = parser.add_argument_group("data")
    data.add_argument("--language", choices=LANGUAGES, default="en",
                      help="which shipped labelled set to use when --train/--eval are not given (default: en)")
    data.add_argument("--train", default=None, help="your training file (default: the shipped set)")
    data.add_argument("--eval", default=None, help="your evaluation file (default: the shipped dev set)")
    if labels is not None:
        data.add_argument("--labels", default=",".join(labels),
                          help=f"comma-separated label names, in index order (default: {','.join(labels)})")
    data.add_argument("--seq-len", type=int, default=seq_len, help=f"tokens per example (default: {seq_len})")

    length = parser.add_argument_group("training")
    length.add_argument("--epochs", type=int, default=epochs, help=f"passes over the training set (default: {epochs})")
    length.add_argument("--steps", type=int, default=None,
                        help="train about this many steps instead of --epochs (rounded up to whole epochs)")
    length.add_argument("--batch-size", type=int, default=batch_size, help=f"examples per step (default: {batch_size})")
    length.add_argument("--learning-rate", type=float, default=learning_rate,
                        help=f"peak learning rate (default: {learning_rate})")
    length.add_argument("--warmup-fraction", type=float, default=0.1,
                        help="share of the steps spent warming up (default: 0.1)")
    length.add_argument("--weight-decay", type=float, default=0.01, help="AdamW decay on 2-D weights (default: 0.01)")
    length.add_argument("--dropout", type=float, default=0.1, help="dropout of the built-in start (default: 0.1)")
    return add_run_args(parser)


def check_args(args):
    """Raise SystemExit with a clear message for options that cannot work."""
    for name in ("epochs", "batch_size", "seq_len"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if args.steps is not None and args.steps < 1:
        raise SystemExit(f"--steps must be at least 1, got {args.steps}.")
    if args.learning_rate <= 0:
        raise SystemExit(f"--learning-rate must be > 0, got {args.learning_rate}.")
    if not 0 <= args.warmup_fraction < 1:
        raise SystemExit(f"--warmup-fraction must be in [0, 1), got {args.warmup_fraction}.")
    if args.pretrained and args.from_scratch:
        raise SystemExit("--pretrained and --from-scratch exclude each other: pick one start.")
    if args.tokenizer and not args.pretrained:
        raise SystemExit("--tokenizer goes with --pretrained (the built-in start trains its own).")


def data_files(args, task):
    """(train file, eval file): the user's, or the shipped set of --language."""
    from zoo.finetune.datasets import dataset_path

    if (args.train is None) != (args.eval is None):
        raise SystemExit("Give both --train and --eval (your own files), or neither (the shipped set).")
    if args.train is not None:
        return args.train, args.eval
    return dataset_path(task, args.language, "train"), dataset_path(task, args.language, "dev")


def starting_point(args, task_texts, verbose=True):
    """(backbone, tokenizer, info) from --pretrained, --from-scratch or the quick built-in pretraining."""
    from zoo.finetune.pretrained import from_scratch, load_pretrained, quick_pretrained

    try:
        if args.pretrained:
            backbone, tokenizer, info = load_pretrained(args.pretrained, args.tokenizer)
            if args.seq_len > backbone.llm_config.max_length:
                raise ValueError(f"--seq-len {args.seq_len} is longer than the pretrained model's "
                                 f"max_length {backbone.llm_config.max_length}.")
            return backbone, tokenizer, info
        options = dict(preset=args.preset, seq_len=args.seq_len, vocab_size=args.vocab_size, seed=args.seed,
                       dropout=args.dropout)
        if args.from_scratch:
            return from_scratch(task_texts, **options)
        return quick_pretrained(task_texts, steps=args.pretrain_steps, verbose=args.verbose if verbose else 0,
                                **options)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(str(err)) from None


def schedule(args, train_count):
    """(epochs, steps per epoch, total steps): full batches only; --steps rounds up to whole epochs."""
    if train_count < args.batch_size:
        raise SystemExit(f"{train_count} training examples are fewer than one batch of --batch-size "
                         f"{args.batch_size}: lower --batch-size.")
    per_epoch = train_count // args.batch_size
    epochs = math.ceil(args.steps / per_epoch) if args.steps is not None else args.epochs
    return epochs, per_epoch, epochs * per_epoch


def eval_batch_size(count, batch_size, limit=256):
    """One batch for a small evaluation set: a partial last batch would make TensorFlow trace the step again.

    Example:
        >>> eval_batch_size(120, 16), eval_batch_size(10_000, 16)
        (120, 16)
    """
    return count if count <= limit else batch_size


def compile_for_finetuning(model, args, total_steps, loss, metrics):
    """AdamW (decay off biases, norms and embeddings), linear warmup and decay, global-norm clipping at 1."""
    from zoo.train.optimizer import build_optimizer
    from zoo.train.schedules import WarmupDecay

    warmup = int(round(args.warmup_fraction * total_steps))
    optimizer = build_optimizer(WarmupDecay(args.learning_rate, total_steps, warmup, "linear", 0.0),
                                weight_decay=args.weight_decay, clipnorm=1.0)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


class TaskScores(keras.callbacks.Callback):
    """After every epoch, score the evaluation set with `score_fn(model)` and add `val_<name>` to the logs.

    Put it before the CSVLogger, so the scores reach history.csv.

    Example:
        >>> TaskScores(lambda model: {"accuracy": 1.0}).history
        []
    """

    def __init__(self, score_fn, print_fn=None):
        super().__init__()
        self.score_fn = score_fn
        self.print_fn = print_fn
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        scores = self.score_fn(self.model)
        self.history.append(scores)
        if logs is not None:
            for name, value in scores.items():
                if name != "count":
                    logs[f"val_{name}"] = float(value)
        if self.print_fn:
            self.print_fn(f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k != "count"))


def labels_from_args(args, default):
    """The --labels list (names in index order)."""
    labels = tuple(label.strip() for label in getattr(args, "labels", ",".join(default)).split(",") if label.strip())
    if len(labels) < 2 or len({label.lower() for label in labels}) != len(labels):
        raise SystemExit(f"--labels needs at least two distinct names, got {args.labels!r}.")
    return labels


def fit(model, x, y, validation, args, epochs, callbacks):
    """model.fit over the numpy arrays, reshuffled every epoch, full batches only; returns the Keras history.

    Every batch has the same shape, so the train step is traced once (a last partial batch
    would trace it a second time: seconds on a small CPU run). The few examples left over
    differ from epoch to epoch.
    """
    import tensorflow as tf

    count = len(next(iter(y.values())) if isinstance(y, dict) else y)
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(count, seed=args.seed, reshuffle_each_iteration=True)
    data = data.batch(args.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    val_count = len(next(iter(validation[1].values())) if isinstance(validation[1], dict) else validation[1])
    return model.fit(data, epochs=epochs, validation_data=validation, shuffle=False,
                     validation_batch_size=eval_batch_size(val_count, args.batch_size), callbacks=callbacks,
                     verbose=args.verbose)

"""The fit() loop the three fine-tuning recipes share: options, start point, optimizer, scores each epoch.

Fine-tuning follows BERT's recipe: AdamW with a small peak learning rate, linear
warmup over the first 10% of the steps and linear decay to zero, a few epochs,
and the whole network trained (backbone and new head). The task score on the
evaluation set (accuracy and macro-F1, or exact match and F1) is measured after
every epoch by `TaskScores` and lands in history.csv next to the loss.

Every function takes a `zoo.finetune.options.FinetuneOptions`.

Example:
    >>> from zoo.finetune.options import FinetuneOptions
    >>> options = FinetuneOptions(seq_len=64, epochs=8)
    >>> data_files(options, "sentiment")[0].name
    'sentiment_en_train.csv'
"""

import math

import keras

from zoo.errors import UsageError


def data_files(options, task):
    """(train file, eval file): the user's, or the shipped set of --language."""
    from zoo.finetune.datasets import dataset_path

    if (options.train is None) != (options.eval is None):
        raise UsageError("Give both --train and --eval (your own files), or neither (the shipped set).")
    if options.train is not None:
        return options.train, options.eval
    return dataset_path(task, options.language, "train"), dataset_path(task, options.language, "dev")


def starting_point(options, task_texts, verbose=True):
    """(backbone, tokenizer, info) from --pretrained, --from-scratch or the quick built-in pretraining."""
    from zoo.finetune.pretrained import from_scratch, load_pretrained, quick_pretrained

    try:
        if options.pretrained:
            backbone, tokenizer, info = load_pretrained(options.pretrained, options.tokenizer)
            if options.seq_len > backbone.llm_config.max_length:
                raise ValueError(
                    f"--seq-len {options.seq_len} is longer than the pretrained model's "
                    f"max_length {backbone.llm_config.max_length}."
                )
            return backbone, tokenizer, info
        sizes = dict(
            preset=options.preset,
            seq_len=options.seq_len,
            vocab_size=options.vocab_size,
            seed=options.seed,
            dropout=options.dropout,
        )
        if options.from_scratch:
            return from_scratch(task_texts, **sizes)
        return quick_pretrained(
            task_texts, steps=options.pretrain_steps, verbose=options.verbose if verbose else 0, **sizes
        )
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None


def schedule(options, train_count):
    """(epochs, steps per epoch, total steps): full batches only; --steps rounds up to whole epochs."""
    if train_count < options.batch_size:
        raise UsageError(
            f"{train_count} training examples are fewer than one batch of --batch-size "
            f"{options.batch_size}: lower --batch-size."
        )
    per_epoch = train_count // options.batch_size
    epochs = math.ceil(options.steps / per_epoch) if options.steps is not None else options.epochs
    return epochs, per_epoch, epochs * per_epoch


def eval_batch_size(count, batch_size, limit=256):
    """One batch for a small evaluation set: a partial last batch would make TensorFlow trace the step again.

    Example:
        >>> eval_batch_size(120, 16), eval_batch_size(10_000, 16)
        (120, 16)
    """
    return count if count <= limit else batch_size


def compile_for_finetuning(model, options, total_steps, loss, metrics):
    """AdamW (decay off biases, norms and embeddings), linear warmup and decay, global-norm clipping at 1."""
    from zoo.train.optimizer import build_optimizer
    from zoo.train.schedules import WarmupDecay

    warmup = int(round(options.warmup_fraction * total_steps))
    optimizer = build_optimizer(
        WarmupDecay(options.learning_rate, total_steps, warmup, "linear", 0.0),
        weight_decay=options.weight_decay,
        clipnorm=1.0,
    )
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


def label_names(options, default):
    """The --labels names in index order (`default` when none were given)."""
    labels = tuple(label.strip() for label in (options.labels or ",".join(default)).split(",") if label.strip())
    if len(labels) < 2 or len({label.lower() for label in labels}) != len(labels):
        raise UsageError(f"--labels needs at least two distinct names, got {options.labels!r}.")
    return labels


def fit(model, x, y, validation, options, epochs, callbacks):
    """model.fit over the numpy arrays, reshuffled every epoch, full batches only; returns the Keras history.

    Every batch has the same shape, so the train step is traced once (a last partial batch
    would trace it a second time: seconds on a small CPU run). The few examples left over
    differ from epoch to epoch.
    """
    import tensorflow as tf

    from zoo.train.memory_check import check_model_fits

    # A batch that cannot fit stops here, not in an out-of-memory kill minutes later.
    check_model_fits(model, options.batch_size, options.seq_len, kind="masked")
    count = len(next(iter(y.values())) if isinstance(y, dict) else y)
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(count, seed=options.seed, reshuffle_each_iteration=True)
    data = data.batch(options.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    val_count = len(next(iter(validation[1].values())) if isinstance(validation[1], dict) else validation[1])
    return model.fit(
        data,
        epochs=epochs,
        validation_data=validation,
        shuffle=False,
        validation_batch_size=eval_batch_size(val_count, options.batch_size),
        callbacks=callbacks,
        verbose=options.verbose,
    )

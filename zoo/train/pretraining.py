"""Pretraining a zoo LLM with model.fit: the options, the model, the callbacks and the resumable fit loop.

`TrainingOptions` holds every technique of the tutorial as a field (accumulation,
precision, remat, warmup + decay, AdamW, clipping, memory budget, checkpoints);
`add_training_args` puts them on a recipe's command line and
`TrainingOptions.from_args` reads them back. `pretrain_causal_lm` is the whole
causal-LM run (data -> model -> fit -> report) that `zoo pretrain-clm` and `zoo run`
share; the masked-LM recipe reuses the pieces (`build_model`, `check_fits`,
`standard_callbacks`, `fit_from`).

Example:
    >>> options = TrainingOptions(steps=20, eval_every=10)
    >>> options.check()
    >>> schedule_steps(options.steps, options.epochs, options.eval_every, batches_per_pass=40)
    (20, 10)
"""

import dataclasses
import math
import time
import warnings

from zoo.data.corpus import DEFAULT_DATA
from zoo.errors import UsageError
from zoo.options import fraction, non_negative_int, positive_float, positive_int, sequence_length

DECAYS = ("cosine", "linear", "constant")  # those of zoo.train.schedules, listed here so --help needs no Keras
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # those of zoo.train.precision


@dataclasses.dataclass
class TrainingOptions:
    """Every option of a pretraining run; the defaults are those of `zoo pretrain-clm`."""

    data: str = DEFAULT_DATA
    preset: str = "tiny"
    seq_len: int = 64
    dropout: float | None = None
    validation_fraction: float = 0.1
    attention: dict = dataclasses.field(default_factory=dict)  # LLMConfig overrides (zoo.llm.attention.args)
    steps: int = 300
    epochs: float | None = None
    batch_size: int = 16
    eval_every: int = 50
    learning_rate: float = 3e-3
    min_learning_rate: float | None = None
    warmup_steps: int = 30
    decay: str = "cosine"
    weight_decay: float = 0.1
    decay_embeddings: bool = False
    clipnorm: float = 1.0
    accum_steps: int = 1
    precision: str = "float32"
    remat: bool = False
    jit_compile: str = "auto"  # "on", "off", or "auto" (zoo.train.xla_choice)
    max_memory: str | None = None
    checkpoint_every: int | None = None
    resume: str | None = None
    sample_tokens: int = 24
    prompt: list | None = None  # sample prompts; None = openings of the validation documents
    seed: int = 0
    verbose: int = 1

    @classmethod
    def from_args(cls, args):
        """The options of a parsed command line (fields it does not have keep their defaults)."""
        from zoo.llm.attention.args import attention_overrides

        given = vars(args)
        values = {f.name: given[f.name] for f in dataclasses.fields(cls) if f.name in given and f.name != "attention"}
        return cls(**values, attention=attention_overrides(args))

    def check(self):
        """Raise UsageError for options that cannot work together."""
        from zoo.train.accumulation import check_accum_steps

        try:
            check_accum_steps(self.accum_steps)
        except ValueError as err:
            raise UsageError(str(err)) from None
        for name in ("steps", "batch_size", "seq_len", "eval_every"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}.")
        if self.seq_len < 2:
            raise UsageError("--seq-len must be at least 2.")
        if self.epochs is not None and not self.epochs > 0:
            raise UsageError(f"--epochs must be > 0, got {self.epochs}.")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise UsageError(f"--checkpoint-every must be at least 1, got {self.checkpoint_every}.")
        if self.learning_rate <= 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}.")
        from zoo.llm.models.factory import preset_config

        preset_config(self.preset)  # an unknown preset or a bad .json file fails before any data is read
        if self.max_memory:
            from zoo.train.memory_check import parse_memory

            try:
                parse_memory(self.max_memory)
            except ValueError as err:
                raise UsageError(str(err)) from None


def add_training_args(
    parser, preset="tiny", steps=300, batch_size=16, seq_len=64, learning_rate=3e-3, eval_every=50, warmup_steps=30
):
    """Put the fields of TrainingOptions on a command line (precision, TensorBoard and the strategy come from
    the recipe runner)."""
    from zoo.llm.attention.args import add_attention_args

    data = parser.add_argument_group("data and model")
    data.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help=f"corpus folder from `zoo data prepare` (default: {DEFAULT_DATA}, prepared on first use)",
    )
    data.add_argument(
        "--preset",
        default=preset,
        help=f"model preset or LLMConfig .json file, vocabulary set to the tokenizer's (default: {preset})",
    )
    data.add_argument(
        "--seq-len", type=sequence_length, default=seq_len, help=f"tokens per training window (default: {seq_len})"
    )
    data.add_argument("--dropout", type=float, default=None, help="override the preset's dropout rate")
    data.add_argument(
        "--validation-fraction",
        type=fraction,
        default=0.1,
        help="share of documents held out for validation (default: 0.1)",
    )

    length = parser.add_argument_group("length of training")
    length.add_argument(
        "--steps", type=positive_int, default=steps, help=f"fit steps (micro-batches) to train (default: {steps})"
    )
    length.add_argument(
        "--epochs",
        type=positive_float,
        default=None,
        help="passes over the training split instead of --steps (may be fractional)",
    )
    length.add_argument(
        "--batch-size",
        type=positive_int,
        default=batch_size,
        help=f"sequences per fit step (the micro-batch; default: {batch_size})",
    )
    length.add_argument(
        "--eval-every",
        type=positive_int,
        default=eval_every,
        help=f"validate, log and sample every N steps (default: {eval_every})",
    )

    optim = parser.add_argument_group("optimization")
    optim.add_argument(
        "--learning-rate",
        type=positive_float,
        default=learning_rate,
        help=f"peak learning rate (default: {learning_rate})",
    )
    optim.add_argument(
        "--min-learning-rate",
        type=float,
        default=None,
        help="learning rate at the end of the decay (default: peak / 10)",
    )
    optim.add_argument(
        "--warmup-steps",
        "--warmup",
        dest="warmup_steps",
        type=non_negative_int,
        default=warmup_steps,
        help=f"linear warmup steps (default: {warmup_steps})",
    )
    optim.add_argument("--decay", choices=DECAYS, default="cosine", help="decay after warmup (default: cosine)")
    optim.add_argument(
        "--weight-decay", type=float, default=0.1, help="AdamW weight decay on 2-D weights (default: 0.1)"
    )
    optim.add_argument("--decay-embeddings", action="store_true", help="also decay the embedding tables")
    optim.add_argument("--clipnorm", type=float, default=1.0, help="global gradient norm limit, 0 = off (default: 1.0)")
    optim.add_argument(
        "--accum-steps",
        type=int,
        default=1,
        help="gradient accumulation: micro-batches per optimizer update (default: 1 = off)",
    )
    optim.add_argument("--remat", action="store_true", help="gradient checkpointing per transformer block")
    optim.add_argument(
        "--jit-compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="train with XLA: auto measures both on a CPU for runs of 100+ steps, Keras decides elsewhere "
        "(default: auto)",
    )
    optim.add_argument(
        "--max-memory", default=None, help="memory budget such as 2GiB: fail before training if the estimate is larger"
    )

    hygiene = parser.add_argument_group("checkpoints and samples")
    hygiene.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=None,
        help="save weights + optimizer every N steps (default: --eval-every)",
    )
    hygiene.add_argument("--resume", default=None, help="a run folder (or its checkpoints/) to continue from")
    hygiene.add_argument(
        "--sample-tokens", type=non_negative_int, default=24, help="tokens per sample generation (default: 24)"
    )
    add_attention_args(parser)
    return parser


def model_config(options, vocab_size):
    """The LLMConfig of the preset, sized to the tokenizer and the sequence length."""
    from zoo.llm.models.factory import preset_config

    base = preset_config(options.preset)  # a preset name or an LLMConfig .json file
    overrides = {"vocab_size": int(vocab_size), "max_length": max(base.max_length, options.seq_len)}
    if options.dropout is not None:
        overrides["dropout"] = options.dropout
    # Only the attention options given on the command line; the preset keeps the rest.
    overrides.update(options.attention)
    try:
        return base.replace(**overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None


def schedule_steps(steps, epochs, eval_every, batches_per_pass):
    """Total fit steps (rounded up to whole `eval_every` intervals) and the steps per interval.

    `epochs` (passes over the training split, may be fractional) replaces `steps` when given.
    """
    steps = math.ceil(epochs * batches_per_pass) if epochs is not None else steps
    eval_every = min(eval_every, steps)
    intervals = math.ceil(steps / eval_every)
    return intervals * eval_every, eval_every


def read_resume_state(options):
    """Check the global batch against the replicas and read the checkpoint to resume (or None)."""
    import tensorflow as tf

    from zoo.train.accumulation import check_global_batch
    from zoo.train.checkpoints import read_checkpoint

    try:
        check_global_batch(options.batch_size, tf.distribute.get_strategy().num_replicas_in_sync)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if not options.resume:
        return None
    state = read_checkpoint(options.resume)
    if state is None:
        raise UsageError(f"--resume {options.resume}: no checkpoint there (looked for checkpoints/state.json).")
    return state


def build_model(options, config, total_steps, kind="causal", loss="auto"):
    """Build and compile a zoo LLM of `kind` with the options' precision, remat and optimizer."""
    from zoo.llm import build_llm
    from zoo.train.optimizer import build_optimizer
    from zoo.train.precision import precision_scope, wrap_optimizer
    from zoo.train.remat import enable_remat
    from zoo.train.schedules import WarmupDecay, check_schedule

    peak = options.learning_rate
    floor = peak / 10 if options.min_learning_rate is None else options.min_learning_rate
    warmup = min(options.warmup_steps, total_steps)
    try:
        check_schedule(peak, total_steps, warmup, options.decay, floor)
    except ValueError as err:
        raise UsageError(str(err)) from None
    with precision_scope(options.precision):
        model = build_llm(kind, config=config, compile=False, dtype=options.precision)
    if options.remat:
        enable_remat(model)
        if config.dropout > 0:
            print(f"note: --remat with dropout {config.dropout}: the recomputed forward draws new dropout masks")
    optimizer = build_optimizer(
        WarmupDecay(peak, total_steps, warmup, options.decay, floor),
        weight_decay=options.weight_decay,
        clipnorm=options.clipnorm,
        accum_steps=options.accum_steps,
        decay_embeddings=options.decay_embeddings,
    )
    from zoo.train.xla_choice import choose_jit_compile

    jit = choose_jit_compile(model, options.batch_size, options.seq_len, options.jit_compile, steps=total_steps)
    model.compile(optimizer=wrap_optimizer(optimizer, options.precision), loss=loss, jit_compile=jit)
    return model


def check_fits(options, config, state, kind="causal"):
    """Refuse a checkpoint of another architecture and a batch over --max-memory (or, without it, over the
    memory this machine has free), before any training."""
    from zoo.train.checkpoints import check_resumable
    from zoo.train.memory_check import check_available_memory, check_memory

    if state is not None:
        try:
            check_resumable(state, config.get_config(), kind)
        except ValueError as err:
            raise UsageError(str(err)) from None
    if options.max_memory:
        try:
            memory = check_memory(
                config,
                options.batch_size,
                options.seq_len,
                options.max_memory,
                options.precision,
                options.remat,
                options.accum_steps,
                kind,
            )
        except ValueError as err:  # MemoryBudgetError is a ValueError, as is a malformed budget
            raise UsageError(str(err)) from None
        print(f"memory estimate: {memory['total'] / 2**20:.1f} MiB, within --max-memory {options.max_memory}")
    else:
        # No budget given: the machine's free memory is the budget, so a run that cannot fit stops
        # here instead of minutes later in a ResourceExhaustedError or the kernel's OOM killer.
        try:
            check_available_memory(
                config,
                options.batch_size,
                options.seq_len,
                options.precision,
                options.remat,
                options.accum_steps,
                kind,
            )
        except ValueError as err:
            raise UsageError(str(err)) from None


def resume_settings(options, total_steps, train_windows, **extra):
    """The options that fix the data position and the schedule of each step; a resume must keep them.

    `train_windows` (the number of training windows) stands for the corpus: another corpus or
    validation split changes it.
    """
    names = (
        "batch_size",
        "seq_len",
        "seed",
        "validation_fraction",
        "accum_steps",
        "learning_rate",
        "min_learning_rate",
        "warmup_steps",
        "decay",
        "weight_decay",
        "clipnorm",
        "precision",
    )
    return {
        **{name: getattr(options, name) for name in names},
        "total_steps": int(total_steps),
        "train_windows": int(train_windows),
        **extra,
    }


def check_same_settings(state, settings):
    """Refuse (UsageError) a resume whose data position or schedule would differ from the checkpoint's run."""
    from zoo.train.checkpoints import check_settings

    if state is not None:
        try:
            check_settings(state, settings)
        except ValueError as err:
            raise UsageError(str(err)) from None


def divergence_hint(options):
    """What to change after a NaN loss, from the options the run used."""
    hint = f"lower --learning-rate (now {options.learning_rate:g})"
    if not options.clipnorm:
        hint += ", enable --clipnorm 1.0"
    if options.warmup_steps < 10:
        hint += ", use more --warmup-steps"
    if options.precision == "mixed_float16":
        hint += ", or train in --precision mixed_bfloat16"
    return hint + "; resume from the checkpoint with --resume, or start anew"


def standard_callbacks(run, options, config, eval_every, start_step, tokens_per_step, kind="causal", settings=None):
    """NaN guard, LR/throughput/perplexity log, checkpoints, then the run folder's own (CSV history, TensorBoard)."""
    from zoo.train.callbacks import StopOnDivergence, TrainingLog
    from zoo.train.checkpoints import StepCheckpoint

    checkpoint = StepCheckpoint(
        run.file("checkpoints"),
        options.checkpoint_every or eval_every,
        config.get_config(),
        start_step=start_step,
        kind=kind,
        settings=settings,
    )
    return [
        # First: a NaN step raises before any other callback (checkpoint, samples, CSV) sees it.
        StopOnDivergence(start_step, hint=divergence_hint(options), checkpoint=checkpoint),
        TrainingLog(tokens_per_step),
        checkpoint,
        *run.callbacks(divergence_guard=False),
    ]


def fit_from(model, stream, validation, start_step, total_steps, eval_every, callbacks, verbose):
    """fit() from `start_step` to `total_steps`, validating every `eval_every` steps; (history dict, seconds).

    `stream` is an endless dataset whose order is fixed by the seed, so `stream.skip(step)` continues
    exactly where a killed run stopped.
    """
    from zoo.data.corpus import known_length
    from zoo.runs import merge_histories

    validation = known_length(validation)  # else Keras counts one empty batch into val_loss (see known_length)
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
        histories.append(
            model.fit(
                stream.skip(step),
                steps_per_epoch=rest,
                initial_epoch=epoch,
                epochs=epoch + 1,
                validation_data=validation,
                callbacks=callbacks,
                verbose=verbose,
            )
        )
        step += rest
    if step < total_steps:
        histories.append(
            model.fit(
                stream.skip(step),
                steps_per_epoch=eval_every,
                initial_epoch=step // eval_every,
                epochs=total_steps // eval_every,
                validation_data=validation,
                callbacks=callbacks,
                verbose=verbose,
            )
        )
    seconds = time.perf_counter() - started
    history = merge_histories(*histories)
    if model.stop_training and not history.get("val_loss"):
        raise UsageError("Training stopped before the first validation (a NaN loss?): lower --learning-rate.")
    return history, seconds


def distribution_report(sharded):
    """The backend and, under keras.distribution, its mesh and sharded weights: for results.json."""
    import keras

    report = {"backend": keras.backend.backend()}
    if report["backend"] == "jax" and keras.distribution.distribution() is not None:
        from zoo.parallel.model_parallel import mesh_shape

        distribution = keras.distribution.distribution()
        report["mesh"] = list(mesh_shape(distribution))
        report["sharded_weights"] = sorted(sharded)
    return report


def pretrain_causal_lm(options, run, extra_callbacks=(), title="pretrain-clm"):
    """Pretrain, validate and save a causal LM into `run` (a zoo.recipe run); returns the results dict.

    The returned dict also holds the trained "model" and its "tokenizer" (not in results.json).
    """
    from zoo.data.corpus import as_model_inputs, clm_splits, ensure_corpus, training_stream, training_windows
    from zoo.data.pipelines import split_documents
    from zoo.data.prompts import resolve_prompts
    from zoo.data.tokenizer import save_tokenizer
    from zoo.parallel.distribution import describe_layout
    from zoo.pictures.run_pictures import draw_training_pictures
    from zoo.train.baseline import unigram_entropy
    from zoo.train.callbacks import SampleGenerations
    from zoo.train.checkpoints import restore
    from zoo.train.report import plot_training

    # Data: windows of the corpus, split by document; the training order is a seeded stream.
    options.check()
    state = read_resume_state(options)
    folder = ensure_corpus(options.data)
    train_ds, val_ds, tokenizer = clm_splits(
        folder, options.seq_len, options.batch_size, options.validation_fraction, options.seed
    )
    config = model_config(options, tokenizer.vocabulary_size())
    check_fits(options, config, state)
    train_x, train_y = training_windows(train_ds)
    batches_per_pass = len(train_x) // options.batch_size
    total_steps, eval_every = schedule_steps(options.steps, options.epochs, options.eval_every, batches_per_pass)
    start_step = 0 if state is None else int(state["step"])
    if start_step >= total_steps:
        raise UsageError(f"--resume: the checkpoint is at step {start_step}, this run ends at step {total_steps}.")
    settings = resume_settings(options, total_steps, len(train_x))
    check_same_settings(state, settings)

    # Model: the preset sized to the tokenizer, compiled with the schedule, AdamW and the precision policy.
    model = build_model(options, config, total_steps)
    sharded = describe_layout(model)  # on JAX with --distribution: which weights the mesh cuts
    if state is not None:
        restore(model, state)
        print(f"resumed from {state['folder']} at step {start_step}")

    # Fit: validate, sample and checkpoint every eval_every steps.
    run.note(tokenizer="tokenizer", llm_config=config.get_config(), total_steps=total_steps)
    save_tokenizer(tokenizer, run.file("tokenizer"))
    draw_training_pictures(run, config, options.batch_size, options.seq_len, options.precision)
    # Prompts from the validation documents (or --prompt): in the corpus's language, on text not trained on.
    prompts = resolve_prompts(
        options.prompt, split_documents(folder, options.validation_fraction, seed=options.seed)[1], seed=options.seed
    )
    sampler = SampleGenerations(
        tokenizer,
        prompts,
        path=run.file("samples.txt"),
        max_new_tokens=options.sample_tokens,
        seed=options.seed,
        print_fn=print if options.verbose else (lambda *_: None),
        summaries=run.summaries,
    )
    callbacks = [
        sampler,
        *standard_callbacks(
            run, options, config, eval_every, start_step, options.batch_size * options.seq_len, settings=settings
        ),
        *extra_callbacks,
    ]
    print(
        f"training {model.count_params():,} parameters for {total_steps} steps "
        f"({total_steps / batches_per_pass:.1f} passes over {batches_per_pass} batches), "
        f"global batch {options.batch_size * options.accum_steps} x {options.seq_len} tokens, {options.precision}"
        f"{', remat' if options.remat else ''}"
    )
    stream = training_stream(train_x, train_y, options.batch_size, options.seed)
    history, train_seconds = fit_from(
        model, stream, as_model_inputs(val_ds), start_step, total_steps, eval_every, callbacks, options.verbose
    )

    # Report: validation loss against the unigram baseline, throughput and the samples.
    plot_training(history, run.file("training.png"), eval_every, title=f"{title} ({options.preset})")
    entropy = unigram_entropy(train_y.ravel())
    results = {
        "val_loss": float(history["val_loss"][-1]),
        "val_perplexity": float(math.exp(min(history["val_loss"][-1], 50.0))),
        "train_loss": float(history["loss"][-1]),
        "unigram_entropy": float(entropy),
        "beats_unigram_by": float(entropy - history["val_loss"][-1]),
        "steps": int(total_steps),
        "resumed_from_step": int(start_step),
        "steps_run": int(total_steps - start_step),  # by this process: train_seconds is their time
        "train_seconds": float(train_seconds),
        "tokens_per_second": float(history["tokens_per_second"][-1]),
        "params": int(model.count_params()),
        **distribution_report(sharded),
        "samples": [{"step": epoch * eval_every, "prompt": p, "text": t} for epoch, p, t in sampler.samples],
        "prompts": prompts,
    }
    results = run.finish(model, history, results, plot_title=f"{title} ({options.preset})")
    return {**results, "model": model, "tokenizer": tokenizer}

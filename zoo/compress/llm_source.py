"""The causal LM a compression recipe starts from: a run folder or `.keras` file, or a preset trained now.

`zoo compress quantize-llm`, `distill` and `lora` all need a float LM and a corpus
folder's text in that LM's token ids. `add_lm_args` puts the shared options on their
command line. `--from` is a run folder (pretrain-clm, or `zoo import` of a GPT-2 or
Llama-family checkpoint) or its model.keras: `source_tokenizer` picks the tokenizer the
run was trained with when it differs from the corpus's, so the corpus text is tokenized
the model's way; `load_or_train` loads the model (checking it against that tokenizer)
or trains `--preset` for `--steps` steps on seeded, shuffled windows.

Example:
    >>> from zoo.data.corpus import corpus_windows
    >>> own, origin = source_tokenizer("runs/smollm", "data/corpus-builtin")            # doctest: +SKIP
    >>> train, val, tokenizer = corpus_windows("data/corpus-builtin", 64, tokenizer=own)  # doctest: +SKIP
    >>> model, _ = load_or_train("runs/smollm", train, tokenizer, tokenizer_origin=origin)  # doctest: +SKIP
"""

import os

from zoo.data.corpus import DEFAULT_DATA
from zoo.errors import UsageError
from zoo.options import non_negative_int, positive_float, positive_int, sequence_length


def add_lm_args(parser, preset="small", steps=300, batch_size=16, seq_len=64, learning_rate=3e-3):
    """Options shared by the LLM compression recipes: corpus, model to start from, its training."""
    group = parser.add_argument_group("corpus and model")
    group.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help=f"corpus folder from `zoo data prepare` (default: {DEFAULT_DATA}, prepared on first use)",
    )
    group.add_argument(
        "--from",
        "--model",
        dest="model",
        default=None,
        metavar="RUN",
        help="a causal LM to start from: a run folder (pretrain-clm, `zoo import`) or a .keras file; "
        "the corpus is tokenized with the run's tokenizer/ when it has one (default: train one "
        "first)",
    )
    group.add_argument("--preset", default=preset, help=f"preset to train when no --from is given (default: {preset})")
    group.add_argument(
        "--steps", type=positive_int, default=steps, help=f"training steps of that model (default: {steps})"
    )
    group.add_argument(
        "--batch-size", type=positive_int, default=batch_size, help=f"sequences per step (default: {batch_size})"
    )
    group.add_argument(
        "--seq-len", type=sequence_length, default=seq_len, help=f"tokens per window (default: {seq_len})"
    )
    group.add_argument(
        "--learning-rate",
        type=positive_float,
        default=learning_rate,
        help=f"AdamW learning rate (default: {learning_rate})",
    )
    group.add_argument(
        "--eval-windows",
        type=non_negative_int,
        default=128,
        help="held-out windows for perplexity (default: 128; 0 = all)",
    )
    return parser


def check_lm_source(model_path, seq_len):
    """Raise UsageError for a window too short or a --from that is neither a run folder nor a model file."""
    from zoo.runs import find_run

    if seq_len < 2:
        raise UsageError("--seq-len must be at least 2.")
    if model_path is None:
        return
    if (
        os.path.isdir(model_path)
        and not os.path.isfile(os.path.join(model_path, "model.keras"))
        and os.path.isfile(os.path.join(model_path, "config.json"))
    ):
        raise UsageError(
            f"--from {model_path} is a checkpoint folder, not a run folder; turn it into one with "
            f"`zoo import {model_path} --out runs/<name>` and give --from runs/<name>."
        )
    try:
        find_run(model_path)
    except FileNotFoundError as err:
        raise UsageError(f"--from: {err}") from None


def _tokenizer_files(folder):
    """{relative path: bytes} of every file in a tokenizer folder."""
    from pathlib import Path

    folder = Path(folder)
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def source_tokenizer(model_path, data, log=print):
    """(tokenizer, where from) of the run `model_path` when its tokenizer differs from the corpus's; else (None, None).

    A pretrain-clm run on this corpus keeps a copy of the corpus's tokenizer: (None, None), the corpus's
    own is used as before (a copy whose files differ only in their bytes gives the same ids either way).
    An imported checkpoint (or a run on another corpus) brings its own: the corpus text is tokenized with
    that one, its special ids (end of document, start) included. A bare .keras without tokenizer/ beside
    it gets the corpus's, as before.
    """
    from pathlib import Path

    from zoo.data.corpus import ensure_corpus
    from zoo.data.tokenizer import load_tokenizer
    from zoo.runs import find_run

    if model_path is None:
        return None, None
    files = find_run(model_path)
    if files.tokenizer_dir is None:
        return None, None
    corpus_tokenizer = Path(ensure_corpus(data)) / "tokenizer"
    if corpus_tokenizer.is_dir() and _tokenizer_files(corpus_tokenizer) == _tokenizer_files(files.tokenizer_dir):
        return None, None
    try:
        tokenizer = load_tokenizer(files.tokenizer_dir)
    except (ValueError, OSError) as err:
        raise UsageError(
            f"--from {model_path}: its tokenizer at {files.tokenizer_dir} does not load ({err})."
        ) from None
    log(f"tokenizing {data} with the tokenizer of --from ({files.tokenizer_dir}), not the corpus's own")
    return tokenizer, str(files.tokenizer_dir)


def lm_config(preset, vocab_size, seq_len, **overrides):
    """A preset's LLMConfig sized to the tokenizer and the window length."""
    from zoo.llm.models.factory import resolve_config

    base = resolve_config(preset)
    try:
        return base.replace(vocab_size=int(vocab_size), max_length=max(base.max_length, seq_len), **overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None


def train_lm(config, train, steps, batch_size=16, learning_rate=3e-3, seed=0, verbose=1, callbacks=()):
    """Build a causal LM from `config` and train it for `steps` steps on (x, y) windows; (model, history)."""
    from zoo.llm import build_llm

    model = build_llm("causal", config=config, learning_rate=learning_rate)
    history = fit_steps(model, train, steps, batch_size, seed, verbose, callbacks)
    return model, history


def fit_steps(model, train, steps, batch_size=16, seed=0, verbose=1, callbacks=()):
    """fit() a compiled model (or Distiller) for `steps` shuffled batches of (x, y) windows, as one epoch."""
    import warnings

    from zoo.data.corpus import training_stream
    from zoo.train.memory_check import check_model_fits

    check_model_fits(model, batch_size, train[0].shape[1])  # stop now, not in an out-of-memory kill later
    # The stream is endless and shuffled by its own seed; Keras' note about shuffle=True is noise here.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    stream = training_stream(train[0], train[1], batch_size, seed)
    return model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=verbose, callbacks=list(callbacks))


def check_vocabulary(model, tokenizer, model_path, tokenizer_origin=None, data=DEFAULT_DATA):
    """Raise UsageError unless every id `tokenizer` gives has its row in the model's embedding.

    zoo's own tokenizers must match the embedding exactly (they were trained together); a checkpoint's
    may be smaller (Qwen2 pads its embedding to a round size). `tokenizer_origin` is the run's tokenizer
    folder, or None for the corpus's tokenizer.
    """
    from zoo.data.tokenizer import tokenizer_kind

    vocab, size = int(model.llm_config.vocab_size), int(tokenizer.vocabulary_size())
    try:
        tokenizer_kind(tokenizer)
        fits = size == vocab
    except TypeError:  # a checkpoint's tokenizer
        fits = size <= vocab
    if fits:
        return
    if tokenizer_origin is None:
        raise UsageError(
            f"--from {model_path} has vocab_size {vocab} but the tokenizer of {data} has {size}: give "
            "a model trained on this corpus folder, or the run folder it was trained in (with its "
            "tokenizer/)."
        )
    raise UsageError(
        f"--from {model_path} embeds {vocab} tokens but its tokenizer ({tokenizer_origin}) has {size}: "
        "they do not belong together; write the run folder again (`zoo import` or the recipe)."
    )


def load_or_train(
    model_path,
    train,
    tokenizer,
    preset="small",
    steps=300,
    batch_size=16,
    seq_len=64,
    learning_rate=3e-3,
    seed=0,
    verbose=1,
    callbacks=(),
    data=DEFAULT_DATA,
    tokenizer_origin=None,
):
    """The float32 model to compress: `model_path` loaded, or `preset` trained for `steps`; (model, history or None).

    `model_path` is a run folder or a .keras file; `tokenizer_origin` is where `tokenizer` came from when it is
    not the corpus's (`source_tokenizer`), named when it does not fit the model.
    """
    from zoo.llm import load_llm
    from zoo.runs import find_run

    if model_path:
        model = load_llm(find_run(model_path).model_file)
        if type(model).__name__ != "CausalLM":
            raise UsageError(
                f"--from {model_path} holds a {type(model).__name__}; these recipes need a causal LM "
                "(a pretrain-clm run, or `zoo import` of a GPT-2 or Llama-family checkpoint)."
            )
        check_vocabulary(model, tokenizer, model_path, tokenizer_origin, data)
        if seq_len > model.llm_config.max_length:
            raise UsageError(
                f"--seq-len {seq_len} is longer than --from {model_path} accepts "
                f"(max_length {model.llm_config.max_length}); use --seq-len {model.llm_config.max_length} "
                "or less."
            )
        return model, None
    config = lm_config(preset, tokenizer.vocabulary_size(), seq_len)
    print(f"training the {preset} preset for {steps} steps (no --from given)")
    return train_lm(config, train, steps, batch_size, learning_rate, seed, verbose, callbacks)

"""The causal LM a compression recipe starts from: a trained `.keras` file, or a preset trained now.

`zoo compress quantize-llm`, `distill` and `lora` all need a float LM on a corpus
folder's tokenizer. `add_lm_args` puts the shared options on their command line;
`load_or_train` loads `--from` (checking it matches the tokenizer) or trains
`--preset` for `--steps` steps on seeded, shuffled windows.

Example:
    >>> from zoo.data.corpus import corpus_windows
    >>> train, val, tokenizer = corpus_windows("data/corpus-builtin", seq_len=64)   # doctest: +SKIP
    >>> config = lm_config("tiny", tokenizer.vocabulary_size(), 64)                 # doctest: +SKIP
    >>> model, history = train_lm(config, train, steps=100)                         # doctest: +SKIP
"""

import os

from zoo.data.corpus import DEFAULT_DATA
from zoo.errors import UsageError
from zoo.options import non_negative_int, positive_float, positive_int


def add_lm_args(parser, preset="small", steps=300, batch_size=16, seq_len=64, learning_rate=3e-3):
    """Options shared by the LLM compression recipes: corpus, model to start from, its training."""
    group = parser.add_argument_group("corpus and model")
    group.add_argument("--data", default=DEFAULT_DATA,
                       help=f"corpus folder from `zoo data prepare` (default: {DEFAULT_DATA}, prepared on first use)")
    group.add_argument("--from", "--model", dest="model", default=None, metavar="MODEL_FILE",
                       help="a trained zoo causal LM (.keras) on this corpus's tokenizer (default: train one first)")
    group.add_argument("--preset", default=preset, help=f"preset to train when no --from is given (default: {preset})")
    group.add_argument("--steps", type=positive_int, default=steps,
                       help=f"training steps of that model (default: {steps})")
    group.add_argument("--batch-size", type=positive_int, default=batch_size,
                       help=f"sequences per step (default: {batch_size})")
    group.add_argument("--seq-len", type=positive_int, default=seq_len, help=f"tokens per window (default: {seq_len})")
    group.add_argument("--learning-rate", type=positive_float, default=learning_rate,
                       help=f"AdamW learning rate (default: {learning_rate})")
    group.add_argument("--eval-windows", type=non_negative_int, default=128,
                       help="held-out windows for perplexity (default: 128; 0 = all)")
    return parser


def check_lm_source(model_path, seq_len):
    """Raise UsageError for a window too short or a --from file that is not there."""
    if seq_len < 2:
        raise UsageError("--seq-len must be at least 2.")
    if model_path is not None and not os.path.isfile(model_path):
        raise UsageError(f"--from {model_path}: no such file; give the model.keras of a pretrain-clm run.")


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

    # The stream is endless and shuffled by its own seed; Keras' note about shuffle=True is noise here.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    stream = training_stream(train[0], train[1], batch_size, seed)
    return model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=verbose, callbacks=list(callbacks))


def load_or_train(model_path, train, tokenizer, preset="small", steps=300, batch_size=16, seq_len=64,
                  learning_rate=3e-3, seed=0, verbose=1, callbacks=(), data=DEFAULT_DATA):
    """The float32 model to compress: `model_path` loaded, or `preset` trained for `steps`; (model, history or None)."""
    from zoo.llm import load_llm

    if model_path:
        model = load_llm(model_path)
        vocab = model.llm_config.vocab_size
        if vocab != tokenizer.vocabulary_size():
            raise UsageError(f"--from {model_path} has vocab_size {vocab} but the tokenizer of {data} has "
                             f"{tokenizer.vocabulary_size()}: give a model trained on this corpus folder.")
        return model, None
    config = lm_config(preset, tokenizer.vocabulary_size(), seq_len)
    print(f"training the {preset} preset for {steps} steps (no --from given)")
    return train_lm(config, train, steps, batch_size, learning_rate, seed, verbose, callbacks)

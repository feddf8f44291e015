"""The float model a TF-MOT/TFLite technique starts from: `--from` a run or .keras file, or trained now.

`zoo compress prune`, `qat` and `ptq` share these options and helpers: the
starting model (`add_baseline_args`, `baseline`), test accuracy, and the 2:4
notation of structured sparsity.

Example:
    >>> parse_m_by_n("2:4")
    (2, 4)
    >>> model, (x, y), (x_test, y_test) = baseline("cnn", base_epochs=2)   # doctest: +SKIP
"""

from zoo.errors import UsageError
from zoo.options import positive_int


def add_baseline_args(parser, vgg=True):
    """--from, --base-epochs, --batch-size (and --vgg-weights) of a compression technique."""
    parser.add_argument(
        "--from",
        dest="source",
        default=None,
        metavar="RUN_OR_FILE",
        help="a trained model: a .keras file or a run folder holding model.keras "
        "(default: train a fresh baseline first)",
    )
    parser.add_argument(
        "--base-epochs",
        type=positive_int,
        default=None,
        help="epochs of the baseline trained when --from is not given (default: per model)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=32, help="batch size (default: 32)")
    if vgg:
        parser.add_argument(
            "--vgg-weights",
            default=None,
            metavar="WEIGHTS",
            help="vgg16 only: 'imagenet' (from the Keras cache, never downloaded) or a local no-top "
            "weights file (default: none, an untrained base)",
        )
    return parser


def baseline(model, source=None, base_epochs=None, batch_size=32, seed=0, verbose=0, vgg_weights=None):
    """(trained Keras 3 model, train, test) of `model` ("cnn", "vgg16", "lstm" or "llm"): `source` loaded, or trained.

    The LLM is a byte-level LM (trained for base_epochs x 100 steps, default 300).
    """
    from zoo.compress import workloads

    if model == "llm":
        if source:
            raise UsageError("--from is not supported for --model llm here; the recipe trains a byte-level LM.")
        return workloads.trained_lm(steps=base_epochs * 100 if base_epochs else 300, verbose=verbose)
    if source:
        if model == "lstm":
            raise UsageError("--from is not supported for --model lstm here; the recipe trains its own generator.")
        loaded = load_model_file(source)
        size, channels = (32, 3) if model == "vgg16" else (28, 1)
        train, test = workloads.digits(size=size, channels=channels)
        return loaded, train, test
    if model == "cnn":
        return workloads.trained_cnn(epochs=base_epochs or 10, batch_size=batch_size, seed=seed, verbose=verbose)
    if model == "vgg16":
        return workloads.trained_vgg16_transfer(
            epochs=base_epochs or 3, batch_size=batch_size, seed=seed, weights=vgg_weights, verbose=verbose
        )
    return workloads.trained_lstm(epochs=base_epochs or 2, seed=seed, verbose=verbose)


def load_model_file(source):
    """The Keras model of a run folder (its model.keras) or of a .keras file."""
    import keras

    import zoo.llm.models.tasks  # noqa: F401  (registers zoo's LM classes, so an LM run is named, not a traceback)
    import zoo.losses  # noqa: F401  (registers the loss zoo's models are compiled with)
    from zoo.runs import find_run
    from zoo.validation import check_keras_archive

    try:
        model_file = find_run(source).model_file
    except FileNotFoundError as err:
        raise UsageError(f"--from {source}: {err}") from None
    check_keras_archive(model_file)
    try:
        model = keras.models.load_model(model_file)
    except Exception as err:  # a zip that is no Keras model, an unknown class
        raise UsageError(f"--from {source}: could not load {model_file} ({type(err).__name__}: {err})") from None
    if getattr(model, "backbone", None) is not None or type(model).__module__.startswith("zoo.llm"):
        raise UsageError(
            f"--from {source} is a zoo language model ({type(model).__name__}); this recipe compresses the image "
            "and LSTM models. For an LM use `zoo compress quantize-llm`, `lora`, `distill` or `prune --model llm`."
        )
    return model


def accuracy(model, x, y):
    """Share of `x` whose arg-max prediction is the label (`y` as ids or one-hot)."""
    import numpy as np

    predicted = np.asarray(model.predict(x, verbose=0)).argmax(-1)
    labels = np.asarray(y)
    labels = labels.argmax(-1) if labels.ndim > 1 else labels
    return float(np.mean(predicted == labels))


def parse_m_by_n(text):
    """(m, n) of "m:n" structured sparsity (m zeros in every n weights), or None for None."""
    if text is None:
        return None
    try:
        m, n = (int(v) for v in text.split(":"))
    except ValueError:
        raise UsageError(f"--m-by-n must look like 2:4 (m zeros in every n weights), got {text!r}.") from None
    if not 0 < m < n:
        raise UsageError(f"--m-by-n needs 0 < m < n, got {text!r}.")
    return (m, n)

"""The run folder every recipe writes: `runs/<recipe>-<timestamp>/`.

It holds the config used (config.json), the training history (history.csv), a
loss/metric plot (plot.png), the trained model (model.keras) and the measured
results (results.json). Files are written to a temporary name and then renamed,
so a crash never leaves a half-written model or JSON behind, and a full disk or
read-only folder is one line naming the file (zoo.errors.EnvironmentFault).
The callbacks stop a run whose loss becomes NaN before it writes a model or
results; `finish` records the fingerprint of the run's tokenizer in config.json
so that an export can tell the model's own tokenizer from another.

Example:
    >>> import tempfile, numpy as np
    >>> from zoo import build_cnn
    >>> model, x, y = build_cnn(), np.zeros((4, 28, 28, 1), "float32"), np.arange(4)
    >>> run = RunFolder("train-cnn", {"epochs": 1}, root=tempfile.mkdtemp())
    >>> history = model.fit(x, y, epochs=1, verbose=0, callbacks=run.callbacks())
    >>> results = run.finish(model, history, {"test_accuracy": 0.98})
    run folder: ...
"""

import dataclasses
import datetime
import json
import os

from zoo.data.atomic_files import check_free_space, write_text_atomic, writing_to

# The names of a run folder's files; every reader goes through `find_run` / `read_run`.
MODEL_FILE = "model.keras"
TOKENIZER_FOLDER = "tokenizer"
CONFIG_FILE = "config.json"


def atomic_write_json(path, data):
    """Write `data` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def save_model_atomic(model, path):
    """Save a Keras model to `path` (.keras) through a temporary file, then rename."""
    if not str(path).endswith(".keras"):
        raise ValueError(f"A Keras model file must end in .keras, got {path!r}.")
    from zoo.train.checkpoints import weights_bytes

    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    with writing_to(path):
        os.makedirs(folder, exist_ok=True)
        # h5py and zipfile print pages of errors on a full disk: refuse before writing.
        check_free_space(folder, int(weights_bytes(model) * 1.05) + (1 << 20))
        try:
            model.save(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return path


def _json_default(value):
    # numpy scalars and arrays come back from Keras metrics; store them as plain numbers.
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def plot_history(history, path, title=None, steps=None):
    """Plot every metric in a Keras history (train and validation) to a PNG, one panel per metric.

    `steps`: the global training step at the end of each epoch (the TensorBoard axis); without it,
    or when it does not match the history's length, the x axis counts epochs.
    """
    import matplotlib

    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt

    logs = history.history if hasattr(history, "history") else dict(history)
    names = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    if not names:
        raise ValueError("The history has no metrics to plot; was the model trained?")
    # At most three panels a row, so a GAN's six metrics stay readable.
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.5 * rows), squeeze=False)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    rows_count = len(logs[names[0]])
    by_step = steps is not None and len(steps) == rows_count and rows_count > 0
    for ax, name in zip(axes.ravel(), names):
        x = list(steps)[: len(logs[name])] if by_step else range(1, len(logs[name]) + 1)
        ax.plot(x, logs[name], marker="o", label=f"train {name}")
        if f"val_{name}" in logs:
            ax.plot(x[: len(logs[f"val_{name}"])], logs[f"val_{name}"], marker="o", label=f"validation {name}")
        ax.set_xlabel("step" if by_step else "epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{os.path.basename(path)}")
    with writing_to(path):
        try:
            fig.savefig(tmp, dpi=100, format="png")
            os.replace(tmp, path)
        finally:
            plt.close(fig)
            if os.path.exists(tmp):
                os.remove(tmp)
    return path


class RunFolder:
    """A folder `root/<recipe>-<timestamp>/` that records one run of a recipe."""

    def __init__(self, recipe, config, root="runs"):
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = os.path.join(root, f"{recipe}-{stamp}")
        suffix = 1
        while os.path.exists(path):  # two runs in the same second get their own folders
            suffix += 1
            path = os.path.join(root, f"{recipe}-{stamp}-{suffix}")
        with writing_to(path):
            os.makedirs(path)
        self.path = path
        self.recipe = recipe
        self.config = dict(config)
        atomic_write_json(self.file(CONFIG_FILE), {"recipe": recipe, **self.config})

    def file(self, name):
        """Path of a file inside the run folder."""
        return os.path.join(self.path, name)

    def callbacks(self, history_name="history.csv", divergence_guard=True):
        """Stop at a NaN loss (first), then log every epoch to history.csv (append mode: staged training keeps
        all rows). `divergence_guard=False` leaves the guard to the caller (one that knows the global step)."""
        import keras

        from zoo.train.callbacks import StopOnDivergence

        guard = [StopOnDivergence()] if divergence_guard else []
        return [*guard, keras.callbacks.CSVLogger(self.file(history_name), append=True)]

    def save_model(self, model, name=MODEL_FILE):
        return save_model_atomic(model, self.file(name))

    def save_results(self, results, name="results.json"):
        atomic_write_json(self.file(name), results)
        return self.file(name)

    def finish(self, model, history, results, plot_title=None, steps=None):
        """Write plot.png, model.keras and results.json; return the results with the run folder added.

        `steps`: the global step at each epoch's end, so plot.png shares TensorBoard's step axis.
        A model with NaN or infinite weights, or a history whose last loss is not finite, raises
        zoo.errors.TrainingDiverged instead: a diverged run is never recorded as a result.
        """
        check_not_diverged(model, history, self.path)
        self.record_tokenizer_fingerprint()
        if history is not None:
            plot_history(history, self.file("plot.png"), title=plot_title or self.recipe, steps=steps)
        if model is not None:
            self.save_model(model)
        results = {"run_dir": self.path, **results}
        self.save_results(results)
        print(f"run folder: {self.path}")
        return results

    def record_tokenizer_fingerprint(self):
        """Add the fingerprint of the run's tokenizer folder (config "tokenizer") to config.json, once."""
        named = self.config.get("tokenizer")
        if not isinstance(named, str) or "tokenizer_fingerprint" in self.config:
            return
        folder = named if os.path.isabs(named) else self.file(named)
        from zoo.data.tokenizer_fingerprint import tokenizer_folder_fingerprint

        fingerprint = tokenizer_folder_fingerprint(folder)
        if fingerprint is not None:
            self.config["tokenizer_fingerprint"] = fingerprint
            atomic_write_json(self.file(CONFIG_FILE), {"recipe": self.recipe, **self.config})


def check_not_diverged(model, history, where):
    """Raise TrainingDiverged when the last logged losses or the model's weights are not finite.

    The backstop for fits that run without the run folder's callbacks (StopOnDivergence).
    """
    import math

    from zoo.errors import TrainingDiverged

    logs = {} if history is None else (history.history if hasattr(history, "history") else dict(history))
    for key, values in logs.items():
        if key.endswith("loss") and len(values) and not math.isfinite(float(values[-1])):
            raise TrainingDiverged(
                f"Training diverged: the last {key} is {float(values[-1])}, so no model or results were saved in "
                f"{where}. To fix: lower the learning rate (or clip gradients) and run again."
            )
    if model is not None:
        from zoo.train.checkpoints import weights_are_finite

        if not weights_are_finite(model):
            raise TrainingDiverged(
                f"Training diverged: the model has NaN or infinite weights, so no model or results were saved in "
                f"{where}. To fix: lower the learning rate (or clip gradients) and run again."
            )


@dataclasses.dataclass
class RunFiles:
    """Where one run's files are: the model, its tokenizer folder (None if it has none), its config ({} if none)."""

    model_file: str
    tokenizer_dir: str | None
    config: dict
    folder: str | None  # the run folder; None for a bare .keras file


def find_run(path, tokenizer_dir=None):
    """The files of a run folder (runs/<recipe>-<timestamp>/) or of a .keras file, without loading anything.

    The tokenizer is `tokenizer_dir` when given, else the folder config.json names, else `tokenizer/`
    beside the model; a folder counts only if it holds tokenizer.json.

    Example:
        >>> find_run("/no/such/run")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: /no/such/run does not exist. Give a run folder (runs/<recipe>-<timestamp>/, ...
    """
    path = None if path is None else str(path)
    if path is None or not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} does not exist. Give a run folder (runs/<recipe>-<timestamp>/, written by "
            "a zoo recipe) or a .keras model file."
        )
    config, folder = {}, None
    if os.path.isdir(path):
        folder = path
        model_file = os.path.join(path, MODEL_FILE)
        if not os.path.isfile(model_file):
            raise FileNotFoundError(
                f"{path} is not a run folder: it has no {MODEL_FILE} (did the run finish?). "
                "Give the folder a zoo recipe printed (run folder: runs/<recipe>-<timestamp>) "
                "or a .keras file."
            )
        if os.path.isfile(os.path.join(path, CONFIG_FILE)):
            with open(os.path.join(path, CONFIG_FILE), encoding="utf-8") as f:
                loaded = json.load(f)
            config = loaded if isinstance(loaded, dict) else {}
    else:
        model_file = path
    if tokenizer_dir is None:
        base = folder or os.path.dirname(os.path.abspath(model_file))
        candidates = [os.path.join(base, TOKENIZER_FOLDER)]
        named = config.get("tokenizer")
        if isinstance(named, str):
            candidates.insert(0, named if os.path.isabs(named) else os.path.join(base, named))
        tokenizer_dir = next((c for c in candidates if os.path.isfile(os.path.join(c, "tokenizer.json"))), None)
    return RunFiles(
        model_file=model_file,
        tokenizer_dir=None if tokenizer_dir is None else str(tokenizer_dir),
        config=config,
        folder=folder,
    )


def read_run(path, tokenizer_dir=None, compile=False, need_tokenizer=True):
    """(model, tokenizer, config) of a run folder or .keras file: the one reader of what a recipe wrote.

    Example:
        >>> model, tokenizer, config = read_run("runs/pretrain-clm-20260101-120000")  # doctest: +SKIP
        >>> config["recipe"]                                                         # doctest: +SKIP
        'pretrain-clm'
    """
    from zoo.data.tokenizer import load_tokenizer
    from zoo.llm.models.factory import load_llm

    files = find_run(path, tokenizer_dir)
    if files.tokenizer_dir is None and need_tokenizer:
        raise FileNotFoundError(
            f"No tokenizer for {files.model_file}: a language model is only usable with the "
            f"tokenizer it was trained with; give its folder (the run's {TOKENIZER_FOLDER}/)."
        )
    tokenizer = load_tokenizer(files.tokenizer_dir) if files.tokenizer_dir else None
    return load_llm(files.model_file, compile=compile), tokenizer, files.config


def write_history_csv(path, history):
    """Write a history dict ({"loss": [...], ...}) as CSV, one row per epoch, atomically; nothing for an empty one."""
    import csv
    import io

    if not history:
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = list(history)
    writer.writerow(["epoch"] + keys)
    for epoch in range(len(history[keys[0]])):
        writer.writerow([epoch] + [history[k][epoch] for k in keys])
    write_text_atomic(path, buffer.getvalue())


def merge_histories(*histories):
    """Concatenate the metrics of several Keras histories (e.g. frozen stage, then fine-tuning)."""
    merged = {}
    for history in histories:
        logs = history.history if hasattr(history, "history") else history
        for key, values in logs.items():
            merged.setdefault(key, []).extend(values)
    return merged


def add_run_args(parser):
    """Add the options every recipe shares: where runs go, the seed, and Keras' verbosity."""
    parser.add_argument(
        "--runs-dir", default="runs", help="folder that receives runs/<recipe>-<timestamp>/ (default: runs)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed for data split, init and sampling (default: 0)"
    )
    parser.add_argument(
        "--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras fit verbosity (default: 1, a progress bar)"
    )
    return parser

"""What `zoo export` reads: a run folder or a .keras file, turned into a model and its side files.

A run folder (`runs/<recipe>-<timestamp>/`) holds `model.keras` and, for text
models, what turns text into ids: the LSTM's `vocabulary.json`, or an LLM's
SentencePiece tokenizer folder (`tokenizer/` with `tokenizer.json` and
`sentencepiece.model`, as `zoo data tokenizer` writes it). Those files travel
with the export as assets, so a client can tokenize without this repository.

Example:
    >>> source = load_export_source("runs/train-cnn-20260101-120000")   # doctest: +SKIP
    >>> source.name, source.model.name                                  # doctest: +SKIP
    ('cnn', 'cnn')
"""

import dataclasses
import json
import os
import re
from typing import Optional

VOCABULARY_FILE = "vocabulary.json"


@dataclasses.dataclass
class ExportSource:
    """A model to export, the name it is served under, and the text files that go with it."""

    model: object
    name: str
    path: Optional[str] = None  # the .keras file it came from
    vocabulary_file: Optional[str] = None  # TextVocabulary JSON of the LSTM generator
    tokenizer_dir: Optional[str] = None  # SentencePiece tokenizer folder of an LLM


def default_name(model):
    """A serving name from the model's Keras name: `cnn`, `lstm_generator`, `gan_mlp`, `causal_lm`."""
    name = re.sub(r"[^a-z0-9_.-]+", "_", str(model.name).lower()).strip("_.-")
    return name or "model"


def _import_zoo_layers():
    # .keras files name zoo's registered classes (GAN, LLM layers, the flexible loss);
    # importing the modules registers them so that loading can rebuild the model.
    import zoo.gan.gan  # noqa: F401
    import zoo.llm.models.tasks  # noqa: F401
    import zoo.losses  # noqa: F401


def load_keras_file(path):
    """Load a .keras file for inference (no optimizer), with a clear error if it is not one."""
    import keras

    if not str(path).endswith(".keras"):
        raise ValueError(
            f"{path} is not a Keras model file: zoo export reads a run folder (runs/<recipe>-<timestamp>/) "
            "or a file ending in .keras."
        )
    from zoo.validation import check_keras_archive

    _import_zoo_layers()
    check_keras_archive(path)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # a zip that is not a model, a truncated file, an unknown class
        raise ValueError(
            f"Could not load {path} as a Keras model ({type(err).__name__}: {err}). "
            "Give a model.keras written by model.save() or a zoo recipe."
        ) from err


def _is_checkpoint_tokenizer(folder):
    meta = os.path.join(folder, "tokenizer.json")
    if not os.path.isfile(meta):
        return False
    with open(meta, encoding="utf-8") as f:
        return json.load(f).get("kind") == "checkpoint"


def check_run_tokenizer(files):
    """Raise ValueError when the tokenizer folder to ship is not the one the run recorded (by fingerprint).

    A run folder's config.json holds `tokenizer_fingerprint` (zoo.runs.RunFolder.finish); a tokenizer
    with the same size but other pieces would still turn text into ids the model never learned.
    Runs without a recorded fingerprint (bare .keras files, older runs) are checked by size only.
    """
    from zoo.data.tokenizer_fingerprint import tokenizer_folder_fingerprint

    recorded = files.config.get("tokenizer_fingerprint")
    if not recorded or files.tokenizer_dir is None:
        return
    given = tokenizer_folder_fingerprint(files.tokenizer_dir)
    if given != recorded:
        raise ValueError(
            f"The tokenizer in {files.tokenizer_dir} is not the one this model was trained with (its fingerprint "
            f"is {given or 'unreadable'}, the run recorded {recorded}): it would turn text into ids that mean other "
            "tokens to the model. Export without --tokenizer to ship the run's own tokenizer/, or give the folder "
            "it was trained with."
        )


def load_export_source(path, name=None, tokenizer_dir=None):
    """Resolve a run folder or .keras file into an `ExportSource`.

    Args:
        path: a run folder containing model.keras, or a .keras file.
        name: the serving name (default: the model's Keras name).
        tokenizer_dir: a tokenizer folder to ship with an LLM (default: the run's own, if any).
    """
    from zoo.runs import find_run

    files = find_run(path, tokenizer_dir)  # a missing path or a folder without model.keras: FileNotFoundError
    check_run_tokenizer(files)
    keras_file, vocabulary_file = files.model_file, None
    if files.folder is not None:
        if os.path.isfile(os.path.join(files.folder, VOCABULARY_FILE)):
            vocabulary_file = os.path.join(files.folder, VOCABULARY_FILE)
        tokenizer_dir = files.tokenizer_dir
    model = load_keras_file(keras_file)
    if tokenizer_dir is not None and hasattr(model, "attach_tokenizer") and _is_checkpoint_tokenizer(tokenizer_dir):
        from zoo.data.tokenizer import load_tokenizer

        # An imported checkpoint's tokenizer brings its own pad and end ids for the serving signatures.
        model.attach_tokenizer(load_tokenizer(tokenizer_dir))
    return ExportSource(
        model=model,
        name=name or default_name(model),
        path=keras_file,
        vocabulary_file=vocabulary_file,
        tokenizer_dir=tokenizer_dir,
    )

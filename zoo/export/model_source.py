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

TOKENIZER_FOLDER = "tokenizer"
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
    _import_zoo_layers()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # a zip that is not a model, a truncated file, an unknown class
        raise ValueError(
            f"Could not load {path} as a Keras model ({type(err).__name__}: {err}). "
            "Give a model.keras written by model.save() or a zoo recipe."
        ) from err


def find_tokenizer_dir(folder):
    """The SentencePiece tokenizer folder of a run: `<run>/tokenizer/`, or the one config.json names."""
    candidates = [os.path.join(folder, TOKENIZER_FOLDER)]
    config_file = os.path.join(folder, "config.json")
    if os.path.isfile(config_file):
        with open(config_file, encoding="utf-8") as f:
            config = json.load(f)
        named = config.get("tokenizer") if isinstance(config, dict) else None
        if isinstance(named, str):
            candidates.insert(0, named if os.path.isabs(named) else os.path.join(folder, named))
    for candidate in candidates:
        if os.path.isfile(os.path.join(candidate, "tokenizer.json")):
            return candidate
    return None


def load_export_source(path, name=None, tokenizer_dir=None):
    """Resolve a run folder or .keras file into an `ExportSource`.

    Args:
        path: a run folder containing model.keras, or a .keras file.
        name: the serving name (default: the model's Keras name).
        tokenizer_dir: a tokenizer folder to ship with an LLM (default: the run's own, if any).
    """
    if path is None or not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} does not exist. Give a run folder (runs/<recipe>-<timestamp>/, written by a zoo recipe) "
            "or a .keras model file."
        )
    vocabulary_file = None
    if os.path.isdir(path):
        keras_file = os.path.join(path, "model.keras")
        if not os.path.isfile(keras_file):
            raise ValueError(
                f"{path} is not a run folder: it has no model.keras. Give the folder a zoo recipe printed "
                "(run folder: runs/<recipe>-<timestamp>) or a .keras file."
            )
        if os.path.isfile(os.path.join(path, VOCABULARY_FILE)):
            vocabulary_file = os.path.join(path, VOCABULARY_FILE)
        if tokenizer_dir is None:
            tokenizer_dir = find_tokenizer_dir(path)
    else:
        keras_file = path
    model = load_keras_file(keras_file)
    return ExportSource(model=model, name=name or default_name(model), path=keras_file,
                        vocabulary_file=vocabulary_file, tokenizer_dir=tokenizer_dir)

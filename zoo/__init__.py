"""zoo: a Keras model zoo for learning and practising LLM training.

Every topic of the Japanese tutorial on LLM training is a factory here, a recipe in
`recipes/`, and tests in `tests/`.

Example:
    >>> from zoo import build_cnn
    >>> model = build_cnn()          # the tutorial's CNN, compiled
    >>> model.count_params()
    93322
"""

import importlib
import os

# Keep TensorFlow's C++ start-up chatter out of learners' terminals (users can override;
# zoo.cli filters the lines this setting does not reach unless the user set it).
USER_SET_TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# Public name -> module that defines it. Imported lazily so that `import zoo`
# (and `zoo --help`) stays fast and does not start TensorFlow.
_EXPORTS = {
    "build_cnn": "zoo.vision.cnn",
    "build_vgg16_transfer": "zoo.vision.vgg16_transfer",
    "unfreeze_top_block": "zoo.vision.vgg16_transfer",
    "build_transfer_model": "zoo.vision.transfer",
    "build_lstm_generator": "zoo.text.lstm_generator",
    "TextVocabulary": "zoo.text.vocabulary",
    "sample_text": "zoo.text.sampler",
    "build_gan": "zoo.gan.gan",
    "GAN": "zoo.gan.gan",
    "load_digits_28": "zoo.data.digits",
    "load_builtin_corpus": "zoo.data.builtin_corpus",
    # LLM factory (zoo/llm)
    "build_llm": "zoo.llm",
    "LLMConfig": "zoo.llm",
    # real checkpoints in and out (zoo/checkpoints)
    "from_pretrained": "zoo.checkpoints.from_pretrained",
    "save_pretrained": "zoo.checkpoints.save_pretrained",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(_EXPORTS[name])
        return getattr(module, name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)

"""The registry of attention kinds: `LLMConfig.attention` names one of its entries.

A kind is a Keras layer class registered under a name with `@register_attention`.
The built-in kinds live one per module in this folder and are imported on the
first lookup, so importing the registry (or LLMConfig) does not import Keras.

Example:
    >>> attention_kinds()
    ['full', 'sliding_window', 'block_sparse', 'axial', 'lsh']
    >>> get_attention_class("sliding_window").__name__
    'SlidingWindowAttention'
"""

import importlib

from zoo.llm.attention.options import register_options

# Built-in kinds, in the order attention_kinds() lists them: name -> module in this folder.
BUILTIN_KINDS = {
    "full": "zoo.llm.attention.full",
    "sliding_window": "zoo.llm.attention.sliding_window",
    "block_sparse": "zoo.llm.attention.block_sparse",
    "axial": "zoo.llm.attention.axial",
    "lsh": "zoo.llm.attention.lsh",
}

_ATTENTION_KINDS = {}


def register_attention(name, options=None):
    """Class decorator: make an attention layer selectable as `LLMConfig(attention=name)`.

    `options`: the kind's options class (a dataclass subclassing
    `zoo.llm.attention.options.AttentionOptions` whose fields are the layer's keyword
    arguments); the built-in kinds' options are registered in that module.
    """

    def decorator(cls):
        if options is not None:
            register_options(name, options)
        _ATTENTION_KINDS[name] = cls
        return cls

    return decorator


def _load_builtin_kinds():
    # Importing a kind's module runs its @register_attention.
    for module in BUILTIN_KINDS.values():
        importlib.import_module(module)


def attention_kinds():
    """Registered kinds: the built-in ones ("full" first), then any registered by user code.

    Imports no Keras (the built-in kinds are known by name), so `--help` stays fast.
    """
    return list(BUILTIN_KINDS) + [name for name in _ATTENTION_KINDS if name not in BUILTIN_KINDS]


def get_attention_class(name):
    """The layer class registered under `name`; an unknown name lists the known ones."""
    _load_builtin_kinds()
    if name not in _ATTENTION_KINDS:
        raise ValueError(f"Unknown attention kind {name!r}. Known kinds: {', '.join(attention_kinds())}.")
    return _ATTENTION_KINDS[name]

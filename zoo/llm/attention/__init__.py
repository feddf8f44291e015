"""Attention kinds: which keys each query sees, and how the weighted sum is computed.

`LLMConfig(attention=<kind>, attention_options=...)` picks one for every
self-attention layer of a model (cross-attention is always full). One module
per kind, each a subclass of the full kind's layer:

- `full`: multi-head softmax(QK^T / sqrt(d)) V with a key/value cache (the GPT/BERT default).
- `sliding_window`: the nearest `window` keys plus leading global tokens (Longformer).
- `block_sparse`: neighbour, global and strided blocks (Sparse Transformer / BigBird).
- `axial`: the row, then the column of the sequence laid out as a grid.
- `lsh`: keys hashed into the same bucket, shared query/key (Reformer).
- `blocked`: the block-by-block machinery the sub-quadratic kinds share.
- `options`: each kind's settings as a small dataclass (plain Python, no Keras).
- `registry`: kind name -> layer class; `register_attention` adds your own kind.
- `args`: the `--attention ...` command-line options of the recipes and `zoo explain`.

Example:
    >>> from zoo.llm.attention import get_attention_class
    >>> get_attention_class("lsh").__name__
    'LSHAttention'
"""

from zoo.llm.attention.registry import attention_kinds, get_attention_class, register_attention

__all__ = ["attention_kinds", "get_attention_class", "register_attention"]

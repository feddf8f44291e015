"""Each attention kind's settings, as one small frozen dataclass per kind.

`LLMConfig(attention="sliding_window", attention_options={"window": 256})` keeps
a kind's settings together with the kind: the config holds one options object,
whose fields are exactly the keyword arguments of the kind's layer. The classes
here are plain Python (no Keras), so a config can be validated and sized by
`zoo explain` without building a model. Each class also knows:

- `flat_names`: the old top-level LLMConfig field of each option (`attention_window`,
  `lsh_num_hashes`, ...). Configs saved before the options moved here still load,
  and `build_llm(..., attention_window=256)` / `zoo explain --set` still work.
- `attended_keys()`: how many keys one query scores, for FLOPs and memory estimates.

Example:
    >>> options_for("sliding_window", {"window": 256})
    SlidingWindowOptions(window=256, global_tokens=0, block_size=64)
    >>> options_for("sliding_window", {"window": 256}).attended_keys(8192, causal=True, max_length=8192)
    320
"""

import dataclasses
import math
from typing import ClassVar


@dataclasses.dataclass(frozen=True)
class AttentionOptions:
    """Settings of a kind that has none ("full", or a kind registered without options).

    Example:
        >>> AttentionOptions().layer_arguments(max_length=128)
        {}
    """

    # Option -> the LLMConfig field it was before options moved into their kind.
    flat_names: ClassVar[dict] = {}

    def __post_init__(self):
        self.check()

    def check(self):
        """Raise ValueError naming the bad option; subclasses check their own fields."""

    def layer_arguments(self, max_length):
        """Keyword arguments of the kind's attention layer (the options, plus config values it needs)."""
        return dataclasses.asdict(self)

    def attended_keys(self, seq_len, causal, max_length):
        """Keys one query scores at sequence length seq_len (all of them for full attention)."""
        return int(seq_len)


@dataclasses.dataclass(frozen=True)
class SlidingWindowOptions(AttentionOptions):
    """Longformer: keys less than `window` positions away, plus `global_tokens` leading positions.

    The layer computes on blocks of `block_size` tokens.

    Example:
        >>> SlidingWindowOptions(window=256).window
        256
    """

    window: int = 128
    global_tokens: int = 0
    block_size: int = 64

    flat_names: ClassVar[dict] = {
        "window": "attention_window",
        "global_tokens": "global_tokens",
        "block_size": "block_size",
    }

    def check(self):
        _check_int("window", self.window, 1, "keys closer than it are seen")
        _check_int("global_tokens", self.global_tokens, 0)
        _check_int("block_size", self.block_size, 1)

    def attended_keys(self, seq_len, causal, max_length):
        # A query block gathers the blocks that hold keys up to window - 1 positions away.
        reach = math.ceil((self.window - 1) / self.block_size)
        blocks = reach + 1 if causal else 2 * reach + 1
        return min(int(seq_len), blocks * self.block_size + self.global_tokens)


@dataclasses.dataclass(frozen=True)
class BlockSparseOptions(AttentionOptions):
    """Sparse Transformer / BigBird: `local_blocks` neighbours, `global_blocks` leading blocks,
    every `block_stride`-th block (0: none), on blocks of `block_size` tokens.

    Example:
        >>> BlockSparseOptions(block_stride=4).layer_arguments(max_length=256)["max_length"]
        256
    """

    block_size: int = 64
    local_blocks: int = 1
    global_blocks: int = 1
    block_stride: int = 0

    flat_names: ClassVar[dict] = {
        "block_size": "block_size",
        "local_blocks": "local_blocks",
        "global_blocks": "global_blocks",
        "block_stride": "block_stride",
    }

    def check(self):
        _check_int("block_size", self.block_size, 1)
        for name in ("local_blocks", "global_blocks", "block_stride"):
            _check_int(name, getattr(self, name), 0)

    def layer_arguments(self, max_length):
        # Strided blocks reach back over the longest sequence the model accepts.
        return {**dataclasses.asdict(self), "max_length": max_length}

    def attended_keys(self, seq_len, causal, max_length):
        blocks = self.local_blocks + 1 if causal else 2 * self.local_blocks + 1
        if self.block_stride:
            strided = math.ceil(max_length / self.block_size) // self.block_stride
            blocks += strided if causal else 2 * strided
        return min(int(seq_len), (blocks + self.global_blocks) * self.block_size)


@dataclasses.dataclass(frozen=True)
class AxialOptions(AttentionOptions):
    """Axial attention: the sequence laid out as a grid `row_length` columns wide; rows, then columns.

    Example:
        >>> AxialOptions(row_length=64).attended_keys(4096, causal=True, max_length=4096)
        128
    """

    row_length: int = 64

    flat_names: ClassVar[dict] = {"row_length": "axial_row_length"}

    def check(self):
        _check_int("row_length", self.row_length, 1)

    def attended_keys(self, seq_len, causal, max_length):
        return min(int(seq_len), self.row_length) + math.ceil(int(seq_len) / self.row_length)


@dataclasses.dataclass(frozen=True)
class LSHOptions(AttentionOptions):
    """Reformer: `num_hashes` rounds of hashing into `num_buckets` buckets, sorted chunks of `chunk_size`.

    Example:
        >>> LSHOptions(num_buckets=3)
        Traceback (most recent call last):
        ...
        ValueError: num_buckets must be 1 or even (hashing takes argmax over [xR, -xR]), got 3.
    """

    chunk_size: int = 64
    num_buckets: int = 8
    num_hashes: int = 2

    flat_names: ClassVar[dict] = {
        "chunk_size": "lsh_chunk_size",
        "num_buckets": "lsh_num_buckets",
        "num_hashes": "lsh_num_hashes",
    }

    def check(self):
        _check_int("chunk_size", self.chunk_size, 1)
        _check_int("num_buckets", self.num_buckets, 1)
        _check_int("num_hashes", self.num_hashes, 1, "hashing rounds")
        if self.num_buckets > 1 and self.num_buckets % 2:
            raise ValueError(
                f"num_buckets must be 1 or even (hashing takes argmax over [xR, -xR]), got {self.num_buckets}."
            )

    def attended_keys(self, seq_len, causal, max_length):
        # Each round: the query's own chunk and the one before it (and after it, bidirectionally).
        return self.num_hashes * min(int(seq_len), (2 if causal else 3) * self.chunk_size)


# Kind -> its options class. register_attention(name, options=...) adds a kind of your own.
_OPTIONS = {
    "full": AttentionOptions,
    "sliding_window": SlidingWindowOptions,
    "block_sparse": BlockSparseOptions,
    "axial": AxialOptions,
    "lsh": LSHOptions,
}


def register_options(kind, options_class):
    """Make `options_class` the settings of attention `kind` (see `registry.register_attention`)."""
    if not (isinstance(options_class, type) and issubclass(options_class, AttentionOptions)):
        raise TypeError(f"Options of attention kind {kind!r} must subclass AttentionOptions, got {options_class!r}.")
    _OPTIONS[kind] = options_class


def options_class(kind):
    """The options class of `kind` (AttentionOptions, i.e. none, for a kind without settings)."""
    return _OPTIONS.get(kind, AttentionOptions)


def options_for(kind, options=None):
    """The options object of `kind` from None (defaults), a dict of fields, or an options object.

    Example:
        >>> options_for("lsh", {"num_hashes": 4}).num_hashes
        4
        >>> options_for("full", {"window": 64})
        Traceback (most recent call last):
        ...
        ValueError: attention 'full' has no option 'window' (it has no options). Kinds with 'window': sliding_window.
    """
    cls = options_class(kind)
    if options is None:
        return cls()
    if isinstance(options, AttentionOptions):
        if type(options) is not cls:
            raise ValueError(
                f"attention={kind!r} takes {cls.__name__}, got {type(options).__name__}: "
                f"pass attention={options_kind(type(options)) or type(options).__name__!r} or options for {kind!r}."
            )
        return options
    if not isinstance(options, dict):
        raise ValueError(f"attention_options must be a dict of {kind!r}'s options, got {options!r}.")
    known = [f.name for f in dataclasses.fields(cls)]
    for name in options:
        if name not in known:
            has = ", ".join(k for k, c in _OPTIONS.items() if name in {f.name for f in dataclasses.fields(c)})
            raise ValueError(
                f"attention {kind!r} has no option {name!r} ("
                + (f"its options: {', '.join(known)}" if known else "it has no options")
                + ")."
                + (f" Kinds with {name!r}: {has}." if has else "")
            )
    return cls(**options)


def flat_names():
    """Every old top-level LLMConfig field name of an attention option (for old configs)."""
    return sorted({flat for cls in _OPTIONS.values() for flat in cls.flat_names.values()})


def from_flat(kind, values):
    """The options dict of `kind` from old top-level LLMConfig fields (others are dropped: unused by `kind`).

    Example:
        >>> from_flat("lsh", {"lsh_num_hashes": 4, "attention_window": 128})
        {'num_hashes': 4}
    """
    cls = options_class(kind)
    return {option: values[flat] for option, flat in cls.flat_names.items() if flat in values}


def options_kind(cls):
    """The attention kind whose options class is `cls` (None if no kind has it)."""
    return next((kind for kind, c in _OPTIONS.items() if c is cls), None)


def _check_int(name, value, minimum, meaning=""):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        why = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name}{why} must be an integer >= {minimum}, got {value!r}.")

"""LLMConfig: every architecture choice of a transformer LLM in one dataclass.

One config describes a decoder-only GPT, a BERT encoder or the original
encoder-decoder Transformer; `build_llm(kind, config=...)` decides which of them
is built from it. The config is plain Python (no TensorFlow import), so
`zoo explain` can size a model without building it.

Example:
    >>> from zoo.llm.config import LLMConfig
    >>> config = LLMConfig(vocab_size=1000, hidden_dim=64, num_heads=4)
    >>> LLMConfig.from_config(config.get_config()) == config
    True
    >>> LLMConfig(attention="sliding_window", attention_options={"window": 256}).attention_options.window
    256
"""

import dataclasses
import functools
import json
from pathlib import Path
from typing import Optional

from zoo.llm.attention.options import AttentionOptions, flat_names, from_flat, options_for, options_kind
from zoo.llm.attention.registry import attention_kinds
from zoo.typed_fields import check_field_types

NORMS = ("pre", "post")
POSITIONS = ("learned", "sinusoidal", "rotary")
ACTIVATIONS = ("gelu", "gelu_approximate", "relu", "silu")
NORM_TYPES = ("layernorm", "rmsnorm")
MLPS = ("standard", "gated")
ROPE_SCALINGS = ("none", "linear", "llama3")


@dataclasses.dataclass(frozen=True)
class LLMConfig:
    """Architecture of a transformer language model.

    Fields:
        vocab_size: number of token ids; ids must lie in [0, vocab_size).
        max_length: longest sequence the model accepts (positions table size).
        num_layers: transformer blocks (the encoder's, for seq2seq).
        hidden_dim: model width d_model.
        num_heads: attention heads; hidden_dim must be divisible by it.
        intermediate_dim: feed-forward width (usually 4 * hidden_dim).
        num_decoder_layers: decoder blocks of a seq2seq model (None: num_layers).
        dropout: dropout rate on embeddings, attention weights and residuals.
        norm: "pre" (GPT-2: LayerNorm before each sublayer, plus a final one)
            or "post" (BERT and the 2017 Transformer: after each residual add).
        position: "learned" (GPT-2, BERT), "sinusoidal" (Transformer) or
            "rotary" (RoPE, applied to queries and keys inside attention).
        tie_embeddings: reuse the token embedding as the output projection.
        activation: feed-forward activation ("gelu_approximate" is GPT-2's tanh form).
        attention: attention kind from `zoo.llm.attention`: "full", "sliding_window",
            "block_sparse", "axial" or "lsh" (self-attention; cross-attention is always full).
            An options object (`SlidingWindowOptions(window=256)`) sets the kind and its options.
        attention_options: the kind's own settings (window, block size, hash rounds...): a dict
            of them or the kind's options object from `zoo.llm.attention.options`; None means
            the kind's defaults. Stored as the options object.
        reversible: reversible residual blocks (Reformer): activations are recomputed from
            block outputs in the backward pass; needs norm="pre" and dropout=0.
        layer_norm_epsilon: LayerNorm epsilon (BERT 1e-12, GPT-2 1e-5).
        embedding_norm: LayerNorm after the embedding sum (BERT).
        scale_embeddings: multiply token embeddings by sqrt(hidden_dim) (Transformer).
        num_segments: segment (token type) ids for sentence pairs; 0 means none.
        next_sentence_prediction: masked models get BERT's NSP head as a second output.
        use_bias: biases in attention and feed-forward projections.
        rotary_max_wavelength: RoPE base wavelength (Hugging Face's rope_theta; Llama 3 uses 500000).
        norm_type: "layernorm" (GPT-2, BERT) or "rmsnorm" (Llama family: scale only, no mean
            subtraction, no bias) for the block and final norms.
        mlp: "standard" (act(x W1) W2) or "gated" (act(x W_gate) * (x W_up), then W_down; with
            activation="silu" this is Llama's SwiGLU, with "gelu" GeGLU).
        num_key_value_heads: key/value heads of grouped-query attention (None: num_heads, plain
            multi-head attention; 1: multi-query). Must divide num_heads; the KV cache shrinks
            by num_heads / num_key_value_heads.
        qkv_bias: biases on the query/key/value projections only (None: use_bias). Qwen2 sets
            use_bias=False, qkv_bias=True.
        rope_scaling_type: "none", "linear" (positions divided by rope_scaling_factor) or
            "llama3" (Llama 3.1's frequency-dependent stretch of long wavelengths).
        rope_scaling_factor: the stretch of "linear" and "llama3" rope scaling.
        rope_low_freq_factor, rope_high_freq_factor, rope_original_max_length: "llama3" scaling's
            band edges and its pretraining context length.

    Example:
        >>> LLMConfig(hidden_dim=64, num_heads=4).head_dim
        16
    """

    vocab_size: int = 512
    max_length: int = 256
    num_layers: int = 2
    hidden_dim: int = 64
    num_heads: int = 4
    intermediate_dim: int = 256
    num_decoder_layers: Optional[int] = None
    dropout: float = 0.0
    norm: str = "pre"
    position: str = "learned"
    tie_embeddings: bool = True
    activation: str = "gelu"
    attention: str = "full"
    attention_options: Optional[AttentionOptions] = None
    layer_norm_epsilon: float = 1e-5
    embedding_norm: bool = False
    scale_embeddings: bool = False
    num_segments: int = 0
    next_sentence_prediction: bool = False
    use_bias: bool = True
    rotary_max_wavelength: float = 10000.0
    reversible: bool = False
    norm_type: str = "layernorm"
    mlp: str = "standard"
    num_key_value_heads: Optional[int] = None
    qkv_bias: Optional[bool] = None
    rope_scaling_type: str = "none"
    rope_scaling_factor: float = 1.0
    rope_low_freq_factor: float = 1.0
    rope_high_freq_factor: float = 4.0
    rope_original_max_length: int = 8192

    def __post_init__(self):
        self._resolve_attention()  # first: `attention` may arrive as an options object
        # Types before ranges: "use_bias": "no" from a JSON file must not silently mean True.
        check_field_types(self, "LLMConfig")
        for name in ("vocab_size", "max_length", "num_layers", "hidden_dim", "num_heads", "intermediate_dim"):
            _check_positive_int(name, getattr(self, name))
        if self.num_decoder_layers is not None:
            _check_positive_int("num_decoder_layers", self.num_decoder_layers)
        if isinstance(self.num_segments, bool) or not isinstance(self.num_segments, int) or self.num_segments < 0:
            raise ValueError(f"num_segments must be an integer >= 0, got {self.num_segments!r}.")
        if self.hidden_dim % self.num_heads:
            raise ValueError(
                f"hidden_dim={self.hidden_dim} is not divisible by num_heads={self.num_heads}: "
                "each head gets hidden_dim / num_heads features. Pick a width that is a multiple "
                f"of {self.num_heads}, e.g. {self.num_heads * max(1, round(self.hidden_dim / self.num_heads))}."
            )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}.")
        _check_choice("norm", self.norm, NORMS)
        _check_choice("position", self.position, POSITIONS)
        _check_choice("activation", self.activation, ACTIVATIONS)
        if self.position == "rotary" and self.head_dim % 2:
            raise ValueError(
                f"rotary positions rotate feature pairs, so head_dim must be even; "
                f"hidden_dim={self.hidden_dim} / num_heads={self.num_heads} = {self.head_dim}."
            )
        if self.next_sentence_prediction and self.num_segments < 2:
            raise ValueError("next_sentence_prediction needs sentence pairs: set num_segments=2 (segment ids 0 and 1).")
        for name in ("layer_norm_epsilon", "rotary_max_wavelength"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}.")
        self._check_reversible()
        self._check_llama_options()

    def _check_llama_options(self):
        _check_choice("norm_type", self.norm_type, NORM_TYPES)
        _check_choice("mlp", self.mlp, MLPS)
        _check_choice("rope_scaling_type", self.rope_scaling_type, ROPE_SCALINGS)
        if self.num_key_value_heads is not None:
            _check_positive_int("num_key_value_heads", self.num_key_value_heads)
            if self.num_heads % self.num_key_value_heads:
                raise ValueError(
                    f"num_key_value_heads={self.num_key_value_heads} does not divide num_heads={self.num_heads}: "
                    "each key/value head serves an equal group of query heads. Pick a divisor of "
                    f"{self.num_heads}, e.g. {self.num_heads // 2 or 1}."
                )
        if self.qkv_bias is not None and not isinstance(self.qkv_bias, bool):
            raise ValueError(f"qkv_bias must be True, False or None (follow use_bias), got {self.qkv_bias!r}.")
        for name in ("rope_scaling_factor", "rope_low_freq_factor", "rope_high_freq_factor"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}.")
        if self.rope_scaling_type != "none" and self.position != "rotary":
            raise ValueError(f"rope_scaling_type={self.rope_scaling_type!r} needs position='rotary'.")
        _check_positive_int("rope_original_max_length", self.rope_original_max_length)

    def _resolve_attention(self):
        # attention=SlidingWindowOptions(...) names the kind through its options object.
        if isinstance(self.attention, AttentionOptions):
            if self.attention_options is not None:
                raise ValueError("Pass the attention options either as attention=<options> or as attention_options.")
            kind = options_kind(type(self.attention))
            if kind is None:
                name = type(self.attention).__name__
                raise ValueError(f"{name} is not the options class of a registered attention kind.")
            object.__setattr__(self, "attention_options", self.attention)
            object.__setattr__(self, "attention", kind)
        if not isinstance(self.attention, str) or not self.attention:
            raise ValueError(f"attention must be the name of an attention kind, got {self.attention!r}.")
        if self.attention not in attention_kinds():
            raise ValueError(f"Unknown attention kind {self.attention!r}. Known kinds: {', '.join(attention_kinds())}.")
        # A dict (or None) becomes the kind's options object; it checks its own values.
        object.__setattr__(self, "attention_options", options_for(self.attention, self.attention_options))

    def _check_reversible(self):
        if not isinstance(self.reversible, bool):
            raise ValueError(f"reversible must be True or False, got {self.reversible!r}.")
        if self.reversible and self.norm != "pre":
            raise ValueError(
                "reversible blocks need norm='pre': y1 = x1 + Attention(LN(x2)) can be inverted, "
                "a LayerNorm after the residual add cannot."
            )
        if self.reversible and float(self.dropout) > 0:
            raise ValueError(
                "reversible blocks recompute activations in the backward pass, which would need the same "
                "dropout masks again; set dropout=0 with reversible=True."
            )

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads

    @property
    def key_value_heads(self):
        """Key/value heads per attention layer (num_heads unless grouped-query attention)."""
        return self.num_heads if self.num_key_value_heads is None else self.num_key_value_heads

    @property
    def decoder_layers(self):
        """Decoder blocks of a seq2seq model."""
        return self.num_layers if self.num_decoder_layers is None else self.num_decoder_layers

    # Keras-style serialization: a plain dict of the fields (attention_options as a dict too).
    def get_config(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config):
        """An LLMConfig from get_config()'s dict; also reads configs saved with the old flat
        attention fields (attention_window, lsh_num_hashes, ...)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known - set(flat_names()))
        if unknown:
            raise ValueError(f"Unknown LLMConfig field(s) {unknown}. Known fields: {sorted(known)}.")
        return cls(**upgrade_flat_attention_fields(config))

    def replace(self, **overrides):
        """A copy with some fields changed (and validated again).

        A dict of `attention_options` updates the current kind's options (the ones not
        named keep their values); changing `attention` alone starts from the new kind's
        defaults. The old flat names (`attention_window=64`) work as option overrides.

        Example:
            >>> config = LLMConfig(attention="lsh", attention_options={"num_hashes": 4})
            >>> config.replace(attention_options={"chunk_size": 32}).attention_options
            LSHOptions(chunk_size=32, num_buckets=8, num_hashes=4)
        """
        current = self.get_config()
        new_kind = overrides.get("attention", self.attention)
        if isinstance(new_kind, AttentionOptions) or new_kind != self.attention:
            current.pop("attention_options")  # the old kind's options do not apply to the new kind
        elif isinstance(overrides.get("attention_options"), dict):
            merged = {**current["attention_options"], **overrides["attention_options"]}
            overrides = {**overrides, "attention_options": merged}
        return self.from_config({**current, **overrides})

    @classmethod
    def coerce(cls, value):
        """An LLMConfig from an LLMConfig or its get_config() dict."""
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls.from_config(value)
        raise TypeError(f"Expected an LLMConfig or a dict of its fields, got {type(value).__name__}.")

    def save(self, path):
        Path(path).write_text(json.dumps(self.get_config(), indent=2) + "\n")

    @classmethod
    def load(cls, path):
        """Read a JSON config file; an optional "kind" key is ignored here."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except RecursionError:
            raise ValueError(f"{path}: the JSON is nested too deeply to be a config.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not a JSON file ({err}).") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of LLMConfig fields.")
        data.pop("kind", None)
        return cls.from_config(data)


# LLMConfig(**fields) of an old-style config, e.g. LLMConfig(attention="lsh", lsh_num_hashes=4),
# still works: the flat attention fields are mapped onto attention_options first.
_fields_init = LLMConfig.__init__


@functools.wraps(_fields_init)
def _init_with_flat_attention_fields(self, *args, **fields):
    _fields_init(self, *args, **upgrade_flat_attention_fields(fields))


LLMConfig.__init__ = _init_with_flat_attention_fields


def upgrade_flat_attention_fields(fields):
    """Map the old top-level attention fields of a config dict onto `attention_options`.

    Before the options moved into their kind, LLMConfig had ten flat fields
    (attention_window, global_tokens, block_size, ..., lsh_num_hashes) and every
    saved config (config.json, .keras files, checkpoints) holds all of them. Only
    the ones of the config's own kind mattered; the rest are dropped.

    Example:
        >>> upgrade_flat_attention_fields({"attention": "axial", "axial_row_length": 16, "lsh_num_hashes": 2})
        {'attention': 'axial', 'attention_options': {'row_length': 16}}
    """
    fields = dict(fields)
    flat = {name: fields.pop(name) for name in flat_names() if name in fields}
    if not flat:
        return fields
    kind = fields.get("attention", "full")
    if isinstance(kind, AttentionOptions):
        raise ValueError("Pass the attention options either as attention=<options> or by their field names, not both.")
    options = fields.get("attention_options")
    if isinstance(options, AttentionOptions):
        options = dataclasses.asdict(options)
    fields["attention_options"] = {**(options or {}), **from_flat(kind, flat)}
    return fields


# A size becomes a tensor dimension; past int32 it overflows before it could ever fit in memory.
MAX_SIZE = 2**31 - 1


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if value > MAX_SIZE:
        raise ValueError(f"{name}={value} is larger than any tensor dimension can be ({MAX_SIZE}).")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"Unknown {name} {value!r}. Choose one of: {', '.join(choices)}.")

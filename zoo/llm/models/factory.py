"""build_llm: one call from a kind and a preset (or config) to a compiled Keras model.

Example:
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny", num_layers=1)   # GPT-style, compiled
    >>> gpt2 = build_llm("causal", "gpt2_small", compile=False)
    >>> gpt2.count_params()
    124439808
"""

import dataclasses

from zoo.llm.attention.options import flat_names
from zoo.llm.config import LLMConfig
from zoo.llm.models.presets import get_preset, preset_kind

KINDS = ("causal", "masked", "seq2seq", "classifier", "qa")
_FIELDS = tuple(f.name for f in dataclasses.fields(LLMConfig))


def resolve_config(preset=None, config=None, **overrides):
    """The LLMConfig from a preset name or a config (LLMConfig, dict or JSON path), plus overrides."""
    if preset is not None and config is not None:
        raise ValueError("Pass either preset= or config=, not both (use keyword overrides to change a preset).")
    # The old flat attention names (attention_window=256) still work as overrides.
    unknown = sorted(set(overrides) - set(_FIELDS) - set(flat_names()))
    if unknown:
        raise ValueError(f"Unknown option(s) {unknown}. LLMConfig fields are: {', '.join(_FIELDS)}.")
    if config is None:
        base = get_preset("tiny" if preset is None else preset)
    elif isinstance(config, (str, bytes)) or hasattr(config, "__fspath__"):
        base = LLMConfig.load(config)
    else:
        base = LLMConfig.coerce(config)
    return base.replace(**overrides) if overrides else base


def build_backbone(kind, config, dtype=None):
    """The backbone a task kind sits on: "causal", "encoder" or "seq2seq"."""
    from zoo.llm.attention import get_attention_class
    from zoo.llm.models.backbone import CausalBackbone, EncoderBackbone, Seq2SeqBackbone

    get_attention_class(config.attention)  # fail early, with the list of known kinds
    classes = {"causal": CausalBackbone, "encoder": EncoderBackbone, "seq2seq": Seq2SeqBackbone}
    if kind not in classes:
        raise ValueError(f"Unknown backbone {kind!r}. Choose one of: {', '.join(classes)}.")
    return classes[kind](config, dtype=dtype)


def build_llm(
    kind,
    preset=None,
    config=None,
    *,
    num_classes=2,
    backbone=None,
    compile=True,
    learning_rate=1e-3,
    dtype=None,
    **overrides,
):
    """Build a transformer LLM as a plain (compiled) Keras model.

    Args:
        kind: "causal" (GPT), "masked" (BERT MLM, + NSP if the config says so),
            "seq2seq" (encoder-decoder Transformer), "classifier" (sentiment/NLI)
            or "qa" (extractive span).
        preset: a name from `zoo.llm.models.presets` ("tiny" when neither preset nor config).
        config: an LLMConfig, a dict of its fields or a path to a JSON file.
        num_classes: labels of a "classifier".
        backbone: "encoder" or "causal" under a "classifier" (default: "causal" for
            a causal preset such as gpt2_small, tiny or small, else "encoder").
        compile: compile with AdamW and cross-entropy on logits.
        learning_rate: AdamW learning rate when compiling.
        dtype: a Keras dtype policy name, e.g. "mixed_bfloat16".
        **overrides: LLMConfig fields that replace the preset's (num_layers=1, ...).

    Example:
        >>> from zoo.llm import build_llm
        >>> bert = build_llm("masked", "bert_base", compile=False)
        >>> bert.count_params()
        110106428
    """
    from zoo.llm.models import tasks

    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}. Choose one of: {', '.join(KINDS)}.")
    cfg = resolve_config(preset, config, **overrides)
    if kind == "causal":
        model = tasks.CausalLM(build_backbone("causal", cfg, dtype))
    elif kind == "masked":
        model = tasks.MaskedLM(build_backbone("encoder", cfg, dtype))
    elif kind == "seq2seq":
        model = tasks.Seq2SeqLM(build_backbone("seq2seq", cfg, dtype))
    elif kind == "classifier":
        if backbone is None:
            backbone = "causal" if preset is not None and preset_kind(preset) == "causal" else "encoder"
        if backbone not in ("encoder", "causal"):
            raise ValueError(f"A classifier sits on an 'encoder' or a 'causal' backbone, got {backbone!r}.")
        model = tasks.SequenceClassifier(build_backbone(backbone, cfg, dtype), num_classes=num_classes)
    else:
        if backbone not in (None, "encoder"):
            raise ValueError("Extractive QA needs a bidirectional 'encoder' backbone: each span end must see the whole context.")
        model = tasks.QuestionAnswering(build_backbone("encoder", cfg, dtype))
    if compile:
        model.compile(learning_rate=learning_rate)
    return model


def load_llm(path, safe_mode=True, compile=True):
    """Load a `.keras` file saved from a zoo LLM (registers zoo's layers first).

    `keras.saving.load_model` works too once `zoo.llm.models.tasks` has been imported;
    safe_mode=True loads no arbitrary code: every zoo layer is a registered class.

    Example:
        >>> model = build_llm("causal", "tiny")
        >>> model.save("/tmp/tiny.keras")
        >>> load_llm("/tmp/tiny.keras").count_params() == model.count_params()
        True
    """
    import keras

    import zoo.llm.models.tasks  # noqa: F401  (registers the zoo>... classes)

    return keras.saving.load_model(path, safe_mode=safe_mode, compile=compile)

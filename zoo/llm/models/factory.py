"""build_llm: one call from a task name and a preset (or config) to a compiled Keras model.

Names: `task` is what the model does ("causal", "masked", ...), `backbone_type` the stack it
sits on ("causal", "encoder", "seq2seq"); `model.backbone` is the backbone model itself.

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

TASKS = ("causal", "masked", "seq2seq", "classifier", "qa")
KINDS = TASKS  # the old name, kept for existing imports
BACKBONE_TYPES = ("causal", "encoder", "seq2seq")
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


def preset_config(preset):
    """The LLMConfig of a `--preset` value: a preset name or an LLMConfig .json file; UsageError if neither.

    Example:
        >>> preset_config("tiny").num_layers
        2
        >>> preset_config("tinyy")
        Traceback (most recent call last):
        ...
        zoo.errors.UsageError: --preset tinyy: Unknown preset 'tinyy'. Did you mean 'tiny'? Known presets: ...
    """
    from zoo.errors import UsageError

    try:
        if str(preset).endswith(".json"):
            return LLMConfig.load(preset)
        return get_preset(preset)
    except FileNotFoundError:
        raise UsageError(f"--preset {preset}: no such file; give a preset name or an LLMConfig .json file") from None
    except (ValueError, TypeError, OSError) as err:
        raise UsageError(f"--preset {preset}: {err}") from None


def build_backbone(backbone_type, config, dtype=None):
    """The backbone model of a type: "causal", "encoder" or "seq2seq".

    Example:
        >>> build_backbone("encoder", resolve_config("tiny", num_layers=1)).__class__.__name__
        'EncoderBackbone'
    """
    from zoo.llm.attention import get_attention_class
    from zoo.llm.models.backbone import CausalBackbone, EncoderBackbone, Seq2SeqBackbone

    get_attention_class(config.attention)  # fail early, with the list of known kinds
    classes = dict(zip(BACKBONE_TYPES, (CausalBackbone, EncoderBackbone, Seq2SeqBackbone)))
    if backbone_type not in classes:
        raise ValueError(f"Unknown backbone type {backbone_type!r}. Choose one of: {', '.join(classes)}.")
    return classes[backbone_type](config, dtype=dtype)


def _renamed(options, old, new, value):
    """Accept a keyword under its old name (with a DeprecationWarning) when the new one is not given."""
    if old not in options:
        return value
    import warnings

    old_value = options.pop(old)
    if value is not None:
        raise ValueError(f"Pass {new}= only ({old}= is its old name).")
    warnings.warn(f"build_llm({old}=...) is now build_llm({new}=...).", DeprecationWarning, stacklevel=3)
    return old_value


def build_llm(
    task=None,
    preset=None,
    config=None,
    *,
    num_classes=2,
    backbone_type=None,
    compile=True,
    learning_rate=1e-3,
    dtype=None,
    **overrides,
):
    """Build a transformer LLM as a plain (compiled) Keras model.

    Args:
        task: "causal" (GPT), "masked" (BERT MLM, + NSP if the config says so),
            "seq2seq" (encoder-decoder Transformer), "classifier" (sentiment/NLI)
            or "qa" (extractive span).
        preset: a name from `zoo.llm.models.presets` ("tiny" when neither preset nor config).
        config: an LLMConfig, a dict of its fields or a path to a JSON file.
        num_classes: labels of a "classifier".
        backbone_type: "encoder" or "causal" under a "classifier" (default: "causal" for
            a causal preset such as gpt2_small, tiny or small, else "encoder").
            The old names `kind=` and `backbone=` still work, with a DeprecationWarning.
        compile: compile with zoo's AdamW default (`zoo.train.optimizer.build_optimizer`),
            cross-entropy on logits and accuracy weighted by the sample weights.
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

    task = _renamed(overrides, "kind", "task", task)
    backbone_type = _renamed(overrides, "backbone", "backbone_type", backbone_type)
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}. Choose one of: {', '.join(TASKS)}.")
    cfg = resolve_config(preset, config, **overrides)
    if task == "causal":
        model = tasks.CausalLM(build_backbone("causal", cfg, dtype))
    elif task == "masked":
        model = tasks.MaskedLM(build_backbone("encoder", cfg, dtype))
    elif task == "seq2seq":
        model = tasks.Seq2SeqLM(build_backbone("seq2seq", cfg, dtype))
    elif task == "classifier":
        if backbone_type is None:
            backbone_type = "causal" if preset is not None and preset_kind(preset) == "causal" else "encoder"
        if backbone_type not in ("encoder", "causal"):
            raise ValueError(f"A classifier sits on an 'encoder' or a 'causal' backbone, got {backbone_type!r}.")
        model = tasks.SequenceClassifier(build_backbone(backbone_type, cfg, dtype), num_classes=num_classes)
    else:
        if backbone_type not in (None, "encoder"):
            raise ValueError(
                "Extractive QA needs a bidirectional 'encoder' backbone: each span end must see the whole context."
            )
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
    from zoo.validation import check_keras_archive

    check_keras_archive(path)
    return keras.saving.load_model(path, safe_mode=safe_mode, compile=compile)

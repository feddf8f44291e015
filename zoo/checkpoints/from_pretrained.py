"""from_pretrained: a zoo task model, with its tokenizer attached, from a checkpoint folder on disk.

Reads, offline, either

- a keras-hub preset folder (config.json + model.weights.h5 + tokenizer.json/assets,
  what `save_to_preset` writes): keras-hub's own loader reads it, zoo copies the weights, or
- a Hugging Face folder (config.json + model.safetensors or its shards + index,
  plus vocab.json/merges.txt, vocab.txt, tokenizer.model or tokenizer.json).

Families: GPT-2, BERT (with or without pooler and NSP head) and Llama-family
decoders (Llama 2/3, Qwen2, SmolLM-style). The default task is the family's
pretraining head (causal LM; masked LM for BERT, or a new classifier head when the
file has no MLM head); `kind=` picks another ("classifier", "qa" on a BERT body).
Nothing is downloaded: where to get real checkpoints is in the README.

Example:
    >>> from zoo import from_pretrained
    >>> model = from_pretrained("checkpoints/gpt2")             # doctest: +SKIP
    >>> model.generate("The cat", max_length=20)                 # doctest: +SKIP
"""

import json
from pathlib import Path

from zoo.checkpoints import bert
from zoo.checkpoints.errors import CheckpointError
from zoo.checkpoints.families import (
    canonical_tensors,
    family_for_keras_hub_class,
    family_for_model_type,
)
from zoo.checkpoints.hf_folder import read_hf_folder
from zoo.checkpoints.tokenizers import load_folder_tokenizer
from zoo.checkpoints.weight_map import load_tensors, same, transposed

TASK_KINDS = ("causal", "masked", "classifier", "qa")


def read_checkpoint(path):
    """(format, family, Hugging Face-style config, canonical tensors) of a checkpoint folder."""
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"{path}: not a folder; pass the folder that holds config.json and the weights")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CheckpointError(f"{path}: no config.json; pass a Hugging Face or keras-hub checkpoint folder")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise CheckpointError(f"{config_path} is not valid JSON ({error})") from None
    if isinstance(config, dict) and "class_name" in config and "model_type" not in config:
        return _read_keras_hub(folder, config)
    if not isinstance(config, dict) or "model_type" not in config:
        raise CheckpointError(
            f"{config_path}: neither a Hugging Face config (no model_type) nor a keras-hub preset (no class_name)"
        )
    family = family_for_model_type(config["model_type"], str(path))
    hf_config, tensors = read_hf_folder(folder)
    return "hf", family, hf_config, canonical_tensors(family, tensors)


def _read_keras_hub(folder, config):
    import keras_hub

    family = family_for_keras_hub_class(config["class_name"], str(folder))
    if not (folder / "model.weights.h5").is_file():
        raise CheckpointError(f"{folder}: keras-hub preset without model.weights.h5")
    hf_config = family.hf_config_from_keras_hub(config["config"], config["class_name"])
    try:
        backbone = keras_hub.models.Backbone.from_preset(str(folder))
    except Exception as error:  # noqa: BLE001 -- keras-hub reports shape and file problems with many error types
        raise CheckpointError(f"{folder}: keras-hub could not load the preset ({str(error).splitlines()[0]})") from None
    return "keras-hub", family, hf_config, family.tensors_from_keras_hub(backbone)


def _default_kind(family, tensors):
    if family is bert and not any(name.startswith(bert.MLM_HEAD[0]) for name in tensors):
        return "classifier"  # a BERT body without its MLM head: the usual start of fine-tuning
    return family.DEFAULT_KIND


def from_pretrained(path, kind=None, num_classes=None, dtype=None, compile=True, tokenizer=True, **overrides):
    """Load a checkpoint folder as a zoo task model with the folder's tokenizer attached.

    Args:
        path: a keras-hub preset folder or a Hugging Face folder.
        kind: "causal", "masked", "classifier" or "qa" (default: the family's pretraining head).
        num_classes: labels of a "classifier" head (default: the saved head's, else 2; a head saved by
            save_pretrained is loaded, otherwise the head is new).
        dtype: a Keras dtype policy name, e.g. "mixed_bfloat16".
        compile: compile with zoo's defaults (AdamW, cross-entropy).
        tokenizer: False skips the tokenizer (weights only).
        **overrides: LLMConfig fields that do not change the weights' shapes (dropout=0.1, max_length=128).

    Example:
        >>> model = from_pretrained("checkpoints/bert-base-uncased", kind="qa")   # doctest: +SKIP
    """
    from zoo.llm.models.factory import build_llm

    fmt, family, hf_config, tensors = read_checkpoint(path)
    kind = kind or _default_kind(family, tensors)
    if kind not in TASK_KINDS:
        raise CheckpointError(f"unknown kind {kind!r}; choose one of: {', '.join(TASK_KINDS)}")
    try:
        if family is bert:
            nsp = kind == "masked" and bert.NSP_HEAD[0] in tensors
            config = family.config_from_hf(hf_config, next_sentence_prediction=nsp)
        else:
            config = family.config_from_hf(hf_config)
        config = config.replace(**overrides) if overrides else config
    except (KeyError, ValueError, TypeError) as error:
        what = f"field {error}" if isinstance(error, KeyError) else str(error)
        raise CheckpointError(f"{path}/config.json: {what} (missing or invalid)") from None
    if family is bert and kind == "causal":
        raise CheckpointError(f"{path}: a BERT encoder has no causal LM head; use kind='masked', 'classifier' or 'qa'")
    if family is not bert and kind in ("masked", "qa"):
        raise CheckpointError(f"{path}: a decoder checkpoint supports kind='causal' or 'classifier', not {kind!r}")

    attached = load_folder_tokenizer(path) if tokenizer else None
    if attached is not None:
        size = int(attached.vocabulary_size())
        if size > config.vocab_size:
            raise CheckpointError(
                f"{path}: the tokenizer has {size} tokens but the embedding has {config.vocab_size} "
                "rows; the tokenizer files belong to another model"
            )

    saved_head = {"classifier": "classifier.weight", "qa": "qa_outputs.weight"}.get(kind)
    saved_head = saved_head if saved_head in tensors else None
    if kind == "classifier":
        saved_classes = int(tensors[saved_head].shape[0]) if saved_head else None
        if num_classes is not None and saved_classes is not None and num_classes != saved_classes:
            saved_head = None  # a different label set: the saved head does not fit, a new one is trained
        num_classes = num_classes or saved_classes or 2
    backbone = "encoder" if family is bert else "causal"
    model = build_llm(
        kind,
        config=config,
        num_classes=num_classes or 2,
        compile=False,
        dtype=dtype,
        backbone=backbone if kind == "classifier" else None,
    )
    ports = family.ports(model, kind)
    if kind != "masked":
        # A body saved without its pooler (BertModel(add_pooling_layer=False)) keeps a new one.
        ports = [p for p in ports if not (p.names[0].startswith("bert.pooler.") and p.names[0] not in tensors)]
    if saved_head:
        head = model.classifier_head if kind == "classifier" else model.span_head
        prefix = saved_head.rsplit(".", 1)[0]
        ports += [transposed(head.kernel, prefix + ".weight"), same(head.bias, prefix + ".bias")]
    unused = load_tensors(ports, tensors, str(path))
    if attached is not None:
        model.attach_tokenizer(attached)
    # Tensors of heads this kind does not use (an MLM head under a classifier, a tied lm_head copy).
    model.checkpoint_source = {
        "path": str(path),
        "format": fmt,
        "family": family.__name__.rsplit(".", 1)[-1],
        "unused_tensors": len(unused),
    }
    if compile:
        model.compile()
    return model

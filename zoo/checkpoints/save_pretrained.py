"""save_pretrained: a zoo model (imported or trained in zoo) written as a keras-hub preset or a Hugging Face folder.

- format="hf": config.json + model.safetensors (sharded with an index above
  `shard_bytes`) + the tokenizer's files, in the key layout `transformers` uses,
  which keras-hub's `from_preset` also reads.
- format="keras-hub": keras-hub's own backbone class, filled by keras-hub's own
  converter and saved by its `save_to_preset`, plus the tokenizer as a keras-hub
  tokenizer class; `keras_hub.models.Backbone.from_preset(path)` loads it without zoo.

The family follows the model's architecture: GPT-2 (pre-LayerNorm, learned
positions), BERT (post-LayerNorm encoder) or Llama (RMSNorm, SwiGLU, rotary);
task heads that the format has names for (MLM, NSP, pooler, classifier, QA span)
are saved with it. Everything is written to a temporary folder first and renamed
at the end: a failure leaves no half-written checkpoint.

Example:
    >>> from zoo import from_pretrained, save_pretrained
    >>> model = from_pretrained("checkpoints/gpt2")                      # doctest: +SKIP
    >>> save_pretrained(model, "out/gpt2-hf", format="hf")             # doctest: +SKIP
"""

import warnings

from zoo.checkpoints.errors import CheckpointError
from zoo.checkpoints.families import family_for_config
from zoo.checkpoints.hf_folder import DEFAULT_SHARD_BYTES, write_hf_folder
from zoo.checkpoints.weight_map import export_tensors

FORMATS = ("hf", "keras-hub")


def model_kind(model):
    """ "causal", "masked", "classifier" or "qa" of a zoo task model."""
    names = {"CausalLM": "causal", "MaskedLM": "masked", "SequenceClassifier": "classifier", "QuestionAnswering": "qa"}
    kind = names.get(type(model).__name__)
    if kind is None:
        raise CheckpointError(
            f"cannot save a {type(model).__name__}; save_pretrained takes zoo's CausalLM, MaskedLM, "
            "SequenceClassifier or QuestionAnswering"
        )
    return kind


def checkpoint_tensors(model):
    """(family module, Hugging Face config dict, {name: array}) of a zoo model."""
    import numpy as np

    kind = model_kind(model)
    config = model.llm_config
    family = family_for_config(config)
    name = family.__name__.rsplit(".", 1)[-1]
    try:
        family.check_exportable(config)
    except ValueError as error:
        raise CheckpointError(f"cannot save this model: {error}") from None
    if name != "bert" and kind not in ("causal", "classifier"):
        raise CheckpointError(f"a {name} decoder is saved as a causal LM or classifier, not {kind!r}")
    if name == "bert" and kind == "causal":
        raise CheckpointError("a BERT encoder has no causal LM layout")
    tensors = export_tensors(family.ports(model, kind))
    hf_config = family.config_to_hf(config)
    if name == "bert":
        if "bert.pooler.dense.weight" not in tensors:
            # This model has no pooler (a masked LM without NSP). BERT's layout (and keras-hub's loader) expects
            # one, so an all-zero pooler is written: its output is tanh(0) = 0, plainly "not trained".
            d = config.hidden_dim
            tensors["bert.pooler.dense.weight"] = np.zeros((d, d), "float32")
            tensors["bert.pooler.dense.bias"] = np.zeros((d,), "float32")
        hf_config["architectures"] = [
            {
                "masked": "BertForPreTraining" if config.next_sentence_prediction else "BertForMaskedLM",
                "classifier": "BertForSequenceClassification",
                "qa": "BertForQuestionAnswering",
            }[kind]
        ]
    if kind == "classifier":
        head = model.classifier_head
        tensors["classifier.weight"] = np.ascontiguousarray(head.kernel.numpy().T)
        tensors["classifier.bias"] = head.bias.numpy()
        hf_config["num_labels"] = int(model.num_classes)
    if kind == "qa":
        tensors["qa_outputs.weight"] = np.ascontiguousarray(model.span_head.kernel.numpy().T)
        tensors["qa_outputs.bias"] = model.span_head.bias.numpy()
    return family, hf_config, tensors


def save_pretrained(model, path, format="hf", shard_bytes=DEFAULT_SHARD_BYTES, tokenizer=None):
    """Write `model` (and its attached tokenizer, or `tokenizer`) to the folder `path`.

    Args:
        model: a zoo task model (from `from_pretrained`, `build_llm` or a fine-tuning run).
        path: the folder to write; an existing one is replaced only once the new one is complete.
        format: "hf" (config.json + safetensors) or "keras-hub" (`save_to_preset`).
        shard_bytes: "hf": largest safetensors shard, in bytes.
        tokenizer: a tokenizer to save instead of the attached one.

    Example:
        >>> save_pretrained(model, "out/llama-keras-hub", format="keras-hub")   # doctest: +SKIP
    """
    if format not in FORMATS:
        raise CheckpointError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    if tokenizer is not None and int(tokenizer.vocabulary_size()) > model.llm_config.vocab_size:
        raise CheckpointError(
            f"the tokenizer has {int(tokenizer.vocabulary_size())} tokens but the model embeds "
            f"{model.llm_config.vocab_size}; pass the tokenizer the model was trained with"
        )
    family, hf_config, tensors = checkpoint_tensors(model)
    name = family.__name__.rsplit(".", 1)[-1]
    if format == "hf":
        from zoo.checkpoints.tokenizers import tokenizer_files

        extra = {} if tokenizer is None else tokenizer_files(tokenizer)
        write_hf_folder(path, hf_config, tensors, extra_files=extra, shard_bytes=shard_bytes)
        return path
    from zoo.checkpoints.keras_hub_preset import write_keras_hub_preset

    _check_keras_hub(name, model.llm_config)
    write_keras_hub_preset(path, hf_config, tensors, tokenizer, family_name=name)
    return path


def _check_keras_hub(name, config):
    """keras-hub's backbones fix some choices; refuse a model they cannot reproduce, warn where they differ slightly."""
    fixed_epsilon = {"gpt2": 1e-5, "bert": 1e-12}.get(name)
    if fixed_epsilon is not None and abs(config.layer_norm_epsilon - fixed_epsilon) > 1e-15:
        raise CheckpointError(
            f"keras-hub's {name} backbone fixes layer_norm_epsilon={fixed_epsilon}; this model uses "
            f"{config.layer_norm_epsilon}. Save it with format='hf'"
        )
    if name == "gpt2" and config.activation != "gelu_approximate":
        raise CheckpointError(
            "keras-hub's GPT-2 backbone computes tanh-GELU; this model uses "
            f"{config.activation!r}. Save it with format='hf'"
        )
    if name == "bert" and config.activation != "gelu_approximate":
        warnings.warn(
            "keras-hub's BertBackbone computes tanh-GELU where this model uses exact GELU; "
            "its outputs will differ slightly (about 1e-3). format='hf' keeps the exact form.",
            stacklevel=3,
        )

"""keras-hub preset folders written with keras-hub's own code, from Hugging Face-named tensors.

zoo does not write keras-hub's files itself: it builds the keras-hub backbone
with keras-hub's converter for the family (`convert_backbone_config`), fills it
with keras-hub's own tensor mapping (`convert_weights`, fed from memory instead
of a safetensors file) and calls keras-hub's `save_to_preset`. So whatever
keras-hub writes, keras-hub's `from_preset` reads back.

Example:
    >>> write_keras_hub_preset("out/gpt2", "gpt2", hf_config, tensors, tokenizer)   # doctest: +SKIP
"""

import importlib
import shutil
import tempfile
from pathlib import Path

from zoo.checkpoints.errors import CheckpointError
from zoo.checkpoints.hf_folder import replace_folder

# Hugging Face model_type -> keras-hub's converter module (keras_hub/src/utils/transformers/).
_CONVERTERS = {
    "gpt2": "convert_gpt2",
    "bert": "convert_bert",
    "llama": "convert_llama3",
    "qwen2": "convert_qwen",
    "mistral": "convert_mistral",
}


class MemoryLoader:
    """keras-hub's SafetensorLoader interface over a dict of tensors (prefixes matched by suffix, as keras-hub does)."""

    def __init__(self, tensors):
        self.tensors = tensors

    def get_tensor(self, hf_weight_key):
        if hf_weight_key in self.tensors:
            return self.tensors[hf_weight_key]
        for name in self.tensors:
            if name.endswith("." + hf_weight_key):
                return self.tensors[name]
        raise KeyError(hf_weight_key)

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        tensor = self.get_tensor(hf_weight_key)
        if hook_fn:
            tensor = hook_fn(tensor, list(keras_variable.shape))
        keras_variable.assign(tensor)


def keras_hub_backbone(hf_config, tensors):
    """A keras-hub backbone built and filled by keras-hub's converter for hf_config["model_type"]."""
    model_type = hf_config["model_type"]
    if model_type not in _CONVERTERS:
        raise CheckpointError(f"keras-hub has no converter zoo can use for {model_type!r}")
    converter = importlib.import_module(f"keras_hub.src.utils.transformers.{_CONVERTERS[model_type]}")
    kwargs = converter.convert_backbone_config(hf_config)
    if model_type == "llama":
        # keras-hub's Llama converter leaves the RMSNorm epsilon at its default; the checkpoint's value is kept.
        kwargs["layer_norm_epsilon"] = hf_config.get("rms_norm_eps", 1e-6)
    backbone = converter.backbone_cls(**kwargs)
    converter.convert_weights(backbone, MemoryLoader(tensors), hf_config)
    return backbone


def keras_hub_tokenizer(tokenizer, family_name):
    """The tokenizer as keras-hub's class for the family (so keras-hub's from_preset needs no zoo import)."""
    import keras_hub

    if isinstance(tokenizer, keras_hub.tokenizers.BytePairTokenizer):
        vocabulary, merges = dict(tokenizer.vocabulary), list(tokenizer.merges)
        if family_name == "gpt2" and "<|endoftext|>" in vocabulary:
            return keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
        return keras_hub.tokenizers.BytePairTokenizer(
            vocabulary=vocabulary, merges=merges, unsplittable_tokens=getattr(tokenizer, "unsplittable_tokens", None)
        )
    if isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        options = {
            "vocabulary": list(tokenizer.vocabulary),
            "lowercase": tokenizer.lowercase,
            "strip_accents": tokenizer.strip_accents,
        }
        if all(token in options["vocabulary"] for token in ("[CLS]", "[SEP]", "[PAD]", "[MASK]")):
            return keras_hub.models.BertTokenizer(**options)
        return keras_hub.tokenizers.WordPieceTokenizer(**options)
    if isinstance(tokenizer, keras_hub.tokenizers.SentencePieceTokenizer):
        proto = bytes(tokenizer.proto)
        try:
            return keras_hub.models.LlamaTokenizer(proto=proto)
        except ValueError:  # no <s> or </s> piece
            return keras_hub.tokenizers.SentencePieceTokenizer(proto=proto)
    raise CheckpointError(f"cannot save a {type(tokenizer).__name__} as a keras-hub tokenizer")


def write_keras_hub_preset(path, hf_config, tensors, tokenizer=None, family_name=None):
    """Write a keras-hub preset folder atomically (temporary folder, renamed at the end)."""
    backbone = keras_hub_backbone(hf_config, tensors)
    kh_tokenizer = None if tokenizer is None else keras_hub_tokenizer(tokenizer, family_name or hf_config["model_type"])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        backbone.save_to_preset(str(tmp))
        if kh_tokenizer is not None:
            kh_tokenizer.save_to_preset(str(tmp))
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return backbone

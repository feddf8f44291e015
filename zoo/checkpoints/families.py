"""The checkpoint families zoo reads and writes, looked up by Hugging Face model_type or keras-hub class.

Each family module (gpt2, bert, llama) has the same parts: MODEL_TYPES,
KERAS_HUB_CLASSES, PREFIX, DEFAULT_KIND, IGNORED_SUFFIXES, config_from_hf,
config_to_hf, check_exportable, ports, hf_config_from_keras_hub and
tensors_from_keras_hub.

Example:
    >>> family_for_model_type("qwen2").__name__
    'zoo.checkpoints.llama'
"""

from zoo.checkpoints import bert, gpt2, llama
from zoo.checkpoints.errors import CheckpointError

FAMILIES = (gpt2, bert, llama)
# Heads that sit outside the body's name prefix in Hugging Face files.
HEAD_PREFIXES = ("lm_head.", "cls.", "qa_outputs.", "classifier.")


def supported_model_types():
    return [t for family in FAMILIES for t in family.MODEL_TYPES]


def supported_keras_hub_classes():
    return [c for family in FAMILIES for c in family.KERAS_HUB_CLASSES]


def family_for_model_type(model_type, source="checkpoint"):
    for family in FAMILIES:
        if model_type in family.MODEL_TYPES:
            return family
    raise CheckpointError(
        f"{source}: architecture {model_type!r} is not supported; supported Hugging Face "
        f"model_type values: {', '.join(supported_model_types())}"
    )


def family_for_keras_hub_class(class_name, source="checkpoint"):
    for family in FAMILIES:
        if class_name in family.KERAS_HUB_CLASSES:
            return family
    raise CheckpointError(
        f"{source}: keras-hub backbone {class_name!r} is not supported; supported: "
        f"{', '.join(supported_keras_hub_classes())}"
    )


def family_for_config(config):
    """The family whose layout can hold a zoo model of this LLMConfig."""
    if config.norm == "post" and config.embedding_norm:
        return bert
    if config.norm_type == "rmsnorm" or config.mlp == "gated":
        return llama
    return gpt2


def canonical_tensors(family, tensors):
    """Tensor names in the family's canonical form: body prefix added, LayerNorm gamma/beta as weight/bias."""
    out = {}
    has_prefix = any(name.startswith(family.PREFIX) for name in tensors)
    for name, value in tensors.items():
        if name.endswith(family.IGNORED_SUFFIXES):
            continue
        if not has_prefix and not name.startswith(HEAD_PREFIXES):
            name = family.PREFIX + name
        if "LayerNorm" in name:
            name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        out[name] = value
    return out

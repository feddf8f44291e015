"""GPT-2 checkpoints: config and tensor names of Hugging Face's GPT2LMHeadModel and keras-hub's GPT2Backbone.

GPT-2 maps onto zoo's causal model one to one: pre-LayerNorm blocks, learned
positions, tanh-GELU, biases everywhere and a head tied to the token table.
Its Conv1D weights are already [in, out] and its c_attn fuses q, k, v in
zoo's column order, so no tensor is transposed.

Example:
    >>> config_from_hf({"model_type": "gpt2", "vocab_size": 50, "n_positions": 16, "n_embd": 8,
    ...                 "n_layer": 1, "n_head": 2}).intermediate_dim
    32
"""

import numpy as np

from zoo.checkpoints.weight_map import same, transposed
from zoo.llm.config import LLMConfig

MODEL_TYPES = ("gpt2",)
KERAS_HUB_CLASSES = ("GPT2Backbone",)
PREFIX = "transformer."
DEFAULT_KIND = "causal"
# Buffers older GPT-2 checkpoints store next to the weights: the causal mask, not parameters.
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")
_ACTIVATIONS = {
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu": "gelu",
    "relu": "relu",
    "silu": "silu",
}


def config_from_hf(hf):
    """LLMConfig of a Hugging Face GPT-2 config.json."""
    d = hf["n_embd"]
    activation = hf.get("activation_function", "gelu_new")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"GPT-2 activation_function {activation!r} is not supported ({', '.join(_ACTIVATIONS)})")
    return LLMConfig(
        vocab_size=hf["vocab_size"],
        max_length=hf["n_positions"],
        num_layers=hf["n_layer"],
        hidden_dim=d,
        num_heads=hf["n_head"],
        intermediate_dim=hf.get("n_inner") or 4 * d,
        dropout=float(hf.get("resid_pdrop", 0.0)),
        activation=_ACTIVATIONS[activation],
        layer_norm_epsilon=float(hf.get("layer_norm_epsilon", 1e-5)),
        norm="pre",
        position="learned",
        tie_embeddings=bool(hf.get("tie_word_embeddings", True)),
    )


def config_to_hf(config):
    """Hugging Face GPT-2 config.json fields of an LLMConfig."""
    activation = {"gelu_approximate": "gelu_new"}.get(config.activation, config.activation)
    return {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": config.vocab_size,
        "n_positions": config.max_length,
        "n_ctx": config.max_length,
        "n_embd": config.hidden_dim,
        "n_layer": config.num_layers,
        "n_head": config.num_heads,
        "n_inner": config.intermediate_dim,
        "activation_function": activation,
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": config.layer_norm_epsilon,
        "tie_word_embeddings": config.tie_embeddings,
        "bos_token_id": config.vocab_size - 1,
        "eos_token_id": config.vocab_size - 1,
    }


def check_exportable(config):
    """Refuse configs GPT-2's layout cannot express."""
    if (
        (config.norm, config.position, config.norm_type, config.mlp) != ("pre", "learned", "layernorm", "standard")
        or not config.use_bias
        or config.key_value_heads != config.num_heads
        or config.num_segments
    ):
        raise ValueError(
            "only a GPT-2-shaped model (pre-LayerNorm, learned positions, biases, plain MLP and "
            "attention) can be saved as GPT-2"
        )


def ports(model, kind):
    """Ports of a zoo causal model (GPT-2 names) for a task `kind`."""

    backbone = model.backbone
    embeddings = backbone.embeddings
    out = [
        same(embeddings.token_embedding.embeddings, "transformer.wte.weight"),
        same(embeddings.position_embedding.position_embeddings, "transformer.wpe.weight"),
    ]
    for i, block in enumerate(backbone.blocks):
        p = f"transformer.h.{i}."
        attention = block.self_attention
        out += [
            same(block.self_attention_norm.gamma, p + "ln_1.weight"),
            same(block.self_attention_norm.beta, p + "ln_1.bias"),
            same(attention.qkv_dense.kernel, p + "attn.c_attn.weight"),
            same(attention.qkv_dense.bias, p + "attn.c_attn.bias"),
            same(attention.output_dense.kernel, p + "attn.c_proj.weight"),
            same(attention.output_dense.bias, p + "attn.c_proj.bias"),
            same(block.ffn_norm.gamma, p + "ln_2.weight"),
            same(block.ffn_norm.beta, p + "ln_2.bias"),
            same(block.ffn_in.kernel, p + "mlp.c_fc.weight"),
            same(block.ffn_in.bias, p + "mlp.c_fc.bias"),
            same(block.ffn_out.kernel, p + "mlp.c_proj.weight"),
            same(block.ffn_out.bias, p + "mlp.c_proj.bias"),
        ]
    out += [
        same(backbone.final_norm.gamma, "transformer.ln_f.weight"),
        same(backbone.final_norm.beta, "transformer.ln_f.bias"),
    ]
    if kind == "causal" and not backbone.llm_config.tie_embeddings:
        out.append(transposed(embeddings.token_embedding.reverse_embeddings, "lm_head.weight"))
    return out


def hf_config_from_keras_hub(config, class_name="GPT2Backbone"):
    """Hugging Face config fields of a keras-hub GPT2Backbone config."""
    d = config["hidden_dim"]
    return {
        "model_type": "gpt2",
        "vocab_size": config["vocabulary_size"],
        "n_positions": config["max_sequence_length"],
        "n_embd": d,
        "n_layer": config["num_layers"],
        "n_head": config["num_heads"],
        "n_inner": config["intermediate_dim"],
        "resid_pdrop": config.get("dropout", 0.0),
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
    }


def tensors_from_keras_hub(backbone):
    """Hugging Face GPT-2 tensors of a keras-hub GPT2Backbone."""

    def flat(variable):
        value = np.asarray(variable.numpy(), "float32")
        return value.reshape(value.shape[0], -1) if value.ndim == 3 else value.reshape(-1)

    out = {
        "transformer.wte.weight": backbone.token_embedding.embeddings.numpy(),
        "transformer.wpe.weight": backbone.position_embedding.position_embeddings.numpy(),
    }
    for i, layer in enumerate(backbone.transformer_layers):
        p = f"transformer.h.{i}."
        attention = layer._self_attention_layer
        dense = (attention.query_dense, attention.key_dense, attention.value_dense)
        out[p + "attn.c_attn.weight"] = np.concatenate([flat(x.kernel) for x in dense], axis=1)
        out[p + "attn.c_attn.bias"] = np.concatenate([flat(x.bias) for x in dense])
        out[p + "attn.c_proj.weight"] = attention.output_dense.kernel.numpy().reshape(-1, backbone.hidden_dim)
        out[p + "attn.c_proj.bias"] = attention.output_dense.bias.numpy()
        for hf, norm in (("ln_1", layer._self_attention_layer_norm), ("ln_2", layer._feedforward_layer_norm)):
            out[p + hf + ".weight"], out[p + hf + ".bias"] = norm.gamma.numpy(), norm.beta.numpy()
        for hf, dense_layer in (
            ("mlp.c_fc", layer._feedforward_intermediate_dense),
            ("mlp.c_proj", layer._feedforward_output_dense),
        ):
            out[p + hf + ".weight"], out[p + hf + ".bias"] = dense_layer.kernel.numpy(), dense_layer.bias.numpy()
    out["transformer.ln_f.weight"] = backbone.layer_norm.gamma.numpy()
    out["transformer.ln_f.bias"] = backbone.layer_norm.beta.numpy()
    return out

"""Llama-family checkpoints (Llama 2/3, Qwen2, SmolLM, Mistral without sliding window): Hugging Face and keras-hub names.

These decoders are zoo's causal model with the Llama options of LLMConfig:
RMSNorm (`norm_type="rmsnorm"`), SwiGLU (`mlp="gated"`, `activation="silu"`),
rotary positions with `rotary_max_wavelength` = rope_theta and optional
rope scaling, grouped-query attention (`num_key_value_heads`), no biases
(Qwen2: biases on q/k/v only, `qkv_bias=True`), and a tied or untied head.

Example:
    >>> cfg = config_from_hf({"model_type": "llama", "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1,
    ...                       "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
    ...                       "max_position_embeddings": 64, "rope_theta": 500000.0})
    >>> cfg.key_value_heads, cfg.norm_type, cfg.mlp
    (2, 'rmsnorm', 'gated')
"""

import numpy as np

from zoo.checkpoints.weight_map import fused, same, transposed
from zoo.llm.config import LLMConfig

MODEL_TYPES = ("llama", "qwen2", "mistral")
KERAS_HUB_CLASSES = ("LlamaBackbone", "Llama3Backbone", "QwenBackbone", "MistralBackbone")
PREFIX = "model."
DEFAULT_KIND = "causal"
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


def _rope(hf):
    theta = hf.get("rope_theta") or (hf.get("rope_parameters") or {}).get("rope_theta") or 10000.0
    scaling = hf.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "none")) if scaling else "none"
    if kind == "default":
        kind = "none"
    if kind not in ("none", "linear", "llama3"):
        raise ValueError(f"rope_scaling type {kind!r} is not supported (linear, llama3)")
    options = {"rotary_max_wavelength": float(theta), "rope_scaling_type": kind}
    if kind != "none":
        options["rope_scaling_factor"] = float(scaling["factor"])
    if kind == "llama3":
        options.update(
            rope_low_freq_factor=float(scaling["low_freq_factor"]),
            rope_high_freq_factor=float(scaling["high_freq_factor"]),
            rope_original_max_length=int(scaling["original_max_position_embeddings"]),
        )
    return options


def config_from_hf(hf):
    """LLMConfig of a Hugging Face Llama/Qwen2/Mistral config.json."""
    if hf.get("hidden_act", "silu") != "silu":
        raise ValueError(f"hidden_act {hf['hidden_act']!r} is not supported (Llama-family models use silu)")
    if hf.get("use_sliding_window") or (hf["model_type"] == "mistral" and hf.get("sliding_window")):
        raise ValueError(
            "sliding-window Llama-family checkpoints are not supported; set sliding_window to null "
            "in config.json only if the model was trained without it"
        )
    heads = hf["num_attention_heads"]
    if hf.get("head_dim") not in (None, hf["hidden_size"] // heads):
        raise ValueError(f"head_dim={hf['head_dim']} differs from hidden_size / num_attention_heads; not supported")
    kv_heads = hf.get("num_key_value_heads") or heads
    qwen = hf["model_type"] == "qwen2"
    return LLMConfig(
        vocab_size=hf["vocab_size"],
        max_length=hf.get("max_position_embeddings", 2048),
        num_layers=hf["num_hidden_layers"],
        hidden_dim=hf["hidden_size"],
        num_heads=heads,
        num_key_value_heads=None if kv_heads == heads else kv_heads,
        intermediate_dim=hf["intermediate_size"],
        dropout=float(hf.get("attention_dropout", 0.0)),
        norm="pre",
        norm_type="rmsnorm",
        mlp="gated",
        activation="silu",
        position="rotary",
        layer_norm_epsilon=float(hf.get("rms_norm_eps", 1e-6)),
        use_bias=bool(hf.get("mlp_bias", False)),
        qkv_bias=True if qwen else bool(hf.get("attention_bias", False)),
        tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
        **_rope(hf),
    )


def config_to_hf(config):
    """Hugging Face config.json fields of an LLMConfig (model_type "qwen2" when only q/k/v carry biases)."""
    qwen = bool(config.qkv_bias) and not config.use_bias
    hf = {
        "model_type": "qwen2" if qwen else "llama",
        "architectures": ["Qwen2ForCausalLM" if qwen else "LlamaForCausalLM"],
        "vocab_size": config.vocab_size,
        "max_position_embeddings": config.max_length,
        "num_hidden_layers": config.num_layers,
        "hidden_size": config.hidden_dim,
        "num_attention_heads": config.num_heads,
        "num_key_value_heads": config.key_value_heads,
        "intermediate_size": config.intermediate_dim,
        "hidden_act": "silu",
        "rms_norm_eps": config.layer_norm_epsilon,
        "rope_theta": config.rotary_max_wavelength,
        "tie_word_embeddings": config.tie_embeddings,
        "attention_dropout": config.dropout,
        "rope_scaling": None,
    }
    if qwen:
        hf.update(use_sliding_window=False, sliding_window=None)
    else:
        hf.update(
            attention_bias=bool(config.qkv_bias if config.qkv_bias is not None else config.use_bias),
            mlp_bias=config.use_bias,
        )
    if config.rope_scaling_type == "linear":
        hf["rope_scaling"] = {"rope_type": "linear", "factor": config.rope_scaling_factor}
    elif config.rope_scaling_type == "llama3":
        hf["rope_scaling"] = {
            "rope_type": "llama3",
            "factor": config.rope_scaling_factor,
            "low_freq_factor": config.rope_low_freq_factor,
            "high_freq_factor": config.rope_high_freq_factor,
            "original_max_position_embeddings": config.rope_original_max_length,
        }
    return hf


def check_exportable(config):
    """Refuse configs the Llama layout cannot express."""
    if (config.norm, config.position, config.norm_type, config.mlp, config.activation) != (
        "pre",
        "rotary",
        "rmsnorm",
        "gated",
        "silu",
    ):
        raise ValueError("only a Llama-shaped decoder (pre-RMSNorm, rotary positions, SwiGLU) can be saved as Llama")


def _rms(norm, name):
    return same(norm.scale, name)


def ports(model, kind):
    """Ports of a zoo causal model (Llama names) for a task `kind`."""
    backbone = model.backbone
    config = backbone.llm_config
    embedding = backbone.embeddings.token_embedding
    q, kv = config.hidden_dim, config.key_value_heads * config.head_dim
    out = [same(embedding.embeddings, "model.embed_tokens.weight")]
    for i, block in enumerate(backbone.blocks):
        p = f"model.layers.{i}."
        attention = block.self_attention
        names = [p + f"self_attn.{x}_proj" for x in "qkv"]
        out += [
            _rms(block.self_attention_norm, p + "input_layernorm.weight"),
            fused(attention.qkv_dense.kernel, [n + ".weight" for n in names], [q, kv, kv]),
            transposed(attention.output_dense.kernel, p + "self_attn.o_proj.weight"),
            _rms(block.ffn_norm, p + "post_attention_layernorm.weight"),
            transposed(block.ffn_gate.kernel, p + "mlp.gate_proj.weight"),
            transposed(block.ffn_in.kernel, p + "mlp.up_proj.weight"),
            transposed(block.ffn_out.kernel, p + "mlp.down_proj.weight"),
        ]
        if attention.qkv_dense.use_bias:
            out.append(fused(attention.qkv_dense.bias, [n + ".bias" for n in names], [q, kv, kv], transpose=False))
        if config.use_bias:
            out += [
                same(attention.output_dense.bias, p + "self_attn.o_proj.bias"),
                same(block.ffn_gate.bias, p + "mlp.gate_proj.bias"),
                same(block.ffn_in.bias, p + "mlp.up_proj.bias"),
                same(block.ffn_out.bias, p + "mlp.down_proj.bias"),
            ]
    out.append(_rms(backbone.final_norm, "model.norm.weight"))
    if kind == "causal" and not config.tie_embeddings:
        out.append(transposed(embedding.reverse_embeddings, "lm_head.weight"))
    return out


def hf_config_from_keras_hub(config, class_name):
    """Hugging Face config fields of a keras-hub Llama/Llama3/Qwen/Mistral backbone config."""
    hf = {
        "model_type": "qwen2"
        if class_name == "QwenBackbone"
        else ("mistral" if class_name == "MistralBackbone" else "llama"),
        "vocab_size": config["vocabulary_size"],
        "num_hidden_layers": config["num_layers"],
        "hidden_size": config["hidden_dim"],
        "num_attention_heads": config["num_query_heads"],
        "num_key_value_heads": config["num_key_value_heads"],
        "intermediate_size": config["intermediate_dim"],
        "rms_norm_eps": config.get("layer_norm_epsilon", 1e-6),
        "rope_theta": config.get("rope_max_wavelength", 10000),
        "tie_word_embeddings": config.get("tie_word_embeddings", False),
        "max_position_embeddings": 2048,
    }
    if config.get("rope_frequency_adjustment_factor"):
        hf["rope_scaling"] = {
            "rope_type": "llama3",
            "factor": config["rope_frequency_adjustment_factor"],
            "low_freq_factor": config["rope_low_freq_factor"],
            "high_freq_factor": config["rope_high_freq_factor"],
            "original_max_position_embeddings": config["rope_pretraining_sequence_length"],
        }
    else:
        factor = config.get("rope_position_scaling_factor", config.get("rope_scaling_factor", 1.0))
        if factor != 1.0:
            hf["rope_scaling"] = {"rope_type": "linear", "factor": factor}
    if class_name == "MistralBackbone" and config.get("sliding_window"):
        hf["sliding_window"] = config["sliding_window"]
    return hf


def tensors_from_keras_hub(backbone):
    """Hugging Face tensors of a keras-hub Llama/Llama3/Qwen/Mistral backbone."""
    out = {}
    embedding = backbone.get_layer("token_embedding")
    out["model.embed_tokens.weight"] = embedding.embeddings.numpy()
    if not getattr(backbone, "tie_word_embeddings", True):
        out["lm_head.weight"] = embedding.reverse_embeddings.numpy().T
    for i in range(backbone.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        attention = layer._self_attention_layer
        p = f"model.layers.{i}."
        for x in "qkv":
            dense = getattr(attention, {"q": "_query_dense", "k": "_key_dense", "v": "_value_dense"}[x])
            kernel = dense.kernel.numpy()
            out[p + f"self_attn.{x}_proj.weight"] = kernel.reshape(kernel.shape[0], -1).T
            if getattr(dense, "bias", None) is not None:
                out[p + f"self_attn.{x}_proj.bias"] = np.asarray(dense.bias.numpy()).reshape(-1)
        kernel = attention._output_dense.kernel.numpy()
        out[p + "self_attn.o_proj.weight"] = kernel.reshape(-1, kernel.shape[-1]).T
        out[p + "input_layernorm.weight"] = layer._self_attention_layernorm.scale.numpy()
        out[p + "post_attention_layernorm.weight"] = layer._feedforward_layernorm.scale.numpy()
        for hf, dense in (
            ("gate_proj", layer._feedforward_gate_dense),
            ("up_proj", layer._feedforward_intermediate_dense),
            ("down_proj", layer._feedforward_output_dense),
        ):
            out[p + f"mlp.{hf}.weight"] = dense.kernel.numpy().T
    out["model.norm.weight"] = backbone.get_layer("sequence_output_layernorm").scale.numpy()
    return out

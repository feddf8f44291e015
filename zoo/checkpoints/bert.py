"""BERT checkpoints: config and tensor names of Hugging Face's BertForPreTraining/BertModel and keras-hub's BertBackbone.

BERT maps onto zoo's encoder: post-LayerNorm blocks, learned positions plus
two segment (token type) embeddings, a LayerNorm on the embedding sum, exact
GELU. The MLM head (dense + GELU + LayerNorm + tied output with a bias), the
pooler and the NSP head are loaded when the checkpoint has them; a body
without them (BertModel) still loads under a new classifier or QA head.

Example:
    >>> config_from_hf({"model_type": "bert", "vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 1,
    ...                 "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}).norm
    'post'
"""

import numpy as np

from zoo.checkpoints.weight_map import fused, same, transposed
from zoo.llm.config import LLMConfig

MODEL_TYPES = ("bert",)
KERAS_HUB_CLASSES = ("BertBackbone",)
PREFIX = "bert."
DEFAULT_KIND = "masked"
IGNORED_SUFFIXES = ("position_ids", "cls.predictions.decoder.weight", "cls.predictions.decoder.bias")
MLM_HEAD = ("cls.predictions.transform.dense.weight", "cls.predictions.bias")
NSP_HEAD = ("cls.seq_relationship.weight",)
POOLER = ("bert.pooler.dense.weight",)


def config_from_hf(hf, next_sentence_prediction=False):
    """LLMConfig of a Hugging Face BERT config.json."""
    activation = hf.get("hidden_act", "gelu")
    if activation not in ("gelu", "relu", "gelu_new"):
        raise ValueError(f"BERT hidden_act {activation!r} is not supported (gelu, gelu_new, relu)")
    return LLMConfig(
        vocab_size=hf["vocab_size"],
        max_length=hf["max_position_embeddings"],
        num_layers=hf["num_hidden_layers"],
        hidden_dim=hf["hidden_size"],
        num_heads=hf["num_attention_heads"],
        intermediate_dim=hf["intermediate_size"],
        dropout=float(hf.get("hidden_dropout_prob", 0.0)),
        norm="post",
        position="learned",
        activation={"gelu_new": "gelu_approximate"}.get(activation, activation),
        layer_norm_epsilon=float(hf.get("layer_norm_eps", 1e-12)),
        embedding_norm=True,
        num_segments=int(hf.get("type_vocab_size", 2)),
        next_sentence_prediction=next_sentence_prediction,
        tie_embeddings=True,
    )


def config_to_hf(config):
    """Hugging Face BERT config.json fields of an LLMConfig."""
    return {
        "model_type": "bert",
        "architectures": ["BertForPreTraining"],
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_dim,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_dim,
        "max_position_embeddings": config.max_length,
        "type_vocab_size": config.num_segments,
        "hidden_act": {"gelu_approximate": "gelu_new"}.get(config.activation, config.activation),
        "hidden_dropout_prob": config.dropout,
        "attention_probs_dropout_prob": config.dropout,
        "layer_norm_eps": config.layer_norm_epsilon,
        "pad_token_id": 0,
    }


def check_exportable(config):
    """Refuse configs BERT's layout cannot express."""
    if (
        (config.norm, config.position, config.norm_type, config.mlp) != ("post", "learned", "layernorm", "standard")
        or not config.embedding_norm
        or not config.use_bias
        or config.num_segments < 1
    ):
        raise ValueError(
            "only a BERT-shaped encoder (post-LayerNorm, learned positions, segment embeddings, "
            "embedding LayerNorm, biases) can be saved as BERT"
        )


def _norm(norm, name):
    return [same(norm.gamma, name + ".weight"), same(norm.beta, name + ".bias")]


def _dense(layer, name):
    return [transposed(layer.kernel, name + ".weight"), same(layer.bias, name + ".bias")]


def ports(model, kind):
    """Ports of a zoo encoder model (BERT names) for a task `kind`."""
    backbone = model.backbone
    config = backbone.llm_config
    embeddings = backbone.embeddings
    d = config.hidden_dim
    out = [
        same(embeddings.token_embedding.embeddings, "bert.embeddings.word_embeddings.weight"),
        same(embeddings.position_embedding.position_embeddings, "bert.embeddings.position_embeddings.weight"),
        same(embeddings.segment_embedding.embeddings, "bert.embeddings.token_type_embeddings.weight"),
        *_norm(embeddings.norm, "bert.embeddings.LayerNorm"),
    ]
    for i, block in enumerate(backbone.blocks):
        p = f"bert.encoder.layer.{i}."
        qkv = block.self_attention.qkv_dense
        names = [p + f"attention.self.{x}" for x in ("query", "key", "value")]
        out += [
            fused(qkv.kernel, [n + ".weight" for n in names], [d, d, d]),
            fused(qkv.bias, [n + ".bias" for n in names], [d, d, d], transpose=False),
            *_dense(block.self_attention.output_dense, p + "attention.output.dense"),
            *_norm(block.self_attention_norm, p + "attention.output.LayerNorm"),
            *_dense(block.ffn_in, p + "intermediate.dense"),
            *_dense(block.ffn_out, p + "output.dense"),
            *_norm(block.ffn_norm, p + "output.LayerNorm"),
        ]
    if kind == "masked":
        head = model.mlm_head
        out += [
            *_dense(head._intermediate_dense, "cls.predictions.transform.dense"),
            *_norm(head._intermediate_layer_norm, "cls.predictions.transform.LayerNorm"),
            same(head._bias, "cls.predictions.bias"),
        ]
    if getattr(model, "pooler", None) is not None and kind in ("masked", "classifier", "pooler"):
        out += _dense(model.pooler, "bert.pooler.dense")
    if kind == "masked" and model.nsp_head is not None:
        out += _dense(model.nsp_head, "cls.seq_relationship")
    return out


def hf_config_from_keras_hub(config, class_name="BertBackbone"):
    """Hugging Face config fields of a keras-hub BertBackbone config."""
    return {
        "model_type": "bert",
        "vocab_size": config["vocabulary_size"],
        "hidden_size": config["hidden_dim"],
        "num_hidden_layers": config["num_layers"],
        "num_attention_heads": config["num_heads"],
        "intermediate_size": config["intermediate_dim"],
        "max_position_embeddings": config["max_sequence_length"],
        "type_vocab_size": config["num_segments"],
        "hidden_dropout_prob": config.get("dropout", 0.0),
        # keras-hub's BertBackbone computes the tanh approximation of GELU (Hugging Face's BERT: exact erf).
        "hidden_act": "gelu_new",
        "layer_norm_eps": 1e-12,
    }


def tensors_from_keras_hub(backbone):
    """Hugging Face BERT tensors of a keras-hub BertBackbone (pooler included)."""

    def linear(dense):  # EinsumDense kernel [d, heads, head_dim] or [heads, head_dim, d] -> HF [out, in]
        kernel = np.asarray(dense.kernel.numpy(), "float32")
        kernel = (
            kernel.reshape(kernel.shape[0], -1)
            if kernel.shape[0] == backbone.hidden_dim
            else kernel.reshape(-1, kernel.shape[-1])
        )
        return kernel.T, np.asarray(dense.bias.numpy(), "float32").reshape(-1)

    out = {}

    def put(name, pair):
        out[name + ".weight"], out[name + ".bias"] = pair

    def norm(layer):
        return layer.gamma.numpy(), layer.beta.numpy()

    out["bert.embeddings.word_embeddings.weight"] = backbone.get_layer("token_embedding").embeddings.numpy()
    out["bert.embeddings.position_embeddings.weight"] = backbone.get_layer(
        "position_embedding"
    ).position_embeddings.numpy()
    out["bert.embeddings.token_type_embeddings.weight"] = backbone.get_layer("segment_embedding").embeddings.numpy()
    put("bert.embeddings.LayerNorm", norm(backbone.get_layer("embeddings_layer_norm")))
    for i in range(backbone.num_layers):
        block = backbone.get_layer(f"transformer_layer_{i}")
        attention = block._self_attention_layer
        p = f"bert.encoder.layer.{i}."
        for x in ("query", "key", "value"):
            put(p + f"attention.self.{x}", linear(getattr(attention, f"{x}_dense")))
        put(p + "attention.output.dense", linear(attention.output_dense))
        put(p + "attention.output.LayerNorm", norm(block._self_attention_layer_norm))
        for hf, dense in (
            ("intermediate.dense", block._feedforward_intermediate_dense),
            ("output.dense", block._feedforward_output_dense),
        ):
            put(p + hf, (dense.kernel.numpy().T, dense.bias.numpy()))
        put(p + "output.LayerNorm", norm(block._feedforward_layer_norm))
    pooler = backbone.get_layer("pooled_dense")
    put("bert.pooler.dense", (pooler.kernel.numpy().T, pooler.bias.numpy()))
    return out

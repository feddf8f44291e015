"""Llama-family options of LLMConfig: RMSNorm, gated (SwiGLU) MLP, grouped-query attention, RoPE scaling."""

import numpy as np
import pytest

from zoo.llm import build_llm
from zoo.llm.config import LLMConfig
from zoo.llm.sizing.explain import count_parameters

LLAMA = dict(
    vocab_size=40,
    max_length=32,
    num_layers=2,
    hidden_dim=16,
    num_heads=4,
    intermediate_dim=24,
    norm_type="rmsnorm",
    mlp="gated",
    activation="silu",
    position="rotary",
    use_bias=False,
    tie_embeddings=False,
    num_key_value_heads=2,
    layer_norm_epsilon=1e-6,
)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"num_key_value_heads": 1, "qkv_bias": True, "tie_embeddings": True},
        {"rope_scaling_type": "llama3", "rope_scaling_factor": 8.0},
        {"rope_scaling_type": "linear", "rope_scaling_factor": 2.0},
    ],
)
def test_parameter_count_matches_built_model(overrides):
    config = LLMConfig(**{**LLAMA, **overrides})
    model = build_llm("causal", config=config, compile=False)
    assert count_parameters(config, "causal")["total"] == model.count_params()


def test_gqa_equals_mha_with_repeated_key_value_heads():
    """A GQA model equals an MHA model whose key/value projections repeat each kv head for its group."""
    gqa = build_llm("causal", config=LLMConfig(**LLAMA), compile=False)
    mha = build_llm("causal", config=LLMConfig(**{**LLAMA, "num_key_value_heads": None}), compile=False)
    for source, target in zip(gqa.weights, mha.weights):
        value = source.numpy()
        if "qkv" in source.path:
            d, hd = 16, 4
            q, k, v = value[:, :d], value[:, d : d + 2 * hd], value[:, d + 2 * hd :]
            # Query heads 0,1 read kv head 0; 2,3 read kv head 1.
            k = np.repeat(k.reshape(d, 2, hd), 2, axis=1).reshape(d, d)
            v = np.repeat(v.reshape(d, 2, hd), 2, axis=1).reshape(d, d)
            value = np.concatenate([q, k, v], axis=1)
        target.assign(value)
    ids = np.array([[3, 4, 5, 6, 7]])
    inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    np.testing.assert_allclose(gqa(inputs), mha(inputs), atol=1e-5)


def test_cached_generation_equals_recomputing():
    model = build_llm("causal", config=LLMConfig(**LLAMA), compile=False)
    prompt = [[3, 4, 5]]
    assert model.generate(prompt, max_new_tokens=5) == model.generate(prompt, max_new_tokens=5, use_cache=False)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="num_key_value_heads=3 does not divide num_heads=4"):
        LLMConfig(**{**LLAMA, "num_key_value_heads": 3})
    with pytest.raises(ValueError, match="Unknown norm_type"):
        LLMConfig(**{**LLAMA, "norm_type": "batchnorm"})
    with pytest.raises(ValueError, match="needs position='rotary'"):
        LLMConfig(rope_scaling_type="linear")


def test_saved_model_round_trip(tmp_path):
    from zoo.llm.models.factory import load_llm

    model = build_llm(
        "causal", config=LLMConfig(**{**LLAMA, "rope_scaling_type": "llama3", "rope_scaling_factor": 8.0})
    )
    path = tmp_path / "m.keras"
    model.save(path)
    ids = np.array([[3, 4, 5]])
    inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    np.testing.assert_allclose(load_llm(path)(inputs), model(inputs), atol=1e-6)

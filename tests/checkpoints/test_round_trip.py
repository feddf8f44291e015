"""save_pretrained -> keras-hub's from_preset (and zoo's from_pretrained) gives the same logits, both formats."""

import json

import numpy as np
import pytest

from tests.checkpoints import writers
from tests.checkpoints.conftest import copy_tokenizer
from zoo import from_pretrained, save_pretrained

TOL = 1e-4
X = {"token_ids": np.array([[5, 17, 33, 2, 60, 61]]), "padding_mask": np.ones((1, 6), "int32")}


def _diff(a, b):
    return float(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64")).max())


def _keras_hub_logits(folder):
    import keras_hub

    backbone = keras_hub.models.Backbone.from_preset(str(folder))
    return backbone.token_embedding(backbone(X), reverse=True)


@pytest.mark.parametrize("fmt", ["hf", "keras-hub"])
def test_gpt2_round_trip(tmp_path, tokenizer_folders, fmt):
    source = tmp_path / "gpt2"
    copy_tokenizer(tokenizer_folders, "bpe", source)
    writers.write_hf_gpt2(source, 400)
    model = from_pretrained(source)
    out = tmp_path / f"out-{fmt}"
    save_pretrained(model, out, format=fmt)
    expected = model(X)
    assert _diff(_keras_hub_logits(out), expected) <= TOL
    again = from_pretrained(out)
    assert _diff(again(X), expected) <= TOL
    text = writers.JAPANESE
    assert np.asarray(again.tokenizer.tokenize(text)).tolist() == np.asarray(model.tokenizer.tokenize(text)).tolist()


@pytest.mark.parametrize("fmt", ["hf", "keras-hub"])
@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_llama_family_round_trip(tmp_path, tokenizer_folders, fmt, model_type):
    source = tmp_path / "llama"
    sp = copy_tokenizer(tokenizer_folders, "sentencepiece", source)
    writers.write_hf_llama(source, sp.get_piece_size(), model_type=model_type, tied=model_type == "qwen2")
    model = from_pretrained(source)
    out = tmp_path / f"out-{fmt}"
    save_pretrained(model, out, format=fmt)
    expected = model(X)
    assert _diff(_keras_hub_logits(out), expected) <= TOL
    assert _diff(from_pretrained(out)(X), expected) <= TOL


@pytest.mark.parametrize("fmt", ["hf", "keras-hub"])
def test_bert_round_trip(tmp_path, tokenizer_folders, fmt):
    import keras_hub

    source = tmp_path / "bert"
    copy_tokenizer(tokenizer_folders, "wordpiece", source)
    writers.write_hf_bert(source, 400)
    # tanh-GELU, as keras-hub's BertBackbone computes it, so keras-hub can reproduce this model exactly.
    model = from_pretrained(source, kind="classifier", num_classes=3, activation="gelu_approximate")
    out = tmp_path / f"out-{fmt}"
    save_pretrained(model, out, format=fmt)
    x = {**X, "segment_ids": np.array([[0, 0, 0, 1, 1, 1]])}
    reference = keras_hub.models.BertBackbone.from_preset(str(out))(x)
    assert _diff(reference["sequence_output"], model.backbone(x)) <= TOL
    again = from_pretrained(out, activation="gelu_approximate")
    # The classifier head travels in the Hugging Face layout (classifier.weight), not in a keras-hub backbone.
    if fmt == "hf":
        assert type(again).__name__ == "SequenceClassifier" and again.num_classes == 3
        assert _diff(again(x), model(x)) <= TOL
    else:
        assert _diff(again.backbone(x), model.backbone(x)) <= TOL


def test_sharded_hf_folder(tmp_path, tokenizer_folders):
    source = tmp_path / "gpt2"
    copy_tokenizer(tokenizer_folders, "bpe", source)
    writers.write_hf_gpt2(source, 400)
    model = from_pretrained(source)
    out = tmp_path / "sharded"
    save_pretrained(model, out, format="hf", shard_bytes=20_000)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    assert not (out / "model.safetensors").exists()
    assert _diff(from_pretrained(out)(X), model(X)) <= TOL
    assert _diff(_keras_hub_logits(out), model(X)) <= TOL


@pytest.mark.parametrize("fmt", ["hf", "keras-hub"])
def test_a_model_trained_in_zoo_leaves_zoo(tmp_path, fmt):
    """A Llama-style model built and trained in zoo is read by keras-hub to the same logits."""
    from zoo.llm import build_llm

    model = build_llm(
        "causal",
        "tiny",
        vocab_size=300,
        max_length=64,
        hidden_dim=32,
        num_heads=4,
        num_layers=2,
        intermediate_dim=48,
        norm_type="rmsnorm",
        mlp="gated",
        activation="silu",
        position="rotary",
        use_bias=False,
        tie_embeddings=False,
        num_key_value_heads=2,
        layer_norm_epsilon=1e-6,
    )
    ids = np.random.default_rng(0).integers(0, 300, size=(8, 17)).astype("int32")
    model.fit({"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}, ids[:, 1:], epochs=2, verbose=0)
    out = tmp_path / "trained"
    save_pretrained(model, out, format=fmt)
    assert _diff(_keras_hub_logits(out), model(X)) <= TOL

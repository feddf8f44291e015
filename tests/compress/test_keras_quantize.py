"""Keras int8/int4 quantization of a zoo LLM and the CNN: what gets quantized, round trips, errors."""

import math

import numpy as np
import pytest

from tests.harness import TINY as HARNESS_TINY

TINY = dict(HARNESS_TINY, vocab_size=120)  # the shared tiny config


def tiny_llm():
    from zoo.llm import build_llm

    return build_llm("causal", "tiny", compile=False, **TINY)


def windows(n=4, t=8, seed=0):
    ids = np.random.default_rng(seed).integers(7, TINY["vocab_size"], (n, t + 1)).astype("int32")
    return ids[:, :-1], ids[:, 1:]


def weight_bytes(model):
    return sum(np.asarray(v.numpy()).nbytes for v in model.weights)


def logits(model, x):
    # An eager call: tracing a predict function costs more than running a model this small.
    return np.asarray(model({"token_ids": x, "padding_mask": np.ones_like(x)}))


def test_llm_int8_reaches_attention_ffn_and_embedding_and_round_trips(tmp_path):
    from zoo.compress.keras_quantize import quantize_model, quantized_layers
    from zoo.llm import load_llm

    model = tiny_llm()
    x, _ = windows()
    before = logits(model, x)
    float_bytes = weight_bytes(model)
    report = quantize_model(model, "int8")
    assert report["quantized"] == sorted(
        [
            "block_0/self_attention/qkv",
            "block_0/self_attention/output",
            "block_0/ffn_in",
            "block_0/ffn_out",
            "embeddings/token_embedding",
        ]
    )
    # LayerNorms and the learned position table have no quantized form.
    assert "embeddings/position_embedding" in report["kept_float"]
    assert any("norm" in path for path in report["kept_float"])
    after = logits(model, x)
    assert np.max(np.abs(after - before)) < 0.05 * np.max(np.abs(before)) + 1e-3
    model.save(tmp_path / "int8.keras")
    reloaded = load_llm(tmp_path / "int8.keras", compile=False)
    assert set(quantized_layers(reloaded).values()) == {"int8"}
    np.testing.assert_array_equal(logits(reloaded, x), after)
    # A quarter of the float bytes for the big matrices (LayerNorms and positions stay float).
    assert weight_bytes(reloaded) < float_bytes / 2
    with pytest.raises(ValueError, match="already quantized .*int8.*Quantize the float32 model"):
        quantize_model(reloaded, "int4")


def test_llm_int4_packs_weights_and_stays_close():
    from zoo.compress.keras_quantize import quantize_model

    model = tiny_llm()
    x, _ = windows()
    before = logits(model, x)
    float_bytes = weight_bytes(model)
    report = quantize_model(model, "int4")
    assert len(report["quantized"]) == 5
    assert weight_bytes(model) < float_bytes / 3
    assert np.max(np.abs(logits(model, x) - before)) < 0.2 * np.max(np.abs(before)) + 1e-3


def test_cnn_dense_layers_quantize_and_convs_stay_float(tmp_path):
    import keras

    from zoo import build_cnn
    from zoo.compress.keras_quantize import quantize_model, quantized_layers

    model = build_cnn(compile=False)
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    before = np.asarray(model(images))
    with pytest.raises(ValueError, match="Unknown quantization mode 'int2'. Choose one of: int8, int4"):
        quantize_model(model, "int2")
    report = quantize_model(model, "int8")
    assert [p.split("/")[-1] for p in report["quantized"]] == ["dense", "probabilities"]
    assert [p.split("/")[-1] for p in report["kept_float"]] == ["conv1", "conv2", "conv3"]
    after = np.asarray(model(images))
    np.testing.assert_allclose(after, before, atol=0.02)
    model.save(tmp_path / "cnn.keras")
    reloaded = keras.saving.load_model(tmp_path / "cnn.keras", compile=False)
    assert quantized_layers(reloaded) == {"dense": "int8", "probabilities": "int8"}
    np.testing.assert_allclose(np.asarray(reloaded(images)), after, atol=1e-6)
    with pytest.raises(ValueError, match="already quantized"):
        quantize_model(reloaded, "int4")


def test_perplexity_is_exp_of_keras_cross_entropy():
    import keras

    from zoo.compress.keras_quantize import perplexity

    model = tiny_llm()
    x, y = windows(n=5)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits(model, x))
    assert perplexity(model, x, y, batch_size=2) == pytest.approx(math.exp(float(loss)), rel=1e-4)
    with pytest.raises(ValueError, match="same shape|one shape"):
        perplexity(model, x, y[:, :-1])


def test_float8_mode_round_trips_and_calibrated_modes_need_data(tmp_path):
    """float8 (Keras' float8 training mode) saves and loads exactly; GPTQ/AWQ ask for calibration windows."""
    from zoo.compress.keras_quantize import quantization_structure, quantize_model, quantized_layers
    from zoo.llm import load_llm

    model = tiny_llm()
    x, _ = windows()
    before = logits(model, x)
    quantize_model(model, "float8")
    assert set(quantized_layers(model).values()) == {"float8"}
    after = logits(model, x)
    # e4m3 keeps 3 mantissa bits: about 6% relative error per weight, far less on the logits.
    assert np.max(np.abs(after - before)) < 0.1 * np.max(np.abs(before)) + 1e-3
    model.save(tmp_path / "float8.keras")
    np.testing.assert_array_equal(logits(load_llm(tmp_path / "float8.keras", compile=False), x), after)
    fresh = tiny_llm()
    structure = quantization_structure(fresh)
    assert structure["pre_block_layers"] == [fresh.backbone.embeddings]
    assert structure["sequential_blocks"] == list(fresh.backbone.blocks)
    for mode in ("gptq", "awq"):
        with pytest.raises(ValueError, match=f"{mode} fits the weights to data: pass calibration="):
            quantize_model(fresh, mode)
    with pytest.raises(ValueError, match="token ids as an \\[n, t\\] integer array"):
        quantize_model(fresh, "gptq", calibration=np.zeros((4,), "float32"))
    assert not quantized_layers(fresh)

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


def _round_to_nearest(kernel):
    """4-bit asymmetric min/max rounding of each output column (Keras' GPTQ/AWQ grid for inputs <= 128)."""
    w = kernel.T.astype("float64")
    low, high = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    scale = (high - low) / 15
    zero = np.round(-low / scale)
    return ((np.clip(np.round(w / scale) + zero, 0, 15) - zero) * scale).T


def _reference_gptq(kernel, x, damping=0.01):
    """GPTQ as in Frantar et al. 2022 (Algorithm 1): error feedback through the Cholesky factor of H^-1."""
    hessian = 2.0 * x.T @ x / len(x)
    hessian[np.diag_indices_from(hessian)] += damping * np.mean(np.diag(hessian))
    upper = np.linalg.cholesky(np.linalg.inv(hessian)).T
    w = kernel.T.astype("float64").copy()
    low, high = w.min(axis=1), w.max(axis=1)
    scale = (high - low) / 15
    zero = np.round(-low / scale)
    out = np.zeros_like(w)
    for j in range(w.shape[1]):
        out[:, j] = (np.clip(np.round(w[:, j] / scale) + zero, 0, 15) - zero) * scale
        error = (w[:, j] - out[:, j]) / upper[j, j]
        w[:, j + 1 :] -= np.outer(error, upper[j, j + 1 :])
    return out.T


def test_gptq_and_awq_calibrate_a_zoo_model(monkeypatch):
    """GPTQ/AWQ see every calibration window, and beat round-to-nearest on the layer outputs they were fit to.

    One input channel of the feed-forward gets large activations (a LayerNorm gain of 8, the kind of
    outlier channel AWQ is built for), so AWQ has something to protect there.
    """
    import contextlib
    import io

    import keras
    from keras.src.quantizers import awq, gptq

    from zoo.compress.keras_quantize import quantize_model
    from zoo.llm import build_llm

    keras.utils.set_random_seed(0)
    base = tiny_llm()
    gain = base.backbone.blocks[0].ffn_norm.gamma
    gain.assign(np.where(np.arange(gain.shape[0]) == 3, 8.0, gain.numpy()))
    weights = base.get_weights()
    floats = {layer.path: layer for layer in base.backbone.blocks[0]._flatten_layers() if hasattr(layer, "kernel")}
    seen = {"gptq": {}, "awq": {}}  # layer path -> the input batches Keras' calibration hook handed over

    def recording(mode, method):
        def record(self, batch):
            seen[mode].setdefault(self.original_layer.path, []).append(np.asarray(batch).reshape(-1, batch.shape[-1]))
            return method(self, batch)

        return record

    monkeypatch.setattr(gptq.GPTQ, "update_hessian_with_batch", recording("gptq", gptq.GPTQ.update_hessian_with_batch))
    monkeypatch.setattr(awq.AWQ, "update_activation_magnitudes", recording("awq", awq.AWQ.update_activation_magnitudes))
    ids, _ = windows(n=8, t=16)
    quantized = {}
    for mode in ("gptq", "awq"):
        model = build_llm("causal", "tiny", compile=False, **TINY)
        model.set_weights(weights)
        with contextlib.redirect_stdout(io.StringIO()):  # Keras' progress bar
            quantize_model(model, mode, calibration=ids)
        quantized[mode] = {layer.path: layer for layer in model._flatten_layers() if layer.path in floats}
        # Each of the 4 layers saw each of the 8 windows once (Keras 3.15 alone: 0 updates).
        assert sorted(seen[mode]) == sorted(floats) and {len(b) for b in seen[mode].values()} == {8}

    def relative_error(mode, path, kernel=None):
        x = np.concatenate(seen[mode][path])
        layer, bias = floats[path], floats[path].bias.numpy()
        exact = x @ layer.kernel.numpy().astype("float64") + bias
        got = x @ kernel + bias if kernel is not None else np.asarray(quantized[mode][path](x), "float64")
        return np.sum((got - exact) ** 2) / np.sum(exact**2)

    rtn = {path: relative_error("gptq", path, _round_to_nearest(floats[path].kernel.numpy())) for path in floats}
    for path, layer in floats.items():
        gptq_error = relative_error("gptq", path)
        reference = relative_error(
            "gptq", path, _reference_gptq(layer.kernel.numpy(), np.concatenate(seen["gptq"][path]))
        )
        assert gptq_error < rtn[path], path
        # Keras' loop on the Cholesky factor is the paper's algorithm (measured equal to 1e-6, float32 aside).
        assert gptq_error == pytest.approx(reference, rel=0.01), path
        x = np.concatenate(seen["awq"][path])
        gap = np.asarray(quantized["gptq"][path](x)) - np.asarray(quantized["awq"][path](x))
        assert np.sum(gap**2) > 1e-4 * np.sum(np.asarray(floats[path](x)) ** 2), path  # two different roundings
    assert sum(relative_error("gptq", path) for path in floats) < 0.8 * sum(rtn.values())
    # AWQ scales the outlier channel up before rounding: the feed-forward input projection gains most.
    ffn_in = "block_0/ffn_in"
    awq_rtn = relative_error("awq", ffn_in, _round_to_nearest(floats[ffn_in].kernel.numpy()))
    assert relative_error("awq", ffn_in) < 0.7 * awq_rtn

"""LoRA with Keras enable_lora on a zoo LLM: only the adapters train, saving merges them."""

import numpy as np
import pytest

from tests.harness import TINY as HARNESS_TINY

TINY = dict(HARNESS_TINY, vocab_size=60)  # the shared tiny config


def data(n=8, t=8):
    ids = np.random.default_rng(0).integers(7, TINY["vocab_size"], (n, t + 1)).astype("int32")
    return {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}, ids[:, 1:]


def test_lora_trains_only_adapters_and_merges_on_save(tmp_path):
    from zoo.compress.lora import enable_lora
    from zoo.llm import build_llm, load_llm

    model = build_llm("causal", "tiny", compile=False, **TINY)
    x, y = data()
    before = np.asarray(model(x))
    frozen = {v.path: v.numpy().copy() for v in model.weights}
    report = enable_lora(model, rank=2, targets=("attention", "ffn", "embedding"))
    assert report["layers"] == [
        "embeddings/token_embedding",
        "block_0/self_attention/qkv",
        "block_0/self_attention/output",
        "block_0/ffn_in",
        "block_0/ffn_out",
    ]
    # Rank-2 factors of the 60x16 table, the 16x48 qkv, the 16x16 output, the 16x32 ffn_in and the 32x16 ffn_out.
    adapters = 2 * ((60 + 16) + (16 + 48) + (16 + 16) + (16 + 32) + (32 + 16))
    assert report["trainable_params"] == adapters == sum(int(v.numpy().size) for v in model.trainable_weights)
    assert all("lora_" in v.path for v in model.trainable_weights)
    base_params = sum(a.size for a in frozen.values())
    assert report["total_params"] == base_params + adapters
    np.testing.assert_allclose(np.asarray(model(x)), before, atol=1e-6)  # B starts at zero
    model.compile(learning_rate=1e-2, weight_decay=0.0, run_eagerly=True)  # tracing costs more than these steps
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert all(np.array_equal(v.numpy(), frozen[v.path]) for v in model.weights if v.path in frozen)
    tuned = np.asarray(model(x))
    model.save(tmp_path / "merged.keras")
    merged = load_llm(tmp_path / "merged.keras", compile=False)
    assert merged.count_params() == base_params
    np.testing.assert_allclose(np.asarray(merged(x)), tuned, atol=1e-5)


def test_bad_lora_requests_fail_clearly():
    from zoo import build_cnn
    from zoo.compress.lora import enable_lora
    from zoo.llm import build_llm

    model = build_llm("causal", "tiny", compile=False, **TINY)
    with pytest.raises(ValueError, match="positive integer"):
        enable_lora(model, rank=0)
    with pytest.raises(ValueError, match="larger than min\\(m, n\\) = 16"):
        enable_lora(model, rank=17)
    with pytest.raises(ValueError, match="Unknown LoRA target"):
        enable_lora(model, rank=2, targets=("conv",))
    with pytest.raises(ValueError, match="zoo causal/encoder LLMs"):
        enable_lora(build_cnn(compile=False), rank=2)
    enable_lora(model, rank=2)
    with pytest.raises(ValueError, match="already enabled"):
        enable_lora(model, rank=2)


def test_qlora_int4_base_takes_fewer_bytes_and_starts_near_the_float_model():
    """QLoRA: adapters on an int4 base; same trainable count as LoRA, fewer weight bytes, B = 0 at the start."""
    import keras

    from zoo.compress.keras_quantize import quantized_layers
    from zoo.compress.lora import enable_lora, weight_bytes
    from zoo.llm import build_llm

    config = dict(vocab_size=64, hidden_dim=32, num_heads=2, num_layers=1, intermediate_dim=64, max_length=16)
    keras.utils.set_random_seed(0)
    plain, qlora = (build_llm("causal", "tiny", compile=False, **config) for _ in range(2))
    qlora.set_weights(plain.get_weights())
    ids = np.random.default_rng(0).integers(0, 64, (2, 8)).astype("int32")
    x = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    before = np.asarray(plain(x))
    plain_report = enable_lora(plain, rank=4)
    report = enable_lora(qlora, rank=4, base_quantize="int4")
    assert set(quantized_layers(qlora).values()) == {"int4"}
    assert report["trainable_params"] == plain_report["trainable_params"]
    assert report["weight_bytes"] == weight_bytes(qlora) < 0.6 * plain_report["weight_bytes"]
    # B starts at zero: the QLoRA model is the int4 base, the float model up to int4 rounding.
    after = np.asarray(qlora(x))
    assert 0 < np.max(np.abs(after - before)) < 0.1 * np.max(np.abs(before)) + 1e-3
    with pytest.raises(ValueError, match="base_quantize must be one of int8, int4"):
        enable_lora(build_llm("causal", "tiny", compile=False, **config), rank=4, base_quantize="gptq")


def test_qlora_int8_base_trains_like_lora():
    """QLoRA on an int8 base: same adapters, same data, a few steps move the adapters as LoRA on the float base does.

    Keras 3.15's int8 output projection (the tied token table called in reverse) rounds its inputs
    with no straight-through gradient, so every adapter below it got a gradient unrelated to the
    float model's (cosine ~0) and training diverged; zoo replaces that call.
    """
    import keras

    from zoo.compress.lora import enable_lora
    from zoo.llm import build_llm

    keras.utils.set_random_seed(0)
    plain, qlora = (build_llm("causal", "tiny", compile=False, **TINY) for _ in range(2))
    qlora.set_weights(plain.get_weights())
    targets = ("attention", "ffn", "embedding")
    enable_lora(plain, rank=2, targets=targets)
    enable_lora(qlora, rank=2, targets=targets, base_quantize="int8")
    start = {v.path: v.numpy() for v in plain.trainable_weights}
    for v in qlora.trainable_weights:
        v.assign(start[v.path])
    x, y = data()
    losses = {}
    for name, model in (("lora", plain), ("qlora", qlora)):
        model.compile(learning_rate=1e-2, weight_decay=0.0, run_eagerly=True)
        losses[name] = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    moved = {
        name: {v.path: v.numpy() - start[v.path] for v in m.trainable_weights}
        for name, m in (("lora", plain), ("qlora", qlora))
    }
    for path, step in moved["lora"].items():
        other = moved["qlora"][path]
        cosine = np.sum(step * other) / (np.linalg.norm(step) * np.linalg.norm(other))
        assert cosine > 0.9, (path, cosine)
        assert np.linalg.norm(other) == pytest.approx(np.linalg.norm(step), rel=0.1), path
    assert losses["qlora"][-1] < losses["qlora"][0]
    np.testing.assert_allclose(losses["qlora"], losses["lora"], rtol=0.01)

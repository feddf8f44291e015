"""The reading copy (zoo/llm/gpt.py) computes what the library's causal LM computes."""

import keras
import numpy as np
import pytest

from zoo.llm import build_llm
from zoo.llm.gpt import GPT, GPTConfig, from_zoo

CONFIG = dict(vocab_size=64, max_length=16, num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=48)


def _batch(padded):
    ids = np.random.default_rng(0).integers(1, 64, (3, 10)).astype("int32")
    mask = np.ones_like(ids)
    if padded:  # rows of 10, 6 and 3 real tokens, padded at the end with id 0
        mask = (np.arange(10)[None, :] < np.array([[10], [6], [3]])).astype("int32")
        ids = ids * mask
    return ids, mask


@pytest.mark.parametrize("activation", ["gelu", "gelu_approximate"])
@pytest.mark.parametrize("padded", [False, True])
def test_reading_gpt_computes_the_library_logits(activation, padded):
    model = build_llm("causal", config=dict(CONFIG, activation=activation), compile=False)
    gpt = from_zoo(model)
    ids, mask = _batch(padded)
    expected = np.asarray(model({"token_ids": ids, "padding_mask": mask}))
    got = np.asarray(gpt(ids, padding_mask=mask))
    assert got.shape == expected.shape == (3, 10, 64)
    # Same float32 operations in the same order up to matmul blocking: agree to ~1e-5 of the logit scale.
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * max(scale, 1.0))
    # The weights are copies, not shared: every parameter of the library model is used once.
    assert gpt.count_params() == model.count_params()


def test_reading_gpt_without_padding_mask_matches_at_real_positions():
    """With padding at the end, the causal mask alone hides the padding from real tokens."""
    model = build_llm("causal", config=CONFIG, compile=False)
    gpt = from_zoo(model)
    ids, mask = _batch(padded=True)
    expected = np.asarray(model({"token_ids": ids, "padding_mask": mask}))
    got = np.asarray(gpt(ids))
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], expected[real], rtol=0, atol=1e-5 * max(np.abs(expected).max(), 1.0))


def test_reading_gpt_greedy_generation_matches_the_cached_library_decoder():
    model = build_llm("causal", config=CONFIG, compile=False)
    gpt = from_zoo(model)
    prompt = [[5, 9, 2, 7]]
    library = model.generate(prompt, max_new_tokens=6, sampler="greedy")
    ours = np.asarray(gpt.generate(np.array(prompt), max_new_tokens=6))[0, 4:]
    assert list(ours) == list(library[0])


def test_reading_gpt_trains_with_fit():
    gpt = GPT(GPTConfig(vocab_size=32, max_length=8, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    gpt.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    ids = np.tile(np.arange(9) % 4 + 1, (16, 1)).astype("int32")  # a repeating pattern is easy to learn
    history = gpt.fit(ids[:, :-1], ids[:, 1:], epochs=40, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.parametrize("field, value", [("norm", "post"), ("position", "rotary"), ("tie_embeddings", False)])
def test_configs_the_reading_copy_cannot_express_are_refused(field, value):
    model = build_llm("causal", config=dict(CONFIG, **{field: value}), compile=False)
    with pytest.raises(ValueError, match=f"needs {field}="):
        from_zoo(model)

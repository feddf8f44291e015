"""The LM's `generate` serving signature, traced in this process: limits, stop token, temperature, errors."""

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import LM_VOCAB, tiny_lm


@pytest.fixture(scope="module")
def lm():
    return tiny_lm()


@pytest.fixture(scope="module")
def signatures(lm):
    from zoo.export.signatures import trace_signatures

    return trace_signatures(lm, "causal_lm")


def call(fn, prompt_ids, max_new_tokens, temperature):
    out = fn(
        prompt_ids=tf.constant(prompt_ids, tf.int32),
        max_new_tokens=tf.constant(max_new_tokens, tf.int32),
        temperature=tf.constant(temperature, tf.float32),
    )
    return {k: v.numpy() for k, v in out.items()}


def test_each_row_gets_its_own_limit_and_matches_keras(lm, signatures):
    out = call(signatures["generate"], [[6, 20, 31], [6, 7, 0]], [2, 5], [0.0, 0.0])
    assert out["num_generated"].tolist() == [2, 5]
    assert out["generated_ids"].shape == (2, 5)
    assert out["generated_ids"][0, 2:].tolist() == [0, 0, 0]
    assert out["generated_ids"][0, :2].tolist() == lm.generate([6, 20, 31], max_new_tokens=2, use_cache=False)
    assert out["generated_ids"][1].tolist() == lm.generate([6, 7], max_new_tokens=5, use_cache=False)


def test_stop_token_ends_a_row_and_is_not_returned(lm):
    from zoo.export.signatures import trace_signatures

    prompt = [6, 50, 51, 52]
    free = lm.generate(prompt, max_new_tokens=6, use_cache=False)
    stop = free[2]
    fn = trace_signatures(lm, "causal_lm", stop_token_id=stop)["generate"]
    out = call(fn, [prompt], [6], [0.0])
    cut = free.index(stop)  # the first time the stop token comes
    assert out["num_generated"].tolist() == [cut]
    assert out["generated_ids"][0, :cut].tolist() == free[:cut]
    assert not np.any(out["generated_ids"][0, cut:])
    assert out["generated_ids"][0, :cut].tolist() == lm.generate(prompt, 6, stop_token_ids=stop, use_cache=False)


def test_temperature_zero_is_greedy_and_above_zero_samples(lm, signatures):
    prompt = [6, 100, 101]
    greedy = lm.generate(prompt, max_new_tokens=8, use_cache=False)
    out = call(signatures["generate"], [prompt, prompt, prompt], [8, 8, 8], [0.0, 50.0, 50.0])
    assert out["generated_ids"][0].tolist() == greedy
    sampled = out["generated_ids"][1:]
    assert np.all((sampled >= 0) & (sampled < LM_VOCAB))
    # At a high temperature the distribution is nearly flat over 400 ids: two rows
    # drawing the same 8 tokens has a chance of about 400**-8.
    assert sampled[0].tolist() != sampled[1].tolist()


def test_logits_signature_masks_right_padding(lm, signatures):
    out = signatures["logits"](token_ids=tf.constant([[6, 20, 31, 40], [6, 20, 0, 0]]))
    short = lm.predict({"token_ids": np.array([[6, 20]]), "padding_mask": np.ones((1, 2), "int32")}, verbose=0)
    np.testing.assert_allclose(out["logits"].numpy()[1, :2], short[0], atol=1e-5)
    np.testing.assert_allclose(out["next_token_logits"].numpy()[1], short[0, -1], atol=1e-5)


@pytest.mark.parametrize(
    "prompt_ids, max_new_tokens, temperature, message",
    [
        ([[0, 6, 7]], [3], [0.0], "right-padded"),
        ([[0, 0]], [3], [0.0], "at least one real"),
        ([[6, LM_VOCAB]], [3], [0.0], "below the vocabulary size 400"),
        ([[6, 7]], [0], [0.0], "max_new_tokens must be at least 1"),
        ([[6, 7]], [3, 3], [0.0], "one value per prompt"),
        ([[6, 7]], [3], [-1.0], "temperature must be >= 0"),
        ([[6, 7]], [47], [0.0], "max_length 48"),
    ],
)
def test_bad_requests_fail_with_a_message_that_says_what_to_send(
    signatures, prompt_ids, max_new_tokens, temperature, message
):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        call(signatures["generate"], prompt_ids, max_new_tokens, temperature)

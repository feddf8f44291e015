"""KV-cached decoding: same tokens as recomputing everything, ragged batches, samplers, stop tokens."""

import numpy as np
import pytest

from zoo.llm import build_llm
from zoo.llm.models import generation
from zoo.llm.models.generation import make_sampler
from zoo.llm.models.tasks import empty_cache

from .conftest import TINY

PROMPTS = [[5, 9, 2, 7, 1], [3, 4], [8, 6, 10]]


# Most tests decode without XLA: compiling a loop for every shape costs more than
# these tiny decodes; test_generate_method_and_xla checks XLA gives the same tokens.
def generate(model, prompts, *args, **kwargs):
    return generation.generate(model, prompts, *args, **{"jit_compile": False, **kwargs})


def generate_seq2seq(model, sources, *args, **kwargs):
    return generation.generate_seq2seq(model, sources, *args, **{"jit_compile": False, **kwargs})


# Untied outputs: a random tied model tends to echo its last input token, which would
# make "cached == uncached" pass too easily.
GEN = dict(TINY, num_layers=2, max_length=24, tie_embeddings=False)


@pytest.fixture(scope="module")
def causal():
    return build_llm("causal", config=GEN, compile=False)


@pytest.fixture(scope="module")
def rotary():
    return build_llm("causal", config=dict(GEN, position="rotary"), compile=False)


@pytest.fixture(scope="module")
def seq2seq():
    return build_llm("seq2seq", config=dict(GEN, position="sinusoidal"), compile=False)


@pytest.mark.parametrize("model_name", ["causal", "rotary"])
def test_cached_logits_equal_a_full_forward_pass(model_name, request):
    causal = request.getfixturevalue(model_name)
    # Feed a sequence one token at a time through the cache: every step's logits must
    # match the full (uncached) forward pass at that position.
    ids = np.array([[5, 9, 2, 7, 1, 3]], "int32")
    full = np.asarray(causal({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    cache = empty_cache(causal, batch_size=1, max_len=ids.shape[1])
    # Two-token prefill, then one token per step.
    logits, _, cache = causal.call_with_cache(ids[:, :2], cache, 0)
    steps = [np.asarray(logits)]
    for i in range(2, ids.shape[1]):
        logits, _, cache = causal.call_with_cache(ids[:, i : i + 1], cache, i)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


@pytest.mark.parametrize("model_name", ["causal", "rotary"])
def test_greedy_with_and_without_cache_gives_the_same_tokens(model_name, request):
    causal = request.getfixturevalue(model_name)
    cached = generate(causal, PROMPTS, max_new_tokens=12)
    uncached = generate(causal, PROMPTS, max_new_tokens=12, use_cache=False)
    assert cached == uncached
    assert [len(row) for row in cached] == [12, 12, 12]
    assert len({tuple(row) for row in cached}) > 1


def test_a_ragged_batch_decodes_each_prompt_as_if_alone(causal):
    batch = generate(causal, PROMPTS, max_new_tokens=6)
    alone = [generate(causal, prompt, max_new_tokens=6) for prompt in PROMPTS]
    assert batch == alone


def test_seq2seq_greedy_with_and_without_cache(seq2seq):
    sources = [[5, 6, 7, 8], [9, 10]]
    cached = generate_seq2seq(seq2seq, sources, max_new_tokens=8, start_token_id=1)
    uncached = generate_seq2seq(seq2seq, sources, max_new_tokens=8, start_token_id=1, use_cache=False)
    assert cached == uncached and [len(row) for row in cached] == [8, 8]
    # The decoder reads the source: a different source changes the output.
    assert generate_seq2seq(seq2seq, [[11, 12, 13, 14]], max_new_tokens=8) != cached[0]


def test_stop_tokens_end_a_row(causal):
    free = generate(causal, PROMPTS, max_new_tokens=10)
    stop = free[1][3]
    stopped = generate(causal, PROMPTS, max_new_tokens=10, stop_token_ids=[stop])
    for row, full in zip(stopped, free):
        cut = full.index(stop) if stop in full else len(full)
        assert row == full[:cut]
    assert len(stopped[1]) <= 3


def test_sampling_is_seeded_and_respects_top_k(causal):
    first = generate(causal, PROMPTS, max_new_tokens=8, sampler="top_p", top_p=0.9, temperature=1.5, seed=3)
    again = generate(causal, PROMPTS, max_new_tokens=8, sampler="top_p", top_p=0.9, temperature=1.5, seed=3)
    assert first == again
    # top_k=1 keeps only the most likely token: exactly greedy decoding.
    assert generate(causal, PROMPTS, max_new_tokens=8, sampler="top_k", top_k=1, seed=0) == generate(
        causal, PROMPTS, max_new_tokens=8
    )
    # A very low temperature also collapses sampling onto the argmax.
    assert generate(causal, PROMPTS, max_new_tokens=8, sampler="random", temperature=1e-4, seed=1) == generate(
        causal, PROMPTS, max_new_tokens=8
    )


def test_generate_method_and_xla(causal):
    assert causal.generate(PROMPTS, max_new_tokens=4) == generate(causal, PROMPTS, 4)  # XLA by default


@pytest.mark.parametrize(
    "prompts, kwargs, message",
    [
        ([], {}, "Empty prompt"),
        ([[1, 2], []], {}, "Empty prompt at index 1"),
        ([[1, 64]], {}, r"contains id 64, outside the vocabulary \[0, 64\)"),
        ([[1, -1]], {}, "contains id -1"),
        ([[1] * 20], dict(max_new_tokens=5), "exceeds the model's max_length 24"),
        ([[1, 2]], dict(max_new_tokens=0), "max_new_tokens must be a positive integer"),
        ([[1, 2]], dict(sampler="beam"), "Unknown sampler 'beam'"),
        ([[1, 2]], dict(sampler="top_p", top_p=1.5), r"top_p must be in \(0, 1\]"),
        ([[1, 2]], dict(stop_token_ids=[99]), "stop_token_ids contains id 99"),
    ],
)
def test_bad_generation_input_is_a_clear_error(causal, prompts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(causal, prompts, **{"max_new_tokens": 4, **kwargs})


def test_make_sampler_names():
    assert type(make_sampler("greedy")).__name__ == "GreedySampler"
    assert make_sampler("top_k", top_k=5).k == 5
    with pytest.raises(ValueError, match="temperature must be > 0"):
        make_sampler("random", temperature=0)

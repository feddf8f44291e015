"""kNN-LM: interpolation math, lambda = 0 equals the LM, a datastore that holds the text helps, fingerprints."""

import math

import numpy as np
import pytest

from tests.retrieval.conftest import TEXTS, tiny_llm
from zoo.retrieval.errors import FingerprintMismatchError
from zoo.retrieval.knn_lm import (
    KNNDatastore,
    evaluate,
    interpolate,
    interpolated_log_probs,
    knn_distribution,
    knn_lm_next_token_probs,
    knn_target_probs,
)


def test_knn_distribution_by_hand():
    # Distances 0 and ln 3 at T = 1: weights 3/4 and 1/4; both neighbours' next tokens are id 2 and id 0.
    d = np.array([[0.0, math.log(3.0)]])
    p = knn_distribution(d, np.array([[2, 0]]), vocab_size=3)
    np.testing.assert_allclose(p, [[0.25, 0.0, 0.75]])
    np.testing.assert_allclose(knn_target_probs(d, np.array([[2, 0]]), np.array([2])), [0.75])
    # A high temperature flattens the weights towards uniform.
    np.testing.assert_allclose(knn_distribution(d, np.array([[2, 0]]), 3, temperature=1e6), [[0.5, 0, 0.5]], atol=1e-5)
    # Repeated tokens add up.
    np.testing.assert_allclose(knn_distribution(np.zeros((1, 3)), np.array([[1, 1, 2]]), 3), [[0, 2 / 3, 1 / 3]])


def test_interpolation_math():
    lm = np.array([0.5, 0.3, 0.2])
    knn = np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(interpolate(lm, knn, 0.25), [0.375, 0.475, 0.15])
    np.testing.assert_allclose(interpolate(lm, knn, 0.0), lm)
    np.testing.assert_allclose(np.exp(interpolated_log_probs(np.log(lm), knn, 0.25)), [0.375, 0.475, 0.15])
    np.testing.assert_allclose(interpolated_log_probs(np.log(lm), knn, 1.0)[1], 0.0)
    with pytest.raises(ValueError, match="lambda"):
        interpolate(lm, knn, 1.5)


@pytest.fixture(scope="module")
def lm_and_store(tokenizer):
    model = tiny_llm("causal", tokenizer.vocabulary_size())
    return model, KNNDatastore.build(model, tokenizer, TEXTS, seq_len=32)


def test_lambda_zero_equals_lm_and_memorised_text_gets_easier(lm_and_store, tokenizer):
    model, store = lm_and_store
    result = evaluate(model, tokenizer, TEXTS[:3], store, seq_len=32, k=4, lams=(0.0, 0.5), temperatures=(1.0,))
    by_lam = {r["lambda"]: r["perplexity"] for r in result["knn_lm"]}
    assert by_lam[0.0] == pytest.approx(result["lm_perplexity"], rel=1e-9)
    # The evaluated text is in the datastore: its true next tokens are the nearest neighbours' values.
    assert by_lam[0.5] < 0.6 * result["lm_perplexity"]


def test_next_token_distribution_sums_to_one_and_lambda_zero_is_lm(lm_and_store, tokenizer):
    model, store = lm_and_store
    ids = np.asarray(tokenizer(TEXTS[0]))[:8].tolist()
    p0 = knn_lm_next_token_probs(model, store, ids, k=4, lam=0.0)
    logits = np.asarray(model({"token_ids": np.array([ids]), "padding_mask": np.ones((1, len(ids)))}))[0, -1]
    lm = np.exp(logits - logits.max())
    np.testing.assert_allclose(p0, lm / lm.sum(), rtol=1e-5, atol=1e-7)
    p = knn_lm_next_token_probs(model, store, ids, k=4, lam=0.5, temperature=2.0)
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()


def test_save_load_and_mismatch_errors(tmp_path, lm_and_store, tokenizer, other_tokenizer):
    model, store = lm_and_store
    store.save(tmp_path / "ds")
    loaded = KNNDatastore.load(tmp_path / "ds")
    q = store.keys[:5]
    for a, b in zip(store.neighbours(q, 3), loaded.neighbours(q, 3)):
        np.testing.assert_array_equal(a, b)
    other_model = tiny_llm("causal", tokenizer.vocabulary_size(), seed=1)
    with pytest.raises(FingerprintMismatchError, match="another model"):
        evaluate(other_model, tokenizer, TEXTS[:1], loaded, seq_len=32, k=2)
    with pytest.raises(FingerprintMismatchError, match="another tokenizer"):
        loaded.check(model, other_tokenizer)
    with pytest.raises(ValueError, match="larger than the datastore"):
        loaded.neighbours(q, len(loaded) + 1)

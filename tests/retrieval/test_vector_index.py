"""Exact numpy search against brute force, faiss approximate search against exact, save/load."""

import numpy as np
import pytest

from zoo.retrieval.errors import EmptyStoreError
from zoo.retrieval.vector_index import ExactIndex, FaissIndex, build_vector_index, index_file, load_vector_index


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 32)).astype("float32")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = rng.normal(size=(50, 32)).astype("float32")
    return x, q


def test_exact_equals_brute_force_for_both_metrics(data):
    x, q = data
    idx, val = ExactIndex(x, metric="ip", chunk=16).search(q, k=5)
    want = np.argsort(-(q @ x.T), axis=1)[:, :5]
    np.testing.assert_array_equal(idx, want)
    idx, val = ExactIndex(x, metric="l2").search(q, k=5)
    d = ((q[:, None] - x[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(idx, np.argsort(d, axis=1)[:, :5])
    np.testing.assert_allclose(val, np.sort(d, axis=1)[:, :5], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_faiss_agrees_with_exact(data, kind):
    x, q = data
    exact, _ = ExactIndex(x, metric="ip").search(q, k=10)
    approx = FaissIndex(x, kind=kind, metric="ip", ef_search=128, nprobe=1000)  # generous: near-exhaustive
    idx, _ = approx.search(q, k=10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, exact)])
    assert recall >= 0.95
    assert (idx[:, 0] == exact[:, 0]).mean() >= 0.95


def test_auto_kind_and_save_load(tmp_path, data):
    x, q = data
    assert build_vector_index(x[:100]).kind == "exact"
    assert build_vector_index(x[:300], exact_limit=200).kind == "hnsw"
    for kind in ("exact", "hnsw"):
        index = build_vector_index(x[:300], kind=kind, metric="l2")
        index.save(tmp_path / index_file(kind))
        loaded = load_vector_index(tmp_path, kind, "l2")
        for a, b in zip(index.search(q, 3), loaded.search(q, 3)):
            np.testing.assert_array_equal(a, b)


def test_bad_input():
    with pytest.raises(EmptyStoreError):
        ExactIndex(np.zeros((0, 4), "float32"))
    index = ExactIndex(np.eye(3, dtype="float32"))
    with pytest.raises(ValueError, match="larger than the store"):
        index.search(np.eye(3, dtype="float32"), k=4)
    with pytest.raises(ValueError, match=r"queries must be \[count, 3\]"):
        index.search(np.zeros((1, 5), "float32"), k=1)
    with pytest.raises(ValueError, match="index kind"):
        build_vector_index(np.eye(3, dtype="float32"), kind="lsh")

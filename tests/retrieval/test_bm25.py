"""BM25 against scores computed by hand, ranking, ties and save/load of its state."""

import math

import numpy as np
import pytest

from zoo.retrieval.bm25 import BM25Index, top_k
from zoo.retrieval.errors import EmptyStoreError


def hand_bm25(query, docs, k1=1.5, b=0.75):
    """The textbook formula, term by term, with plain Python."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    scores = []
    for doc in docs:
        score = 0.0
        for term in set(query):
            df = sum(term in d for d in docs)
            tf = doc.count(term)
            if tf == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


def test_scores_equal_hand_computed_formula():
    docs = [[1, 2, 3, 3], [2, 2, 4], [5, 1], [3, 3, 3, 3, 1, 6, 7]]
    index = BM25Index.build(docs, vocab_size=8)
    for query in ([3], [1, 2], [2, 3, 6], [7, 7]):
        np.testing.assert_allclose(index.scores(query), hand_bm25(query, docs), rtol=1e-5)
    # Other k1/b settings too.
    index = BM25Index.build(docs, vocab_size=8, k1=0.9, b=0.4)
    np.testing.assert_allclose(index.scores([1, 3]), hand_bm25([1, 3], docs, 0.9, 0.4), rtol=1e-5)


def test_hand_computed_number():
    # Two docs, term 1 only in the first: idf = ln(1 + 1.5/1.5) = ln 2; |d| = avgdl, tf = 1 -> weight = idf.
    index = BM25Index.build([[1, 2], [2, 3]], vocab_size=4)
    assert index.scores([1])[0] == pytest.approx(math.log(2), rel=1e-6)
    assert index.scores([1])[1] == 0.0


def test_search_ranks_best_first_and_unknown_terms_score_zero():
    index = BM25Index.build([[1, 2], [3, 3, 3], [3, 4]], vocab_size=5)
    idx, scores = index.search([3], k=2)
    assert idx.tolist() == [1, 2] and scores[0] > scores[1]
    assert index.scores([99]).tolist() == [0.0, 0.0, 0.0]


def test_top_k_ties_keep_index_order():
    idx, _ = top_k(np.array([1.0, 3.0, 3.0, 3.0, 0.0]), 2)
    assert idx.tolist() == [1, 2]


def test_state_round_trip_and_errors():
    index = BM25Index.build([[1, 2], [2, 3, 3]], vocab_size=4, k1=1.2, b=0.5)
    again = BM25Index.from_state(index.state())
    np.testing.assert_array_equal(index.scores([2, 3]), again.scores([2, 3]))
    with pytest.raises(EmptyStoreError):
        BM25Index.build([], vocab_size=4)
    with pytest.raises(ValueError, match="larger than the store"):
        index.search([1], k=3)

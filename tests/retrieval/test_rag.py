"""RAG: the shipped QA set, prompts, loss on answer tokens only, exact match, and a short fine-tune."""

import numpy as np
import pytest

from zoo.retrieval.rag import counterfactual, exact_match, format_prompt, load_qa, retrieve_contexts, training_arrays
from zoo.retrieval.store import DocumentStore


def test_shipped_facts_set():
    rows = load_qa()
    test = load_qa(split="test")
    assert len(rows) == 200 and len(test) == 50
    # Test countries never appear in the training split.
    train_entities = {r["entity"] for r in rows if r["split"] == "train"}
    assert not train_entities & {r["entity"] for r in test}
    assert all(r["answer"] in r["passage"] for r in rows)


def test_exact_match_normalisation():
    assert exact_match("The Orsk.", "orsk")
    assert exact_match("  mount   Luniolt ", "Mount Luniolt")
    assert not exact_match("Orsk river", "Orsk")


def test_bm25_retrieves_the_gold_passage_for_most_questions(tokenizer):
    rows = load_qa()
    store = DocumentStore.build([r["passage"] for r in rows], tokenizer, window=64, stride=64)
    contexts = retrieve_contexts(store, [r["question"] for r in rows], k=3)
    # A 400-piece tokenizer cuts the made-up names into short pieces that other names share,
    # so the gold passage is not always first; it is almost always in the top 3.
    assert np.mean([ctx[0] == r["passage"] for r, ctx in zip(rows, contexts)]) >= 0.8
    assert np.mean([r["passage"] in ctx for r, ctx in zip(rows, contexts)]) >= 0.95


def test_training_arrays_weight_the_answer(tokenizer):
    rows = load_qa(split="train")[:4]
    contexts = [[r["passage"]] for r in rows]
    x, y, w = training_arrays(tokenizer, [r["question"] for r in rows], [r["answer"] for r in rows], contexts, 48)
    # Loss weight sits exactly on the answer and </s>: the labels there spell the answer.
    for i, row in enumerate(rows):
        first = np.flatnonzero(w[i])
        assert y[i, first[-1]] == tokenizer.end_token_id
        assert tokenizer.detokenize(y[i, first[:-1]]).strip() == row["answer"]
        np.testing.assert_array_equal(x["token_ids"][i, 1 : first[-1] + 1], y[i, : first[-1]])  # shifted by one
    # Closed book: no "context:" line, the answer still weighted.
    x, y, w = training_arrays(tokenizer, [rows[0]["question"]], [rows[0]["answer"]], [[]], 48)
    assert tokenizer.detokenize(x["token_ids"][0][: np.flatnonzero(w[0])[0]]).startswith("question:")


def test_counterfactual_copies_keep_the_fact_readable():
    import random

    rng = random.Random(0)
    for row in load_qa()[:10]:
        new = counterfactual(row, rng)
        assert new["answer"] in new["passage"] and new["entity"] in new["question"]
        assert row["entity"] not in new["passage"] and new["answer"] != row["answer"]


def test_prompt_shapes_and_bad_file(tmp_path):
    assert format_prompt("Q?", ["A.", "B."]) == "context: A. B.\nquestion: Q?\nanswer:"
    (tmp_path / "bad.jsonl").write_text('{"question": "q"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="'question' and 'answer'"):
        load_qa(tmp_path / "bad.jsonl")

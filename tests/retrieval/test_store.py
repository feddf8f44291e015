"""Document store: passages with overlap, BM25 and dense search, save/load, fingerprints, bad input."""

import numpy as np
import pytest

from tests.retrieval.conftest import TEXTS, tiny_llm
from zoo.retrieval.encoder import Encoder
from zoo.retrieval.errors import EmptyStoreError, FingerprintMismatchError
from zoo.retrieval.passages import make_passages, window_starts
from zoo.retrieval.store import DocumentStore


def test_windows_overlap_and_cover_every_token(tokenizer):
    assert window_starts(10, 4, 3) == [0, 3, 6]
    long_text = " ".join(TEXTS)
    passages = make_passages([long_text], tokenizer, window=16, stride=12)
    ids = np.asarray(tokenizer(long_text))
    assert len(passages) > 2
    for p in passages:
        np.testing.assert_array_equal(p.token_ids, ids[p.start : p.start + len(p.token_ids)])
    assert passages[1].start - passages[0].start == 12  # 4 tokens of overlap
    assert passages[-1].start + len(passages[-1].token_ids) == len(ids)


def test_bm25_store_from_corpus_folder_finds_the_fact(corpus_folder):
    store = DocumentStore.build(corpus_folder, window=32, stride=24)  # the folder's tokenizer/
    hits = store.search("What is the capital of Veltria?", k=2)
    assert "Orsk" in hits[0].text and hits[0].source == "doc0"
    assert hits[0].score >= hits[1].score
    assert "otter" in store.search("national animal of Brinia", k=1)[0].text


def test_save_load_round_trip_and_fingerprint_checks(tmp_path, corpus_folder, tokenizer, other_tokenizer):
    encoder = Encoder(tiny_llm("masked", tokenizer.vocabulary_size()), tokenizer)
    store = DocumentStore.build(corpus_folder, encoder=encoder, window=32, stride=24)
    store.save(tmp_path / "store")
    loaded = DocumentStore.load(tmp_path / "store", encoder=encoder)
    for method in ("bm25", "dense", "hybrid"):
        a = [(h.passage.index, round(h.score, 5)) for h in store.search("a for loop over items", k=3, method=method)]
        b = [(h.passage.index, round(h.score, 5)) for h in loaded.search("a for loop over items", k=3, method=method)]
        assert a == b
    # The same architecture with other weights embeds into another space: refused.
    other_model = Encoder(tiny_llm("masked", tokenizer.vocabulary_size(), seed=1), tokenizer)
    with pytest.raises(FingerprintMismatchError, match="another model"):
        DocumentStore.load(tmp_path / "store", encoder=other_model)
    with pytest.raises(FingerprintMismatchError, match="another tokenizer"):
        DocumentStore.load(tmp_path / "store", tokenizer=other_tokenizer)


def test_dense_search_on_bm25_only_store_and_bad_k(corpus_folder):
    store = DocumentStore.build(corpus_folder, window=32, stride=24)
    with pytest.raises(ValueError, match="needs a dense index"):
        store.search("loop", k=1, method="dense")
    with pytest.raises(ValueError, match=f"k=99 is larger than the store \\({len(store)} entries\\)"):
        store.search("loop", k=99)
    with pytest.raises(ValueError, match="k must be at least 1"):
        store.search("loop", k=0)


def test_empty_store_is_refused(tmp_path, tokenizer):
    with pytest.raises(EmptyStoreError, match="corpus is empty"):
        DocumentStore.build(["", "   "], tokenizer)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(EmptyStoreError):
        DocumentStore.build(tmp_path / "empty.txt", tokenizer)
    with pytest.raises(FileNotFoundError, match="zoo retrieve build"):
        DocumentStore.load(tmp_path / "nothing")

"""tf.data pipelines: CLM packing and shift, MLM 80/10/10 masking, NSP pairs, splits, determinism."""

import keras
import numpy as np
import pytest

from tests.data.japanese_sample import JAPANESE_DOCUMENTS
from zoo.data.builtin_corpus import load_builtin_corpus
from zoo.data.document import Document
from zoo.data.pipelines import (
    clm_dataset,
    mlm_dataset,
    nsp_dataset,
    nsp_pairs,
    split_documents,
    split_segments,
)
from zoo.data.shards import write_shards
from zoo.data.tokenizer import SPECIAL_TOKENS, load_tokenizer, save_tokenizer, train_tokenizer

SEQ = 32


@pytest.fixture(scope="module")
def texts():
    return load_builtin_corpus()[:12] + JAPANESE_DOCUMENTS


@pytest.fixture(scope="module")
def tokenizer_dir(texts, tmp_path_factory):
    return save_tokenizer(train_tokenizer(texts, vocab_size=800), tmp_path_factory.mktemp("tok"))


@pytest.fixture
def tok(tokenizer_dir):
    # Loaded for each test: tests/conftest.py seeds every test with keras.utils.set_random_seed,
    # which clears TF's kernel caches and with them the TF resources of tokenizers made earlier.
    return load_tokenizer(tokenizer_dir)


def _take(ds, n):
    return [keras.tree.map_structure(lambda t: t.numpy(), batch) for batch in ds.take(n)]


def test_clm_windows_are_packed_and_shifted(texts, tok):
    batches = _take(clm_dataset(texts, tok, sequence_length=SEQ, batch_size=4, shuffle=False), 1000)
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    assert x.shape[1] == y.shape[1] == SEQ and x.dtype == np.int32
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # labels are the inputs shifted by one
    total = sum(len(tok.tokenize(t)) + 1 for t in texts)  # +1: the </s> after each document
    assert len(x) == (total // (SEQ + 1)) // 4 * 4  # every full window, then full batches
    assert (x == tok.end_token_id).sum() >= len(texts) - 2  # document separators are in the stream
    assert not np.isin(x, [tok.pad_token_id, tok.mask_token_id]).any()  # packed: no padding at all


def test_clm_keeps_japanese_intact(tok):
    doc = JAPANESE_DOCUMENTS[0]
    x, y = _take(clm_dataset([doc] * 4, tok, sequence_length=SEQ, batch_size=1, shuffle=False), 1)[0]
    text = tok.detokenize(x[0])
    text = text.numpy().decode() if hasattr(text, "numpy") else str(text)
    assert text.strip() in doc  # the first window is the document's first SEQ pieces, unbroken


def test_clm_is_deterministic_under_a_seed(texts, tok):
    def first(seed):
        return _take(clm_dataset(texts, tok, sequence_length=SEQ, batch_size=4, seed=seed), 3)

    a, b, c = first(1), first(1), first(2)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(a, c))


def test_mlm_masks_80_10_10_and_never_special_tokens(texts, tok):
    ds = mlm_dataset(texts, tok, sequence_length=SEQ, batch_size=16, shuffle=False)
    specials = set(range(len(SPECIAL_TOKENS)))
    masked = replaced = kept = 0
    for x, ids, weights in _take(ds, 1000):
        assert x["token_ids"][:, 0].tolist() == [tok.cls_token_id] * len(ids)
        for row in range(len(ids)):
            for pos, original, weight in zip(x["mask_positions"][row], ids[row], weights[row]):
                if weight == 0:
                    continue
                assert original not in specials  # [CLS], [SEP], [PAD], </s> ... are never selected
                now = x["token_ids"][row, pos]
                masked += now == tok.mask_token_id
                kept += now == original
                replaced += now not in (tok.mask_token_id, original)
    total = masked + replaced + kept
    assert total > 500
    assert 0.72 < masked / total < 0.88 and 0.04 < replaced / total < 0.16 and 0.04 < kept / total < 0.16


def test_mlm_masks_change_every_epoch(texts, tok):
    # Each epoch is a new iterator over the same cached windows; the masker's generator moves on.
    ds = mlm_dataset(texts[:6], tok, sequence_length=SEQ, batch_size=8, shuffle=False)
    first = _take(ds, 1)[0]
    second = _take(ds, 1)[0]
    np.testing.assert_array_equal(first[0]["padding_mask"], second[0]["padding_mask"])  # same text
    assert not np.array_equal(first[0]["mask_positions"], second[0]["mask_positions"])  # new masks


def test_nsp_pairs_are_half_true_half_random():
    docs = [f"Doc{d} sentence one. Doc{d} sentence two. Doc{d} sentence three." for d in range(30)]
    pairs = nsp_pairs(docs, seed=3)
    assert len(pairs) == 60
    assert 0.35 < sum(label for _, _, label in pairs) / len(pairs) < 0.65
    for a, b, label in pairs:
        same_doc = a.split()[0] == b.split()[0]
        if label == 1:
            assert same_doc and int(b.split()[-1] == "three.") + int(b.split()[-1] == "two.") == 1
        else:
            assert not same_doc
    assert nsp_pairs(docs, seed=3) == pairs  # deterministic under a seed
    with pytest.raises(ValueError, match="at least 2 documents"):
        nsp_pairs(["Only one. Document here."])


def test_nsp_dataset_packs_two_segments(texts, tok):
    x, labels = _take(nsp_dataset(texts, tok, sequence_length=SEQ, batch_size=8), 1)[0]
    for row in range(8):
        ids, seg = x["token_ids"][row], x["segment_ids"][row]
        n = int(x["padding_mask"][row].sum())
        assert ids[0] == tok.cls_token_id and ids[n - 1] == tok.sep_token_id
        assert (ids[:n] == tok.sep_token_id).sum() == 2 and seg[0] == 0 and seg[n - 1] == 1
    assert set(labels.tolist()) <= {0, 1}


def test_split_segments_handles_japanese():
    assert split_segments("一つ目。二つ目！three. four") == ["一つ目。", "二つ目！", "three.", "four"]


def test_split_by_document_is_stable(tmp_path):
    docs = [f"document number {i}" for i in range(200)]
    train, val = split_documents(docs, 0.1, seed=5)
    assert not set(train) & set(val) and len(train) + len(val) == 200 and 8 < len(val) < 35
    assert split_documents(docs, 0.1, seed=5) == (train, val)
    assert split_documents(docs, 0.1, seed=6) != (train, val)
    # A corpus folder works as input too.
    write_shards([Document(id=str(i), text=t) for i, t in enumerate(docs)], tmp_path / "shards")
    assert split_documents(tmp_path, 0.1, seed=5) == (train, val)
    with pytest.raises(ValueError, match="validation_fraction"):
        split_documents(docs, 1.5)


def test_empty_input_is_a_clear_error(tok):
    with pytest.raises(ValueError, match="corpus .* is empty"):
        clm_dataset([], tok)


def test_mlm_is_deterministic_under_a_seed(texts, tok):
    def masked(seed):
        ds = mlm_dataset(texts[:4], tok, sequence_length=SEQ, batch_size=4, seed=seed)
        return [x["token_ids"] for x, _, _ in _take(ds, 3)]

    first, again, other = masked(11), masked(11), masked(12)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))

"""Tokenizers: special ids, Japanese round trips, save/load, and clear errors for bad sizes."""

import numpy as np
import pytest

from tests.data.japanese_sample import JAPANESE_DOCUMENTS, JAPANESE_ROUND_TRIP
from zoo.data.builtin_corpus import load_builtin_corpus
from zoo.data.tokenizer import (
    SPECIAL_TOKENS,
    load_tokenizer,
    save_tokenizer,
    train_tokenizer,
)

SIZES = {"sentencepiece-unigram": 1000, "sentencepiece-bpe": 1000, "wordpiece": 700, "byte-bpe": 1000}


@pytest.fixture(scope="module")
def texts():
    return load_builtin_corpus()[:20] + JAPANESE_DOCUMENTS


@pytest.fixture(scope="module")
def trained(texts):
    return {kind: train_tokenizer(texts, kind=kind, vocab_size=size) for kind, size in SIZES.items()}


def _as_str(value):
    value = value.numpy() if hasattr(value, "numpy") else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@pytest.mark.parametrize("kind", list(SIZES))
def test_special_tokens_have_fixed_ids(trained, kind):
    tok = trained[kind]
    assert [tok.token_to_id(token) for token in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert (
        tok.pad_token_id,
        tok.unk_token_id,
        tok.cls_token_id,
        tok.sep_token_id,
        tok.mask_token_id,
        tok.start_token_id,
        tok.end_token_id,
    ) == (0, 1, 2, 3, 4, 5, 6)
    assert abs(tok.vocabulary_size() - SIZES[kind]) <= 0.1 * SIZES[kind]


@pytest.mark.parametrize("kind", ["sentencepiece-unigram", "sentencepiece-bpe", "byte-bpe"])
def test_japanese_round_trips_exactly(trained, kind):
    tok = trained[kind]
    ids = tok.tokenize(JAPANESE_ROUND_TRIP)
    assert _as_str(tok.detokenize(ids)) == JAPANESE_ROUND_TRIP
    assert tok.unk_token_id not in np.asarray(ids).tolist()  # byte fallback: nothing is unknown
    # Text seen in training becomes learned pieces, not raw bytes: SentencePiece needs about one
    # piece per character (only characters below its coverage fall back to bytes), BPE merges bytes.
    doc = JAPANESE_DOCUMENTS[0]
    limit = len(doc) * 1.1 if kind.startswith("sentencepiece") else len(doc.encode("utf-8")) * 0.7
    assert len(tok.tokenize(doc)) <= limit


def test_wordpiece_splits_japanese_and_keeps_special_tokens_whole(trained):
    tok = trained["wordpiece"]
    ids = np.asarray(tok.tokenize("[CLS] 言語モデル [SEP]")).tolist()
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.unk_token_id not in ids  # every character here occurs in the training text
    # strip_accents stays off: が must not become か
    assert "が" in _as_str(tok.detokenize(tok.tokenize("言語が")))


@pytest.mark.parametrize("kind", list(SIZES))
def test_save_and_load_give_the_same_ids(trained, kind, tmp_path):
    tok = trained[kind]
    folder = save_tokenizer(tok, tmp_path / kind)
    again = load_tokenizer(folder)
    text = JAPANESE_DOCUMENTS[2] + " The assert statement."
    assert np.asarray(again.tokenize(text)).tolist() == np.asarray(tok.tokenize(text)).tolist()
    assert again.mask_token_id == 4


def test_tokenizer_works_inside_tf_data(trained, tmp_path):
    import tensorflow as tf

    # Loaded fresh: the autouse seed fixture clears TF's caches, which hold the TF side of
    # tokenizers made before this test.
    tok = load_tokenizer(save_tokenizer(trained["sentencepiece-unigram"], tmp_path))
    ds = tf.data.Dataset.from_tensor_slices(JAPANESE_DOCUMENTS[:2]).map(tok)
    first = next(iter(ds)).numpy().tolist()
    assert first == np.asarray(tok.tokenize(JAPANESE_DOCUMENTS[0])).tolist()


def test_bad_sizes_and_kinds_give_clear_errors(texts, tmp_path):
    with pytest.raises(ValueError, match=r"larger than this corpus supports.*--vocab-size \d+ or less"):
        train_tokenizer(texts[:2], kind="sentencepiece-unigram", vocab_size=50_000)
    with pytest.raises(ValueError, match=r"larger than this corpus supports for a wordpiece"):
        train_tokenizer(texts[:2], kind="wordpiece", vocab_size=50_000)
    with pytest.raises(ValueError, match="choose one of"):
        train_tokenizer(texts, kind="letters", vocab_size=100)
    with pytest.raises(ValueError, match="corpus is empty"):
        train_tokenizer(["", "  "], vocab_size=100)
    with pytest.raises(FileNotFoundError, match="zoo data tokenizer"):
        load_tokenizer(tmp_path)


def test_wordpiece_with_fugashi_cuts_japanese_into_words(tmp_path):
    pytest.importorskip("fugashi")
    pytest.importorskip("unidic_lite")
    from tests.data.test_japanese_eval import _real_documents
    from zoo.data.clean import clean_documents
    from zoo.data.morphology import segment
    from zoo.data.tokenizer import token_pieces

    texts = [doc.text for doc in clean_documents(_real_documents()[:40], progress=False)[0]]  # real manual pages
    morph = train_tokenizer(texts, kind="wordpiece", vocab_size=2000, pretokenizer="fugashi")
    sentence = "ファイルの所有者を変更する。"
    pieces = token_pieces(morph, sentence)
    # Pieces never cross a word boundary of the analyser: glued back, they are its words.
    words = []
    for piece in pieces:
        if piece.startswith("##"):
            words[-1] += piece[2:]
        else:
            words.append(piece)
    assert words == segment(sentence).split() and "ファイル" in pieces and "を" in pieces
    # Without the analyser, BERT's split_on_cjk puts every kanji on its own.
    plain = train_tokenizer(JAPANESE_DOCUMENTS * 3, kind="wordpiece", vocab_size=400)
    plain_pieces = token_pieces(plain, "日本語の文章")
    assert "日" in plain_pieces and "日本" not in plain_pieces
    # Saved and loaded, it still segments, in Python and inside a tf.data map alike.
    loaded = load_tokenizer(save_tokenizer(morph, tmp_path / "tok"))
    assert loaded.pretokenizer == "fugashi"
    import tensorflow as tf

    eager = [int(i) for i in loaded.tokenize(sentence)]
    mapped = next(iter(tf.data.Dataset.from_tensor_slices([sentence]).map(loaded.tokenize))).numpy().tolist()
    assert mapped == eager == [int(i) for i in morph.tokenize(sentence)]
    with pytest.raises(ValueError, match="WordPiece"):
        train_tokenizer(texts, kind="sentencepiece-unigram", vocab_size=300, pretokenizer="fugashi")


def test_missing_analyzer_says_what_to_install(monkeypatch):
    import sys

    from zoo.data import morphology

    morphology._tagger.cache_clear()
    monkeypatch.setitem(sys.modules, "fugashi", None)  # import fails as if not installed
    try:
        with pytest.raises(morphology.MissingAnalyzerError, match=r"zoo\[ja\]"):
            morphology.segment("猫", "fugashi")
        assert morphology.available("fugashi") is False
    finally:
        morphology._tagger.cache_clear()

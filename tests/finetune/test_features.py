"""Span mapping (English and Japanese, byte-fallback characters too) and classification packing."""

import numpy as np
import pytest

from zoo.finetune.datasets import dataset_path
from zoo.finetune.features import (
    answer_token_span,
    best_spans,
    byte_fallback_share,
    char_offsets,
    encode_classification,
    encode_qa,
    predict_answers,
    span_text,
)
from zoo.finetune.formats import read_squad


@pytest.mark.parametrize("language", ["en", "ja"])
def test_gold_spans_map_to_tokens_and_back(bilingual_tokenizer, language):
    from zoo.finetune.metrics import squad_scores

    questions = read_squad(dataset_path("qa", language, "dev"))
    feats = encode_qa(questions, bilingual_tokenizer, seq_len=192)
    assert feats["dropped"] == 0 and (feats["start"] >= 0).all()
    recovered = []
    for i, (question, meta) in enumerate(zip(questions, feats["meta"])):
        text = span_text(meta, feats["start"][i], feats["end"][i])
        # The token span always covers the whole answer, cut from the original characters.
        assert question["answers"][0]["text"] in text
        recovered.append(text)
        segments = feats["inputs"]["segment_ids"][i]
        assert segments[meta["offset"] - 1] == 0 and segments[meta["offset"]] == 1  # [SEP] ends the question
    ceiling = squad_scores(recovered, [[q["answers"][0]["text"]] for q in questions], language)
    if language == "en":
        # English pieces never cross a word boundary: every answer comes back exactly (unseen names included).
        assert recovered == [q["answers"][0]["text"] for q in questions]
    else:
        # A Japanese piece can cross the answer's edge (年 + に as one piece): the span then holds a
        # character more. Exact match has that ceiling; character F1 stays high.
        assert ceiling["exact_match"] > 0.5 and ceiling["f1"] > 0.9


def test_offsets_of_byte_fallback_characters(bilingual_tokenizer):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=bilingual_tokenizer.proto)
    text = "Mika met 鰻 in 𩸽 town"  # two characters no vocabulary here has: byte pieces
    ids, spans = char_offsets(sp, text)
    assert len(ids) == len(spans) == len(sp.encode(text))
    assert ids == [int(i) for i in np.asarray(bilingual_tokenizer(text))]
    eel = text.index("鰻")
    first, last = answer_token_span(spans, eel, eel + 1)
    assert last - first == 2  # three UTF-8 bytes, three pieces
    assert text[spans[first][0] : spans[last][1]] == "鰻"
    assert byte_fallback_share(bilingual_tokenizer, ["鰻"]) == 1.0


def test_answer_cut_by_the_window_is_dropped_but_scored(bilingual_tokenizer):
    context = "Mika was born in Osaka. " * 10 + "Her cat is called Luna."
    question = {
        "question": "What is the cat called?",
        "context": context,
        "answers": [{"text": "Luna", "answer_start": context.index("Luna")}],
    }
    feats = encode_qa([question], bilingual_tokenizer, seq_len=24)
    assert feats["dropped"] == 1 and feats["start"][0] == -1
    assert feats["inputs"]["padding_mask"].sum() == 24


def test_best_span_respects_order_and_length():
    metas = [{"context": "a b c d", "offset": 1, "spans": [(0, 1), (1, 3), (3, 5), (5, 7)]}]
    start = np.array([[9.0, 1.0, 0.0, 0.0, 5.0]])  # position 0 ([CLS]) is outside the context
    end = np.array([[9.0, 0.0, 4.0, 0.0, -10.0]])  # the best start (4) has only a bad end after it
    # start 1 + end 2 = 5 beats start 4 + end 4 = -5; the 9.0s on [CLS] never count.
    assert best_spans(start, end, metas) == [(1, 2)]
    assert best_spans(start, end, metas, max_answer_tokens=1) == [(2, 2)]  # one token: 0 + 4
    assert predict_answers(start, end, metas) == ["a b"]


def test_classification_pairs_truncate_longest_first(bilingual_tokenizer):
    long_text = "The film was excellent. " * 20
    x, y, cut = encode_classification(
        [{"texts": (long_text, "Great."), "label": 2}, {"texts": ("猫。", "犬。"), "label": 0}], bilingual_tokenizer, 32
    )
    assert cut == 1 and y.tolist() == [2, 0]
    ids, segments = x["token_ids"][0], x["segment_ids"][0]
    assert ids[0] == 2 and (ids == 3).sum() == 2 and x["padding_mask"][0].all()
    hypothesis = np.asarray(bilingual_tokenizer("Great.")).tolist()
    assert ids[-len(hypothesis) - 1 : -1].tolist() == hypothesis  # the short text is kept whole
    assert segments[-1] == 1 and segments[1] == 0
    row = x["token_ids"][1]
    assert x["padding_mask"][1].sum() < 32 and row[x["padding_mask"][1] == 0].max() == 0  # right padding
    with pytest.raises(ValueError, match="same number of texts"):
        encode_classification(
            [{"texts": ("a",), "label": 0}, {"texts": ("a", "b"), "label": 0}], bilingual_tokenizer, 16
        )


def test_qa_refuses_tokenizers_without_offsets():
    from zoo.data.tokenizer import SPECIAL_TOKENS, ZooBytePairTokenizer

    # Byte-level BPE has no character offsets here (SentencePiece and WordPiece do).
    tok = ZooBytePairTokenizer(
        vocabulary={t: i for i, t in enumerate([*SPECIAL_TOKENS, "a", "b", "ab"])}, merges=["a b"]
    )
    with pytest.raises(ValueError, match="SentencePiece offsets"):
        encode_qa([{"question": "a", "context": "a", "answers": [{"text": "a", "answer_start": 0}]}], tok, 16)

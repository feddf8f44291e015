"""Token features for fine-tuning: classification inputs and SQuAD spans <-> token positions.

Classification (sentiment, NLI) packs `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`
with segment ids 0 for the first part and 1 for the second, cuts the longer text
first when a pair is too long (BERT's rule), and pads on the right (a causal
backbone's classifier reads the last real token, so padding must come after it).

Extractive QA packs `[CLS] question [SEP] context [SEP]`. The answer is given as
characters of the context (SQuAD's `answer_start` and text), the model predicts
token positions, so both directions are needed:

- characters -> tokens: SentencePiece reports, for every piece, the bytes of the
  input it came from. They become character offsets; the answer's first token is
  the first one that overlaps its characters and the last token the last one.
  A character unknown to the vocabulary becomes several byte pieces: all but the
  last cover no characters, and are counted with the character they start.
- tokens -> characters: a predicted span (i, j) is the context text from token
  i's first character to token j's last, cut from the original string, so
  spacing and full-width characters come back exactly as written (Japanese too).

QA needs these offsets, which SentencePiece tokenizers (zoo's default, and the
one for Japanese) provide; other kinds are refused with a clear message.
Contexts longer than the window are cut; a training question whose answer falls
outside the window is dropped from training (and counted), and is still scored
at evaluation, where the model cannot get it right.

Example:
    >>> from zoo.data.tokenizer import train_tokenizer
    >>> tok = train_tokenizer(["Mika lives in Osaka. 東京に住んでいます。"] * 30, vocab_size=285)
    >>> feats = encode_qa([{"question": "Where?", "context": "Mika lives in Osaka.",
    ...                     "answers": [{"text": "Osaka", "answer_start": 14}]}], tok, seq_len=32)
    >>> span_text(feats["meta"][0], feats["start"][0], feats["end"][0])
    'Osaka'
"""

import numpy as np


def tokenize_many(tokenizer, texts):
    """Token id lists of many texts with one tokenizer call.

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer, SPECIAL_TOKENS
        >>> tokenize_many(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat"]), ["cat", "cat cat"])
        [[7], [7, 7]]
    """
    if not texts:
        return []
    out = tokenizer(list(texts))
    if isinstance(out, list):  # some keras-hub tokenizers return Python lists of ragged rows
        return [[int(i) for i in row] for row in out]
    if hasattr(out, "to_list"):
        return [[int(i) for i in row] for row in out.to_list()]
    return [[int(i) for i in row] for row in np.asarray(out)]


def _truncate_pair(a, b, budget):
    # Longest first, one token at a time: the shorter text keeps as much as it can.
    a, b = list(a), list(b)
    while len(a) + len(b) > budget:
        (a if len(a) >= len(b) else b).pop()
    return a, b


def frame_ids(tokenizer):
    """(start, separator, pad) ids that frame an example, from the tokenizer's own special tokens.

    BERT-style vocabularies have [CLS]/[SEP]/[PAD]; a decoder's (GPT-2, Llama) has only
    begin/end-of-text, which take their places (GPT-2's pad is its end-of-text token).

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer, SPECIAL_TOKENS
        >>> frame_ids(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS)))
        (2, 3, 0)
    """

    def first(*names):
        for name in names:
            value = getattr(tokenizer, name, None)
            if value is not None:
                return int(value)
        raise ValueError(f"{type(tokenizer).__name__} has none of {', '.join(names)}; it cannot frame an example")

    return (
        first("cls_token_id", "start_token_id", "end_token_id"),
        first("sep_token_id", "end_token_id"),
        first("pad_token_id", "end_token_id"),
    )


def encode_classification(examples, tokenizer, seq_len):
    """Model inputs and labels for single texts or pairs.

    Args:
        examples: records from `zoo.finetune.formats.read_classification`.
        tokenizer: a zoo tokenizer (its [CLS]/[SEP]/[PAD] ids are 2/3/0).
        seq_len: tokens per example, special tokens included.

    Returns:
        (inputs dict of int32 [n, seq_len] "token_ids"/"padding_mask"/"segment_ids",
         labels int32 [n], number of examples that had to be cut).

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer, SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat", "dog"])
        >>> x, y, cut = encode_classification([{"texts": ("cat", "dog dog"), "label": 1}], tok, 8)
        >>> x["token_ids"][0].tolist(), x["segment_ids"][0].tolist(), y.tolist()
        ([2, 7, 3, 8, 8, 3, 0, 0], [0, 0, 0, 1, 1, 1, 0, 0], [1])
    """
    if not examples:
        raise ValueError("No examples to encode.")
    width = len(examples[0]["texts"])
    if width not in (1, 2) or any(len(e["texts"]) != width for e in examples):
        raise ValueError("Every example needs the same number of texts: one (sentiment) or two (NLI).")
    if seq_len < 2 * width + 1:
        raise ValueError(f"--seq-len {seq_len} leaves no room for text between the special tokens.")
    columns = [tokenize_many(tokenizer, [e["texts"][k] for e in examples]) for k in range(width)]
    cls, sep, pad = frame_ids(tokenizer)
    n = len(examples)
    ids = np.full((n, seq_len), pad, dtype="int32")
    segments = np.zeros((n, seq_len), dtype="int32")
    mask = np.zeros((n, seq_len), dtype="int32")
    cut = 0
    for i in range(n):
        if width == 1:
            a, b = columns[0][i][: seq_len - 2], None
            cut += len(a) < len(columns[0][i])
            row, seg = [cls, *a, sep], [0] * (len(a) + 2)
        else:
            a, b = _truncate_pair(columns[0][i], columns[1][i], seq_len - 3)
            cut += len(a) + len(b) < len(columns[0][i]) + len(columns[1][i])
            row = [cls, *a, sep, *b, sep]
            seg = [0] * (len(a) + 2) + [1] * (len(b) + 1)
        ids[i, : len(row)] = row
        segments[i, : len(seg)] = seg
        mask[i, : len(row)] = 1
    labels = np.array([e["label"] for e in examples], dtype="int32")
    return {"token_ids": ids, "padding_mask": mask, "segment_ids": segments}, labels, cut


def _sentencepiece(tokenizer):
    proto = getattr(tokenizer, "proto", None)
    if proto is None:
        raise ValueError(
            f"Extractive QA maps answer characters to tokens through SentencePiece offsets, and a "
            f"{type(tokenizer).__name__} has none: pretrain with a SentencePiece (or WordPiece) tokenizer "
            "(zoo's default, `--tokenizer-kind sentencepiece-unigram`)."
        )
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_proto=proto)


class _SentencePieceOffsets:
    def __init__(self, sp):
        self.sp = sp

    def encode(self, text):
        return self.sp.encode(text)

    def char_offsets(self, text):
        return char_offsets(self.sp, text)


class _WordPieceOffsets:
    """Character offsets of a WordPiece vocabulary (an imported BERT's), from the `tokenizers` library.

    It splits and normalises as Hugging Face's BERT does, which is what a
    keras-hub BertTokenizer with the same lowercase/strip_accents settings gives.
    """

    def __init__(self, tokenizer):
        from tokenizers import BertWordPieceTokenizer

        vocabulary = {token: i for i, token in enumerate(tokenizer.vocabulary)}
        self.tok = BertWordPieceTokenizer(
            vocabulary,
            lowercase=bool(tokenizer.lowercase),
            strip_accents=bool(getattr(tokenizer, "strip_accents", False)),
            unk_token=tokenizer.oov_token,
        )

    def encode(self, text):
        return self.tok.encode(text, add_special_tokens=False).ids

    def char_offsets(self, text):
        encoded = self.tok.encode(text, add_special_tokens=False)
        return list(encoded.ids), [tuple(span) for span in encoded.offsets]


def offset_encoder(tokenizer):
    """An object with encode(text) -> ids and char_offsets(text) -> (ids, spans) for extractive QA."""
    import keras_hub

    if getattr(tokenizer, "proto", None) is None and isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        return _WordPieceOffsets(tokenizer)
    return _SentencePieceOffsets(_sentencepiece(tokenizer))


def char_offsets(sp, text):
    """(ids, [(char_begin, char_end)] per token) of `text` from a SentencePiece processor.

    Example:
        >>> from zoo.data.tokenizer import train_tokenizer
        >>> import sentencepiece as spm
        >>> sp = spm.SentencePieceProcessor(model_proto=train_tokenizer(["ab cd"] * 20, vocab_size=268).proto)
        >>> ids, spans = char_offsets(sp, "ab 猫")
        >>> spans[-1]   # 猫 is three byte pieces; the last covers the character
        (3, 4)
    """
    encoded = sp.encode(text, return_type="proto")
    # SentencePiece counts UTF-8 bytes; Python strings count characters.
    byte_to_char = {}
    position = 0
    for index, char in enumerate(text):
        byte_to_char[position] = index
        position += len(char.encode("utf-8"))
    byte_to_char[position] = len(text)
    ids, spans = [], []
    for piece in encoded.pieces:
        ids.append(int(piece.id))
        spans.append((byte_to_char[piece.begin], byte_to_char[piece.end]))
    return ids, spans


def answer_token_span(spans, start, end):
    """(first, last) token index overlapping characters [start, end), or None if none does.

    Tokens with an empty span (leading byte pieces, SentencePiece's dummy prefix)
    sit at the character they start and count when that character is in the answer.

    Example:
        >>> answer_token_span([(0, 4), (4, 10), (10, 16)], 5, 10)
        (1, 1)
    """
    inside = [i for i, (b, e) in enumerate(spans) if (b < end and e > start and e > b) or (b == e and start <= b < end)]
    if not inside:
        return None
    return inside[0], inside[-1]


def encode_qa(examples, tokenizer, seq_len, max_question_tokens=None):
    """Model inputs, start/end labels and decoding metadata of SQuAD questions.

    Returns a dict with "inputs" (token_ids, padding_mask, segment_ids: int32
    [n, seq_len]), "start"/"end" (int32 [n] token positions of the first answer;
    -1 when it lies outside the window), "meta" (per question: the context, the
    sequence position where the context starts and each context token's
    character span) and "dropped" (questions whose answer is outside the window).
    """
    if not examples:
        raise ValueError("No questions to encode.")
    encoder = offset_encoder(tokenizer)
    max_question_tokens = max_question_tokens or max(1, seq_len // 3)
    if seq_len < 8:
        raise ValueError(f"--seq-len {seq_len} is too short for [CLS] question [SEP] context [SEP].")
    cls, sep, pad = frame_ids(tokenizer)
    n = len(examples)
    ids = np.full((n, seq_len), pad, dtype="int32")
    segments = np.zeros((n, seq_len), dtype="int32")
    mask = np.zeros((n, seq_len), dtype="int32")
    starts = np.full(n, -1, dtype="int32")
    ends = np.full(n, -1, dtype="int32")
    meta, dropped = [], 0
    for i, example in enumerate(examples):
        question = encoder.encode(example["question"])[:max_question_tokens]
        context_ids, spans = encoder.char_offsets(example["context"])
        room = seq_len - len(question) - 3
        context_ids, spans = context_ids[:room], spans[:room]
        offset = len(question) + 2
        row = [cls, *question, sep, *context_ids, sep]
        ids[i, : len(row)] = row
        segments[i, offset : len(row)] = 1
        mask[i, : len(row)] = 1
        answer = example["answers"][0]
        span = answer_token_span(spans, answer["answer_start"], answer["answer_start"] + len(answer["text"]))
        # The whole answer must be inside the window; a cut answer would teach a wrong end.
        if span is not None and spans and spans[-1][1] >= answer["answer_start"] + len(answer["text"]):
            starts[i], ends[i] = span[0] + offset, span[1] + offset
        else:
            dropped += 1
        meta.append({"context": example["context"], "offset": offset, "spans": spans})
    return {
        "inputs": {"token_ids": ids, "padding_mask": mask, "segment_ids": segments},
        "start": starts,
        "end": ends,
        "meta": meta,
        "dropped": dropped,
    }


def span_text(meta, start, end):
    """The context text of sequence positions start..end (inclusive), cut from the original string.

    Example:
        >>> span_text({"context": "in Osaka.", "offset": 3, "spans": [(0, 2), (2, 8), (8, 9)]}, 4, 4)
        'Osaka'
    """
    spans, context = meta["spans"], meta["context"]
    i, j = int(start) - meta["offset"], int(end) - meta["offset"]
    if not spans or not 0 <= i <= j < len(spans):
        return ""
    begin, finish = spans[i][0], spans[j][1]
    if finish <= begin:  # the span ends on a leading byte piece: take its whole character
        finish = begin + 1
    return context[begin:finish].strip()


def best_spans(start_logits, end_logits, metas, max_answer_tokens=30):
    """The highest-scoring (start, end) inside each context with start <= end < start + max_answer_tokens.

    Example:
        >>> import numpy as np
        >>> best_spans(np.array([[0., 0., 5., 1.]]), np.array([[0., 0., 1., 5.]]),
        ...            [{"offset": 2, "spans": [(0, 1), (1, 2)]}])
        [(2, 3)]
    """
    out = []
    for s_row, e_row, meta in zip(np.asarray(start_logits), np.asarray(end_logits), metas):
        lo, count = meta["offset"], len(meta["spans"])
        if count == 0:
            out.append((lo, lo))
            continue
        s, e = s_row[lo : lo + count], e_row[lo : lo + count]
        scores = s[:, None] + e[None, :]
        # Only spans that end after they start and are not longer than max_answer_tokens.
        allowed = np.triu(np.ones((count, count), bool)) & ~np.triu(np.ones((count, count), bool), max_answer_tokens)
        scores = np.where(allowed, scores, -np.inf)
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        out.append((int(i) + lo, int(j) + lo))
    return out


def predict_answers(start_logits, end_logits, metas, max_answer_tokens=30):
    """Answer strings for the model's start/end logits.

    Example:
        >>> import numpy as np
        >>> predict_answers(np.array([[0., 9., 0.]]), np.array([[0., 9., 0.]]),
        ...                 [{"context": "Osaka", "offset": 1, "spans": [(0, 5), (5, 5)]}])
        ['Osaka']
    """
    return [
        span_text(meta, i, j)
        for (i, j), meta in zip(best_spans(start_logits, end_logits, metas, max_answer_tokens), metas)
    ]


def byte_fallback_share(tokenizer, texts):
    """Share of the (non-space) characters that SentencePiece spells as raw UTF-8 bytes, or None.

    A tokenizer trained on English text still covers Japanese through byte
    fallback, at about three tokens per character; this number says how much
    of a text the vocabulary lacks. None for tokenizers other than SentencePiece.

    Example:
        >>> from zoo.data.tokenizer import train_tokenizer
        >>> tok = train_tokenizer(["the cat sat"] * 20, vocab_size=270)
        >>> byte_fallback_share(tok, ["cat"]), byte_fallback_share(tok, ["猫 cat"])
        (0.0, 0.25)
    """
    if getattr(tokenizer, "proto", None) is None:
        return None
    sp = _sentencepiece(tokenizer)
    total = as_bytes = 0
    for text in texts:
        total += sum(not ch.isspace() for ch in text)
        ids, spans = char_offsets(sp, text)
        as_bytes += sum(end - begin for i, (begin, end) in zip(ids, spans) if sp.is_byte(i))
    return as_bytes / total if total else 0.0

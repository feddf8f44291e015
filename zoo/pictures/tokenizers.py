"""How one English and one Japanese sentence split under each tokenizer kind zoo trains.

The tokenizers are zoo's own (`zoo.data.tokenizer.train_tokenizer`), trained here on the
built-in English corpus plus the Japanese evaluation set that ships with zoo (real man
pages; the built-in corpus alone has no Japanese, and a tokenizer that never saw Japanese
only shows unknown pieces). Each piece is one coloured box. Byte-level BPE pieces are
shown decoded; the bytes of a character that a piece boundary cuts show as hex (<e3>).

Example:
    >>> texts = ["the cat sat on the mat and the dog sat on the log"] * 30
    >>> rows = split_sentences([("sentencepiece-bpe", None)], ["the cat"], train_texts=texts, vocab_size=300)
    >>> rows[0]["kind"], rows[0]["pieces"]
    ('sentencepiece-bpe', ['▁the', '▁cat'])
"""

from zoo.pictures.figures import japanese_font, pyplot, save_figure

SENTENCES = (
    "Tokenizers cut text into pieces that a language model can count.",
    "大規模言語モデルは、大量のテキストから次の単語を予測して学習します。",
)
KINDS = ("sentencepiece-unigram", "sentencepiece-bpe", "wordpiece", "byte-bpe")


def training_texts(japanese_pages=30):
    """The built-in corpus plus the text of the first `japanese_pages` Japanese man pages zoo ships."""
    import gzip
    import json
    from pathlib import Path

    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.clean import html_to_text

    texts = load_builtin_corpus()
    path = Path(__file__).resolve().parents[1] / "data" / "eval" / "ja_manpages.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for _, line in zip(range(japanese_pages), f):
            text = html_to_text(json.loads(line)["html"])
            if text:
                texts.append(text)
    return texts


def _byte_pieces(tokenizer, ids):
    # Byte-level BPE spells each byte as one printable character (GPT-2's table); undo it.
    from keras_hub.src.tokenizers.byte_pair_tokenizer import bytes_to_unicode

    byte_of = {c: b for b, c in zip(*bytes_to_unicode())}
    pieces = []
    for token_id in ids:
        raw = b"".join(byte_of.get(ch, ch.encode("utf-8")) for ch in str(tokenizer.id_to_token(int(token_id))))
        pieces.append(_decode_with_hex(raw))
    return pieces


def _decode_with_hex(raw):
    """UTF-8 text of `raw`, each byte of a character cut by the piece boundary written as <e3>."""
    out, i = [], 0
    while i < len(raw):
        for end in range(min(len(raw), i + 4), i, -1):  # the longest whole character starting at i
            try:
                out.append(raw[i:end].decode("utf-8"))
                i = end
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"<{raw[i]:02x}>")
            i += 1
    return "".join(out)


def pieces_of(tokenizer, kind, text):
    """The pieces `tokenizer` cuts `text` into, as a person would read them."""
    from zoo.data.tokenizer import token_pieces

    if kind == "byte-bpe":
        ids = tokenizer.tokenize(text)
        ids = ids.numpy().tolist() if hasattr(ids, "numpy") else list(ids)
        return _byte_pieces(tokenizer, ids)
    return token_pieces(tokenizer, text)


def split_sentences(kinds=None, sentences=SENTENCES, train_texts=None, vocab_size=3000, seed=0):
    """[{"kind", "sentence", "pieces"}] for each tokenizer kind (trained once) and sentence.

    `kinds`: (kind, pre-tokenizer) pairs, the pre-tokenizer None or "fugashi" (WordPiece on Japanese
    words); default: every kind, and WordPiece + fugashi too when fugashi is installed (zoo[ja]).
    """
    from zoo.data.morphology import available
    from zoo.data.tokenizer import train_tokenizer

    if kinds is None:
        kinds = [(kind, None) for kind in KINDS]
        if available("fugashi"):
            kinds.insert(3, ("wordpiece", "fugashi"))
    texts = training_texts() if train_texts is None else train_texts
    rows = []
    for kind, pretokenizer in kinds:
        tokenizer = train_tokenizer(texts, kind=kind, vocab_size=vocab_size, seed=seed, pretokenizer=pretokenizer)
        label = kind if pretokenizer is None else f"{kind} + {pretokenizer}"
        for sentence in sentences:
            rows.append({"kind": label, "sentence": sentence, "pieces": pieces_of(tokenizer, kind, sentence)})
    return rows


def _width(text):
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text) or 1


def draw_token_splits(rows, path, title=None):
    """Draw split_sentences() rows as coloured piece boxes, one line per (kind, sentence), to a PNG."""
    plt = pyplot()
    family = japanese_font()
    # DejaVu Sans after the Japanese font: it has the glyphs IPAexGothic lacks (SentencePiece's ▁).
    font = {"family": [family, "DejaVu Sans"]} if family else {}
    per_line = 64  # character cells before a row wraps
    lines = []
    for row in rows:
        current, used = [], 0
        for piece in row["pieces"]:
            shown = piece.replace(" ", "␣")
            if used + _width(shown) + 1 > per_line and current:
                lines.append((row, current))
                current, used = [], 0
            current.append(shown)
            used += _width(shown) + 1
        lines.append((row, current))
    fig, ax = plt.subplots(figsize=(11.5, 0.36 * len(lines) + 1.0))
    ax.set_xlim(0, per_line + 20)
    ax.set_ylim(len(lines), -0.6)
    ax.axis("off")
    colours = plt.get_cmap("Pastel1").colors
    previous = None
    for y, (row, pieces) in enumerate(lines):
        if row is not previous:
            label = f"{row['kind']} ({len(row['pieces'])} pieces)"
            ax.text(0, y, label, va="center", fontsize=7.5, fontweight="bold")
            previous = row
        x = 20.0
        for i, piece in enumerate(pieces):
            w = _width(piece)
            ax.add_patch(
                plt.Rectangle((x, y - 0.38), w + 0.6, 0.76, fc=colours[i % len(colours)], ec="#888888", lw=0.5)
            )
            ax.text(x + 0.3, y, piece, va="center", fontsize=7.5, **font)
            x += w + 1.0
    ax.set_title(title or "How each tokenizer kind splits an English and a Japanese sentence (␣ = space)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def draw_corpus_tokenizer(tokenizer, path):
    """Draw how a corpus's own trained tokenizer splits the English and the Japanese sentence (`zoo data prepare`
    writes it as tokenizer_splits.png next to the corpus); returns the rows drawn.

    Example:
        >>> from zoo.data.tokenizer import load_tokenizer
        >>> draw_corpus_tokenizer(load_tokenizer("data/corpus-builtin/tokenizer"), "splits.png")   # doctest: +SKIP
    """
    from zoo.data.tokenizer import tokenizer_kind

    kind = tokenizer_kind(tokenizer)
    rows = [{"kind": kind, "sentence": text, "pieces": pieces_of(tokenizer, kind, text)} for text in SENTENCES]
    draw_token_splits(rows, path, title=f"this corpus's {kind} tokenizer ({tokenizer.vocabulary_size():,} pieces)")
    return rows

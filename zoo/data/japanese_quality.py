"""Quality measures for Japanese text, on the units Japanese corpus pipelines use: characters and 。-sentences.

Gopher's rules count words, and Japanese has no spaces between words, so
zoo's filter measures Japanese text the way the published Japanese corpus
builders do, with their thresholds:

- Swallow Corpus v1 (Okazaki et al. 2024; source "Source code for Swallow
  Corpus Version 1", quality.py, `apply_v1`): character n-grams instead of word
  n-grams (top 2-4-gram share 0.20 / 0.18 / 0.16; share of distinct 5-10-grams
  that repeat 0.15 ... 0.10), duplicate sentences and paragraphs (0.30 of items,
  0.20 of characters), hiragana share of Japanese letters >= 0.2, katakana
  share <= 0.5, sentences ending in ・ or … <= 0.2, sentences split at 。．！？.
- llm-jp-corpus (llm-jp/llm-jp-corpus, filters.py,
  `has_good_average_sentence_length`, HojiChar's DiscardRareKuten): mean
  sentence length at most 250 characters.

What zoo changes, and why (measured on the 120 real manual pages of
zoo/data/eval/ja_manpages.jsonl.gz): the n-gram shares are taken over the
Japanese letters only (option names, paths and numbers are the other rules'
business); Swallow's 5-gram limit (0.15) is left out, because katakana terms of
five letters or more (ディレクトリ, オプション, ファイル名) repeat in any
technical text: real pages score 0.10-0.27 on it while keyword spam scores 1.0,
and it alone removed 13 of the 120 pages; the 6-10-gram limits stay.
Swallow's minimum mean sentence length (20), maximum sentence length (200)
and minimum of 400 Japanese letters were written for web pages; in manuals
and books (headings, option lists, code) they remove good chapters, so zoo
keeps llm-jp's 250 upper bound and its own length rule (`min_words`, two
characters a word). See `JapaneseThresholds`.

Example:
    >>> stats = japanese_stats("吾輩は猫である。名前はまだ無い。")
    >>> stats["sentences"], round(stats["hiragana_fraction"], 2)
    (2, 0.5)
"""

import collections
import dataclasses
import re

# Sentence = a run up to 。．！？!? (Swallow's re_sentence), looked for within each line.
_SENTENCE_RE = re.compile(r"[^。．！？!?\n]+[。．！？!?]?")
_JAPANESE_ONLY_RE = re.compile("[^\u3041-\u3096\u30a1-\u30fa\u30fc々〇〻\u3400-\u9fff\uf900-\ufaff]")
_KANJI_RE = re.compile("[々〇〻\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


@dataclasses.dataclass
class JapaneseThresholds:
    """Thresholds of the Japanese rules (None turns a rule off); defaults from Swallow v1 and llm-jp-corpus.

    Example:
        >>> JapaneseThresholds().min_hiragana_fraction
        0.2
    """

    min_hiragana_fraction: float | None = 0.2  # Swallow v1
    max_katakana_fraction: float | None = 0.5  # Swallow v1
    max_mean_sentence_chars: float | None = 250.0  # llm-jp-corpus
    max_ellipsis_sentences: float | None = 0.2  # Swallow v1
    max_duplicate_sentences: float | None = 0.3  # Swallow v1
    max_duplicate_sentence_chars: float | None = 0.2  # Swallow v1
    max_duplicate_paragraphs: float | None = 0.3  # Swallow v1
    max_duplicate_paragraph_chars: float | None = 0.2  # Swallow v1
    top_ngram_limits: dict | None = dataclasses.field(default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    duplicate_ngram_limits: dict | None = dataclasses.field(
        default_factory=lambda: {6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    def __post_init__(self):
        for name in ("top_ngram_limits", "duplicate_ngram_limits"):
            limits = getattr(self, name)
            if limits is not None:
                setattr(self, name, {int(n): float(v) for n, v in limits.items()})


def _duplicates(items):
    items = [item for item in items if item.strip()]
    if not items:
        return 0.0, 0.0
    counts = collections.Counter(items)
    dup_items = sum(c - 1 for c in counts.values())
    dup_chars = sum(len(s) * (c - 1) for s, c in counts.items())
    return dup_items / len(items), dup_chars / max(1, sum(map(len, items)))


def char_ngram_stats(text, top=(2, 3, 4), duplicate=range(5, 11)):
    """Return ({n: share of the most frequent char n-gram}, {n: share of distinct char n-grams seen twice or more}).

    These are Swallow v1's definitions: the top n-gram's count over all n-gram
    occurrences, and the repeated distinct n-grams over all distinct n-grams.

    Example:
        >>> top, dup = char_ngram_stats("abab", top=(2,), duplicate=(2,))
        >>> round(top[2], 2), dup[2]
        (0.67, 0.5)
    """
    top_share, dup_share = {}, {}
    for n in sorted(set(top) | set(duplicate)):
        counts = collections.Counter(text[i : i + n] for i in range(len(text) - n + 1))
        if not counts:
            top_share[n] = dup_share[n] = 0.0
            continue
        if n in top:
            top_share[n] = counts.most_common(1)[0][1] / (len(text) - n + 1)
        if n in duplicate:
            dup_share[n] = sum(1 for c in counts.values() if c > 1) / len(counts)
    return top_share, dup_share


def japanese_stats(text):
    """Return the measures the Japanese rules use (letter shares, sentence lengths, duplicates).

    Example:
        >>> japanese_stats("テスト。テスト。")["duplicate_sentence_fraction"]
        0.5
    """
    hiragana = katakana = punctuation = 0
    for ch in text:
        o = ord(ch)
        if 0x3041 <= o <= 0x3096:
            hiragana += 1
        elif 0x30A1 <= o <= 0x30FA:
            katakana += 1
        elif ch in "、，。．！？":
            punctuation += 1
    kanji = len(_KANJI_RE.findall(text))
    japanese = hiragana + katakana + kanji + punctuation
    sentences = [s.strip() for s in _SENTENCE_RE.findall(text) if s.strip()]
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    dup_sentences, dup_sentence_chars = _duplicates(sentences)
    dup_paragraphs, dup_paragraph_chars = _duplicates(paragraphs)
    return {
        "japanese_letters": japanese,
        "hiragana_fraction": hiragana / japanese if japanese else 0.0,
        "katakana_fraction": katakana / japanese if japanese else 0.0,
        "sentences": len(sentences),
        "mean_sentence_chars": sum(map(len, sentences)) / len(sentences) if sentences else 0.0,
        "ellipsis_fraction": (
            sum(1 for s in sentences if s.endswith(("・", "…"))) / len(sentences) if sentences else 0.0
        ),
        "duplicate_sentence_fraction": dup_sentences,
        "duplicate_sentence_char_fraction": dup_sentence_chars,
        "duplicate_paragraph_fraction": dup_paragraphs,
        "duplicate_paragraph_char_fraction": dup_paragraph_chars,
    }


def japanese_reason(text, thresholds=None):
    """Return the reason the first failing Japanese rule gives for `text`, or None when it passes.

    Example:
        >>> japanese_reason("カタカナダケノブンショウデス。" * 3)
        'quality:ja_hiragana_fraction'
    """
    t = thresholds or JapaneseThresholds()
    s = japanese_stats(text)
    if t.min_hiragana_fraction is not None and s["hiragana_fraction"] < t.min_hiragana_fraction:
        return "quality:ja_hiragana_fraction"
    if t.max_katakana_fraction is not None and s["katakana_fraction"] > t.max_katakana_fraction:
        return "quality:ja_katakana_fraction"
    if t.max_mean_sentence_chars is not None and s["mean_sentence_chars"] > t.max_mean_sentence_chars:
        return "quality:ja_mean_sentence_length"
    if t.max_ellipsis_sentences is not None and s["ellipsis_fraction"] > t.max_ellipsis_sentences:
        return "quality:ja_ellipsis_sentences"
    checks = [
        ("max_duplicate_paragraphs", "duplicate_paragraph_fraction", "ja_duplicate_paragraphs"),
        ("max_duplicate_paragraph_chars", "duplicate_paragraph_char_fraction", "ja_duplicate_paragraph_chars"),
        ("max_duplicate_sentences", "duplicate_sentence_fraction", "ja_duplicate_sentences"),
        ("max_duplicate_sentence_chars", "duplicate_sentence_char_fraction", "ja_duplicate_sentence_chars"),
    ]
    for field, key, reason in checks:
        limit = getattr(t, field)
        if limit is not None and s[key] > limit:
            return f"quality:{reason}"
    # On the Japanese letters only: option names, paths and numbers in a manual are the word rules' business.
    top, dup = char_ngram_stats(
        _JAPANESE_ONLY_RE.sub("", text), tuple(t.top_ngram_limits or ()), tuple(t.duplicate_ngram_limits or ())
    )
    for n, limit in sorted((t.top_ngram_limits or {}).items()):
        if top[n] > limit:
            return f"quality:ja_top_{n}gram_chars"
    for n, limit in sorted((t.duplicate_ngram_limits or {}).items()):
        if dup[n] > limit:
            return f"quality:ja_duplicate_{n}gram_chars"
    return None

"""Filter stage: quality heuristics (Gopher / C4 style), language id and a harmful-word list.

Each rule is a line in `FilterConfig` and a reason in the report, so a reader
can see why each document went. A document is removed by the first rule it
fails (cheap rules run first). Rules that count words count characters in
Japanese/Chinese text, which has no spaces: there a "word" is taken to be
`chars_per_word_unspaced` characters, and word-length rules do not apply.

Japanese documents (kana in the text, however much English it mixes in; see
`zoo.data.language.is_japanese`) are judged on characters and 。-sentences
instead of Gopher's word rules: hiragana and katakana shares, mean sentence
length, duplicate sentences and paragraphs, and character n-gram repetition,
with the thresholds of the Swallow and llm-jp corpora (`zoo.data.japanese_quality`,
which cites them). Their language is decided by script, not by py3langid.

Long documents (book chapters, manual pages) are judged section by section:
a text longer than `section_chars` is cut at line boundaries into sections of
about that size, each section goes through the rules on its own (length rules
apart), failing sections are dropped and counted in the report
(`section_reasons`), and the document is removed only when no section passes.
Without this, a 30,000-character chapter reuses its terms often enough to trip
the repetition rules that were tuned on web pages of a few thousand characters.

Rules (reason names as they appear in the report):
    quality:too_short / too_long        words outside [min_words, max_words] (Gopher: 50..100,000)
    quality:mean_word_length            mean word length outside [3, 10] chars (Gopher; spaced text only)
    quality:mean_sentence_length        mean words per sentence outside the bounds
    quality:symbol_ratio                ('#' + '...' + '…') per word above 0.1 (Gopher)
    quality:digit_ratio                 digits / non-space chars above max_digit_ratio
    quality:bullet_lines                lines starting with a bullet above 90 % (Gopher)
    quality:ellipsis_lines              lines ending in '...' above 30 % (Gopher)
    quality:lorem_ipsum                 placeholder text (C4)
    quality:stop_words                  fewer than 2 English stop words / Japanese particles (Gopher)
    quality:duplicate_lines / duplicate_line_chars / duplicate_paragraphs
    quality:top_2gram..top_4gram        most frequent n-gram covers too much text (Gopher)
    quality:duplicate_5gram..10gram     text covered by repeated n-grams (Gopher)
    quality:ja_*                        the Japanese rules of zoo.data.japanese_quality (Japanese text only)
    language:<code> / language:low_confidence   not an allowed language (py3langid)
    harmful:word_list                   a term of the harmful-word list occurs

Example:
    >>> from zoo.data.document import Document
    >>> good = Document(id="1", text="The cat sat on the mat and looked at the birds. "
    ...                 "It wondered where they would go when the winter came to the garden.")
    >>> spam = Document(id="2", text="buy the cheap pills and save now " * 30)
    >>> result = filter_documents([good, spam], FilterConfig(min_words=10), progress=False)
    >>> [d.id for d in result.kept], [r for _, r in result.removed]
    (['1'], ['quality:top_2gram'])
"""

import collections
import dataclasses
import functools
import re
from importlib import resources
from pathlib import Path

import numpy as np

from zoo.data.japanese_quality import JapaneseThresholds, japanese_reason
from zoo.data.language import identify_language, is_japanese, is_unspaced_script
from zoo.typed_fields import check_field_types

_ENGLISH_STOP_WORDS = frozenset(["the", "be", "to", "of", "and", "that", "have", "with"])
# The particles almost every Japanese sentence uses; the counterpart of Gopher's stop words.
_JAPANESE_PARTICLES = ("の", "に", "は", "を", "が", "で", "て", "と")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n\s*\n")
_BULLET_RE = re.compile(r"^\s*(?:[-*•●・◦▪‣]|\d+[.)])\s")
_WORD_CHAR_RE = re.compile(r"\w", re.UNICODE)
_TOP_NGRAM_LIMITS = {2: 0.20, 3: 0.18, 4: 0.16}
_DUP_NGRAM_LIMITS = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


# FilterConfig fields that are shares of a document (0 to 1).
_SHARES = (
    "max_symbol_ratio",
    "max_digit_ratio",
    "max_bullet_lines",
    "max_ellipsis_lines",
    "max_duplicate_lines",
    "max_duplicate_line_chars",
    "max_duplicate_paragraphs",
)


@dataclasses.dataclass
class FilterConfig:
    """Thresholds of every filter rule; set one to None to turn that rule off.

    Example:
        >>> FilterConfig(languages=("ja",), min_words=10).languages
        ('ja',)
    """

    min_words: int | None = 50
    max_words: int | None = 100_000
    min_mean_word_length: float | None = 3.0
    max_mean_word_length: float | None = 10.0
    min_mean_sentence_words: float | None = 3.0
    max_mean_sentence_words: float | None = 250.0
    max_symbol_ratio: float | None = 0.1
    max_digit_ratio: float | None = 0.25
    max_bullet_lines: float | None = 0.9
    max_ellipsis_lines: float | None = 0.3
    reject_lorem_ipsum: bool = True
    min_stop_words: int | None = 2
    max_duplicate_lines: float | None = 0.3
    max_duplicate_line_chars: float | None = 0.2
    max_duplicate_paragraphs: float | None = 0.3
    top_ngram_limits: dict | None = dataclasses.field(default_factory=lambda: dict(_TOP_NGRAM_LIMITS))
    duplicate_ngram_limits: dict | None = dataclasses.field(default_factory=lambda: dict(_DUP_NGRAM_LIMITS))
    languages: tuple | None = ("en", "ja")  # None keeps every language
    min_language_score: float | None = 0.5
    harmful_words_path: str | None = None  # None: the list shipped as zoo/data/harmful_words.txt
    harmful_max_hits: int | None = 0
    chars_per_word_unspaced: float = 2.0  # a Japanese "word" is about two characters
    japanese: JapaneseThresholds | dict | None = dataclasses.field(default_factory=JapaneseThresholds)
    section_chars: int | None = 5000  # judge longer documents section by section; None: whole documents

    def __post_init__(self):
        # A --filter-config is JSON: "min_words": "50" or a list must fail here, naming the field.
        check_field_types(self, "FilterConfig")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"FilterConfig field {field.name!r} must be 0 or more, got {value!r}.")
        for name in _SHARES:
            if getattr(self, name) is not None and getattr(self, name) > 1:
                raise ValueError(
                    f"FilterConfig field {name!r} is a share of the document: 0 to 1, got {getattr(self, name)!r}."
                )
        if self.min_words is not None and self.max_words is not None and self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) is larger than max_words ({self.max_words})")
        if self.min_language_score is not None and not 0 <= self.min_language_score <= 1:
            raise ValueError(f"min_language_score must be in [0, 1], got {self.min_language_score}")
        if self.languages is not None:
            self.languages = tuple(self.languages)
        if isinstance(self.japanese, dict):
            self.japanese = JapaneseThresholds(**self.japanese)
        if self.section_chars is not None and self.section_chars < 200:
            raise ValueError(f"section_chars must be at least 200 (or None), got {self.section_chars}")
        # JSON round trips turn int keys into strings; accept both.
        for name in ("top_ngram_limits", "duplicate_ngram_limits"):
            limits = getattr(self, name)
            if limits is not None:
                setattr(self, name, {int(n): float(v) for n, v in limits.items()})


@dataclasses.dataclass
class FilterResult:
    """What the filter kept and what it removed, with one reason per removed document.

    Example:
        >>> FilterResult(kept=[], removed=[]).reason_counts()
        {}
    """

    kept: list
    removed: list  # (Document, reason)
    sections_removed: list = dataclasses.field(default_factory=list)  # (Document, reason, bytes) of dropped sections

    def reason_counts(self):
        """Return {reason: documents removed}, most frequent first.

        Example:
            >>> FilterResult([], [(None, "a"), (None, "b"), (None, "a")]).reason_counts()
            {'a': 2, 'b': 1}
        """
        return dict(collections.Counter(reason for _, reason in self.removed).most_common())


@functools.lru_cache(maxsize=8)
def load_harmful_words(path=None):
    """Return the harmful-word list (a tuple of lowercase terms) from `path`, or the shipped default.

    Example:
        >>> "porn" in load_harmful_words()
        True
    """
    if path is None:
        text = resources.files("zoo.data").joinpath("harmful_words.txt").read_text(encoding="utf-8")
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"harmful-word list {path} not found; pass a text file with one term per line")
        text = path.read_text(encoding="utf-8")
    terms = []
    for line in text.splitlines():
        term = line.split("#", 1)[0].strip().lower()
        if term:
            terms.append(term)
    return tuple(terms)


@functools.lru_cache(maxsize=8)
def _harmful_regex(terms):
    if not terms:
        return None
    ascii_terms = sorted((t for t in terms if t.isascii()), key=len, reverse=True)
    other_terms = sorted((t for t in terms if not t.isascii()), key=len, reverse=True)
    parts = []
    if ascii_terms:
        # Whole words only, so that "porn" does not hit "Pornic" and "escort" not "escorted".
        parts.append(r"(?<!\w)(?:" + "|".join(map(re.escape, ascii_terms)) + r")(?!\w)")
    if other_terms:
        parts.append("(?:" + "|".join(map(re.escape, other_terms)) + ")")
    return re.compile("|".join(parts), re.IGNORECASE)


def count_harmful(text, terms):
    """Return how many times any term of `terms` occurs in `text`.

    Example:
        >>> count_harmful("free porn and ポルノ here; pornic is a town", ("porn", "ポルノ"))
        2
    """
    regex = _harmful_regex(tuple(terms))
    return 0 if regex is None else sum(1 for _ in regex.finditer(text))


def _tokens(text, unspaced):
    # Unspaced scripts: characters are the tokens (spaces and punctuation dropped).
    if unspaced:
        return [ch for ch in text if _WORD_CHAR_RE.match(ch)]
    return text.split()


class _NGrams:
    """The n-gram statistics of one token list, computed with numpy.

    Tokens become integer ids, and each n-gram a 64-bit rolling hash of its ids
    (collisions are ~1e-19 per pair: no effect on a ratio), so counting n-grams
    for n = 2..10 costs a few array passes instead of millions of Python tuples.
    """

    def __init__(self, tokens):
        ids = {}
        self.ids = np.fromiter((ids.setdefault(t, len(ids)) for t in tokens), dtype=np.int64, count=len(tokens))
        self.lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        self.total = int(self.lengths.sum())

    def _hashes(self, n):
        count = len(self.ids) - n + 1
        h = np.zeros(count, dtype=np.int64)
        with np.errstate(over="ignore"):  # wrap-around is the hash, not an error
            for k in range(n):
                h = h * np.int64(1_000_003) + self.ids[k : k + count]
        return h

    def top_fraction(self, n):
        """Share of characters covered by the most frequent n-gram (Gopher's top n-gram ratio)."""
        if len(self.ids) < n or not self.total:
            return 0.0
        _, first, counts = np.unique(self._hashes(n), return_index=True, return_counts=True)
        best = int(np.argmax(counts))
        if counts[best] < 2:
            return 0.0  # no n-gram repeats: nothing to measure (short texts would fail on any gram)
        start = int(first[best])
        return int(counts[best]) * int(self.lengths[start : start + n].sum()) / self.total

    def duplicate_fraction(self, n):
        """Share of characters inside n-grams that occur more than once (Gopher's duplicate n-gram ratio)."""
        if len(self.ids) < n or not self.total:
            return 0.0
        _, inverse, counts = np.unique(self._hashes(n), return_inverse=True, return_counts=True)
        starts = counts[inverse] > 1
        if not starts.any():
            return 0.0
        # A token is covered when any of the n n-grams that contain it is duplicated.
        covered = np.convolve(starts.astype(np.int8), np.ones(n, dtype=np.int8))[: len(self.ids)] > 0
        return int(self.lengths[covered].sum()) / self.total


def _duplicate_fractions(items):
    items = [item for item in items if item.strip()]
    if not items:
        return 0.0, 0.0
    counts = collections.Counter(items)
    dup_items = sum(count - 1 for count in counts.values())
    dup_chars = sum(len(item) * (count - 1) for item, count in counts.items())
    return dup_items / len(items), dup_chars / max(1, sum(map(len, items)))


def _gopher_repetition_reason(text, tokens, unspaced, c):
    if c.max_duplicate_lines is not None or c.max_duplicate_line_chars is not None:
        dup_lines, dup_line_chars = _duplicate_fractions(text.split("\n"))
        if c.max_duplicate_lines is not None and dup_lines > c.max_duplicate_lines:
            return "quality:duplicate_lines"
        if c.max_duplicate_line_chars is not None and dup_line_chars > c.max_duplicate_line_chars:
            return "quality:duplicate_line_chars"
    if c.max_duplicate_paragraphs is not None:
        dup_paragraphs, _ = _duplicate_fractions(re.split(r"\n\s*\n", text))
        if dup_paragraphs > c.max_duplicate_paragraphs:
            return "quality:duplicate_paragraphs"
    # In unspaced text a token is one character, so n-grams are stretched to cover about as much text.
    scale = int(round(c.chars_per_word_unspaced)) if unspaced else 1
    ngrams = _NGrams(tokens)
    for n, limit in sorted((c.top_ngram_limits or {}).items()):
        if ngrams.top_fraction(n * scale) > limit:
            return f"quality:top_{n}gram"
    for n, limit in sorted((c.duplicate_ngram_limits or {}).items()):
        if ngrams.duplicate_fraction(n * scale) > limit:
            return f"quality:duplicate_{n}gram"
    return None


def split_sections(text, section_chars):
    """Cut `text` at line boundaries into sections of about `section_chars` characters (a short tail joins the last).

    Example:
        >>> [len(s) for s in split_sections("a" * 300 + "\\n" + "b" * 300 + "\\n" + "c" * 50, 400)]
        [300, 351]
    """
    sections, current, size = [], [], 0
    for line in text.split("\n"):
        if current and size + len(line) > section_chars:
            sections.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    tail = "\n".join(current)
    if sections and len(tail) < section_chars // 4:
        sections[-1] += "\n" + tail
    elif tail.strip() or not sections:
        sections.append(tail)
    return sections


def judge_document(text, config, harmful_terms=()):
    """Return (reason or None, kept text, [(section reason, section bytes)] of dropped sections).

    Short documents are judged whole; longer ones section by section (see the module docstring).

    Example:
        >>> judge_document("short", FilterConfig())
        ('quality:too_short', '', [])
    """
    c = config
    if c.section_chars is None or len(text) <= c.section_chars:
        reason = document_reason(text, c, harmful_terms)
        return reason, ("" if reason else text), []
    # Length and harmful-word rules judge the whole document; the other rules each section.
    whole = dataclasses.replace(
        c,
        languages=None,
        min_language_score=None,
        min_stop_words=None,
        top_ngram_limits=None,
        duplicate_ngram_limits=None,
        max_duplicate_lines=None,
        max_duplicate_line_chars=None,
        max_duplicate_paragraphs=None,
        japanese=None,
        min_mean_sentence_words=None,
        max_mean_sentence_words=None,
        max_bullet_lines=None,
        max_ellipsis_lines=None,
        max_symbol_ratio=None,
        max_digit_ratio=None,
        reject_lorem_ipsum=False,
        min_mean_word_length=None,
        max_mean_word_length=None,
    )
    reason = document_reason(text, whole, harmful_terms)
    if reason is not None:
        return reason, "", []
    kept, dropped = [], []
    for section in split_sections(text, c.section_chars):
        section_reason = document_reason(section, c, harmful_terms, check_length=False)
        if section_reason is None:
            kept.append(section)
        else:
            dropped.append((section_reason, len(section.encode("utf-8"))))
    if not kept:
        return collections.Counter(r for r, _ in dropped).most_common(1)[0][0], "", dropped
    return None, "\n".join(kept), dropped


def document_reason(text, config, harmful_terms=(), check_length=True):
    """Return the reason the first failing rule gives for `text`, or None when it passes.

    `check_length=False` skips the document-length rules (used for the sections of a long document).

    Example:
        >>> document_reason("short", FilterConfig())
        'quality:too_short'
    """
    c = config
    japanese = c.japanese is not None and is_japanese(text)
    unspaced = japanese or is_unspaced_script(text)
    tokens = _tokens(text, unspaced)
    if unspaced:
        n_words = sum(map(len, tokens)) / c.chars_per_word_unspaced
    else:
        n_words = len(tokens)

    # --- cheap length and character-class rules ---
    if check_length and c.min_words is not None and n_words < c.min_words:
        return "quality:too_short"
    if check_length and c.max_words is not None and n_words > c.max_words:
        return "quality:too_long"
    if not unspaced and tokens:
        mean_len = sum(map(len, tokens)) / len(tokens)
        if c.min_mean_word_length is not None and mean_len < c.min_mean_word_length:
            return "quality:mean_word_length"
        if c.max_mean_word_length is not None and mean_len > c.max_mean_word_length:
            return "quality:mean_word_length"
    if not japanese and (c.min_mean_sentence_words is not None or c.max_mean_sentence_words is not None):
        sentences = [s for s in _SENTENCE_END_RE.split(text) if s.strip()]
        mean_sentence = n_words / max(1, len(sentences))
        if c.min_mean_sentence_words is not None and mean_sentence < c.min_mean_sentence_words:
            return "quality:mean_sentence_length"
        if c.max_mean_sentence_words is not None and mean_sentence > c.max_mean_sentence_words:
            return "quality:mean_sentence_length"
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and c.max_bullet_lines is not None:
        if sum(1 for line in lines if _BULLET_RE.match(line)) / len(lines) > c.max_bullet_lines:
            return "quality:bullet_lines"
    if lines and c.max_ellipsis_lines is not None:
        ellipsis = sum(1 for line in lines if line.rstrip().endswith(("...", "…")))
        if ellipsis / len(lines) > c.max_ellipsis_lines:
            return "quality:ellipsis_lines"
    if c.max_symbol_ratio is not None:
        symbols = text.count("#") + text.count("...") + text.count("…")
        if symbols / max(1.0, n_words) > c.max_symbol_ratio:
            return "quality:symbol_ratio"
    if c.max_digit_ratio is not None:
        non_space = len(text) - sum(map(str.isspace, text))
        digits = sum(map(str.isdigit, text))
        if non_space and digits / non_space > c.max_digit_ratio:
            return "quality:digit_ratio"
    if c.reject_lorem_ipsum and "lorem ipsum" in text.lower():
        return "quality:lorem_ipsum"

    # --- language: needed before the stop-word rule, which is language specific ---
    lang, score = ("ja", 1.0) if japanese else identify_language(text)
    if c.languages is not None and lang not in c.languages:
        return f"language:{lang}"
    if c.min_language_score is not None and score < c.min_language_score:
        return "language:low_confidence"
    if c.min_stop_words is not None:
        if lang == "ja":
            found = sum(1 for particle in _JAPANESE_PARTICLES if particle in text)
        elif lang == "en":
            found = len(_ENGLISH_STOP_WORDS.intersection(word.lower() for word in tokens))
        else:
            found = c.min_stop_words  # no stop-word list for this language: the rule does not apply
        if found < c.min_stop_words:
            return "quality:stop_words"

    # --- repetition: the Japanese rules on characters and sentences, else Gopher's on words ---
    if japanese:
        reason = japanese_reason(text, c.japanese)
        if reason is not None:
            return reason
    else:
        reason = _gopher_repetition_reason(text, tokens, unspaced, c)
        if reason is not None:
            return reason

    # --- harmful content ---
    if c.harmful_max_hits is not None and harmful_terms:
        if count_harmful(text, harmful_terms) > c.harmful_max_hits:
            return "harmful:word_list"
    return None


def filter_documents(documents, config=None, progress=True, workers=1):
    """Run every rule over `documents`; return a FilterResult (kept documents and (document, reason) pairs).

    `workers` > 1 spreads the documents over that many processes (same result, in order).

    Example:
        >>> from zoo.data.document import Document
        >>> text = ("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
        ...         "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。")
        >>> len(filter_documents([Document(id="ja", text=text)], FilterConfig(min_words=20), progress=False).kept)
        1
    """
    from zoo.data.parallel import parallel_map

    config = config or FilterConfig()
    terms = load_harmful_words(config.harmful_words_path) if config.harmful_max_hits is not None else ()
    rule = functools.partial(judge_document, config=config, harmful_terms=terms)
    results = parallel_map(rule, [doc.text for doc in documents], workers=workers, desc="filter", progress=progress)
    kept, removed, sections = [], [], []
    for doc, (reason, text, dropped) in zip(documents, results):
        sections.extend((doc, section_reason, size) for section_reason, size in dropped)
        if reason is None:
            kept.append(doc if text == doc.text else dataclasses.replace(doc, text=text))
        else:
            removed.append((doc, reason))
    return FilterResult(kept=kept, removed=removed, sections_removed=sections)

"""Morphological pre-tokenization of Japanese for WordPiece (BERT-style) vocabularies.

WordPiece learns pieces of space-separated words. Japanese has no spaces, so
without help BERT-style tokenizers put every kanji and kana on its own
(`split_on_cjk`). A morphological analyser cuts a sentence into words first
(東京 / 都 / に / 住ん / で / いる), as the Japanese BERT models do (MeCab +
WordPiece); WordPiece then learns its pieces from those words.

Analysers: "fugashi" (MeCab with the unidic-lite dictionary; both on PyPI,
`pip install 'zoo[ja]'`). SentencePiece needs none of this.

Example:
    >>> segment("吾輩は猫である。", "fugashi")  # doctest: +SKIP
    '吾輩 は 猫 で ある 。'
"""

import functools

PRETOKENIZERS = ("fugashi",)


class MissingAnalyzerError(ImportError):
    """The morphological analyser a tokenizer needs is not installed (the message says what to install)."""


@functools.lru_cache(maxsize=2)
def _tagger(name):
    if name not in PRETOKENIZERS:
        raise ValueError(f"unknown pre-tokenizer {name!r}; choose one of {', '.join(PRETOKENIZERS)}")
    try:
        import fugashi
        import unidic_lite  # noqa: F401  (the dictionary fugashi loads by default)
    except ImportError:
        raise MissingAnalyzerError(
            "the fugashi pre-tokenizer needs fugashi and unidic-lite; install them with "
            "pip install 'zoo[ja]' (or pip install fugashi unidic-lite)"
        ) from None
    return fugashi.Tagger()


def available(name="fugashi"):
    """Return True when the analyser `name` can be loaded.

    Example:
        >>> available("fugashi") in (True, False)
        True
    """
    try:
        _tagger(name)
    except MissingAnalyzerError:
        return False
    return True


def segment(text, name="fugashi"):
    """Return `text` with a space between every word the analyser finds; line breaks are kept.

    Example:
        >>> segment("猫が好き。\\nABC", "fugashi") if available() else '猫 が 好き 。\\nABC'
        '猫 が 好き 。\\nABC'
    """
    tagger = _tagger(name)
    return "\n".join(" ".join(word.surface for word in tagger(line)) for line in text.split("\n"))

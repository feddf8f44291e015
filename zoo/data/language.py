"""Language identification with py3langid, which ships its model (nothing is downloaded).

It also answers the question several filter rules need: does this text put
spaces between words? Japanese, Chinese and Thai do not, so rules that count
"words" must count characters there instead.

Example:
    >>> identify_language("これは日本語の文章です。")[0]
    'ja'
    >>> is_unspaced_script("これは日本語の文章です。"), is_unspaced_script("This is English.")
    (True, False)
"""

import functools
import re

# Hiragana, katakana, CJK ideographs (incl. extension A and compatibility), Thai, Lao, Khmer, Myanmar.
_UNSPACED_RE = re.compile(
    "[\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]"
)
_LETTER_RE = re.compile(r"[^\W\d_]", re.UNICODE)
_KANA_RE = re.compile("[\u3041-\u3096\u30a1-\u30fa\u30fc]")


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # norm_probs=True turns scores into probabilities in [0, 1], which a threshold can use.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify_language(text, max_chars=2000):
    """Return (ISO 639-1 code, probability) for `text`, looking at its first `max_chars` characters.

    Example:
        >>> lang, p = identify_language("The quick brown fox jumps over the lazy dog.")
        >>> lang, p > 0.5
        ('en', True)
    """
    lang, prob = _identifier().classify(text[:max_chars])
    return lang, float(prob)


def unspaced_ratio(text, max_chars=10_000):
    """Return the share of letters (in the first `max_chars`) from scripts written without spaces.

    Example:
        >>> round(unspaced_ratio("日本 ab"), 2)
        0.5
    """
    text = text[:max_chars]  # a sample is enough for a ratio, and keeps long documents cheap
    letters = len(_LETTER_RE.findall(text))
    if not letters:
        return 0.0
    return len(_UNSPACED_RE.findall(text)) / letters


def is_unspaced_script(text, threshold=0.3):
    """Return True when enough of `text` is Japanese/Chinese/Thai-like that word rules should count characters.

    Example:
        >>> is_unspaced_script("Python の使い方")
        True
    """
    return unspaced_ratio(text) >= threshold


def is_japanese(text, min_kana_share=0.1, max_chars=10_000):
    """Return True when kana make up at least `min_kana_share` of the letters: Japanese, even mixed with English.

    py3langid reads the letters it sees, so a Japanese sentence full of Latin
    product names and options can come out as English; kana (which Chinese
    does not use) are a script-level sign that holds however much English a
    Japanese sentence carries. Japanese prose is about 40 % kana.

    Example:
        >>> is_japanese("Python の pip install コマンドで NumPy と SciPy を入れます。")
        True
        >>> is_japanese("The pip install command."), is_japanese("这是中文的句子。")
        (False, False)
    """
    text = text[:max_chars]
    letters = len(_LETTER_RE.findall(text))
    return bool(letters) and len(_KANA_RE.findall(text)) / letters >= min_kana_share


def document_language(text):
    """Return the language the filter judges `text` as: 'ja' by script (see is_japanese), else py3langid's code.

    Example:
        >>> document_language("Keras の Dense レイヤーを使う。"), document_language("A plain English sentence.")
        ('ja', 'en')
    """
    return "ja" if is_japanese(text) else identify_language(text)[0]

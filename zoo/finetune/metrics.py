"""Scores of the fine-tuning tasks: SQuAD exact match and F1, accuracy and macro-F1.

SQuAD (Rajpurkar et al. 2016, the official v1.1 evaluation script) normalizes an
answer before comparing: lower case, drop punctuation, drop the articles a/an/the,
collapse whitespace. Exact match is 1 when the normalized prediction equals a
normalized gold answer; F1 is the harmonic mean of precision and recall over the
*words* the two share. Both take the best score over the gold answers.

Japanese has no spaces between words, so a word-level F1 would be all or nothing.
Here Japanese answers are compared per *character* after the same normalization
(NFKC, punctuation and whitespace removed; there are no articles to drop): the
usual choice for JSQuAD-style evaluation. `language="auto"` uses characters when
the gold answer contains Japanese (kana or kanji).

Example:
    >>> squad_f1("the cat sat", "a cat")
    0.6666666666666666
    >>> squad_f1("東京都", "東京")
    0.8
    >>> macro_f1([0, 0, 1, 1], [0, 1, 1, 1], num_classes=2)
    0.7333333333333334
"""

import collections
import re
import string
import unicodedata

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def is_japanese(text):
    """True when `text` holds kana or kanji.

    Example:
        >>> is_japanese("猫"), is_japanese("cat")
        (True, False)
    """
    return bool(_JAPANESE.search(text))


def _is_punctuation(char):
    # ASCII punctuation as in the SQuAD script, plus every Unicode punctuation class (。、「」…).
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def normalize_answer(text, language="en"):
    """SQuAD's normalization (English) or its character-level form (Japanese).

    Example:
        >>> normalize_answer("The  Eiffel-Tower!")
        'eiffeltower'
        >>> normalize_answer("「東京」。", language="ja")
        '東京'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not _is_punctuation(ch))
    if language == "ja":
        return "".join(text.split())
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _units(text, language):
    normalized = normalize_answer(text, language)
    return list(normalized) if language == "ja" else normalized.split()


def _language(language, gold):
    if language not in ("auto", "en", "ja"):
        raise ValueError(f"language must be 'en', 'ja' or 'auto', got {language!r}.")
    if language == "auto":
        return "ja" if is_japanese(gold) else "en"
    return language


def squad_exact_match(prediction, gold, language="auto"):
    """1.0 when the normalized prediction equals the normalized gold answer, else 0.0.

    Example:
        >>> squad_exact_match("Paris.", "paris")
        1.0
    """
    language = _language(language, gold)
    return float(normalize_answer(prediction, language) == normalize_answer(gold, language))


def squad_f1(prediction, gold, language="auto"):
    """Overlap F1 of words (English) or characters (Japanese) after normalization.

    Example:
        >>> squad_f1("in Paris", "Paris")
        0.6666666666666666
    """
    language = _language(language, gold)
    pred, ref = _units(prediction, language), _units(gold, language)
    if not pred or not ref:
        # The official script: two empty answers agree, one empty answer scores 0.
        return float(pred == ref)
    common = collections.Counter(pred) & collections.Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions, gold_answers, language="auto"):
    """Mean exact match and F1 over questions; each question takes its best gold answer.

    Args:
        predictions: one predicted answer string per question.
        gold_answers: one list of acceptable answer strings per question.

    Example:
        >>> squad_scores(["Osaka", "1990"], [["Osaka"], ["in 1991"]])
        {'exact_match': 0.5, 'f1': 0.5, 'count': 2}
    """
    if len(predictions) != len(gold_answers):
        raise ValueError(f"{len(predictions)} predictions for {len(gold_answers)} questions.")
    if not predictions:
        raise ValueError("No questions to score.")
    em = f1 = 0.0
    for prediction, golds in zip(predictions, gold_answers):
        if not golds:
            raise ValueError("Every question needs at least one gold answer to be scored.")
        em += max(squad_exact_match(prediction, g, language) for g in golds)
        f1 += max(squad_f1(prediction, g, language) for g in golds)
    return {"exact_match": em / len(predictions), "f1": f1 / len(predictions), "count": len(predictions)}


def accuracy(labels, predictions):
    """Share of predictions equal to the labels.

    Example:
        >>> accuracy([0, 1, 2], [0, 1, 1])
        0.6666666666666666
    """
    labels, predictions = list(labels), list(predictions)
    if len(labels) != len(predictions) or not labels:
        raise ValueError(
            f"accuracy needs as many predictions as labels (>0), got {len(predictions)} and {len(labels)}."
        )
    return sum(int(a) == int(b) for a, b in zip(labels, predictions)) / len(labels)


def per_class_f1(labels, predictions, num_classes):
    """F1 of each class c in range(num_classes) (0.0 for a class never predicted nor present).

    Example:
        >>> per_class_f1([0, 0, 1], [0, 1, 1], 2)
        [0.6666666666666666, 0.6666666666666666]
    """
    scores = []
    for c in range(num_classes):
        tp = sum(int(y) == c and int(p) == c for y, p in zip(labels, predictions))
        fp = sum(int(y) != c and int(p) == c for y, p in zip(labels, predictions))
        fn = sum(int(y) == c and int(p) != c for y, p in zip(labels, predictions))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return scores


def macro_f1(labels, predictions, num_classes):
    """Unweighted mean of the per-class F1 over all `num_classes` classes.

    A majority-class guess scores well on accuracy when classes are unbalanced,
    but only 1/num_classes of the classes get any F1: macro-F1 shows that.

    Example:
        >>> macro_f1([0, 0, 0, 1], [0, 0, 0, 0], num_classes=2)
        0.42857142857142855
    """
    labels, predictions = list(labels), list(predictions)
    if len(labels) != len(predictions) or not labels:
        raise ValueError(
            f"macro_f1 needs as many predictions as labels (>0), got {len(predictions)} and {len(labels)}."
        )
    scores = per_class_f1(labels, predictions, num_classes)
    return sum(scores) / len(scores)


def classification_scores(labels, predictions, num_classes):
    """{"accuracy", "macro_f1", "count"} of class-id predictions.

    Example:
        >>> classification_scores([0, 1], [0, 0], 2)["accuracy"]
        0.5
    """
    return {
        "accuracy": accuracy(labels, predictions),
        "macro_f1": macro_f1(labels, predictions, num_classes),
        "count": len(list(labels)),
    }

"""SQuAD exact match / F1 (word-level English, character-level Japanese), accuracy and macro-F1 by hand."""

import pytest

from zoo.finetune.metrics import (
    accuracy,
    classification_scores,
    macro_f1,
    normalize_answer,
    per_class_f1,
    squad_exact_match,
    squad_f1,
    squad_scores,
)


def test_squad_normalization_drops_case_punctuation_and_articles():
    assert normalize_answer("The Eiffel Tower.") == "eiffel tower"
    assert normalize_answer("  an   apple, a day ") == "apple day"
    # Full-width and Japanese punctuation go too; NFKC folds full-width digits.
    assert normalize_answer("「１９９０年」。", language="ja") == "1990年"


def test_exact_match_and_word_f1_by_hand():
    assert squad_exact_match("the Eiffel Tower!", "Eiffel Tower") == 1.0
    assert squad_exact_match("Eiffel", "Eiffel Tower") == 0.0
    # prediction {in, paris, france} vs gold {paris}: P = 1/3, R = 1, F1 = 2 * (1/3) / (4/3) = 0.5
    assert squad_f1("in Paris, France", "Paris") == pytest.approx(0.5)
    # shared {playing, chess}: P = 2/2, R = 2/3 -> F1 = 0.8
    assert squad_f1("playing chess", "playing chess online") == pytest.approx(0.8)
    assert squad_f1("Osaka", "Kyoto") == 0.0


def test_japanese_f1_counts_characters():
    # 東京都 vs 東京: shared 2 characters, P = 2/3, R = 1 -> F1 = 0.8
    assert squad_f1("東京都", "東京") == pytest.approx(0.8)
    # Word-level F1 would give 0 for these (no spaces): characters give partial credit.
    assert squad_f1("ソフトウェア技術者", "技術者") == pytest.approx(2 * (3 / 9) / (3 / 9 + 1))
    assert squad_exact_match("札幌。", "札幌") == 1.0


def test_squad_scores_take_the_best_gold_answer_and_average():
    scores = squad_scores(["Osaka", "the cat", "1990年"], [["Kyoto", "Osaka"], ["a dog"], ["1990年"]])
    assert scores["exact_match"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="2 predictions for 1 questions"):
        squad_scores(["a", "b"], [["a"]])


def test_accuracy_and_macro_f1_by_hand():
    labels, predicted = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]
    assert accuracy(labels, predicted) == pytest.approx(4 / 6)
    # class 0: tp 1 fp 1 fn 1 -> 0.5; class 1: tp 2 fp 1 fn 0 -> 0.8; class 2: tp 1 fp 0 fn 1 -> 2/3
    assert per_class_f1(labels, predicted, 3) == pytest.approx([0.5, 0.8, 2 / 3])
    assert macro_f1(labels, predicted, 3) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # A majority guess: accuracy 0.75 but macro-F1 only (6/7 + 0) / 2.
    assert classification_scores([0, 0, 0, 1], [0, 0, 0, 0], 2) == {
        "accuracy": 0.75,
        "macro_f1": pytest.approx(3 / 7),
        "count": 4,
    }
    with pytest.raises(ValueError, match="as many predictions as labels"):
        accuracy([0, 1], [0])

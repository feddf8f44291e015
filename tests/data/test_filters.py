"""Filter stage: each quality rule, Japanese-aware counting, language id and the harmful-word list."""

import pytest

from tests.data.japanese_sample import JAPANESE_DOCUMENTS
from zoo.data.builtin_corpus import load_builtin_corpus
from zoo.data.document import Document
from zoo.data.filters import FilterConfig, count_harmful, document_reason, filter_documents, load_harmful_words

ENGLISH = (
    "The committee met on Tuesday to discuss the budget for the coming year. Members agreed that the "
    "library needs new books and that the roof of the town hall has to be repaired before winter. "
    "Several residents spoke about traffic near the school, and the mayor promised to study the problem "
    "with the police. The next meeting will take place in March, when the final plan is presented."
)
JAPANESE = "".join(JAPANESE_DOCUMENTS[:3])


def _reason(text, **overrides):
    return document_reason(text, FilterConfig(**overrides), load_harmful_words())


def test_good_english_and_japanese_pass():
    assert _reason(ENGLISH) is None
    assert _reason(JAPANESE) is None  # no spaces, yet not "one giant word"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("Too short to keep.", "quality:too_short"),
        ("短すぎる文章。", "quality:too_short"),
        (" ".join(["a"] * 80), "quality:mean_word_length"),
        (" ".join(["incomprehensibilities"] * 80), "quality:mean_word_length"),
        ("#python rocks " * 30, "quality:symbol_ratio"),
        (" ".join(["1234 5678 and 9012 the 3456 of"] * 20), "quality:digit_ratio"),
        ("\n".join(f"- item number {i} with the text of a list." for i in range(30)), "quality:bullet_lines"),
        ("\n".join(f"and then the story went on {i}..." for i in range(30)), "quality:ellipsis_lines"),
        ("Lorem ipsum dolor sit amet. " + ENGLISH, "quality:lorem_ipsum"),
    ],
)
def test_each_quality_rule_fires(text, reason):
    assert _reason(text) == reason


def test_repetition_rules():
    line = "Click here to subscribe to the newsletter of the shop."
    assert _reason("\n".join([line] * 10 + [ENGLISH])) == "quality:duplicate_lines"
    assert _reason(ENGLISH + " " + " ".join(["the best deal of the year"] * 12)).startswith("quality:top_")
    repeated_sentence = "the quick brown fox jumps over the lazy dog near the river bank today"
    assert _reason(ENGLISH + " " + (repeated_sentence + " ") * 3, top_ngram_limits=None) == "quality:duplicate_5gram"


def test_japanese_repetition_counts_characters():
    spam = "今だけ半額セール開催中です。" * 20
    assert _reason(spam).startswith("quality:")
    assert _reason(JAPANESE) is None


def test_stop_words_rule_is_language_aware():
    no_stop = (
        "Cats sleep all afternoon. Dogs bark loudly outside. Birds sing beautiful songs. Children play "
        "football after school. Parents cook dinner quickly. Students read interesting books. Teachers "
        "grade many papers. Farmers grow fresh vegetables. Doctors help sick people. Drivers wait patiently."
    )
    assert _reason(no_stop, min_words=20) == "quality:stop_words"
    katakana_only = "リンゴ バナナ チェリー オレンジ グレープ メロン レモン スイカ イチゴ パイン " * 4
    assert (
        _reason(
            katakana_only,
            top_ngram_limits=None,
            duplicate_ngram_limits=None,
            languages=None,
            min_language_score=None,
            min_words=10,
        )
        == "quality:stop_words"
    )


def test_language_filter():
    german = (
        "Der Ausschuss traf sich am Dienstag, um den Haushalt für das kommende Jahr zu besprechen. Die "
        "Mitglieder waren sich einig, dass die Bibliothek neue Bücher braucht und das Dach des Rathauses "
        "vor dem Winter repariert werden muss. Mehrere Anwohner sprachen über den Verkehr an der Schule, "
        "und der Bürgermeister versprach, das Problem mit der Polizei zu untersuchen. Die nächste Sitzung "
        "findet im März statt, wenn der endgültige Plan vorgestellt wird."
    )
    assert _reason(german) == "language:de"
    assert _reason(german, languages=("en", "ja", "de")) is None
    assert _reason(german, languages=None) is None


def test_harmful_words_default_and_replaceable(tmp_path):
    assert _reason(ENGLISH + " Watch free porn videos here.") == "harmful:word_list"
    assert _reason(JAPANESE + "無修正動画はこちら。") == "harmful:word_list"
    assert _reason(ENGLISH + " The Pornic harbour.") is None  # whole words only for ASCII terms
    custom = tmp_path / "words.txt"
    custom.write_text("# my list\nbudget\n", encoding="utf-8")
    config = FilterConfig(harmful_words_path=str(custom))
    result = filter_documents([Document(id="1", text=ENGLISH)], config, progress=False)
    assert result.reason_counts() == {"harmful:word_list": 1}
    assert count_harmful("x", ()) == 0
    with pytest.raises(FileNotFoundError, match="one term per line"):
        load_harmful_words(str(tmp_path / "missing.txt"))


def test_rules_can_be_turned_off_and_bad_config_is_rejected():
    assert (
        _reason(
            "Too short to keep.",
            min_words=None,
            min_stop_words=None,
            languages=None,
            min_language_score=None,
            min_mean_sentence_words=None,
            top_ngram_limits=None,
        )
        is None
    )
    with pytest.raises(ValueError, match="min_words"):
        FilterConfig(min_words=10, max_words=5)


def test_builtin_corpus_report_counts_every_removal():
    docs = [Document(id=str(i), text=t) for i, t in enumerate(load_builtin_corpus())]
    result = filter_documents(docs, progress=False)
    assert len(result.kept) + len(result.removed) == len(docs)
    assert len(result.kept) > len(docs) // 2  # reference prose mostly passes
    assert sum(result.reason_counts().values()) == len(result.removed)


def test_workers_give_the_same_result_in_order():
    docs = [Document(id=str(i), text=t) for i, t in enumerate(load_builtin_corpus()[:12] + JAPANESE_DOCUMENTS)]
    one = filter_documents(docs, progress=False)
    two = filter_documents(docs, progress=False, workers=2)
    assert [d.id for d in two.kept] == [d.id for d in one.kept]
    assert [(d.id, r) for d, r in two.removed] == [(d.id, r) for d, r in one.removed]
    with pytest.raises(ValueError, match="workers"):
        filter_documents(docs, workers=0)

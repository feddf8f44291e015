"""Readers: standard layouts load; a bad record names the file and its line (or SQuAD index and id)."""

import json

import pytest

from zoo.finetune.datasets import FILES, dataset_path
from zoo.finetune.formats import NLI_LABELS, SENTIMENT_LABELS, read_classification, read_squad

PAIR = ("premise", "hypothesis")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_tsv_jsonl_and_json_list_load(tmp_path):
    csv_file = write(tmp_path, "s.csv", 'text,label\n"Good, really good.",positive\n\nBad.,0\n')
    rows = read_classification(csv_file, ("text",), SENTIMENT_LABELS)
    assert [(r["texts"], r["label"], r["line"]) for r in rows] == [(("Good, really good.",), 1, 2), (("Bad.",), 0, 4)]
    # GLUE MNLI-style TSV: extra columns, gold_label, unescaped quotes.
    tsv = write(tmp_path, "m.tsv", 'index\tsentence1\tsentence2\tgold_label\n0\tHe said "hi".\tHe spoke.\tentailment\n')
    assert read_classification(tsv, PAIR, NLI_LABELS)[0]["texts"] == ('He said "hi".', "He spoke.")
    jsonl = write(
        tmp_path,
        "j.jsonl",
        json.dumps(
            {"sentence1": "猫が寝ている。", "sentence2": "猫が走っている。", "label": "contradiction"},
            ensure_ascii=False,
        )
        + "\n",
    )
    assert read_classification(jsonl, PAIR, NLI_LABELS)[0]["label"] == 2
    as_list = write(tmp_path, "l.json", json.dumps([{"premise": "a", "hypothesis": "b", "label": 1}]))
    assert read_classification(as_list, PAIR, NLI_LABELS)[0]["label"] == 1


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("s.csv", "text,label\nFine.,positive\nNo label here,\n", r"s\.csv line 3: missing field 'label'"),
        (
            "s.csv",
            "text,label\nFine.,positive\nMeh.,so-so\n",
            r"s\.csv line 3: bad label 'so-so'; expected one of negative",
        ),
        ("s.csv", "text,label\nFine.,positive,extra\n", r"s\.csv line 2: 3 fields, but the header has 2"),
        ("s.jsonl", '{"text": "ok", "label": "positive"}\n{"text": "ok"\n', r"s\.jsonl line 2: not valid JSON"),
        (
            "s.jsonl",
            '{"text": "ok", "label": "positive"}\n\n{"label": "negative"}\n',
            r"s\.jsonl line 3: missing field 'text' or 'sentence'",
        ),
        ("s.tsv", "sentence\tlabel\nok\t7\n", r"s\.tsv line 2: bad label '7'"),
    ],
)
def test_bad_classification_records_name_file_and_line(tmp_path, name, text, message):
    with pytest.raises(ValueError, match=message):
        read_classification(write(tmp_path, name, text), ("text",), SENTIMENT_LABELS)


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv not found"):
        read_classification(tmp_path / "nope.csv", ("text",), SENTIMENT_LABELS)
    with pytest.raises(ValueError, match="unknown file type '.xml'"):
        read_classification(write(tmp_path, "a.xml", "<a/>"), ("text",), SENTIMENT_LABELS)


def squad(context, qas):
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}


def test_squad_reads_answers_and_repairs_small_offset_errors(tmp_path):
    data = squad(
        "Mika lives in Osaka.",
        [
            {"id": "a", "question": "Where?", "answers": [{"text": "Osaka", "answer_start": 14}]},
            {"id": "b", "question": "Who?", "answers": [{"text": "Mika", "answer_start": 1}]},  # off by one
        ],
    )
    questions = read_squad(write(tmp_path, "q.json", json.dumps(data)))
    assert [(q["id"], q["answers"][0]["answer_start"]) for q in questions] == [("a", 14), ("b", 0)]


@pytest.mark.parametrize(
    "qa, message",
    [
        (
            {"id": "x1", "answers": [{"text": "Osaka", "answer_start": 14}]},
            r"data\[0\]\.paragraphs\[0\]\.qas\[0\] \(id 'x1'\): missing 'question'",
        ),
        (
            {"id": "x2", "question": "Where?", "answers": [{"text": "Tokyo", "answer_start": 14}]},
            r"qas\[0\] \(id 'x2'\): answer text 'Tokyo' does not occur in the context",
        ),
        (
            {"id": "x3", "question": "Where?", "answers": [{"text": "Osaka"}]},
            r"qas\[0\] \(id 'x3'\): answer is missing 'answer_start'",
        ),
        ({"id": "x4", "question": "Where?"}, r"qas\[0\] \(id 'x4'\): missing 'answers'"),
    ],
)
def test_bad_squad_records_name_the_question(tmp_path, qa, message):
    with pytest.raises(ValueError, match=message):
        read_squad(write(tmp_path, "bad.json", json.dumps(squad("Mika lives in Osaka.", [qa]))))


def test_squad_layout_errors(tmp_path):
    with pytest.raises(ValueError, match="expected an object with a 'data' list"):
        read_squad(write(tmp_path, "a.json", "[]"))
    with pytest.raises(ValueError, match=r"data\[0\]\.paragraphs\[0\]: missing 'context'"):
        read_squad(write(tmp_path, "b.json", json.dumps({"data": [{"paragraphs": [{"qas": []}]}]})))


def test_shipped_sets_load_and_are_balanced():
    for task, language in FILES:
        for split in ("train", "dev"):
            path = dataset_path(task, language, split)
            if task == "qa":
                questions = read_squad(path)
                assert len(questions) >= 100
                for q in questions:  # every offset points at its answer
                    answer = q["answers"][0]
                    assert q["context"][answer["answer_start"] :].startswith(answer["text"])
                continue
            fields, labels = (("text",), SENTIMENT_LABELS) if task == "sentiment" else (PAIR, NLI_LABELS)
            rows = read_classification(path, fields, labels)
            counts = [sum(r["label"] == c for r in rows) for c in range(len(labels))]
            assert len(rows) >= 100 and max(counts) - min(counts) <= 1, (path, counts)
    # The dev files are held out: no dev example repeats a training one.
    for task, fields, labels in (("sentiment", ("text",), SENTIMENT_LABELS), ("nli", PAIR, NLI_LABELS)):
        for language in ("en", "ja"):
            train = {r["texts"] for r in read_classification(dataset_path(task, language, "train"), fields, labels)}
            dev = {r["texts"] for r in read_classification(dataset_path(task, language, "dev"), fields, labels)}
            assert not train & dev

import json

import pytest

from zoo.dialogue.formats import read_instructions, read_preferences
from zoo.dialogue.synthetic import (
    INSTRUCTIONS_FILE,
    PREFERENCES_FILE,
    SOURCE,
    answer,
    make_records,
)
from zoo.errors import UsageError


def write_lines(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return str(path)


def test_alpaca_and_chat_records_become_the_same_conversation(tmp_path):
    path = write_lines(
        tmp_path / "data.jsonl",
        [
            {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
            "",
            {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Add the numbers.\n\n2 and 3"},
                    {"role": "assistant", "content": "5"},
                ]
            },
        ],
    )
    alpaca, chat = read_instructions(path)
    assert alpaca == chat[1:]
    assert chat[0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ({"instruction": "x"}, 'needs "messages"'),
        ({"messages": [{"role": "user", "content": "hi"}]}, "no assistant message"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "role 'robot'"),
    ],
)
def test_a_bad_record_names_its_file_and_line(tmp_path, line, message):
    path = write_lines(tmp_path / "bad.jsonl", [{"instruction": "a", "output": "b"}, line])
    with pytest.raises(UsageError, match=message) as err:
        read_instructions(path)
    assert str(err.value).startswith(f"{path}:2:")


def test_preference_records(tmp_path):
    path = write_lines(
        tmp_path / "pairs.jsonl",
        [
            {"prompt": "Say yes.", "chosen": "yes", "rejected": "no"},
            {"prompt": "Say no.", "chosen": "no", "rejected": "no"},
        ],
    )
    with pytest.raises(UsageError, match=f"{path}:2: .*the same text"):
        read_preferences(path)


def test_shipped_sets_are_labelled_synthetic_and_their_answers_are_right():
    conversations = read_instructions(INSTRUCTIONS_FILE)
    pairs = read_preferences(PREFERENCES_FILE)
    assert len(conversations) == len(pairs) == 300
    for path in (INSTRUCTIONS_FILE, PREFERENCES_FILE):
        with open(path) as f:
            assert all(json.loads(line)["source"] == SOURCE for line in f)
    with open(PREFERENCES_FILE) as f:
        records = [json.loads(line) for line in f]
    for record in records:
        sentence = record["prompt"].split("\n\n", 1)[1]
        assert record["chosen"] == answer(record["task"], sentence) != record["rejected"]
    # The shipped files are what the generator writes (from this Python's built-in corpus).
    instructions, preferences = make_records(300, seed=0)
    assert [r.get("output") or r["messages"][-1]["content"] for r in instructions][:20] == [
        c[-1]["content"] for c in conversations
    ][:20]
    assert preferences[0]["chosen"] == pairs[0]["chosen"]


def test_answers_are_computed_not_written():
    sentence = "The target is only evaluated once."
    assert [answer(t, sentence) for t in ("first", "last", "count")] == ["The", "once", "6"]
    assert answer("upper", sentence) == "THE TARGET IS ONLY EVALUATED ONCE."

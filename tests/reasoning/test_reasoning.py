import random
import re

import numpy as np
import pytest

from zoo.reasoning.arithmetic import (
    Problem,
    final_answer,
    make_problems,
    scratchpad_target,
    tool_target,
)
from zoo.reasoning.calculator import run_call
from zoo.reasoning.char_tokenizer import CharTokenizer
from zoo.reasoning.self_consistency import majority_vote
from zoo.reasoning.solving import decode_chains, encode_example


def check_scratchpad(problem, text):
    """An independent check of a scratchpad: each step's digits, carry and sum, and the answer they spell."""
    steps, answer = text.split(";>")
    a = str(problem.a)[::-1]
    b = str(problem.b)[::-1] if problem.op == "+" else None
    carry, digits = 0, []
    for i, step in enumerate(steps.split(";")):
        x, op, y, c, total = re.fullmatch(r"(\d)([+*])(\d)\+(\d)=(\d+)", step).groups()
        assert op == problem.op
        assert int(x) == (int(a[i]) if i < len(a) else 0) and int(c) == carry
        assert int(y) == (int(b[i]) if b is not None and i < len(b) else 0 if b is not None else problem.b)
        assert int(total) == (int(x) + int(y) + int(c) if problem.op == "+" else int(x) * int(y) + int(c))
        carry = int(total) // 10
        digits.append(int(total) % 10)
    spelled = int("".join(map(str, ([carry] if carry else []) + digits[::-1])))
    assert int(answer) == spelled == problem.answer


def test_scratchpad_targets_are_correct_arithmetic():
    for problem in make_problems(300, 1, 6, seed=3) + [Problem(999, 1, "+"), Problem(0, 0, "+"), Problem(99, 9, "*")]:
        text = scratchpad_target(problem)
        check_scratchpad(problem, text)
        assert final_answer(text) == problem.answer


def test_out_of_distribution_problems_are_longer():
    assert max(len(str(max(p.a, p.b))) for p in make_problems(200, 1, 3)) == 3
    assert min(len(str(max(p.a, p.b))) for p in make_problems(200, 4, 5)) == 4


def test_the_calculator_computes_exactly():
    rng = random.Random(0)
    for _ in range(200):
        a, b = rng.randint(0, 10**12), rng.randint(0, 10**6)
        assert run_call(f"{a}+{b}=[{a}+{b}") == str(a + b)
        assert run_call(f"[{a}*{b}") == str(a * b)
    assert run_call("[12+") is None and run_call("12+3") is None and run_call("[1+2]3") is None


def test_majority_vote_matches_a_hand_count():
    assert majority_vote([7, 3, 3, 7, 3]) == 3
    assert majority_vote([None, 5, None, None]) == 5
    assert majority_vote([4, 9, 9, 4]) == 4  # a tie goes to the answer reached first
    assert majority_vote([]) is None


def test_tool_examples_do_not_learn_the_inserted_result():
    tok = CharTokenizer()
    problem = Problem(58, 67, "+")
    ids, weights = encode_example(tok, problem, "tool")
    call, result = tool_target(problem)
    assert tok.decode(ids) == "58+67=" + call + result
    assert tok.decode(ids[weights == 1]) == call  # then the end token, which decode drops
    assert ids[-1] == tok.end_token_id and weights[-1] == 1
    assert weights[: len(problem.prompt)].sum() == 0


def test_generation_pauses_for_the_tool_and_resumes(monkeypatch):
    tok = CharTokenizer()
    scripts = iter([["[12+345]"], [""]])  # first call writes a call, second call ends at once
    seen = []

    def fake_generate(model, rows, max_new_tokens, stop_token_ids, **kwargs):
        seen.append(tok.decode(rows[0]))
        text = next(scripts)[0]
        ids = tok.encode(text)
        return [ids[:-1] if text.endswith("]") else ids]  # the stop token is not returned

    from zoo.llm.models import generation

    monkeypatch.setattr(generation, "generate", fake_generate)

    class Config:
        max_length = 64

    class Model:
        llm_config = Config()

    texts, counts = decode_chains(Model(), tok, ["12+345="], use_tool=True)
    assert texts == ["[12+345]357"] and final_answer(texts[0]) == 357
    assert seen == ["12+345=", "12+345=[12+345]357"]  # resumed after the inserted result
    assert counts == [8 + 1]  # 8 written tokens (the "]" stop included) + the end token


def test_a_short_training_run_beats_an_untrained_model():
    from zoo.reasoning.experiment import ExperimentOptions, train_format

    options = ExperimentOptions(train_problems=400, steps=40, batch_size=32, num_layers=1, hidden_dim=32, verbose=0)
    _, history, before, after = train_format("scratchpad", options)
    assert after < 0.7 * before
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.recipe
def test_reason_recipe_reports_the_table(tmp_path):
    from zoo.cli import load_recipe
    from zoo.reasoning.solving import METHODS

    results = load_recipe("reason").recipe.run(
        [
            "--steps",
            "20",
            "--eval-problems",
            "4",
            "--train-problems",
            "200",
            "--methods",
            "tool",
            "--runs-dir",
            str(tmp_path),
            "--verbose",
            "0",
            "--no-tensorboard",
        ]
    )
    row = results["table"]["tool"]
    assert set(results["table"]) == {"tool"} and set(results["options"]["methods"]) <= set(METHODS)
    for side in ("in_distribution", "out_of_distribution"):
        assert 0 <= row[f"{side}_exact_match"] <= 1 and row[f"{side}_tokens_per_answer"] > 0

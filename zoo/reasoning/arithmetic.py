"""Generated arithmetic problems with exact answers, and three ways to write their solutions.

A problem is `a+b` or `a*b` (b one digit, so the pencil-and-paper method is one
row). Its prompt is `"58+67="`; the three training targets are

- direct:      `125`
- scratchpad:  `8+7+0=15;5+6+1=12;>125` one step per digit from the right: the two
               digits, the carry in, their sum; the answer follows `>`
- tool:        `[58+67]125` the model writes a calculator call; the runtime (not the
               model) writes the result after `]`, and the model then ends the answer

Every target ends with the end-of-sequence token (added by the tokenizer step).
In distribution the operands have 1..`train_digits` digits; out of distribution
they have more, so the chains are longer than any seen in training.

Example:
    >>> Problem(123, 4, "*").answer, scratchpad_target(Problem(123, 4, "*"))
    (492, '3*4+0=12;2*4+1=9;1*4+0=4;>492')
"""

import dataclasses
import random

FORMATS = ("direct", "scratchpad", "tool")
OPERATORS = ("+", "*")


@dataclasses.dataclass(frozen=True)
class Problem:
    """`a op b` with non-negative integers; op is "+" or "*"."""

    a: int
    b: int
    op: str

    @property
    def answer(self):
        return self.a + self.b if self.op == "+" else self.a * self.b

    @property
    def prompt(self):
        return f"{self.a}{self.op}{self.b}="


def _number(rng, digits):
    return rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1)


def make_problems(count, min_digits=1, max_digits=3, seed=0, operators=OPERATORS):
    """`count` problems whose longer operand has min..max digits (multiplication: b has one digit)."""
    rng = random.Random(seed)
    problems = []
    for i in range(count):
        op = operators[i % len(operators)]
        digits = rng.randint(min_digits, max_digits)
        if op == "+":
            a, b = _number(rng, digits), _number(rng, rng.randint(1, digits))
            problems.append(Problem(*(rng.sample([a, b], 2)), "+"))
        else:
            problems.append(Problem(_number(rng, digits), rng.randint(2, 9), "*"))
    return problems


def direct_target(problem):
    return str(problem.answer)


def scratchpad_target(problem):
    """The digit-by-digit steps with carries, then `>` and the answer."""
    a = str(problem.a)[::-1]
    steps, carry = [], 0
    if problem.op == "+":
        b = str(problem.b)[::-1]
        for i in range(max(len(a), len(b))):
            x, y = int(a[i]) if i < len(a) else 0, int(b[i]) if i < len(b) else 0
            total = x + y + carry
            steps.append(f"{x}+{y}+{carry}={total}")
            carry = total // 10
    else:
        for digit in a:
            total = int(digit) * problem.b + carry
            steps.append(f"{digit}*{problem.b}+{carry}={total}")
            carry = total // 10
    return ";".join(steps) + f";>{problem.answer}"


def tool_target(problem):
    """(what the model writes, what the calculator inserts): `[a op b]` then the result."""
    return f"[{problem.a}{problem.op}{problem.b}]", str(problem.answer)


def target_segments(problem, kind):
    """[(text, learned)] of a target: the calculator's inserted result is not learned (weight 0)."""
    if kind == "direct":
        return [(direct_target(problem), True)]
    if kind == "scratchpad":
        return [(scratchpad_target(problem), True)]
    if kind == "tool":
        call, result = tool_target(problem)
        return [(call, True), (result, False)]
    raise ValueError(f"unknown format {kind!r}; choose one of {', '.join(FORMATS)}")


def final_answer(text):
    """The answer a generated solution gives: after the last `>` (scratchpad), after the last `]` (tool), else all.

    Returns None when there is no number there.
    """
    for marker in (">", "]"):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
            break
    text = text.strip()
    return int(text) if text.isdigit() else None

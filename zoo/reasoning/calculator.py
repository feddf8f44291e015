"""The calculator tool: the model writes a call, generation pauses, the runtime inserts the result.

Call syntax: `[a+b]` or `[a*b]` (non-negative integers). When the model emits `]`
decoding stops; `run_call` reads the expression after the last `[`, computes it
exactly with Python integers (no eval), and the result's characters are appended
to the sequence; then decoding resumes from there. A call the calculator cannot
read inserts nothing, so the model must answer on its own.

Example:
    >>> run_call("58*7=[58*7")
    '406'
    >>> run_call("[12+x") is None
    True
"""

import re

CALL = re.compile(r"\[(\d{1,18})([+*])(\d{1,18})$")


def compute(a, op, b):
    """a op b for op in "+", "*"."""
    return a + b if op == "+" else a * b


def run_call(text):
    """The result (text) of the call that `text` ends with (the part after its last `[`), or None."""
    match = CALL.search(text)
    if match is None:
        return None
    a, op, b = match.groups()
    return str(compute(int(a), op, int(b)))

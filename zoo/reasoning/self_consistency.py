"""Self-consistency (Wang et al. 2022): sample several reasoning chains, answer with the most common result.

One greedy chain can go wrong at a single step; chains sampled at a temperature
go wrong in different places, while the right answer tends to recur. The vote
ignores chains without an answer; a tie goes to the answer reached first.

Example:
    >>> majority_vote([125, 115, 125, None, 115])
    125
    >>> majority_vote([None, None]) is None
    True
"""

from collections import Counter


def majority_vote(answers):
    """The most common non-None answer (ties: the earliest of the tied); None if there is none."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == best)

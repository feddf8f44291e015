"""The unigram baseline: how well a model that ignores context can predict the next token.

A model that always predicts the training-set token frequencies has a mean
cross-entropy equal to their entropy H = -sum p log p (nats/token) on the same
distribution. A language model earns its keep by getting below that: every
nat under H is information it draws from the context.

Example:
    >>> round(unigram_entropy([1, 1, 2, 2]), 4)   # two equally common tokens: log 2
    0.6931
"""

import math
from collections import Counter


def token_counts(token_ids):
    """Counter of token ids from an iterable of ids or of id sequences."""
    counts = Counter()
    for item in token_ids:
        if hasattr(item, "__iter__"):
            counts.update(int(t) for t in item)
        else:
            counts[int(item)] += 1
    return counts


def unigram_entropy(token_ids):
    """Entropy in nats/token of the token distribution of `token_ids`."""
    counts = token_counts(token_ids)
    total = sum(counts.values())
    if not total:
        raise ValueError("No tokens to compute a unigram baseline from.")
    return -sum(c / total * math.log(c / total) for c in counts.values())


def unigram_cross_entropy(train_ids, eval_ids, vocab_size):
    """Cross-entropy (nats/token) on `eval_ids` of add-one smoothed unigram frequencies of `train_ids`.

    Example:
        >>> round(unigram_cross_entropy([1, 2], [1, 2], vocab_size=2), 4)
        0.6931
    """
    counts = token_counts(train_ids)
    total = sum(counts.values()) + vocab_size
    evaluated = token_counts(eval_ids)
    n = sum(evaluated.values())
    if not n:
        raise ValueError("No evaluation tokens.")
    return -sum(c * math.log((counts.get(t, 0) + 1) / total) for t, c in evaluated.items()) / n

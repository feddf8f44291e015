"""The errors retrieval raises for bad input: each says what was wrong and what to do.

Example:
    >>> check_k(5, 3)
    Traceback (most recent call last):
    ...
    ValueError: k=5 is larger than the store (3 entries); ask for at most 3 neighbours
"""

import numbers


class EmptyStoreError(ValueError):
    """A store or datastore with nothing in it: no passages, no texts, no tokens."""


class FingerprintMismatchError(ValueError):
    """An index used with a tokenizer or model other than the one it was built with."""


def check_k(k, size, what="store"):
    """Raise a clear ValueError unless 1 <= k <= size; return k.

    Example:
        >>> check_k(2, 10)
        2
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if size == 0:
        raise EmptyStoreError(f"the {what} is empty: build it from a corpus with at least one passage")
    if k > size:
        raise ValueError(f"k={k} is larger than the {what} ({size} entries); ask for at most {size} neighbours")
    return k

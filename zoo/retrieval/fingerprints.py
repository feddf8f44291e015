"""Fingerprints of a tokenizer and a model: short hashes that say "this exact one".

An index is only valid with the tokenizer that cut its passages (BM25 terms are
token ids) and the model that embedded them (vectors from another model live in
another space). The store's manifest records both fingerprints; loading it with
anything else raises `FingerprintMismatchError` instead of returning nonsense.

Example:
    >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
    >>> from zoo.data.special_tokens import SPECIAL_TOKENS
    >>> a = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat"])
    >>> b = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["dog"])
    >>> tokenizer_fingerprint(a) == tokenizer_fingerprint(b)
    False
"""

import json

from zoo.data.tokenizer_fingerprint import digest as _digest
from zoo.data.tokenizer_fingerprint import tokenizer_fingerprint  # noqa: F401  (the store and kNN-LM use it here)
from zoo.retrieval.errors import FingerprintMismatchError


def model_fingerprint(model):
    """Hash of a Keras model's weights (values, shapes, order) and its class name.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model_fingerprint(model) == model_fingerprint(model)
        True
    """
    import numpy as np

    def chunks():
        yield type(model).__name__.encode()
        for weight in model.get_weights():
            array = np.ascontiguousarray(weight)
            yield json.dumps([list(array.shape), str(array.dtype)]).encode()
            yield array.tobytes()

    return _digest(chunks())


def check_fingerprint(what, expected, actual, hint):
    """Raise FingerprintMismatchError when `actual` differs from the recorded `expected`.

    Example:
        >>> check_fingerprint("tokenizer", "abc", "abc", "")
        >>> check_fingerprint("tokenizer", "abc", "def", "rebuild the index")
        Traceback (most recent call last):
        ...
        zoo.retrieval.errors.FingerprintMismatchError: this index was built with another tokenizer (index abc, given def); rebuild the index
    """
    if expected is not None and actual != expected:
        raise FingerprintMismatchError(
            f"this index was built with another {what} (index {expected}, given {actual}); {hint}"
        )

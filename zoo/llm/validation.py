"""Input checks that turn silent wrong answers into clear errors.

An embedding lookup with an id >= vocab_size returns zeros on a GPU (and a
cryptic kernel error on a CPU); a sequence longer than the position table fails
deep inside a slice. These checks run wherever the values are concrete: on
numpy inputs to fit/predict/generate and on eager calls of the model.

Example:
    >>> import numpy as np
    >>> check_token_ids(np.array([[1, 2, 3]]), vocab_size=4, max_length=8)
"""

import numpy as np


def concrete_values(x):
    """A numpy array of `x` if its values are known now, else None (symbolic/traced)."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        try:
            return np.asarray(x)
        except ValueError:
            return None
    import keras

    if keras.backend.is_keras_tensor(x):
        return None
    try:
        # Works for eager tensors; raises for tensors traced inside a compiled function.
        return np.asarray(keras.ops.convert_to_numpy(x))
    except Exception:
        return None


def check_length(length, max_length, what="input"):
    if length is not None and int(length) > max_length:
        raise ValueError(
            f"The {what} has {int(length)} tokens but the model's max_length is {max_length}. "
            "Truncate or split the sequence, or build the model with a larger max_length."
        )


def check_token_ids(token_ids, vocab_size, max_length=None, name="token_ids"):
    """Raise ValueError if concrete ids fall outside [0, vocab_size) or exceed max_length."""
    values = concrete_values(token_ids)
    if values is None or values.size == 0:
        return
    if max_length is not None and values.ndim >= 1:
        check_length(values.shape[-1], max_length, what=f"{name!r} sequence")
    if not np.issubdtype(values.dtype, np.integer):
        if not np.all(np.equal(np.mod(values, 1), 0)):
            raise ValueError(f"{name} must hold integer token ids, got dtype {values.dtype}.")
    low, high = values.min(), values.max()
    if low < 0 or high >= vocab_size:
        bad = high if high >= vocab_size else low
        raise ValueError(
            f"{name} contains id {int(bad)}, outside the vocabulary [0, {vocab_size}). "
            "Check that the tokenizer and the model agree on vocab_size."
        )

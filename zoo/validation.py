"""Argument checks shared by the factories, so bad input fails early with a clear message.

Example:
    >>> check_num_classes(1)
    Traceback (most recent call last):
    ...
    ValueError: num_classes must be an integer >= 2 (a classifier needs at least two classes), got 1.
"""


def check_num_classes(num_classes):
    """Raise ValueError unless `num_classes` is an integer >= 2."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"num_classes must be an integer >= 2 (a classifier needs at least two classes), got {num_classes!r}."
        )
    return num_classes


def check_input_shape(input_shape, rank, what, min_size=None):
    """Return `input_shape` as a tuple of positive ints of length `rank`, or raise ValueError."""
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a tuple of {rank} positive integers, got {input_shape!r}.") from None
    if len(shape) != rank or any(d <= 0 for d in shape):
        raise ValueError(f"{what} must be a tuple of {rank} positive integers, got {input_shape!r}.")
    if min_size is not None and min(shape[:-1]) < min_size:
        raise ValueError(f"{what} must be at least {min_size}x{min_size} pixels, got {input_shape!r}.")
    return shape


def check_choice(value, choices, what):
    """Raise ValueError naming the allowed choices unless `value` is one of them."""
    if value not in choices:
        raise ValueError(f"Unknown {what} {value!r}; choose one of: {', '.join(map(str, choices))}.")
    return value


def check_keras_archive(path):
    """Raise UsageError if `path` exists but is not a complete .keras (zip) archive, e.g. a truncated copy.

    Keras itself reports such a file as "File not found", which sends a person looking in the wrong place.

    Example:
        >>> import tempfile, pathlib
        >>> broken = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
        >>> _ = broken.write_bytes(b"PK\\x03\\x04 half a file")
        >>> check_keras_archive(broken)
        Traceback (most recent call last):
        ...
        zoo.errors.UsageError: Could not load ...: damaged or truncated, not a complete .keras (zip) archive; ...
    """
    import os
    import zipfile

    from zoo.errors import UsageError

    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise UsageError(
            f"Could not load {path}: damaged or truncated, not a complete .keras (zip) archive; "
            "give a model.keras written by model.save() or a zoo recipe (copy it again if it was cut short)."
        )
    return path

"""Typed command-line values shared by the recipes: argparse `type=` functions with one-line errors.

A bad value fails while the options are parsed, before any data is read or a
run folder is made, with argparse's usage line and exit status 2.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--steps", type=positive_int)
    >>> parser.parse_args(["--steps", "3"]).steps
    3
    >>> fraction("0.25")
    0.25
"""

import argparse


def positive_int(text):
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def non_negative_int(text):
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def positive_float(text):
    """A number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {value}")
    return value


def fraction(text):
    """A number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1 (exclusive), got {value}")
    return value


def memory_size(text):
    """A memory budget such as 2GiB or 800MB, kept as the text the user gave (checked here)."""
    from zoo.train.memory_check import parse_memory

    try:
        parse_memory(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


# Longest sequence a recipe option accepts: a positions table and attention matrix past this
# exhaust memory long before training starts (a 10M --seq-len built a 640M-parameter model).
MAX_SEQ_LEN = 32768


def int_between(low, high):
    """An argparse type: an integer in [low, high].

    Example:
        >>> int_between(2, 10_000)("3")
        3
    """

    def parse(text):
        # "a positive integer up to N" for the common low of 1, which reads better than "from 1 to N".
        what = f"a positive integer up to {high}" if low == 1 else f"an integer from {low} to {high}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    parse.__name__ = f"integer in [{low}, {high}]"
    return parse


def sequence_length(text):
    """A sequence length: an integer from 1 to MAX_SEQ_LEN.

    Example:
        >>> sequence_length("128")
        128
    """
    return int_between(1, MAX_SEQ_LEN)(text)


def class_count(text):
    """A number of classes: an integer from 2 to 100,000 (a classifier needs two at least).

    Example:
        >>> class_count("3")
        3
    """
    return int_between(2, 100_000)(text)


def fraction_or_zero(text):
    """A number in [0, 1): a share that may be none at all (a validation split, a sparsity).

    Example:
        >>> fraction_or_zero("0")
        0.0
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {value}")
    return value

"""Type checks for config dataclasses, so a JSON config with `"use_bias": "no"` fails instead of meaning True.

A config read from JSON (a `--preset cfg.json`, a `--filter-config`, a saved run) holds
whatever the file said: the string "false" is truthy, `null` breaks arithmetic deep inside
a model. `check_field_types` compares every field of a dataclass with its annotation
(int, float, bool, str, dict, tuple/list and `X | None`) and raises one ValueError naming the
field, what it must be and what it got. Numbers must also be finite; ints are never bools.

Example:
    >>> import dataclasses
    >>> @dataclasses.dataclass
    ... class Options:
    ...     use_bias: bool = True
    ...     dropout: float | None = 0.0
    >>> check_field_types(Options(use_bias="no"), "Options")
    Traceback (most recent call last):
    ...
    ValueError: Options field 'use_bias' must be true or false, got 'no' (str).
    >>> check_field_types(Options(dropout=None), "Options")
"""

import dataclasses
import math
import numbers
import types
import typing

_WHAT = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    dict: "an object (a dict)",
    tuple: "a list",
    list: "a list",
}


def _matches(value, kind):
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if kind in (tuple, list):
        return isinstance(value, (tuple, list))
    if isinstance(kind, type):
        return isinstance(value, kind)
    return True  # an annotation this check does not know: left to the class's own checks


def _options(annotation):
    """The accepted kinds of an annotation, and whether None is one of them."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(annotation)
        return [a for a in args if a is not type(None)], type(None) in args
    return [origin or annotation], False


def check_field_types(instance, owner):
    """Raise ValueError naming the first field of dataclass `instance` whose value has the wrong type.

    `owner` names the config in the message ("LLMConfig", "--filter-config").
    """
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        kinds, optional = _options(field.type)
        if value is None and optional:
            continue
        if any(_matches(value, kind) for kind in kinds):
            continue
        what = " or ".join(_WHAT.get(kind, getattr(kind, "__name__", str(kind))) for kind in kinds)
        if optional:
            what += " or null"
        if isinstance(value, float) and not math.isfinite(value):
            what = "a finite number"
        raise ValueError(f"{owner} field {field.name!r} must be {what}, got {value!r} ({type(value).__name__}).")

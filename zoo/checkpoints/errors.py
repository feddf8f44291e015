"""CheckpointError: the one-line error every checkpoint problem raises.

A checkpoint folder can be wrong in many ways (an architecture zoo does not
know, tensors missing or of the wrong shape, a tokenizer that does not fit the
embedding); each is reported as one line that names the problem and what to do,
and nothing is written before all checks pass.

Example:
    >>> str(CheckpointError("ckpt/: no config.json"))
    'ckpt/: no config.json'
"""


class CheckpointError(ValueError):
    """A checkpoint folder zoo cannot read or write, with the reason in one line."""


def name_first(names, limit=5):
    """The first few names of a list, and how many more: 'a, b, c (and 7 more)'.

    Example:
        >>> name_first(["a", "b", "c"], limit=2)
        'a, b (and 1 more)'
    """
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")

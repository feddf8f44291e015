"""The error a user can fix: a bad option, a missing file, a corpus too small.

Library code raises `UsageError` (a ValueError) with one line that says what was
wrong and what to do; the recipe runner (`zoo.recipe`) prints that line and exits
with status 2, never a traceback.

Example:
    >>> raise UsageError("--steps must be at least 1, got 0.")
    Traceback (most recent call last):
    ...
    zoo.errors.UsageError: --steps must be at least 1, got 0.
"""


class UsageError(ValueError):
    """A mistake in the user's options or files, explained in one line."""

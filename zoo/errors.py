"""The errors a user can act on: a mistake in the options or files, or a fault of the machine.

Library code raises `UsageError` (a ValueError) with one line that says what was
wrong and what to do; the recipe runner (`zoo.recipe`) prints that line and exits
with status 2, never a traceback. `EnvironmentFault` (an OSError) is a fault of
the machine rather than of the options: a full disk, a read-only or forbidden
folder. It names the path, and the command line exits with status 1.

Example:
    >>> raise UsageError("--steps must be at least 1, got 0.")
    Traceback (most recent call last):
    ...
    zoo.errors.UsageError: --steps must be at least 1, got 0.
"""


class UsageError(ValueError):
    """A mistake in the user's options or files, explained in one line."""


class EnvironmentFault(OSError):
    """A disk-full, read-only or permission fault while writing a file, explained in one line (exit status 1).

    Example:
        >>> str(EnvironmentFault("cannot write runs/a/model.keras: no space left on device"))
        'cannot write runs/a/model.keras: no space left on device'
    """

    def __str__(self):
        # OSError's own str() of a single argument is the argument; keep that even if errno is set later.
        return str(self.args[0]) if self.args else "environment fault"


class TrainingDiverged(UsageError):
    """The loss became NaN or infinite: training stopped at that step, nothing was saved as a result (exit 2).

    Example:
        >>> str(TrainingDiverged("the loss became nan at step 7; lower --learning-rate"))
        'the loss became nan at step 7; lower --learning-rate'
    """

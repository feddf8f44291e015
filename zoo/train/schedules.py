"""Learning-rate schedules: linear warmup to a peak, then cosine, linear or constant decay to a floor.

Warmup keeps AdamW's first updates small while its second-moment estimates are
still noise; the decay lets the last steps settle into a minimum. Steps are
`fit()` steps (optimizer calls), so with gradient accumulation the schedule
still spans the whole run.

Example:
    >>> schedule = WarmupDecay(1e-3, total_steps=100, warmup_steps=10, min_learning_rate=1e-4)
    >>> [round(float(schedule(s)), 6) for s in (0, 9, 100)]
    [0.00019, 0.001, 0.0001]
"""

import math

import keras
from keras import ops

DECAYS = ("cosine", "linear", "constant")


@keras.saving.register_keras_serializable(package="zoo")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup over `warmup_steps`, then `decay` from the peak to `min_learning_rate` at `total_steps`.

    Example:
        >>> round(float(WarmupDecay(2e-3, 10, warmup_steps=0, decay="linear")(5)), 6)
        0.001
    """

    def __init__(self, peak_learning_rate, total_steps, warmup_steps=0, decay="cosine", min_learning_rate=0.0):
        check_schedule(peak_learning_rate, total_steps, warmup_steps, decay, min_learning_rate)
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.decay = decay
        self.min_learning_rate = float(min_learning_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak, floor = self.peak_learning_rate, self.min_learning_rate
        # (step + 1) / warmup: the very first update already moves, and the peak is reached at warmup - 1.
        warm = floor + (peak - floor) * ops.minimum(1.0, (step + 1.0) / max(1, self.warmup_steps))
        span = max(1, self.total_steps - self.warmup_steps)
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        if self.decay == "cosine":
            decayed = floor + 0.5 * (peak - floor) * (1.0 + ops.cos(math.pi * progress))
        elif self.decay == "linear":
            decayed = peak + (floor - peak) * progress
        else:
            decayed = ops.convert_to_tensor(peak, "float32") + 0.0 * progress
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
            "min_learning_rate": self.min_learning_rate,
        }


def check_schedule(peak_learning_rate, total_steps, warmup_steps=0, decay="cosine", min_learning_rate=0.0):
    """Raise a ValueError that names the bad schedule setting."""
    if decay not in DECAYS:
        raise ValueError(f"Unknown decay {decay!r}. Choose one of: {', '.join(DECAYS)}.")
    if not peak_learning_rate > 0:
        raise ValueError(f"The peak learning rate must be > 0, got {peak_learning_rate!r}.")
    if not 0 <= min_learning_rate <= peak_learning_rate:
        raise ValueError(
            f"The minimum learning rate must be in [0, peak={peak_learning_rate}], got {min_learning_rate!r}."
        )
    if int(total_steps) < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps!r}.")
    if not 0 <= int(warmup_steps) <= int(total_steps):
        raise ValueError(f"warmup_steps must be in [0, total_steps={total_steps}], got {warmup_steps!r}.")

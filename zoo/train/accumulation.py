"""Gradient accumulation: k micro-batches of size b make one optimizer update of a k*b batch.

Keras 3 optimizers do it themselves (`gradient_accumulation_steps=k`): every
`fit()` step adds its gradients to an accumulator, and every k-th step applies
their mean, then clips and decays. A mean of k equal-sized micro-batch
gradients is the gradient of their union, so the update equals one big-batch
update, while memory holds only one micro-batch of activations.

Example:
    >>> optimizer_accumulation_steps(4)
    4
    >>> optimizer_accumulation_steps(1) is None   # 1 means no accumulation
    True
"""


def check_accum_steps(accum_steps):
    """Return `accum_steps` as an int >= 1, or raise a ValueError that says why.

    Example:
        >>> check_accum_steps(0)
        Traceback (most recent call last):
        ...
        ValueError: --accum-steps must be an integer >= 1 (1 = no accumulation), got 0.
    """
    if isinstance(accum_steps, bool) or not isinstance(accum_steps, int) or accum_steps < 1:
        raise ValueError(f"--accum-steps must be an integer >= 1 (1 = no accumulation), got {accum_steps!r}.")
    return accum_steps


def optimizer_accumulation_steps(accum_steps):
    """The `gradient_accumulation_steps` value for a Keras optimizer (None turns it off)."""
    accum_steps = check_accum_steps(accum_steps)
    return None if accum_steps == 1 else accum_steps


def check_global_batch(batch_size, num_replicas=1):
    """Check that the global batch splits evenly over the replicas of a distribution strategy.

    Example:
        >>> check_global_batch(12, 8)
        Traceback (most recent call last):
        ...
        ValueError: The global batch size 12 is not divisible by the 8 replicas; use a multiple of 8, e.g. 16.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"--batch-size must be a positive integer, got {batch_size!r}.")
    if batch_size % num_replicas:
        nearest = max(num_replicas, round(batch_size / num_replicas) * num_replicas)
        raise ValueError(
            f"The global batch size {batch_size} is not divisible by the {num_replicas} replicas; "
            f"use a multiple of {num_replicas}, e.g. {nearest}."
        )
    return batch_size // num_replicas

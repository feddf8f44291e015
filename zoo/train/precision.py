"""Mixed precision: compute in 16 bits, keep float32 master weights, outputs and loss.

- `float32`: the reference.
- `mixed_bfloat16`: bfloat16 has float32's exponent range, so no loss scaling is
  needed (TPUs, recent GPUs and CPUs with AMX/AVX512-BF16).
- `mixed_float16`: float16 gradients underflow to zero below ~6e-8, so the loss
  is multiplied by a dynamic scale before backprop and the gradients divided
  after (`keras.optimizers.LossScaleOptimizer`); steps with inf/nan gradients are
  skipped and the scale halved.

Variables stay float32 under both mixed policies, and Keras losses convert the
logits to float32 before the softmax, so the loss itself is always float32.

Example:
    >>> with precision_scope("mixed_bfloat16"):
    ...     import keras
    ...     keras.config.dtype_policy().name
    'mixed_bfloat16'
"""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check_precision(precision):
    """Return `precision` if known, else raise a ValueError listing the choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}. Choose one of: {', '.join(PRECISIONS)}.")
    return precision


@contextlib.contextmanager
def precision_scope(precision):
    """Set the global Keras dtype policy for the models built inside, and restore it after.

    Example:
        >>> with precision_scope("float32"):
        ...     pass
    """
    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield keras.config.dtype_policy()
    finally:
        keras.config.set_dtype_policy(previous)


def wrap_optimizer(optimizer, precision):
    """Wrap the optimizer in a dynamic LossScaleOptimizer for mixed_float16; leave it otherwise.

    Example:
        >>> import keras
        >>> type(wrap_optimizer(keras.optimizers.SGD(), "mixed_float16")).__name__
        'LossScaleOptimizer'
    """
    check_precision(precision)
    if precision != "mixed_float16" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def loss_dtype_note(precision):
    """One line for logs: what computes in which dtype under this policy."""
    check_precision(precision)
    if precision == "float32":
        return "float32 everywhere"
    compute = precision.split("_", 1)[1]
    scaling = ", dynamic loss scaling" if precision == "mixed_float16" else ""
    return f"{compute} compute, float32 weights and loss{scaling}"

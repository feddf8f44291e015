"""fit() for a number of steps on in-memory arrays: the loop SFT, DPO and the reasoning runs share.

The arrays (a tuple such as (x, y, sample_weight), or a dict of DPO pair inputs)
are shuffled with a fixed seed, repeated and batched by tf.data; `steps` are split
into `epochs` so history.csv and the plot get a few points.

Example:
    >>> history = fit_for_steps(model, (x, y, w), steps=100, batch_size=16)   # doctest: +SKIP
"""

import warnings


def array_stream(arrays, batch_size, seed=0):
    """An endless, seeded, shuffled tf.data stream of batches of `arrays`."""
    import tensorflow as tf

    first = arrays[0] if isinstance(arrays, tuple) else next(iter(arrays.values()))
    count = len(first["token_ids"]) if isinstance(first, dict) else len(first)
    data = tf.data.Dataset.from_tensor_slices(arrays).shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return data.repeat().batch(batch_size, drop_remainder=count >= batch_size).prefetch(tf.data.AUTOTUNE)


def fit_for_steps(model, arrays, steps, batch_size=16, seed=0, epochs=1, validation_data=None, verbose=1, callbacks=()):
    """Train a compiled model for `steps` batches (split over `epochs`); the Keras History."""
    from zoo.train.memory_check import check_model_fits, window_length

    check_model_fits(model, batch_size, window_length(arrays))  # stop now, not in an out-of-memory kill later
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    epochs = max(1, min(int(epochs), int(steps)))
    return model.fit(
        array_stream(arrays, batch_size, seed),
        steps_per_epoch=max(1, steps // epochs),
        epochs=epochs,
        validation_data=validation_data,
        verbose=verbose,
        callbacks=list(callbacks),
    )

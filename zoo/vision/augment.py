"""Light image augmentation for small digit sets: small shifts, rotations and zooms.

The digits set has only ~1,400 training images, so the tutorial's CNN memorises them
(training loss near zero, test accuracy stuck near 96-97%). Random small moves make
every epoch see new images; it runs in the tf.data input pipeline, so the model stays
the tutorial's layer for layer.

Example:
    >>> import numpy as np
    >>> from zoo.vision.augment import image_dataset
    >>> x_train, y_train = np.zeros((64, 28, 28, 1), "float32"), np.arange(64) % 10
    >>> ds = image_dataset(x_train, y_train, batch_size=32, seed=0, augment=True)   # then model.fit(ds, epochs=30)
    >>> [tuple(images.shape) for images, _ in ds]
    [(32, 28, 28, 1), (32, 28, 28, 1)]
"""

import keras


def digits_augmentation(seed=None, shift=0.08, rotation=0.04, zoom=0.08):
    """A Keras pipeline of random translation, rotation and zoom (fill with black, like the digits' background)."""
    return keras.Sequential(
        [
            keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed),
            keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
            keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed),
        ],
        name="digits_augmentation",
    )


def image_dataset(images, labels, batch_size=32, seed=0, augment=True, augmentation=None):
    """A shuffled, batched tf.data.Dataset of (images, labels) for `fit()`, augmented unless augment=False."""
    import tensorflow as tf  # input pipeline code: tf.data is the tool here

    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augment:
        augmentation = augmentation or digits_augmentation(seed=seed)
        ds = ds.map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)

"""scikit-learn's 8x8 digits, resized to the tutorial's 28x28x1 images.

The 1,797 digits ship inside scikit-learn, so every image recipe runs offline.

Example:
    >>> from zoo.data.digits import load_digits_28
    >>> (x_train, y_train), (x_test, y_test) = load_digits_28()
    >>> x_train.shape, x_train.dtype
    ((1437, 28, 28, 1), dtype('float32'))
"""

import numpy as np

# The tutorial's CNN and GAN take 28x28 grayscale images (MNIST's shape).
IMAGE_SIZE = 28


def resize_images(images, size, channels=1):
    """Resize a batch of HxW (or HxWxC) images in [0, 1] to size x size x channels (bilinear)."""
    import tensorflow as tf  # data code, not model code: tf.image is fine here

    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    out = tf.image.resize(images, (size, size), method="bilinear").numpy()
    out = np.clip(out, 0.0, 1.0)
    if channels != out.shape[-1]:
        out = np.repeat(out, channels, axis=-1)
    return out.astype("float32")


def load_digits_28(test_size=0.2, seed=0, value_range=(0.0, 1.0), size=IMAGE_SIZE, channels=1, digits=None):
    """Load scikit-learn's digits as `size` x `size` x `channels` float32 images.

    Args:
        test_size: share of images held out for testing (stratified by class).
        seed: seed of the train/test split, so results are repeatable.
        value_range: pixel range; (0, 1) for classifiers, (-1, 1) for a tanh GAN.
        size: output height and width (28 is the tutorial's shape).
        channels: 1 for grayscale, 3 to feed an RGB model such as VGG16.
        digits: optional list of classes to keep (e.g. [0, 1, 2, 3, 4]).

    Returns:
        `(x_train, y_train), (x_test, y_test)` with integer labels 0-9.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be between 0 and 1 (exclusive), got {test_size}.")
    bunch = load_digits()
    images = bunch.images.astype("float32") / 16.0  # sklearn's pixels are 0..16
    labels = bunch.target.astype("int64")
    if digits is not None:
        keep = np.isin(labels, list(digits))
        if not keep.any():
            raise ValueError(f"digits={digits!r} selects no images; use classes from 0 to 9.")
        images, labels = images[keep], labels[keep]
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    low, high = value_range
    x_train = resize_images(x_train, size, channels) * (high - low) + low
    x_test = resize_images(x_test, size, channels) * (high - low) + low
    return (x_train, y_train), (x_test, y_test)

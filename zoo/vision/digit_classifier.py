"""Train the tutorial's CNN on the digits: used by the CNN recipe and as the GAN's judge.

Example:
    >>> from zoo.vision.digit_classifier import train_digit_classifier
    >>> model, history, (x_test, y_test) = train_digit_classifier(epochs=1)   # the CNN recipe: 30 epochs
    >>> len(history.history["loss"]), model.output_shape
    (1, (None, 10))
"""

import keras

from zoo.data.digits import load_digits_28
from zoo.vision.augment import image_dataset
from zoo.vision.cnn import build_cnn

VALIDATION_SPLIT = 0.1


def train_digit_classifier(epochs=30, batch_size=32, seed=0, augment=True, one_hot=False, callbacks=None, verbose=0):
    """Train `build_cnn()` on digits 28x28 (train split minus 10% validation).

    Returns `(model, history, (x_test, y_test))` with integer test labels.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got {epochs} and {batch_size}.")
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits_28(seed=seed)
    labels = keras.utils.to_categorical(y_train, 10) if one_hot else y_train
    # The split is already shuffled and stratified; hold out its last 10% for validation.
    n_fit = int(len(x_train) * (1 - VALIDATION_SPLIT))
    train_data = image_dataset(x_train[:n_fit], labels[:n_fit], batch_size, seed=seed, augment=augment)
    model = build_cnn()
    history = model.fit(
        train_data,
        validation_data=(x_train[n_fit:], labels[n_fit:]),
        epochs=epochs,
        callbacks=callbacks or [],
        verbose=verbose,
        shuffle=False,  # the dataset reshuffles itself every epoch
    )
    return model, history, (x_test, y_test)

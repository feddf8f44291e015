"""Shared test set-up: quiet TensorFlow, fixed seeds, and small real data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def digits():
    """The real digits at 28x28: ((x_train, y_train), (x_test, y_test))."""
    from zoo.data.digits import load_digits_28

    return load_digits_28(seed=0)


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))

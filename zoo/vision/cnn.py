"""The tutorial's CNN for 28x28 grayscale digits, layer for layer.

Conv2D(32, 3x3, relu) -> MaxPool(2) -> Conv2D(64, 3x3, relu) -> MaxPool(2) ->
Conv2D(64, 3x3, relu) -> Flatten -> Dense(64, relu) -> Dense(10, softmax),
compiled with adam and categorical crossentropy as printed (integer labels work too).

Example:
    >>> from zoo import build_cnn
    >>> model = build_cnn()
    >>> model.count_params()   # the tutorial's architecture
    93322
"""

import keras
from keras import layers

from zoo.losses import FlexibleCrossentropy
from zoo.validation import check_input_shape, check_num_classes


def build_cnn(
    input_shape=(28, 28, 1),
    num_classes=10,
    filters=(32, 64, 64),
    kernel_size=3,
    dense_units=64,
    optimizer="adam",
    compile=True,
    name="cnn",
):
    """Build (and by default compile) the tutorial's image-classification CNN.

    Args:
        input_shape: (height, width, channels) of the images; the tutorial uses (28, 28, 1).
        num_classes: number of output classes (>= 2).
        filters: filters of the three Conv2D layers; a MaxPool follows each but the last.
        kernel_size: side of the square convolution kernels.
        dense_units: width of the hidden Dense layer.
        optimizer: a Keras optimizer or its name, used when `compile=True`.
        compile: compile with crossentropy and accuracy as the tutorial does.
        name: model name.

    Returns:
        A `keras.Sequential` model that outputs class probabilities.
    """
    input_shape = check_input_shape(input_shape, rank=3, what="build_cnn input_shape (height, width, channels)")
    check_num_classes(num_classes)
    if len(filters) < 1:
        raise ValueError("build_cnn needs at least one entry in `filters`, e.g. filters=(32, 64, 64).")

    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape, name="image"))
    for i, n_filters in enumerate(filters):
        model.add(layers.Conv2D(n_filters, (kernel_size, kernel_size), activation="relu", name=f"conv{i + 1}"))
        # The tutorial pools after every convolution except the last one.
        if i < len(filters) - 1:
            model.add(layers.MaxPooling2D((2, 2), name=f"pool{i + 1}"))
    model.add(layers.Flatten(name="flatten"))
    model.add(layers.Dense(dense_units, activation="relu", name="dense"))
    model.add(layers.Dense(num_classes, activation="softmax", name="probabilities"))

    if compile:
        model.compile(optimizer=optimizer, loss=FlexibleCrossentropy(), metrics=["accuracy"])
    return model

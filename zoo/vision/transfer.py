"""Transfer learning with a base that zoo trained itself (no downloads needed).

Takes a trained `build_cnn` model, keeps its convolutional layers as a frozen base,
and puts a new head on top -- the same shape as the tutorial's VGG16 transfer model,
so the same two-stage schedule (frozen, then fine-tune the top block) applies.

Example:
    >>> from zoo import build_cnn, build_transfer_model, unfreeze_top_block
    >>> source = build_cnn(num_classes=5)            # train it on digits 0-4 first
    >>> target = build_transfer_model(source, num_classes=5)
    >>> # target.fit(...) on digits 5-9 with the base frozen, then:
    >>> unfreeze_top_block(target, prefix="conv3", learning_rate=1e-4)   # the layers now trainable
    ['conv3']
"""

import keras
from keras import layers

from zoo.losses import FlexibleCrossentropy
from zoo.validation import check_num_classes


def build_transfer_model(source, num_classes, cut_at="flatten", dense_units=64, freeze_base=True, optimizer="adam"):
    """Reuse `source`'s layers up to and including `cut_at` as a base, and add a new classifier head.

    The base shares its weights with `source` (no copy), so train the source first.
    """
    check_num_classes(num_classes)
    names = [layer.name for layer in source.layers]
    if cut_at not in names:
        raise ValueError(f"cut_at={cut_at!r} is not a layer of {source.name!r}; layers: {', '.join(names)}.")
    inputs = keras.Input(shape=source.input_shape[1:], name="image")
    x = inputs
    for layer in source.layers[: names.index(cut_at) + 1]:
        x = layer(x)
    base = keras.Model(inputs, x, name="base")
    base.trainable = not freeze_base

    model = keras.Sequential(name=f"{source.name}_transfer")
    model.add(keras.Input(shape=source.input_shape[1:], name="image"))
    model.add(base)
    model.add(layers.Dense(dense_units, activation="relu", name="new_dense"))
    model.add(layers.Dense(num_classes, activation="softmax", name="new_probabilities"))
    model.compile(optimizer=optimizer, loss=FlexibleCrossentropy(), metrics=["accuracy"])
    return model

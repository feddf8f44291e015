"""The tutorial's VGG16 transfer-learning model, plus the fine-tuning stage users expect.

VGG16 base (include_top=False, 224x224x3), frozen -> Flatten -> Dense(256, relu) ->
Dense(num_classes, softmax). `weights="imagenet"` never downloads: it uses the file in
the Keras cache (`$KERAS_HOME/models/` or `~/.keras/models/`) or fails with a message
that names the file and where to put it. A local weights path works too, and
`weights=None` builds an untrained base.

Example:
    >>> from zoo import build_vgg16_transfer, unfreeze_top_block
    >>> model = build_vgg16_transfer(num_classes=5, weights=None, input_shape=(64, 64, 3))
    >>> # stage 1: model.fit(...) trains only the new head
    >>> unfreeze_top_block(model)      # stage 2: block5 trains too, at a low learning rate
    ['block5_conv1', 'block5_conv2', 'block5_conv3']
    >>> # model.fit(...)
"""

import os

import keras
from keras import layers

from zoo.losses import FlexibleCrossentropy
from zoo.validation import check_input_shape, check_num_classes

# The file Keras' own VGG16(weights="imagenet", include_top=False) would download.
VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_NOTOP_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_NOTOP_FILE


def keras_cache_dir():
    """The folder Keras caches downloaded models in: $KERAS_HOME/models or ~/.keras/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def resolve_vgg16_weights(weights):
    """Turn `weights` into None or a local file path, without ever downloading.

    "imagenet" maps to the Keras cache; any other string must be an existing file.
    """
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"weights must be 'imagenet', None or a path to a .h5/.weights.h5 file, got {weights!r}.")
    weights = os.fspath(weights)
    if weights == "imagenet":
        path = os.path.join(keras_cache_dir(), VGG16_NOTOP_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"weights='imagenet' needs the file {VGG16_NOTOP_FILE} in the Keras cache, and zoo never "
                f"downloads at run time. Looked for: {path}\n"
                f"On a machine with internet, fetch it from {VGG16_NOTOP_URL} (or run "
                "keras.applications.VGG16(include_top=False) once) and copy it to that path, "
                "or pass weights='/path/to/" + VGG16_NOTOP_FILE + "', or weights=None for an untrained base."
            )
        return path
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"VGG16 weights file not found: {weights!r}. Pass 'imagenet' (Keras cache), None, "
            "or the path of an existing no-top VGG16 weights file."
        )
    return weights


def build_vgg16_transfer(
    num_classes=10,
    weights="imagenet",
    input_shape=(224, 224, 3),
    dense_units=256,
    freeze_base=True,
    optimizer="adam",
    compile=True,
    name="vgg16_transfer",
):
    """Build the tutorial's transfer model: a frozen VGG16 base with a new classifier head.

    Args:
        num_classes: classes of the new task (>= 2).
        weights: "imagenet" (from the Keras cache, never downloaded), a local weights path, or None.
        input_shape: (height, width, 3); at least 32x32. The tutorial uses 224x224x3.
        dense_units: width of the new hidden Dense layer.
        freeze_base: freeze every base layer (stage 1 of transfer learning).
        optimizer: optimizer for stage 1 when `compile=True`.
        compile: compile as the tutorial does (adam, categorical crossentropy, accuracy).
        name: model name.
    """
    check_num_classes(num_classes)
    input_shape = check_input_shape(input_shape, rank=3, what="VGG16 input_shape", min_size=32)
    if input_shape[-1] != 3:
        raise ValueError(f"VGG16 takes RGB images: input_shape must end in 3 channels, got {input_shape!r}.")
    weights_path = resolve_vgg16_weights(weights)

    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=input_shape)
    if weights_path is not None:
        try:
            base.load_weights(weights_path)
        except Exception as err:  # a wrong or corrupt file: say which one
            raise ValueError(f"Could not load VGG16 (no-top) weights from {weights_path!r}: {err}") from err
    # Freeze the base so that only the new head learns at first (the tutorial's loop).
    base.trainable = not freeze_base

    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape, name="image"))
    model.add(base)
    model.add(layers.Flatten(name="flatten"))
    model.add(layers.Dense(dense_units, activation="relu", name="dense"))
    model.add(layers.Dense(num_classes, activation="softmax", name="probabilities"))
    if compile:
        model.compile(optimizer=optimizer, loss=FlexibleCrossentropy(), metrics=["accuracy"])
    return model


def unfreeze_top_block(model, base_name=None, prefix="block5", learning_rate=1e-5):
    """Stage 2 of transfer learning: unfreeze the base's top block and recompile with a low learning rate.

    Args:
        model: a model whose first layer (or the layer named `base_name`) is the pretrained base.
        base_name: name of the base layer; defaults to the first layer of `model`.
        prefix: base layers whose names start with this become trainable ("block5" in VGG16).
        learning_rate: Adam learning rate for fine-tuning; small, so pretrained features are not wrecked.

    Returns:
        The names of the layers that are now trainable inside the base.
    """
    base = model.get_layer(base_name) if base_name else model.layers[0]
    if not hasattr(base, "layers"):
        raise ValueError(f"Layer {base.name!r} is not a model with sub-layers; pass base_name= the pretrained base.")
    base.trainable = True
    unfrozen = []
    for layer in base.layers:
        layer.trainable = layer.name.startswith(prefix)
        if layer.trainable and layer.weights:
            unfrozen.append(layer.name)
    if not unfrozen:
        names = ", ".join(layer.name for layer in base.layers if layer.weights)
        raise ValueError(f"No layer of {base.name!r} starts with {prefix!r}; layers with weights: {names}.")
    loss = model.loss if getattr(model, "loss", None) is not None else FlexibleCrossentropy()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"])
    return unfrozen

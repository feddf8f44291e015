"""Quantization-aware training (QAT) with TF-MOT's `quantize_model`, for zoo's CNN and VGG16 transfer model.

QAT inserts fake-quantization ops (int8 rounding of weights and activations, with
learned ranges) and fine-tunes, so the network learns to live with int8 before it
is converted. The tf_keras bridge rebuilds the Keras 3 model (VGG16's nested base is
inlined: TF-MOT refuses nested models), TF-MOT wraps every layer of its default 8-bit
registry, `fit()` fine-tunes, and `qat_tflite` converts the result to an int8 TFLite
file that keeps the learned ranges (no calibration data needed).

`only=[...]` annotates just some layers (e.g. the VGG16 transfer model's new head,
`only=["dense", "probabilities"]`): the rest stays float. TF-MOT's registry has no
LSTM, MultiHeadAttention or LayerNormalization; such layers raise a clear error
that lists them, or are left float with `skip_unsupported=True` (listed in `skipped`).

Example:
    >>> from zoo.compress.qat import quantize_aware_train, qat_tflite
    >>> result = quantize_aware_train(trained_cnn, x_train, y_train, epochs=1)   # doctest: +SKIP
    >>> content = qat_tflite(result.tf_keras_model)                              # doctest: +SKIP
"""

import dataclasses
import tempfile

import numpy as np

from zoo.compress.bridge import BridgeError, to_tf_keras
from zoo.compress.ptq import AlreadyQuantizedError, check_not_quantized, convert, save_for_tflite
from zoo.compress.tfmot import load_tfmot


@dataclasses.dataclass
class QATResult:
    """tf_keras_model: the quantization-aware tf_keras model; quantized/skipped: layer names; history: fit logs."""

    tf_keras_model: object
    quantized: list
    skipped: list
    history: dict


def qat_support(tfk_model):
    """(layer names TF-MOT's default 8-bit QAT can quantize, "name (Class)" of layers with weights it cannot)."""
    load_tfmot()
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit.default_8bit_quantize_registry import (
        Default8BitQuantizeRegistry,
    )

    registry = Default8BitQuantizeRegistry()
    supported, unsupported = [], []
    for layer in tfk_model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if registry.supports(layer):
            supported.append(layer.name)
        elif layer.weights:
            unsupported.append(f"{layer.name} ({type(layer).__name__})")
        else:
            supported.append(layer.name)  # weightless layers the registry does not list pass through in float
    return supported, unsupported


def quantize_aware_train(
    model,
    x,
    y,
    epochs=1,
    batch_size=32,
    learning_rate=1e-4,
    only=None,
    skip_unsupported=False,
    validation_data=None,
    from_logits=False,
    verbose=0,
    callbacks=(),
):
    """Fine-tune a trained Keras 3 model with TF-MOT's fake quantization; returns a `QATResult`.

    Args:
        model: a trained float32 Keras 3 Sequential/functional model (CNN, VGG16 transfer).
        x, y: fine-tuning data (integer labels or one-hot rows).
        epochs, batch_size, learning_rate: the QAT fine-tune (a low rate: the model is trained already).
        only: names of the layers to quantize (default: every layer TF-MOT supports).
        skip_unsupported: leave layers TF-MOT cannot quantize in float instead of raising.
    """
    tfmot, tf_keras = load_tfmot()
    check_not_quantized(model)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got {epochs} and {batch_size}.")
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of the same length, got {len(x)} and {len(y)}.")
    bridged = to_tf_keras(model)
    supported, unsupported = qat_support(bridged.model)
    names = [layer.name for layer in bridged.model.layers if type(layer).__name__ != "InputLayer"]
    if only is not None:
        missing = sorted(set(only) - set(names))
        if missing:
            raise ValueError(
                f"only= names layers {missing} that {model.name!r} does not have; layers: {', '.join(names)}."
            )
        unsupported = [u for u in unsupported if u.split(" ")[0] in only]
    if unsupported and not skip_unsupported:
        raise BridgeError(
            "TF-MOT's quantization-aware training has no support for these layers: "
            + ", ".join(unsupported)
            + ". Pass skip_unsupported=True to leave them in float (listed in the result), choose layers "
            "with only=[...], or use post-training dynamic-range quantization (zoo.compress.ptq, mode='dynamic')."
        )
    skipped = list(unsupported)
    chosen = {n for n in supported if only is None or n in only}
    annotate = tfmot.quantization.keras.quantize_annotate_layer

    def maybe_annotate(layer):
        return annotate(layer) if layer.name in chosen else layer

    with tfmot.quantization.keras.quantize_scope():
        annotated = tf_keras.models.clone_model(bridged.model, clone_function=maybe_annotate)
        qat_model = tfmot.quantization.keras.quantize_apply(annotated)
    sparse = y.ndim == 1 or (y.ndim == 2 and y.shape[-1] == 1)
    loss = (tf_keras.losses.SparseCategoricalCrossentropy if sparse else tf_keras.losses.CategoricalCrossentropy)(
        from_logits=from_logits
    )
    metric = (tf_keras.metrics.SparseCategoricalAccuracy if sparse else tf_keras.metrics.CategoricalAccuracy)(
        name="accuracy"
    )
    qat_model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate), loss=loss, metrics=[metric])
    from zoo.compress.bridge import tf_keras_callback

    history = qat_model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        verbose=verbose,
        # tf_keras' fit() takes only tf_keras callbacks: Keras 3 ones (TensorBoard steps) ride in an adapter.
        callbacks=[tf_keras_callback(callback) for callback in callbacks],
    )
    quantized = [n for n in names if n in chosen and any(layer.name == f"quant_{n}" for layer in qat_model.layers)]
    return QATResult(
        qat_model, quantized, skipped, {k: [float(v) for v in vals] for k, vals in history.history.items()}
    )


def qat_tflite(qat_model, integer_io=False):
    """Int8 TFLite bytes of a QAT tf_keras model, using the ranges it learned (no calibration data)."""
    if not any(type(layer).__name__.startswith("Quantize") for layer in qat_model.layers):
        raise ValueError(
            f"{qat_model.name!r} has no TF-MOT quantization wrappers: train it with quantize_aware_train first, "
            "or convert a float model with zoo.compress.ptq.quantize_tflite."
        )
    # Layers with weights that QAT left float (only=..., skip_unsupported) keep float inputs and outputs.
    all_quantized = all(type(layer).__name__.startswith("Quantize") or not layer.weights for layer in qat_model.layers)
    if integer_io and not all_quantized:
        raise ValueError("integer_io=True needs every layer quantized; this QAT model left some in float.")
    with tempfile.TemporaryDirectory(prefix="zoo-qat-") as folder:
        input_name = save_for_tflite(qat_model, folder)
        # No ops restriction: TF's converter then insists on calibration data, while the QAT graph's
        # fake-quant ops already give every quantized tensor its range.
        return convert(folder, "int8", None, input_name, integer_io=integer_io, optimize=True, integer_only=False)


__all__ = ["AlreadyQuantizedError", "QATResult", "qat_support", "qat_tflite", "quantize_aware_train"]

"""Magnitude pruning with TF-MOT's `prune_low_magnitude`, applied to zoo's Keras 3 models.

Two ways in, one per kind of model:

* `prune_model` (graph models: the CNN, the LSTM generator, the VGG16 transfer model):
  the tf_keras bridge rebuilds the model, TF-MOT wraps every layer its registry can
  prune (Dense, Conv, Embedding, LSTM...), `fit()` trains with the `UpdatePruningStep`
  (and optionally `PruningSummaries`) callbacks while a PolynomialDecay or
  ConstantSparsity schedule raises the share of zeroed weights, `strip_pruning` removes
  the wrappers, and the sparse weights go back into a Keras 3 copy of the model.
  `m_by_n=(2, 4)` asks for 2:4 structured sparsity (two zeros in every four weights,
  the pattern sparse tensor cores run fast); TF-MOT supports it for Dense and Conv2D only.
* `prune_layers_one_shot` (subclassed models: the LLM): TF-MOT cannot rebuild a
  TransformerBlock, so each Dense/Embedding layer is bridged on its own, TF-MOT computes
  its magnitude mask in one shot, and the pruned kernel is copied back. LayerNorms and
  other layers with weights are listed as skipped. `MaskKeeper` then keeps the zeros at
  zero during a short Keras 3 fine-tune.

Sizes: `zoo.compress.sizes` measures the weights file raw and gzipped; pruning shows
in the gzipped size.

Example:
    >>> from zoo import build_cnn
    >>> from zoo.compress.prune import prune_model
    >>> result = prune_model(trained_cnn, x_train, y_train, target_sparsity=0.8, epochs=2)  # doctest: +SKIP
    >>> result.sparsity["conv2"]                                                           # doctest: +SKIP
    0.8
"""

import dataclasses

import keras
import numpy as np

from zoo.compress.bridge import BridgeError, dense_and_embedding_layers, to_keras3, to_tf_keras
from zoo.compress.sizes import keras_weights_size, layer_sparsity, overall_sparsity
from zoo.compress.tfmot import load_tfmot

SCHEDULES = ("polynomial", "constant")


@dataclasses.dataclass
class PruneResult:
    """What pruning produced and measured.

    model: the pruned Keras 3 model (a clone; the input model is untouched).
    tf_keras_model: the stripped tf_keras model (for TFLite conversion).
    sparsity: {layer: share of zeros in its kernel}; overall_sparsity: over all pruned kernels.
    pruned / skipped: layer names TF-MOT pruned / layers with weights it left dense, with the reason.
    size_before / size_after: {"raw_bytes", "gzip_bytes"} of the weights file.
    history: the fine-tuning history dict.
    """

    model: object
    tf_keras_model: object
    sparsity: dict
    overall_sparsity: float
    pruned: list
    skipped: list
    size_before: dict
    size_after: dict
    history: dict


def check_sparsity(target_sparsity):
    if (
        isinstance(target_sparsity, bool)
        or not isinstance(target_sparsity, (int, float))
        or not 0.0 < target_sparsity < 1.0
    ):
        raise ValueError(
            f"target_sparsity must be a share between 0 and 1 (e.g. 0.8 for 80% zeros), got {target_sparsity!r}."
        )
    return float(target_sparsity)


def check_m_by_n(m_by_n):
    if m_by_n is None:
        return None
    try:
        m, n = (int(v) for v in m_by_n)
    except (TypeError, ValueError):
        raise ValueError(f"m_by_n must be two integers such as (2, 4), got {m_by_n!r}.") from None
    if not 0 < m < n:
        raise ValueError(f"m_by_n=(m, n) needs 0 < m < n (m zeros in every n weights), got {m_by_n!r}.")
    return (m, n)


def pruning_schedule(kind, target_sparsity, end_step, begin_step=0, initial_sparsity=0.0, frequency=None):
    """A TF-MOT pruning schedule.

    kind: "polynomial" (sparsity rises from `initial_sparsity` to the target between
    begin_step and end_step, the gentle default) or "constant" (the target at once, then kept).
    """
    tfmot, _ = load_tfmot()
    target_sparsity = check_sparsity(target_sparsity)
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}.")
    end_step = max(int(end_step), begin_step + 1)
    frequency = frequency or max(1, (end_step - begin_step) // 10)
    if kind == "constant":
        return tfmot.sparsity.keras.ConstantSparsity(
            target_sparsity, begin_step=begin_step, end_step=end_step, frequency=frequency
        )
    return tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=initial_sparsity,
        final_sparsity=target_sparsity,
        begin_step=begin_step,
        end_step=end_step,
        frequency=frequency,
    )


def prune_model(
    model,
    x,
    y,
    target_sparsity=0.8,
    schedule="polynomial",
    epochs=2,
    batch_size=32,
    learning_rate=1e-3,
    m_by_n=None,
    validation_data=None,
    log_dir=None,
    from_logits=False,
    verbose=0,
):
    """Prune a Keras 3 graph model with TF-MOT while fine-tuning it on (x, y); returns a `PruneResult`.

    Args:
        model: a trained Keras 3 Sequential/functional model of standard layers.
        x, y: fine-tuning data; y holds integer class ids or one-hot rows.
        target_sparsity: share of each pruned kernel set to zero at the end (0.5, 0.8...).
        schedule: "polynomial" (PolynomialDecay) or "constant" (ConstantSparsity).
        epochs, batch_size, learning_rate: the fine-tune that lets the rest of the weights adapt.
        m_by_n: e.g. (2, 4) for structured sparsity (Dense/Conv2D only); then the
            schedule's target is replaced by the m/n pattern.
        validation_data: optional (x, y) evaluated every epoch.
        log_dir: where `PruningSummaries` writes TensorBoard sparsity logs (optional).
        from_logits: the model outputs logits instead of probabilities.
    """
    tfmot, tf_keras = load_tfmot()
    target_sparsity = check_sparsity(target_sparsity)
    m_by_n = check_m_by_n(m_by_n)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got {epochs} and {batch_size}.")
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of the same length, got {len(x)} and {len(y)}.")
    size_before = keras_weights_size(model)
    bridged = to_tf_keras(model)
    steps_per_epoch = int(np.ceil(len(x) / batch_size))
    end_step = steps_per_epoch * epochs
    # Reach the target a little before the end, so the last steps fine-tune at full sparsity.
    sched = pruning_schedule(schedule, target_sparsity, end_step=max(1, int(end_step * 0.7)))
    pruned_names, skipped = [], []

    def wrap(layer):
        if not layer.weights or isinstance(layer, tf_keras.layers.InputLayer):
            return layer
        supported = _prune_registry().supports(layer)
        if not supported:
            skipped.append(f"{layer.name} ({type(layer).__name__}: not in TF-MOT's pruning registry)")
            return layer
        params = {"pruning_schedule": sched}
        if m_by_n is not None:
            if not isinstance(layer, (tf_keras.layers.Dense, tf_keras.layers.Conv2D)):
                skipped.append(
                    f"{layer.name} ({type(layer).__name__}: TF-MOT's {m_by_n[0]}:{m_by_n[1]} "
                    "sparsity covers Dense and Conv2D only)"
                )
                return layer
            params = {
                "pruning_schedule": tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=1),
                "sparsity_m_by_n": m_by_n,
            }
        pruned_names.append(layer.name)
        return tfmot.sparsity.keras.prune_low_magnitude(layer, **params)

    # clone_function hands back the bridged layers themselves (wrapped or not), so their weights carry over.
    wrapped = tf_keras.models.clone_model(bridged.model, clone_function=wrap)
    if not pruned_names:
        raise BridgeError(
            f"TF-MOT found no layer it can prune in {model.name!r}; skipped: {', '.join(skipped) or 'none'}."
        )
    loss = _tf_keras_loss(tf_keras, y, from_logits)
    wrapped.compile(optimizer=tf_keras.optimizers.Adam(learning_rate), loss=loss, metrics=_metrics(tf_keras, y))
    callbacks = [tfmot.sparsity.keras.UpdatePruningStep()]
    if log_dir:
        callbacks.append(tfmot.sparsity.keras.PruningSummaries(log_dir=log_dir))
    history = wrapped.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        validation_data=validation_data,
        verbose=verbose,
    )
    stripped = tfmot.sparsity.keras.strip_pruning(wrapped)
    pruned = to_keras3(stripped, model)
    pruned_layers = [layer for layer in _leaf_layers(pruned) if _owner_name(layer) in pruned_names]
    return PruneResult(
        model=pruned,
        tf_keras_model=stripped,
        sparsity=layer_sparsity(pruned, pruned_layers),
        overall_sparsity=overall_sparsity(pruned, pruned_layers),
        pruned=pruned_names,
        skipped=skipped,
        size_before=size_before,
        size_after=keras_weights_size(pruned),
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
    )


@dataclasses.dataclass
class OneShotResult:
    """Layer-level pruning of a model the bridge cannot rebuild (the LLM)."""

    pruned: list  # paths of the Dense/Embedding layers pruned
    skipped: list  # "path (Class)" of the layers with weights left dense
    sparsity: dict
    overall_sparsity: float
    masks: dict  # path -> boolean mask of kept weights, for MaskKeeper


def prune_layers_one_shot(model, target_sparsity=0.5, m_by_n=None):
    """Prune every Dense/Embedding layer of `model` in place with TF-MOT, one layer at a time.

    Each layer is rebuilt alone in tf_keras, wrapped by `prune_low_magnitude` with a
    ConstantSparsity schedule, its mask is computed once (the smallest weights by
    magnitude are zeroed), the wrapper is stripped and the kernel copied back. No
    training happens here; fine-tune afterwards with `MaskKeeper` to keep the zeros.
    Returns a `OneShotResult` listing what was pruned and what was skipped.
    """
    tfmot, tf_keras = load_tfmot()
    target_sparsity = check_sparsity(target_sparsity)
    m_by_n = check_m_by_n(m_by_n)
    prunable, others = dense_and_embedding_layers(model)
    if not prunable:
        raise BridgeError(f"{model.name!r} has no Dense or Embedding layer that TF-MOT could prune.")
    skipped = [f"{_path(layer)} ({type(layer).__name__})" for layer in others]
    pruned, masks = [], {}
    for layer in prunable:
        if layer.dtype_policy.quantization_mode is not None:
            raise BridgeError(
                f"Layer {_path(layer)!r} is already quantized ({layer.dtype_policy.name}); prune the float model "
                "before quantizing it."
            )
        if isinstance(layer, keras.layers.EinsumDense):
            skipped.append(f"{_path(layer)} (EinsumDense: not in TF-MOT's pruning registry)")
            continue
        if m_by_n is not None and not isinstance(layer, keras.layers.Dense):
            skipped.append(
                f"{_path(layer)} ({type(layer).__name__}: TF-MOT's {m_by_n[0]}:{m_by_n[1]} "
                "sparsity covers Dense and Conv2D only)"
            )
            continue
        kernel = _one_shot_kernel(tfmot, tf_keras, layer, target_sparsity, m_by_n)
        variable = layer.kernel if isinstance(layer, keras.layers.Dense) else layer.embeddings
        variable.assign(kernel)
        masks[_path(layer)] = kernel != 0
        pruned.append(_path(layer))
    layers = [layer for layer in prunable if _path(layer) in masks]
    return OneShotResult(pruned, skipped, layer_sparsity(model, layers), overall_sparsity(model, layers), masks)


def pruned_sparsity(model, paths):
    """(share of zeros over the layers at `paths`, {path: share}) as they stand now (e.g. after a fine-tune)."""
    layers = [
        layer for layer in model._flatten_layers(include_self=False, recursive=True) if _path(layer) in set(paths)
    ]
    return overall_sparsity(model, layers), layer_sparsity(model, layers)


class MaskKeeper(keras.callbacks.Callback):
    """Keeps pruned weights at zero while a Keras 3 model fine-tunes (re-applies the masks after each batch).

    Example:
        >>> result = prune_layers_one_shot(llm, 0.5)                       # doctest: +SKIP
        >>> llm.fit(data, epochs=1, callbacks=[MaskKeeper(result.masks)])   # doctest: +SKIP
    """

    def __init__(self, masks):
        super().__init__()
        self.masks = masks
        self._targets = None

    def on_train_begin(self, logs=None):
        by_path = {_path(layer): layer for layer in self.model._flatten_layers(include_self=False, recursive=True)}
        missing = sorted(set(self.masks) - set(by_path))
        if missing:
            raise ValueError(f"MaskKeeper: the model has no layers {missing}; were the masks made for another model?")
        self._targets = []
        for path, mask in self.masks.items():
            layer = by_path[path]
            variable = layer.kernel if isinstance(layer, keras.layers.Dense) else layer.embeddings
            self._targets.append((variable, mask.astype(variable.dtype)))
        self.on_train_batch_end(0)

    def on_train_batch_end(self, batch, logs=None):
        for variable, mask in self._targets:
            variable.assign(keras.ops.multiply(variable, mask))


# --- helpers -------------------------------------------------------------------------------


def _one_shot_kernel(tfmot, tf_keras, layer, target_sparsity, m_by_n):
    if isinstance(layer, keras.layers.Dense):
        in_dim, units = layer.kernel.shape
        twin = tf_keras.layers.Dense(units, use_bias=layer.use_bias)
        inputs = tf_keras.Input(shape=(in_dim,))
        kernel = layer.kernel
    else:
        twin = tf_keras.layers.Embedding(layer.input_dim, layer.output_dim)
        inputs = tf_keras.Input(shape=(1,), dtype="int32")
        kernel = layer.embeddings
    params = {"pruning_schedule": tfmot.sparsity.keras.ConstantSparsity(target_sparsity, begin_step=0, frequency=1)}
    if m_by_n is not None:
        params["sparsity_m_by_n"] = m_by_n
    with tfmot.sparsity.keras.prune_scope():
        wrapper = tfmot.sparsity.keras.prune_low_magnitude(twin, **params)
        one_layer = tf_keras.Model(inputs, wrapper(inputs))
    twin.set_weights(
        [np.asarray(w) for w in ([layer.kernel, layer.bias] if getattr(layer, "use_bias", False) else [kernel])]
    )
    # Step 1 is a pruning step of ConstantSparsity(begin_step=0, frequency=1), and the one step at which
    # TF-MOT computes m-by-n masks: compute the mask once, then apply it.
    wrapper.pruning_step.assign(1)
    wrapper.pruning_obj.conditional_mask_update()
    wrapper.pruning_obj.weight_mask_op()
    stripped = tfmot.sparsity.keras.strip_pruning(one_layer)
    return np.asarray(stripped.layers[-1].get_weights()[0])


def _tf_keras_loss(tf_keras, y, from_logits):
    if y.ndim == 1 or (y.ndim == 2 and y.shape[-1] == 1):
        return tf_keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    return tf_keras.losses.CategoricalCrossentropy(from_logits=from_logits)


def _metrics(tf_keras, y):
    if y.ndim == 1 or (y.ndim == 2 and y.shape[-1] == 1):
        return [tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    return [tf_keras.metrics.CategoricalAccuracy(name="accuracy")]


def _leaf_layers(model):
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if not list(layer._flatten_layers(include_self=False, recursive=False))
    ]


def _owner_name(layer):
    # An LSTM's kernel lives on its cell; report it under the LSTM's name.
    path = _path(layer)
    parts = path.split("/")
    return parts[-2] if len(parts) > 1 and parts[-1].endswith("cell") else parts[-1]


def _path(layer):
    return getattr(layer, "path", None) or layer.name


def _prune_registry():
    load_tfmot()
    from tensorflow_model_optimization.python.core.sparsity.keras.prune_registry import PruneRegistry

    return PruneRegistry

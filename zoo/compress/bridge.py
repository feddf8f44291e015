"""The bridge between zoo's Keras 3 models and TF-MOT, which only accepts tf_keras (Keras 2) models.

TF-MOT 0.8.1 raises ValueError on a Keras 3 model. The bridge rebuilds the same
architecture in tf_keras from the Keras 3 layers' own configs (walking the model's
graph, so Sequential and functional models of standard layers both work: the CNN,
the VGG16 transfer model, the LSTM generator), copies the weights across as numpy
arrays, and after TF-MOT has done its work copies them back by layer name (TF-MOT's
wrappers `prune_low_magnitude_<name>` and `quant_<name>` are looked through).

A nested model (VGG16's base inside the transfer Sequential) is inlined by default:
TF-MOT's pruning and QAT refuse nested models, and inlining keeps every layer's name.
Layers the bridge cannot rebuild (a subclassed block such as the LLM's
TransformerBlock) stop it with an error that lists them; `dense_and_embedding_layers`
finds the Dense/Embedding layers inside such a model for layer-level pruning instead.

Example:
    >>> from zoo import build_cnn
    >>> from zoo.compress.bridge import to_tf_keras, copy_weights_back
    >>> model = build_cnn()
    >>> bridged = to_tf_keras(model)          # bridged.model is a tf_keras Model
    >>> # ... TF-MOT on bridged.model, then strip_pruning ...
    >>> copy_weights_back(bridged.model, model)   # the layers whose weights came back
    ['conv1', 'conv2', 'conv3', 'dense', 'probabilities']
"""

import dataclasses
import inspect

import keras
import numpy as np

from zoo.compress.tfmot import load_tfmot

# Keys of Keras 3 layer configs that tf_keras does not know and that are safe to drop when
# they hold their default (the bridge copies weights, so initializers never matter).
_DEFAULT_ONLY = {
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
    "seed": None,
    "zero_output_for_mask": False,
}
_WRAPPER_PREFIXES = ("prune_low_magnitude_", "quant_")
_BASE_KWARGS = {"name", "trainable", "dtype", "activity_regularizer"}


class BridgeError(ValueError):
    """The model has layers the tf_keras bridge cannot rebuild; the message lists them."""


@dataclasses.dataclass
class BridgedModel:
    """A tf_keras copy of a Keras 3 model.

    model: the tf_keras Model (same layer names, same weights).
    pairs: (Keras 3 layer, tf_keras layer name) for every layer with weights.
    """

    model: object
    pairs: list


def keras3_layers_with_weights(model):
    """Every leaf layer of `model` (nested models opened) that holds weights, in order."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(keras3_layers_with_weights(layer))
        elif layer.weights:
            out.append(layer)
    return out


def dense_and_embedding_layers(model):
    """(Dense/Embedding/EinsumDense layers, other layers that hold weights of their own) anywhere in `model`.

    Works on subclassed models too (the LLM): it walks every sub-layer, so a
    TransformerBlock's projections are found while its LayerNormalization is listed as skipped.
    """
    prunable, skipped = [], []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, (keras.layers.Dense, keras.layers.Embedding, keras.layers.EinsumDense)):
            prunable.append(layer)
        elif layer._trainable_variables or layer._non_trainable_variables:
            # Only variables the layer owns itself: a block's own weights, not its children's.
            skipped.append(layer)
    return prunable, skipped


def unsupported_layers(model):
    """Names and classes of layers in `model` that have no tf_keras twin the bridge can build."""
    _, tf_keras = load_tfmot()
    bad = []
    for layer in model._flatten_layers(include_self=False, recursive=False):
        if isinstance(layer, keras.Model):
            if _is_graph_model(layer):
                bad.extend(unsupported_layers(layer))
            else:
                bad.append(f"{layer.name} ({type(layer).__name__}, a subclassed model)")
        elif not _is_standard(layer) or not hasattr(tf_keras.layers, type(layer).__name__):
            bad.append(f"{layer.name} ({type(layer).__name__})")
    return bad


def to_tf_keras(model, inline=True):
    """Rebuild a Keras 3 Sequential/functional model in tf_keras and copy its weights.

    Args:
        model: a built Keras 3 model made of standard `keras.layers` layers.
        inline: put the layers of nested models into the outer graph (TF-MOT needs this).

    Returns:
        A `BridgedModel`. Raises `BridgeError` listing the layers it cannot rebuild.
    """
    _, tf_keras = load_tfmot()
    if not isinstance(model, keras.Model) or not _is_graph_model(model):
        raise BridgeError(
            f"The tf_keras bridge rebuilds Sequential and functional Keras 3 models; {getattr(model, 'name', model)!r} "
            f"is a {type(model).__name__} (subclassed, no layer graph). For the LLM, prune its Dense/Embedding "
            "layers one by one with zoo.compress.prune.prune_layers_one_shot."
        )
    bad = unsupported_layers(model)
    if bad:
        raise BridgeError(
            "TF-MOT works on tf_keras models, and these layers have no tf_keras twin the bridge can rebuild: "
            + ", ".join(bad)
            + ". Use standard keras.layers, or prune the Dense/Embedding layers one by one "
            "with zoo.compress.prune.prune_layers_one_shot."
        )
    builder = _GraphBuilder(tf_keras, inline)
    inputs = [
        tf_keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=t._keras_history[0].name) for t in model.inputs
    ]
    outputs = builder.run(model, inputs)
    tfk_model = tf_keras.Model(
        inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0], name=model.name
    )
    pairs = []
    for k3_layer, tfk_layer in builder.made:
        if k3_layer.weights:
            _copy(k3_layer.get_weights(), tfk_layer, k3_layer.name)
            pairs.append((k3_layer, tfk_layer.name))
    return BridgedModel(tfk_model, pairs)


def find_tf_keras_layer(tfk_model, name):
    """The layer `name` of a tf_keras model, or TF-MOT's wrapper around it (`prune_low_magnitude_<name>`, `quant_<name>`)."""
    for layer in tfk_model.layers:
        if layer.name == name or any(layer.name == prefix + name for prefix in _WRAPPER_PREFIXES):
            return layer
    names = ", ".join(layer.name for layer in tfk_model.layers)
    raise BridgeError(f"The tf_keras model has no layer {name!r} (also tried TF-MOT's wrapper names); layers: {names}.")


def copy_weights_back(tfk_model, model):
    """Copy the weights of a tf_keras model (stripped or still wrapped by TF-MOT) into the Keras 3 `model`.

    Layers are matched by name; nested Keras 3 models are opened, as `to_tf_keras(inline=True)` does.
    Returns the names of the layers copied.
    """
    copied = []
    for layer in keras3_layers_with_weights(model):
        source = find_tf_keras_layer(tfk_model, layer.name)
        _copy(_matching_weights(source, layer), layer, layer.name)
        copied.append(layer.name)
    return copied


def to_keras3(tfk_model, model):
    """A fresh Keras 3 clone of `model` (same architecture) holding the weights of `tfk_model`."""
    clone = keras.models.clone_model(model)
    copy_weights_back(tfk_model, clone)
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if compile_config:
        clone.compile_from_config(compile_config)
    return clone


def predict_both(model, tfk_model, x):
    """(Keras 3 predictions, tf_keras predictions) on the same inputs, as numpy arrays."""
    return np.asarray(model.predict(x, verbose=0)), np.asarray(tfk_model.predict(x, verbose=0))


# --- rebuilding ----------------------------------------------------------------------------


class _GraphBuilder:
    """Replays a Keras 3 model's layer graph with tf_keras layers built from the same configs."""

    def __init__(self, tf_keras, inline):
        self.tf_keras = tf_keras
        self.inline = inline
        self.made = []  # (Keras 3 layer, tf_keras layer)
        self._layers = {}

    def run(self, model, inputs):
        values = {}  # id(KerasTensor) -> tf_keras tensor
        for tensor, value in zip(model.inputs, inputs):
            values[id(tensor)] = value
        return [self._value(t, values) for t in model.outputs]

    def _value(self, tensor, values):
        if id(tensor) in values:
            return values[id(tensor)]
        op, node_index, tensor_index = tensor._keras_history
        node = op._inbound_nodes[node_index]
        args = keras.tree.map_structure(
            lambda a: self._value(a, values) if isinstance(a, keras.KerasTensor) else a, node.arguments.args
        )
        # Keras 3 records the symbolic call's `training=False`; replaying it would freeze dropout and
        # TF-MOT's pruning updates, so the tf_keras graph takes the training flag from fit()/predict().
        call_kwargs = {k: v for k, v in node.arguments.kwargs.items() if k != "training" and v is not None}
        kwargs = keras.tree.map_structure(
            lambda a: self._value(a, values) if isinstance(a, keras.KerasTensor) else a, call_kwargs
        )
        if isinstance(op, keras.Model) and self.inline:
            sub_inputs = keras.tree.flatten(args)
            outputs = _GraphBuilder.run(self, op, sub_inputs)
        else:
            result = self._layer(op)(*args, **kwargs)
            outputs = keras.tree.flatten(result)
        for t, out in zip(node.output_tensors, outputs):
            values[id(t)] = out
        return values[id(tensor)]

    def _layer(self, layer):
        if id(layer) in self._layers:
            return self._layers[id(layer)]  # a shared layer stays shared
        if isinstance(layer, keras.Model):
            inputs = [self.tf_keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype) for t in layer.inputs]
            outputs = _GraphBuilder.run(self, layer, inputs)
            made = self.tf_keras.Model(
                inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0], name=layer.name
            )
        else:
            made = _rebuild_layer(self.tf_keras, layer)
            self.made.append((layer, made))
        made.trainable = _effectively_trainable(layer)
        self._layers[id(layer)] = made
        return made


def _rebuild_layer(tf_keras, layer):
    if getattr(layer.dtype_policy, "quantization_mode", None) is not None:
        raise BridgeError(
            f"Layer {layer.name!r} is already quantized ({layer.dtype_policy.name}); TF-MOT needs the float "
            "model. Prune or quantize the float32 model, not one that went through Keras' model.quantize()."
        )
    cls = getattr(tf_keras.layers, type(layer).__name__)
    allowed = _init_params(cls) | _BASE_KWARGS
    config = {}
    for key, value in layer.get_config().items():
        if key not in allowed:
            if (key in _DEFAULT_ONLY and value == _DEFAULT_ONLY[key]) or value is None:
                continue
            raise BridgeError(
                f"Layer {layer.name!r} ({type(layer).__name__}) sets {key}={value!r}, which tf_keras's "
                f"{cls.__name__} has no option for; the bridge cannot rebuild it faithfully."
            )
        config[key] = _translate(tf_keras, key, value, layer)
    return cls(**config)


def _translate(tf_keras, key, value, layer):
    if key == "dtype":
        name = value.get("config", {}).get("name") if isinstance(value, dict) else value
        if name not in (None, "float32", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16", "float64"):
            raise BridgeError(f"Layer {layer.name!r} has dtype policy {name!r}; TF-MOT works on float models.")
        return name
    if key.endswith("_initializer"):
        return None if value is None else "zeros"  # weights are copied over, so any initializer will do
    if key.endswith(("_regularizer", "_constraint")) and isinstance(value, dict):
        family = tf_keras.regularizers if key.endswith("_regularizer") else tf_keras.constraints
        return family.get({"class_name": value["class_name"], "config": value.get("config", {})})
    if key in ("activation", "recurrent_activation") and isinstance(value, dict):
        raise BridgeError(f"Layer {layer.name!r} uses a custom activation object; the bridge needs a named activation.")
    return value


def _init_params(cls):
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for param in inspect.signature(init).parameters.values():
            if param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL) and param.name != "self":
                names.add(param.name)
        if klass.__name__ == "Layer":
            break
    return names


def _is_graph_model(model):
    return isinstance(model, keras.Sequential) or type(model).__name__ == "Functional"


def _is_standard(layer):
    return type(layer).__module__.startswith("keras.src.layers")


def _effectively_trainable(layer):
    return bool(layer.trainable)


def _matching_weights(source, layer):
    # A TF-MOT wrapper holds extra variables (masks, quantizer ranges) and may order the wrapped
    # layer's own differently, so match by variable name: tf_keras "conv1/kernel:0" <- Keras 3 "kernel".
    variables = {}
    for variable in source.weights:
        variables.setdefault(variable.name.split(":")[0].split("/")[-1], []).append(variable)
    weights = []
    for target in layer.weights:
        found = variables.get(target.name.split("/")[-1], [])
        if len(found) != 1:
            break
        weights.append(found[0].numpy())
    else:
        return weights
    inner = getattr(source, "layer", source)
    return inner.get_weights()[: len(layer.weights)]


def _copy(weights, target, name):
    expected = [tuple(w.shape) for w in target.get_weights()]
    got = [tuple(np.shape(w)) for w in weights]
    if expected != got:
        raise BridgeError(f"Weights of layer {name!r} do not fit: the target expects shapes {expected}, got {got}.")
    target.set_weights(weights)


def tf_keras_callback(callback):
    """A tf_keras callback that forwards the batch, epoch and end-of-training events to a Keras 3 `callback`,
    so a Keras 2 fit() (TF-MOT's QAT) writes the same TensorBoard steps and logs as every other run.

    Example:
        >>> import keras
        >>> import tf_keras
        >>> isinstance(tf_keras_callback(keras.callbacks.Callback()), tf_keras.callbacks.Callback)
        True
    """
    import tf_keras

    class Forward(tf_keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            callback.on_train_batch_end(batch, logs)

        def on_epoch_end(self, epoch, logs=None):
            callback.on_epoch_end(epoch, logs)

        def on_train_end(self, logs=None):
            callback.on_train_end(logs)

    return Forward()

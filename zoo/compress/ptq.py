"""Post-training quantization to TFLite, and accuracy/latency measured with ai_edge_litert.

Modes (TF's converter, after the model was trained in float32):

| mode      | weights | activations | needs                      | size vs float32 |
| --------- | ------- | ----------- | -------------------------- | --------------- |
| `float32` | float32 | float32     | -                          | 1x              |
| `dynamic` | int8    | float32     | -                          | about 1/4       |
| `float16` | float16 | float32     | -                          | about 1/2       |
| `int8`    | int8    | int8        | a representative dataset   | about 1/4, integer-only kernels |

`int8` is full-integer quantization: a few hundred typical inputs calibrate the
activation ranges, and only TFLite's int8 built-in ops are allowed, so the file runs on
integer-only accelerators. Inputs and outputs stay float32 (quantize/dequantize at the
edges) unless `integer_io=True`.

Both a Keras 3 model and a tf_keras model from the TF-MOT bridge (pruned, or QAT) go
through a SavedModel with one plain `tf.function` signature (TF's `from_keras_model`
breaks on Keras 3 models); zoo.export's input naming is reused. `TFLiteModel` runs the result with
`ai_edge_litert`'s interpreter and measures accuracy and per-example latency.

Example:
    >>> from zoo.compress.ptq import quantize_tflite, TFLiteModel
    >>> content = quantize_tflite(cnn, "int8", representative_data=x_train[:200])   # doctest: +SKIP
    >>> TFLiteModel(content).evaluate(x_test, y_test)["accuracy"]                   # doctest: +SKIP
    0.975
"""

import os
import tempfile
import time

import numpy as np

MODES = ("float32", "dynamic", "float16", "int8")
# Calibration needs enough samples to see typical activation ranges, but more adds little.
MAX_CALIBRATION_SAMPLES = 500


class AlreadyQuantizedError(ValueError):
    """The model is quantized already; quantize the float model instead."""


def check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    return mode


def check_not_quantized(model):
    """Raise AlreadyQuantizedError for TFLite bytes, a Keras 3 model after model.quantize(), or a QAT model."""
    if isinstance(model, (bytes, bytearray)):
        raise AlreadyQuantizedError(
            "This is a TFLite flatbuffer, which cannot be quantized again; quantize the float Keras model instead."
        )
    for layer in _all_layers(model):
        policy = getattr(layer, "dtype_policy", None)
        mode = getattr(policy, "quantization_mode", None)
        if mode is not None:
            raise AlreadyQuantizedError(
                f"Layer {layer.name!r} of {model.name!r} is already quantized ({policy.name}). Post-training "
                "quantization needs the float32 model: quantize the model as it was before model.quantize()."
            )
        if type(layer).__name__ in ("QuantizeWrapper", "QuantizeWrapperV2", "QuantizeLayer"):
            raise AlreadyQuantizedError(
                f"{model.name!r} is a quantization-aware (TF-MOT) model already (layer {layer.name!r}); convert it "
                "with zoo.compress.qat.qat_tflite, which keeps its learned ranges, instead of quantizing it again."
            )


def representative_dataset(data, input_name, max_samples=MAX_CALIBRATION_SAMPLES):
    """A generator function the converter calls for calibration: one example at a time, as {input: batch of 1}."""
    if data is None:
        raise ValueError(
            "Full-integer int8 conversion needs representative data to calibrate activation ranges: pass "
            "representative_data= a few hundred typical inputs (e.g. x_train[:200]). Without data, use "
            "mode='dynamic' (int8 weights, float activations)."
        )
    data = np.asarray(data)
    if data.ndim == 0 or len(data) == 0:
        raise ValueError("representative_data is empty; pass a few hundred typical inputs (e.g. x_train[:200]).")
    data = data[:max_samples]

    def generate():
        for example in data:
            yield {input_name: example[None].astype(np.float32 if data.dtype.kind == "f" else data.dtype)}

    return generate


def quantize_tflite(
    model, mode="int8", representative_data=None, integer_io=False, max_samples=MAX_CALIBRATION_SAMPLES
):
    """TFLite bytes of a float model (Keras 3, or tf_keras from the bridge) quantized by `mode`.

    Args:
        model: a float32 Keras 3 model, or a tf_keras model from zoo.compress (stripped of pruning wrappers).
        mode: "float32", "dynamic", "float16" or "int8" (full integer; needs representative_data).
        representative_data: typical inputs (numpy array) for int8 calibration.
        integer_io: int8 inputs/outputs too (mode "int8" only); the interpreter then takes quantized values.
    """
    check_mode(mode)
    check_not_quantized(model)
    if integer_io and mode != "int8":
        raise ValueError("integer_io=True only applies to mode='int8'.")
    if mode == "int8" and representative_data is None:
        representative_dataset(None, "")  # raises the clear error before any tracing work
    with tempfile.TemporaryDirectory(prefix="zoo-ptq-") as folder:
        input_name = save_for_tflite(model, folder)
        return convert(folder, mode, representative_data, input_name, integer_io, max_samples)


def save_for_tflite(model, folder, batch_size=None):
    """Write a SavedModel with one `serving_default` signature (input -> "output"); returns the input name.

    Works for Keras 3 models (input named as zoo.export names it) and tf_keras models from the bridge.
    """
    import tensorflow as tf

    if _is_keras3(model):
        from zoo.export.signatures import input_specs

        name, spec = next(iter(input_specs(model, batch_size).items()))
    else:
        tensor = model.inputs[0]
        name = _clean(tensor.name.split(":")[0])
        spec = tf.TensorSpec((batch_size,) + tuple(tensor.shape[1:]), tensor.dtype, name=name)

    @tf.function(input_signature=[spec], autograph=False)
    def serve(x):
        return {"output": model(x, training=False)}

    concrete = serve.get_concrete_function()
    holder = tf.Module()
    # Track exactly the variables the graph reads, as zoo.export does for Keras 3 models.
    holder.serving_variables = list(concrete.variables)
    tf.saved_model.save(holder, folder, signatures={"serving_default": concrete})
    return name


def convert(
    saved_model_dir,
    mode,
    representative_data=None,
    input_name=None,
    integer_io=False,
    max_samples=MAX_CALIBRATION_SAMPLES,
    optimize=None,
    integer_only=True,
):
    """TFLite bytes from a SavedModel's serving_default signature, quantized by `mode`.

    `optimize=True` (QAT models) turns on the converter's optimizations without calibration data:
    the fake-quant ranges learned in training are used. `integer_only=False` lets layers left in
    float (QAT on some layers only) keep float kernels.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=["serving_default"])
    if mode != "float32" or optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        if representative_data is not None:
            converter.representative_dataset = representative_dataset(representative_data, input_name, max_samples)
        elif not optimize:
            representative_dataset(None, input_name)
        if integer_only:
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if integer_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    try:
        return converter.convert()
    except Exception as err:
        raise ValueError(
            f"TF's TFLite converter could not convert the model to {mode}: {type(err).__name__}: {err}\n"
            + ("Full-integer int8 needs every op to have an int8 kernel; try mode='dynamic'." if mode == "int8" else "")
        ) from err


class TFLiteModel:
    """A TFLite model loaded in ai_edge_litert's interpreter: predict, evaluate, time.

    Quantized int8 inputs/outputs are scaled with the file's own quantization parameters,
    so callers always pass and get float values.
    """

    def __init__(self, content, num_threads=1):
        from ai_edge_litert.interpreter import Interpreter

        if isinstance(content, (str, os.PathLike)):
            with open(content, "rb") as f:
                content = f.read()
        self.content = bytes(content)
        # One thread: latency then measures the kernels, not how busy the machine's other cores are.
        self.interpreter = Interpreter(model_content=self.content, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    @property
    def size_bytes(self):
        return len(self.content)

    def _run_one(self, example):
        value = example[None]
        scale, zero = self.input["quantization"]
        if self.input["dtype"] in (np.int8, np.uint8) and scale:
            value = np.round(value / scale + zero)
            info = np.iinfo(self.input["dtype"])
            value = np.clip(value, info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], value.astype(self.input["dtype"]))
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self.output["index"])
        scale, zero = self.output["quantization"]
        if self.output["dtype"] in (np.int8, np.uint8) and scale:
            out = (out.astype(np.float32) - zero) * scale
        return out[0]

    def predict(self, x):
        """Outputs for every example of x (run one at a time, as on a device)."""
        x = np.asarray(x)
        if x.ndim < 1 or len(x) == 0:
            raise ValueError("predict needs a non-empty batch of inputs.")
        return np.stack([self._run_one(example) for example in x])

    def evaluate(self, x, y):
        """{"accuracy"} of the class predictions against integer labels (or one-hot rows)."""
        y = np.asarray(y)
        labels = y.argmax(-1) if y.ndim > 1 else y
        predicted = self.predict(x).argmax(-1)
        return {"accuracy": float(np.mean(predicted == labels))}

    def latency_ms(self, x, repeats=50, warmup=5):
        """Median milliseconds per single-example call, over `repeats` calls."""
        x = np.asarray(x)
        for i in range(warmup):
            self._run_one(x[i % len(x)])
        times = []
        for i in range(repeats):
            start = time.perf_counter()
            self._run_one(x[i % len(x)])
            times.append((time.perf_counter() - start) * 1000.0)
        return float(np.median(times))


def _is_keras3(model):
    import keras

    return isinstance(model, keras.Model)


def _all_layers(model):
    if hasattr(model, "_flatten_layers"):
        return list(model._flatten_layers(include_self=False, recursive=True))
    return list(getattr(model, "layers", []))


def _clean(name):
    return "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "input"

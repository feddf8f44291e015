"""Export a zoo model to TFLite (LiteRT) and run it with `ai_edge_litert`'s interpreter.

The path: the serving SavedModel (same
signatures as for TF Serving) goes through TF's converter, `from_keras_model`
being broken for Keras 3 models. Only TFLite's built-in ops are allowed, so the
file runs with the plain `ai_edge_litert` runtime (no Select TF ops delegate).
A causal LM gets its `logits` signature; its `generate` loop stays on the
server. The batch dimension stays open where the converter can lower the graph
that way (the CNN, the GAN); the LSTM's TensorList loop and the LM's attention
mask slicing only lower with a known batch, so those files take a batch of 1
(on-device inference rarely batches), and the LM keeps any sequence length. Files land in `<output>/<name>/tflite/<version>/model.tflite` with the
same assets as the SavedModel; TF Serving ignores the non-numeric `tflite`
folder, so one `saved_models/<name>/` holds both.

Quantization: "none" (float32), "float16" (weights stored in float16, half the
size) or "dynamic" (int8 weights, float activations: about a quarter).

Example:
    >>> result = export_tflite("runs/train-cnn-20260101-120000")          # doctest: +SKIP
    >>> outputs = run_tflite(result.path, {"image": images})               # doctest: +SKIP
    >>> outputs["label"][:3]                                               # doctest: +SKIP
    array([7, 2, 1])
"""

import dataclasses
import os
import sys
import tempfile

import numpy as np
import tensorflow as tf

from zoo.data.atomic_files import writing_to
from zoo.export.reference import keras_outputs, max_differences, sample_inputs
from zoo.export.saved_model import build_serving_module, check_finite_weights, export_assets, resolve_source
from zoo.export.signatures import model_kind
from zoo.export.versions import check_model_name, check_version, versioned_folder, write_file_export

QUANTIZATIONS = ("none", "float16", "dynamic")
TFLITE_FILE = "model.tflite"
# Float32 TFLite kernels round differently from TF's; quantized weights move outputs further.
TOLERANCE = {"none": 1e-4, "float16": 1e-2, "dynamic": 5e-2}


@dataclasses.dataclass
class TFLiteResult:
    """Where a TFLite export went and how it compares with the Keras model."""

    path: str
    name: str
    version: int
    kind: str
    signatures: list
    quantization: str
    batch_size: object  # None: any batch; 1: one example per call
    max_abs_diff: dict
    size_bytes: int


def tflite_signatures(kind):
    """The signatures a TFLite file gets: the LM's `logits`, else `serving_default`."""
    return ["logits"] if kind == "causal_lm" else ["serving_default"]


def convert_saved_model(saved_model_dir, signature_keys, quantization="none"):
    """TFLite flatbuffer bytes of some signatures of a SavedModel, built-in ops only."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}.")
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=list(signature_keys))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except Exception as err:
        raise ValueError(
            f"TF's TFLite converter could not convert {saved_model_dir} with built-in ops only: {err}\n"
            "The model uses an op TFLite lacks; export it for TF Serving instead (--format saved_model)."
        ) from err


def run_tflite(model, inputs, signature_key=None):
    """Run one signature of a .tflite file (path or bytes) with ai_edge_litert; {output: numpy array}.

    Inputs may have any batch size: the signature runner resizes the input tensors.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=model) if isinstance(model, str) else Interpreter(model_content=model)
    signatures = interpreter.get_signature_list()
    key = signature_key or next(iter(signatures))
    if key not in signatures:
        raise ValueError(f"The TFLite model has no signature {key!r}; it has {sorted(signatures)}.")
    runner = interpreter.get_signature_runner(key)
    for name, detail in runner.get_input_details().items():
        fixed = detail["shape_signature"][0]
        given = np.shape(inputs.get(name, ()))[:1]
        if fixed > 0 and given and given[0] != fixed:
            raise ValueError(
                f"This TFLite file takes batches of {fixed} for {name!r} (its graph needs a known batch), "
                f"got {given[0]}; call it once per example."
            )
    return {name: np.asarray(value) for name, value in runner(**{k: np.asarray(v) for k, v in inputs.items()}).items()}


def check_tflite(content, model, kind, quantization, batch_size=None):
    """{signature: {output: max |keras - tflite|}} on sample inputs; float32 files must match closely."""
    report = {}
    for signature in tflite_signatures(kind):
        inputs = sample_inputs(model, kind, signature, batch=batch_size or 3)
        expected = keras_outputs(model, kind, signature, inputs)
        diffs = max_differences(expected, run_tflite(content, inputs, signature))
        report[signature] = diffs
        if quantization == "none":
            # Labels may only flip where two probabilities tie within rounding, so check the floats.
            worst = max(v for k, v in diffs.items() if np.issubdtype(np.asarray(expected[k]).dtype, np.floating))
            if worst > TOLERANCE["none"]:
                raise RuntimeError(
                    f"The TFLite {signature!r} signature differs from the Keras model by {worst:g} "
                    f"(allowed {TOLERANCE['none']}); the file was not published."
                )
    return report


def export_tflite(
    source, output="saved_models", name=None, version=None, quantization="none", tokenizer_dir=None, check=True
):
    """Export a run folder, .keras file or Keras model to `<output>/<name>/tflite/<version>/model.tflite`.

    Returns a `TFLiteResult`.
    """
    from zoo.parallel.backend import require_tensorflow

    require_tensorflow(
        "TFLite export",
        "The run folder is the same on both backends: export it from a TensorFlow process, "
        "e.g. `zoo export RUN` without --backend jax or KERAS_BACKEND=jax.",
    )
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}.")
    source = resolve_source(source, name, tokenizer_dir)
    check_model_name(source.name)
    if version is not None:
        check_version(version)
    model = source.model
    check_finite_weights(model)
    kind = model_kind(model)
    assets, _ = export_assets(source, kind)
    signatures = tflite_signatures(kind)
    try:
        content, batch_size = _convert_model(model, kind, signatures, quantization, None), None
    except ValueError:
        # The converter has printed its own errors above; say why they do not end the export.
        print(
            "zoo export: this graph does not lower to TFLite with an open batch size; "
            "converting again with a batch of 1.",
            file=sys.stderr,
        )
        content, batch_size = _convert_model(model, kind, signatures, quantization, 1), 1
    report = check_tflite(content, model, kind, quantization, batch_size) if check else {}
    with (
        versioned_folder(os.path.join(output, source.name), "tflite", version) as (tmp, version),
        writing_to(os.path.join(output, source.name, "tflite", str(version))),
    ):
        write_file_export(
            tmp,
            TFLITE_FILE,
            content,
            assets,
            {
                "name": source.name,
                "version": version,
                "kind": kind,
                "format": "tflite",
                "quantization": quantization,
                "batch_size": batch_size,
                "signatures": signatures,
                "source": source.path,
                "max_abs_diff_vs_keras": report,
                "tensorflow_version": tf.__version__,
            },
        )
    path = os.path.join(output, source.name, "tflite", str(version), TFLITE_FILE)
    return TFLiteResult(path, source.name, version, kind, signatures, quantization, batch_size, report, len(content))


def _convert_model(model, kind, signatures, quantization, batch_size):
    root, concrete = build_serving_module(model, kind, batch_size=batch_size)
    with tempfile.TemporaryDirectory(prefix="zoo-tflite-") as staging:
        tf.saved_model.save(root, staging, signatures={k: concrete[k] for k in signatures})
        return convert_saved_model(staging, signatures, quantization)

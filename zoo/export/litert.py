"""Export with Keras 3.15's own `model.export(format="litert")`, falling back to zoo's converter.

Keras' LiteRT export traces the model's `call` into a SavedModel and runs TF's
converter on it: the file has one `serving_default` signature whose inputs are
the model's own inputs and whose output is its raw output (`output_0`; the
CNN's probabilities, not zoo's `label`/`probabilities` pair). zoo asks it for
TFLite built-in ops only, so the file runs with the plain `ai_edge_litert`
runtime. It is tried with an open batch, then with a batch of 1 (the LSTM's
loop lowers only with a known batch); the file is published only when its
outputs match the Keras model's on sample inputs. Where Keras' export cannot
lower the graph (a zoo causal LM: its attention mask slicing needs zoo's
serving graph) or does not match, `zoo.export.tflite.export_tflite` (zoo's
SavedModel signatures + TF's converter) writes the file instead, and the
summary says which engine wrote it and why.

Files land where `--format tflite` puts them: `<output>/<name>/tflite/<version>/model.tflite`.

Example:
    >>> result = export_litert("runs/train-cnn-20260101-120000")   # doctest: +SKIP
    >>> result.engine                                               # doctest: +SKIP
    'keras'
"""

import dataclasses
import os
import sys
import tempfile

import numpy as np

from zoo.export.signatures import input_structure
from zoo.export.tflite import QUANTIZATIONS, TFLITE_FILE, TOLERANCE, export_tflite

ENGINE_KERAS = "keras"
ENGINE_ZOO = "zoo converter"


@dataclasses.dataclass
class LiteRTResult:
    """Where a LiteRT export went, which engine wrote it, and how it compares with the Keras model."""

    path: str
    name: str
    version: int
    kind: str
    engine: str
    signatures: list
    quantization: str
    batch_size: object  # None: any batch; 1: one example per call
    max_abs_diff: dict
    size_bytes: int
    fallback_reason: str = ""


def keras_litert_bytes(model, quantization="none", batch_size=None):
    """TFLite bytes from `model.export(format="litert")`, built-in ops only; batch None = open, or fixed.

    Raises whatever the converter raises when the graph does not lower.
    """
    import keras
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}.")
    target_spec = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    kwargs = {}
    if quantization != "none":
        kwargs["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        target_spec["supported_types"] = [tf.float16]
    signature = None
    if batch_size is not None:
        structure = input_structure(model)
        if isinstance(structure, dict):
            signature = [
                {k: keras.InputSpec(shape=(batch_size, *t.shape[1:]), dtype=t.dtype) for k, t in structure.items()}
            ]
        else:
            tensors = structure if isinstance(structure, (list, tuple)) else [structure]
            signature = [keras.InputSpec(shape=(batch_size, *t.shape[1:]), dtype=t.dtype) for t in tensors]
    with tempfile.TemporaryDirectory(prefix="zoo-litert-") as folder:
        path = os.path.join(folder, TFLITE_FILE)
        model.export(path, format="litert", verbose=False, input_signature=signature, target_spec=target_spec, **kwargs)
        with open(path, "rb") as f:
            return f.read()


def model_inputs(model, kind, batch, seed=0):
    """[numpy array per model input] of valid sample inputs (ids inside the vocabulary, images in [0, 1])."""
    from zoo.export.reference import sample_inputs

    if kind == "causal_lm":
        rng = np.random.default_rng(seed)
        ids = rng.integers(1, model.llm_config.vocab_size, (batch, min(8, model.llm_config.max_length)))
        return [ids.astype("int32"), np.ones_like(ids, dtype="int32")]
    return list(sample_inputs(model, kind, "serving_default", batch=batch, seed=seed).values())


def compare_with_keras(content, model, kind, batch):
    """max |keras - litert| of the file's `serving_default` on sample inputs."""
    from ai_edge_litert.interpreter import Interpreter

    arrays = model_inputs(model, kind, batch)
    structure = input_structure(model)
    keras_in = dict(zip(structure.keys(), arrays)) if isinstance(structure, dict) else arrays
    expected = np.asarray(model(keras_in if isinstance(keras_in, dict) else keras_in[0], training=False))
    runner = Interpreter(model_content=content).get_signature_runner("serving_default")
    names = list(runner.get_input_details())
    if isinstance(structure, dict) and set(names) == set(structure):
        feed = {name: keras_in[name] for name in names}
    elif isinstance(structure, dict):
        # Keras names a dict input's parts args_0, args_0_1, ... in the order tree.flatten gives: sorted keys.
        feed = dict(zip(names, (keras_in[key] for key in sorted(structure))))
    else:
        feed = dict(zip(names, arrays))
    outputs = runner(**feed)
    got = np.asarray(next(iter(outputs.values())))
    return float(np.max(np.abs(got.astype("float64") - expected.astype("float64"))))


def export_litert(
    source, output="saved_models", name=None, version=None, quantization="none", tokenizer_dir=None, check=True
):
    """Export with `model.export(format="litert")` where it lowers and matches, else with zoo's converter.

    Returns a `LiteRTResult` (engine "keras" or "zoo converter", with the reason for the fallback).
    """
    from zoo.export.saved_model import export_assets, resolve_source
    from zoo.export.signatures import model_kind
    from zoo.export.versions import check_model_name, check_version, versioned_folder, write_file_export

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}.")
    resolved = resolve_source(source, name, tokenizer_dir)
    check_model_name(resolved.name)
    if version is not None:
        check_version(version)
    model, kind = resolved.model, model_kind(resolved.model)
    content, batch_size, diff, reasons = None, None, None, []
    for batch_size in (None, 1):
        try:
            content = keras_litert_bytes(model, quantization, batch_size)
        except Exception as err:  # the converter raises several error types; each means "does not lower"
            reasons.append(f"batch {batch_size or 'open'}: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
            content = None
            continue
        diff = compare_with_keras(content, model, kind, batch_size or 3) if check else None
        if diff is not None and diff > TOLERANCE[quantization]:
            reasons.append(f"batch {batch_size or 'open'}: outputs differ from Keras by {diff:g}")
            content = None
            continue
        break
    if content is None:
        print(
            "zoo export: Keras' LiteRT export did not give a matching file for this model; "
            "using zoo's converter instead.",
            file=sys.stderr,
        )
        result = export_tflite(resolved, output, version=version, quantization=quantization, check=check)
        return LiteRTResult(
            **{f.name: getattr(result, f.name) for f in dataclasses.fields(result)},
            engine=ENGINE_ZOO,
            fallback_reason="; ".join(reasons),
        )
    assets, _ = export_assets(resolved, kind)
    report = {"serving_default": {"output_0": diff}} if diff is not None else {}
    with versioned_folder(os.path.join(output, resolved.name), "tflite", version) as (tmp, version):
        write_file_export(
            tmp,
            TFLITE_FILE,
            content,
            assets,
            {
                "name": resolved.name,
                "version": version,
                "kind": kind,
                "format": "litert",
                "engine": ENGINE_KERAS,
                "quantization": quantization,
                "batch_size": batch_size,
                "signatures": ["serving_default"],
                "source": resolved.path,
                "max_abs_diff_vs_keras": report,
            },
        )
    path = os.path.join(output, resolved.name, "tflite", str(version), TFLITE_FILE)
    return LiteRTResult(
        path,
        resolved.name,
        version,
        kind,
        ENGINE_KERAS,
        ["serving_default"],
        quantization,
        batch_size,
        report,
        len(content),
        "; ".join(reasons),
    )

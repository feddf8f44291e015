"""Keras 3 weight quantization (`model.quantize("int8")` / `"int4"`) for zoo's LLMs and the CNN.

TF-MOT cannot quantize a transformer, but Keras 3 can: `model.quantize(mode)`
replaces the float kernels of every `Dense`, `EinsumDense`, `Embedding` (and
`ReversibleEmbedding`) layer by int8 or packed int4 values plus per-channel
scales. In a zoo LLM that reaches the fused QKV and output projections of every
attention layer, both feed-forward layers and the tied token table (which is
also the output projection); LayerNormalization, the learned position table and
Conv2D layers have no quantized form and stay float32 (`quantize_model` lists them).

Three things this module adds to the bare Keras call:

- a `.keras` round trip for zoo LLMs. A zoo backbone rebuilds its layers from
  its LLMConfig, so the per-layer quantized dtype policies would be lost on
  load. Keras' answer (the one keras-hub uses) is a `DTypePolicyMap` from layer
  path to policy as the backbone's dtype: every layer built under it looks up
  its own path and builds int8/int4 variables, so `keras.saving.load_model`
  restores the quantized model as it was.
- a clear error when a model is quantized twice (Keras would fail inside one layer).
- measurements: perplexity on held-out windows and the `.keras` size (raw and gzipped).

Example:
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny", num_layers=1)
    >>> report = quantize_model(model, "int8")
    >>> sorted(report["quantized"])[:2]
    ['block_0/ffn_in', 'block_0/ffn_out']
"""

import gzip
import math
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

MODES = ("int8", "int4")


def quantized_layers(model):
    """{layer path: quantization mode} of the layers of `model` that hold quantized weights."""
    found = {}
    for layer in model._flatten_layers(include_self=False):
        mode = getattr(layer, "quantization_mode", None)
        if mode is not None:
            found[layer.path or layer.name] = mode
    return found


def is_quantized(model):
    """True when any layer of `model` already holds int8/int4 weights."""
    return bool(quantized_layers(model))


def check_mode(mode):
    """Raise a ValueError naming the supported modes unless `mode` is one of them."""
    if mode not in MODES:
        raise ValueError(f"Unknown quantization mode {mode!r}. Choose one of: {', '.join(MODES)}.")
    return mode


def quantize_model(model, mode="int8"):
    """Quantize the weights of a built Keras model in place with `model.quantize(mode)`.

    Returns a report: {"mode", "quantized": [layer paths], "kept_float": [paths of
    layers with weights that have no quantized form]}. A zoo LLM also gets a
    `DTypePolicyMap` on its backbone, so `model.save()` then `load_llm()` gives
    back the quantized model.

    Raises ValueError for an unknown mode, an unbuilt model, or a model that is
    already quantized (quantize the float model instead).

    Example:
        >>> from zoo import build_cnn
        >>> report = quantize_model(build_cnn(), "int8")   # the two Dense layers
        >>> len(report["quantized"]), len(report["kept_float"])   # Dense x2 quantized, Conv2D x3 kept
        (2, 3)
    """
    import keras

    check_mode(mode)
    if not model.built:
        raise ValueError("Build the model before quantizing it (call it once on a batch, or load a trained one).")
    already = quantized_layers(model)
    if already:
        modes = sorted(set(already.values()))
        raise ValueError(
            f"The model is already quantized ({', '.join(modes)} on {len(already)} layers, e.g. "
            f"{next(iter(already))!r}); quantizing twice would lose precision again. Quantize the float32 "
            "model instead (load the .keras file saved before quantization)."
        )
    if getattr(model, "compute_dtype", "float32") == "float16" and mode == "int8":
        raise ValueError("int8 quantization does not work with a float16 compute dtype; use float32 or mixed_bfloat16.")
    with warnings.catch_warnings():
        # Keras warns once per layer without a quantized form (LayerNorm, Dropout, Conv2D...);
        # the report lists those layers instead.
        warnings.filterwarnings("ignore", message=".*does not have a `quantize` method.*")
        model.quantize(mode)
    done = quantized_layers(model)
    kept = [
        layer.path or layer.name
        for layer in model._flatten_layers(include_self=False)
        if layer.weights
        and not list(layer._flatten_layers(include_self=False))
        and getattr(layer, "quantization_mode", None) is None
    ]
    backbone = getattr(model, "backbone", None)
    if backbone is not None and done:
        # Record every quantized layer's policy on the backbone: its get_config stores its dtype,
        # and layers rebuilt under a DTypePolicyMap pick their own policy by path on load.
        policy_map = keras.dtype_policies.DTypePolicyMap(default_policy=backbone.dtype_policy.name)
        for layer in model._flatten_layers(include_self=False):
            if getattr(layer, "quantization_mode", None) is not None:
                policy_map[layer.path] = layer.dtype_policy
        backbone.dtype_policy = policy_map
    return {"mode": mode, "quantized": sorted(done), "kept_float": kept}


def perplexity(model, inputs, labels, batch_size=16):
    """exp(mean next-token cross-entropy) of a causal LM on token windows.

    inputs, labels: int arrays [n, t] (labels = inputs shifted by one). Logits are
    computed a batch at a time, so a large vocabulary never needs all of them in memory.

    Example:
        >>> import numpy as np
        >>> from zoo.llm import build_llm
        >>> ids = np.random.default_rng(0).integers(0, 512, (4, 9))
        >>> perplexity(build_llm("causal", "tiny"), ids[:, :-1], ids[:, 1:]) > 100   # untrained: ~vocab size
        True
    """
    return math.exp(min(mean_cross_entropy(model, inputs, labels, batch_size), 50.0))


def mean_cross_entropy(model, inputs, labels, batch_size=16):
    """Mean next-token cross-entropy (nats/token) of a causal LM on token windows [n, t]."""
    inputs = np.asarray(inputs, dtype="int32")
    labels = np.asarray(labels, dtype="int64")
    if inputs.ndim != 2 or inputs.shape != labels.shape or len(inputs) == 0:
        raise ValueError(
            f"inputs and labels must be non-empty [n, t] arrays of one shape, got {inputs.shape} and {labels.shape}."
        )
    total, count = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        x = inputs[start : start + batch_size]
        logits = np.asarray(model.predict_on_batch({"token_ids": x, "padding_mask": np.ones_like(x)}), dtype="float64")
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        y = labels[start : start + batch_size]
        total -= np.take_along_axis(log_probs, y[..., None], axis=-1).sum()
        count += y.size
    return total / count


def file_sizes(path):
    """(raw bytes, gzip bytes) of a file; gzip shows what weight sharing or sparsity save on disk."""
    with open(path, "rb") as handle:
        data = handle.read()
    return len(data), len(gzip.compress(data, compresslevel=9))


def saved_sizes(model):
    """(raw bytes, gzip bytes) of `model` saved as a .keras file (written to a temporary folder).

    A compiled model that has trained also saves its optimizer state (twice the weights for
    Adam); compare models loaded with compile=False to compare weights alone.
    """
    folder = tempfile.mkdtemp(prefix="zoo-size-")
    try:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        return file_sizes(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def latency_ms(model, batch, repeats=10):
    """Median milliseconds of one `predict_on_batch` call (after a warm-up call)."""
    model.predict_on_batch(batch)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict_on_batch(batch)
        times.append((time.perf_counter() - started) * 1000.0)
    return float(np.median(times))


def quantize_llm_file(float_path, mode, out_path, inputs=None, labels=None, batch_size=16):
    """Load a float zoo LLM from `float_path`, quantize it, save it to `out_path` and check the round trip.

    Returns {"mode", "quantized", "kept_float", "size_bytes", "gzip_bytes",
    "roundtrip_max_abs_diff", and "perplexity" when windows are given}. The
    round trip loads `out_path` again and compares its logits on a batch with
    the in-memory quantized model's.

    Example:
        >>> result = quantize_llm_file("runs/x/model.keras", "int8", "runs/x/model-int8.keras")  # doctest: +SKIP
    """
    from zoo.llm import load_llm
    from zoo.runs import save_model_atomic

    if not os.path.isfile(float_path):
        raise FileNotFoundError(f"No model file at {float_path}; give the .keras file of a trained zoo LLM.")
    model = load_llm(float_path, compile=False)
    report = quantize_model(model, mode)
    save_model_atomic(model, out_path)
    size, gz = file_sizes(out_path)
    probe = _probe_batch(model, inputs)
    reloaded = load_llm(out_path, compile=False)
    diff = float(
        np.max(np.abs(np.asarray(model.predict_on_batch(probe)) - np.asarray(reloaded.predict_on_batch(probe))))
    )
    result = {**report, "size_bytes": size, "gzip_bytes": gz, "roundtrip_max_abs_diff": diff}
    if inputs is not None:
        result["perplexity"] = perplexity(reloaded, inputs, labels, batch_size)
    return result


def _probe_batch(model, inputs):
    if inputs is not None:
        x = np.asarray(inputs[:2], dtype="int32")
    else:
        config = model.llm_config
        x = np.arange(2 * min(8, config.max_length), dtype="int32").reshape(2, -1) % config.vocab_size
    return {"token_ids": x, "padding_mask": np.ones_like(x)}

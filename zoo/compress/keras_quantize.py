"""Keras 3 weight quantization (`model.quantize(mode)`) for zoo's LLMs and the CNN.

TF-MOT cannot quantize a transformer, but Keras 3 can: `model.quantize(mode)`
replaces the float kernels of every `Dense`, `EinsumDense`, `Embedding` (and
`ReversibleEmbedding`) layer by int8 or packed int4 values plus per-channel
scales. In a zoo LLM that reaches the fused QKV and output projections of every
attention layer, both feed-forward layers and the tied token table (which is
also the output projection); LayerNormalization, the learned position table and
Conv2D layers have no quantized form and stay float32 (`quantize_model` lists them).

Keras 3.15 has five modes, all offered here:

- "int8", "int4": round-to-nearest, one scale per output channel (absmax); no data needed.
- "float8": Keras' float8 *training* mode (e4m3 weights, e5m2 gradients, delayed scaling).
  It keeps the float32 kernel and adds scale/history variables, so the file grows; it is
  there to fine-tune in float8 on hardware that has it, not to shrink a model on a CPU.
- "gptq" (Frantar et al. 2022): 4-bit weights chosen column by column so that the layer's
  *outputs* on calibration data change least (the inverse Hessian of the layer's inputs
  spreads each column's rounding error over the columns not yet rounded).
- "awq" (Lin et al. 2023): 4-bit weights after scaling the input channels that carry large
  activations up (and the activations down), so their weights lose less to rounding.

GPTQ and AWQ need calibration token windows (`calibration=`: the built-in corpus's
training windows in the recipe) and the model's layout: the embedding, then the blocks
one after another (`quantization_structure`); each block is quantized on the outputs of
the already-quantized blocks before it. They reach the Dense/EinsumDense layers inside
the blocks; the token table stays float32.

What this module adds to the bare Keras call:

- three repairs of Keras 3.15, each measured on zoo's `tiny` LM and pinned by a test:
  GPTQ/AWQ calibration that actually sees the data (`calibration_through_call`: Keras' hook
  never fired, so both rounded to nearest), GPTQ's error feedback through the Cholesky factor
  of H^-1 as in the paper (`gptq_cholesky_error_feedback`), and a straight-through gradient
  for the int8 tied output projection (`straight_through_int8_output`: without it nothing
  below that layer trains, e.g. QLoRA on an int8 base).

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

import contextlib
import gzip
import math
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

MODES = ("int8", "int4", "float8", "gptq", "awq")
# Modes that fit weights to calibration data (Keras quantizes block by block, layer by layer).
CALIBRATED_MODES = ("gptq", "awq")
# Keras 3.15 loads a GPTQ/AWQ layer uncalibrated and only marks it calibrated when its weights
# arrive; a zoo backbone calls its layers while it is rebuilt, before that, and the uncalibrated
# path needs a float kernel the file does not hold. So these files save but do not load again.
RELOADABLE_MODES = ("int8", "int4", "float8")


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


def quantization_structure(model):
    """The layout GPTQ/AWQ walk through for a zoo causal LM: {"pre_block_layers", "sequential_blocks"}.

    Keras runs the calibration ids through `pre_block_layers` (the embeddings: token plus
    position), then quantizes each block on its inputs and feeds its outputs to the next.

    Example:
        >>> from zoo.llm import build_llm
        >>> len(quantization_structure(build_llm("causal", "tiny", num_layers=2))["sequential_blocks"])
        2
    """
    backbone = getattr(model, "backbone", None)
    blocks = getattr(backbone, "blocks", None)
    if not blocks or getattr(backbone.llm_config, "reversible", False):
        raise ValueError(
            "GPTQ and AWQ quantize a causal LM block by block; this model has no plain stack of blocks "
            "(use int8 or int4 for it)."
        )
    return {"pre_block_layers": [backbone.embeddings], "sequential_blocks": list(blocks)}


@contextlib.contextmanager
def calibration_through_call(structure):
    """While Keras runs GPTQ/AWQ, send each not-yet-calibrated Dense/EinsumDense layer through its `call`.

    Keras 3.15 collects the calibration statistics (GPTQ's Hessians, AWQ's activation maxima) by
    wrapping each layer's `call` (`gptq_core.stream_hessians`, `awq_core.stream_activations`), but
    `model.quantize` has already switched the layers to the gptq/awq mode by then, and
    `Operation.__call__` sends a layer with a quantization mode to `quantized_call`, never to
    `call`. The hook never ran: every Hessian stayed zero and both modes fell back to plain
    round-to-nearest. Until a layer is calibrated, its `quantized_call` (`_gptq_call`/`_awq_call`)
    computes exactly what `call` does (inputs @ float kernel + bias), so routing it through
    `call` changes no output and lets the hook see the inputs. Calibrated layers keep Keras'
    quantized path (the next block's inputs come from the quantized blocks, as GPTQ/AWQ intend).
    The per-layer override is removed on exit.

    Example:
        >>> with calibration_through_call(quantization_structure(model)):   # doctest: +SKIP
        ...     model.quantize("gptq", config=config)
    """
    import keras

    layers = [
        leaf
        for block in structure["sequential_blocks"]
        for leaf in block._flatten_layers(include_self=True)
        if isinstance(leaf, (keras.layers.Dense, keras.layers.EinsumDense))
    ]

    def route(layer):
        quantized_call = type(layer).quantized_call

        def call_until_calibrated(*args, **kwargs):
            if getattr(layer, "is_gptq_calibrated", False) or getattr(layer, "is_awq_calibrated", False):
                return quantized_call(layer, *args, **kwargs)
            return layer.call(*args, **kwargs)  # the instance attribute: Keras' hook while it is installed

        return call_until_calibrated

    for layer in layers:
        layer.quantized_call = route(layer)
    try:
        yield layers
    finally:
        for layer in layers:
            layer.__dict__.pop("quantized_call", None)


@contextlib.contextmanager
def gptq_cholesky_error_feedback():
    """While Keras runs GPTQ, hand its column loop the Cholesky factor of H^-1 (as the GPTQ paper does), not H^-1.

    After rounding column j, GPTQ moves the rounding error onto the columns not yet rounded with
    the optimal (Optimal Brain Surgeon) update, which needs the inverse Hessian of *those*
    columns only. The paper gets every such row at once from the upper Cholesky factor U of
    H^-1 (H^-1 = U^T U): row j of U divided by U[j, j]. Keras 3.15's `gptq_quantize_matrix` runs
    that loop on the plain inverse, whose row j still couples column j to the columns already
    rounded; that is right for the first column only. Giving the same loop U (same groups, same
    rounding) makes it the paper's algorithm. Measured on zoo's `tiny` LM: each layer's output
    error on the calibration windows drops 2.7-10x below round-to-nearest, against 1.0-2.3x
    with the plain inverse (which, on a 1-block test model, even lost to rounding on one layer).
    Keras permutes H^-1 inside the loop for `activation_order`, which zoo does not use; that
    case is passed through unchanged.

    Example:
        >>> with gptq_cholesky_error_feedback():   # doctest: +SKIP
        ...     model.quantize("gptq", config=config)
    """
    from keras import ops
    from keras.src.quantizers import gptq as keras_gptq

    plain = keras_gptq.gptq_quantize_matrix

    def with_cholesky_factor(weights_transpose, inv_hessian, *args, activation_order=False, **kwargs):
        if not activation_order:
            inv_hessian = ops.transpose(ops.linalg.cholesky(inv_hessian))  # upper U, H^-1 = U^T U
        return plain(weights_transpose, inv_hessian, *args, activation_order=activation_order, **kwargs)

    keras_gptq.gptq_quantize_matrix = with_cholesky_factor
    try:
        yield
    finally:
        keras_gptq.gptq_quantize_matrix = plain


def straight_through_int8_output(model):
    """Give the int8 output projection of a zoo LLM (its tied token table, called in reverse) a correct gradient.

    Keras 3.15's int8 `ReversibleEmbedding` quantizes the hidden states per token before its
    reverse (output) projection, with `round` and a cast to int8 and no custom gradient. Unlike
    Keras' int8 Dense layers, whose `_int8_call` passes the gradient straight through the input
    rounding, the reverse projection then hands back a gradient only through each token's
    abs-max scale: every weight below it (LoRA adapters, LayerNorms) trains on noise. Measured on
    the `tiny` LM: the adapters' gradients had cosine ~0 with the float model's, and QLoRA on an
    int8 base diverged (perplexity 444 after 60 steps). This replaces the layer's reverse int8
    call (same forward: per-token int8 inputs, int8 table, one scale each) by one whose input
    gradient is upstream @ dequantized table, as Keras does for Dense; it also adds a LoRA
    adapter on a tied table to the logits, as the float reverse call does. A no-op unless the
    token table is int8; returns True when it installed the call.

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("causal", "tiny", num_layers=1)
        >>> straight_through_int8_output(model)   # float table: nothing to do
        False
    """
    from keras import ops

    backbone = getattr(model, "backbone", None)
    layer = getattr(backbone, "token_embedding", None)
    if getattr(layer, "quantization_mode", None) != "int8" or "_int8_call" in vars(layer):
        return False
    plain = type(layer)._int8_call

    @ops.custom_gradient
    def project(inputs, kernel, scale):
        def grad_fn(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            float_kernel = ops.divide(ops.cast(kernel, layer.compute_dtype), scale)
            return ops.matmul(upstream, ops.transpose(float_kernel)), None, None

        inputs_scale = ops.ones((1,), dtype=layer.compute_dtype)
        if layer.inputs_quantizer:
            inputs, inputs_scale = layer.inputs_quantizer(inputs)
        logits = ops.cast(ops.matmul(inputs, kernel), layer.compute_dtype)
        return ops.divide(logits, ops.multiply(inputs_scale, scale)), grad_fn

    def int8_call(inputs, reverse=False):
        if not reverse:
            return plain(layer, inputs)
        if layer.tie_weights:
            kernel, scale = ops.transpose(layer._embeddings), layer.embeddings_scale
        else:
            kernel, scale = layer.reverse_embeddings, layer.reverse_embeddings_scale
        logits = project(inputs, ops.convert_to_tensor(kernel), ops.convert_to_tensor(scale))
        if layer.lora_enabled and layer.tie_weights:
            # x (A B)^T = (x B^T) A^T: the adapter's share of the tied output projection.
            lora = ops.matmul(
                ops.matmul(inputs, ops.transpose(layer.lora_embeddings_b)), ops.transpose(layer.lora_embeddings_a)
            )
            logits = ops.add(logits, (layer.lora_alpha / layer.lora_rank) * lora)
        if layer.logit_soft_cap is not None:
            logits = ops.multiply(ops.tanh(ops.divide(logits, layer.logit_soft_cap)), layer.logit_soft_cap)
        return logits

    layer._int8_call = int8_call
    return True


def _already_tokenized(text):
    raise ValueError("Calibration data for GPTQ/AWQ must be token ids (windows of the corpus), not text.")


def calibration_config(model, mode, calibration, num_samples=128, group_size=128):
    """The keras.quantizers.GPTQConfig / AWQConfig for `mode`: 4-bit weights, calibrated on token windows.

    calibration: int array [n, t] of token ids (e.g. training windows); `num_samples` windows of
    length t are taken from it. group_size: input rows that share one scale (128, the papers' setting;
    Keras 3.15 builds a wrong scale shape for per-channel (-1) GPTQ on an attention output projection).

    Example:
        >>> import numpy as np
        >>> from zoo.llm import build_llm
        >>> config = calibration_config(build_llm("causal", "tiny"), "gptq", np.zeros((4, 16), "int32"))
        >>> config.weight_bits, config.sequence_length
        (4, 16)
    """
    import keras

    calibration = np.asarray(calibration)
    if calibration.ndim != 2 or calibration.size == 0 or not np.issubdtype(calibration.dtype, np.integer):
        raise ValueError(
            f"{mode} needs calibration token ids as an [n, t] integer array (e.g. training windows), "
            f"got shape {calibration.shape} of {calibration.dtype}."
        )
    common = dict(
        dataset=calibration,
        tokenizer=_already_tokenized,
        weight_bits=4,
        num_samples=int(min(num_samples, len(calibration))),
        sequence_length=int(calibration.shape[1]),
        group_size=group_size,
        quantization_layer_structure=quantization_structure(model),
    )
    if mode == "gptq":
        return keras.quantizers.GPTQConfig(**common)
    return keras.quantizers.AWQConfig(**common)


def quantize_model(model, mode="int8", calibration=None, num_samples=128):
    """Quantize the weights of a built Keras model in place with `model.quantize(mode)`.

    mode: one of MODES. "gptq" and "awq" also need `calibration`, token windows [n, t]
    (see `calibration_config`); the others ignore it.

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
    config = None
    if mode in CALIBRATED_MODES:
        if calibration is None:
            raise ValueError(f"{mode} fits the weights to data: pass calibration=<token windows [n, t]>.")
        config = calibration_config(model, mode, calibration, num_samples=num_samples)
    with warnings.catch_warnings():
        # Keras warns once per layer without a quantized form (LayerNorm, Dropout, Conv2D...) and,
        # for float8/GPTQ/AWQ, once per layer whose mode it skips; the report lists those layers instead.
        warnings.filterwarnings("ignore", message=".*does not have a `quantize` method.*")
        warnings.filterwarnings("ignore", message=".*Invalid quantization mode.*")
        with contextlib.ExitStack() as fixes:
            if config is not None:
                fixes.enter_context(calibration_through_call(config.quantization_layer_structure))
            if mode == "gptq":
                fixes.enter_context(gptq_cholesky_error_feedback())
            model.quantize(mode, config=config)
    done = quantized_layers(model)
    if mode == "int8":
        straight_through_int8_output(model)
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


def quantize_llm_file(float_path, mode, out_path, inputs=None, labels=None, batch_size=16, calibration=None):
    """Load a float zoo LLM from `float_path`, quantize it, save it to `out_path` and check the round trip.

    Returns {"mode", "quantized", "kept_float", "size_bytes", "gzip_bytes",
    "roundtrip_max_abs_diff", "model", and "perplexity" when windows are given}. The
    round trip loads `out_path` again and compares its logits on a batch with
    the in-memory quantized model's; "model" is the reloaded model. GPTQ and AWQ
    files do not load again in Keras 3.15 (see RELOADABLE_MODES): their
    "roundtrip_max_abs_diff" is None and "model" is the in-memory one.
    calibration: token windows for "gptq"/"awq" (see `quantize_model`).

    Example:
        >>> result = quantize_llm_file("runs/x/model.keras", "int8", "runs/x/model-int8.keras")  # doctest: +SKIP
    """
    from zoo.llm import load_llm
    from zoo.runs import save_model_atomic

    if not os.path.isfile(float_path):
        raise FileNotFoundError(f"No model file at {float_path}; give the .keras file of a trained zoo LLM.")
    model = load_llm(float_path, compile=False)
    report = quantize_model(model, mode, calibration=calibration)
    save_model_atomic(model, out_path)
    size, gz = file_sizes(out_path)
    if mode in RELOADABLE_MODES:
        probe = _probe_batch(model, inputs)
        reloaded = load_llm(out_path, compile=False)
        diff = float(
            np.max(np.abs(np.asarray(model.predict_on_batch(probe)) - np.asarray(reloaded.predict_on_batch(probe))))
        )
    else:
        reloaded, diff = model, None
    result = {**report, "size_bytes": size, "gzip_bytes": gz, "roundtrip_max_abs_diff": diff, "model": reloaded}
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

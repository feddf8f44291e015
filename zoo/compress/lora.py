"""LoRA: fine-tune a zoo LLM through small low-rank adapters while its weights stay frozen.

Hu et al. (2021): a fine-tuning update of a weight matrix has low rank, so
instead of W learn W + (alpha / r) A B with A (m x r) and B (r x n), B starting
at zero (the model starts exactly where it was). Keras 3 builds this into its
`Dense`, `EinsumDense` and `Embedding` layers: `layer.enable_lora(rank)` adds
the two factors as trainable weights and freezes the kernel. In a zoo LLM the
targets are

- "attention": each block's fused `qkv` and `output` projections (keras Dense),
- "ffn": each block's `ffn_in` and `ffn_out` (keras Dense),
- "embedding": the token table (a keras `ReversibleEmbedding`, i.e. an
  Embedding; tied, so its adapter also changes the output projection).

Everything else (LayerNorms, biases, position table) is frozen too, so only
the adapters train. Saving merges them: Keras writes W + (alpha / r) A B as the
kernel, so the `.keras` file loads as a plain zoo LLM of the original size.

QLoRA (Dettmers et al. 2023) is the same with the frozen base quantized first:
`enable_lora(model, base_quantize="int4")` calls `model.quantize("int4")` (or
"int8"), then adds float32 adapters; Keras' quantized Dense/EinsumDense layers
take adapters and dequantize the kernel in the forward pass. The frozen weights
then take a quarter (int8) or an eighth (int4) of their float32 bytes while the
adapters learn in float32; saving merges the update and quantizes the result again.
On an int8 base the tied output projection also gets a straight-through gradient
(`keras_quantize.straight_through_int8_output`): Keras 3.15's int8 reverse call passes
back almost nothing, and QLoRA on int8 diverged without it.
(The paper's NF4 data type and double quantization are not in Keras: this is
plain int4/int8 with per-channel scales.) `weight_bytes` is the memory measure.

Example:
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny")
    >>> report = enable_lora(model, rank=4)
    >>> report["trainable_params"] < report["total_params"] / 10
    True
"""

import os
import shutil
import tempfile

import keras

TARGETS = ("attention", "ffn", "embedding")


def lora_layers(model, targets=("attention", "ffn")):
    """[(path, layer)] of the layers of a zoo LLM that LoRA adapts for the given target groups."""
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown or not targets:
        raise ValueError(f"Unknown LoRA target(s) {unknown or list(targets)}; choose from {', '.join(TARGETS)}.")
    backbone = getattr(model, "backbone", None)
    blocks = getattr(backbone, "blocks", None)
    if not blocks:
        raise ValueError(
            f"LoRA here adapts zoo causal/encoder LLMs (model.backbone.blocks), got {type(model).__name__}."
        )
    found = []
    if "embedding" in targets:
        found.append(backbone.token_embedding)
    for block in blocks:
        attention = block.self_attention
        if "attention" in targets:
            for name in ("qkv_dense", "query_dense", "key_value_dense", "output_dense"):
                if hasattr(attention, name):
                    found.append(getattr(attention, name))
        if "ffn" in targets:
            # A gated (SwiGLU) feed-forward has a third matrix, the gate.
            found.extend([x for x in (block.ffn_in, getattr(block, "ffn_gate", None), block.ffn_out) if x is not None])
    usable = []
    for layer in found:
        if not hasattr(layer, "enable_lora"):
            raise ValueError(f"Layer {layer.path!r} ({type(layer).__name__}) has no Keras LoRA support.")
        usable.append((layer.path or layer.name, layer))
    return usable


BASE_QUANTIZE = ("int8", "int4")


def weight_bytes(model):
    """Bytes the model's variables take in memory, each in its own dtype (int8/int4-packed kernels count as such).

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("causal", "tiny", num_layers=1)
        >>> weight_bytes(model) == 4 * model.count_params()
        True
    """
    return sum(int(v.numpy().nbytes) for v in model.weights)


def enable_lora(model, rank=8, alpha=None, targets=("attention", "ffn"), base_quantize=None):
    """Add rank-`rank` LoRA adapters to a built zoo LLM and freeze every other weight (in place).

    Args:
        model: a built zoo LLM (from build_llm or load_llm).
        rank: adapter rank r (>= 1, at most the smaller side of every adapted matrix).
        alpha: scale numerator: the update is (alpha / rank) A B (default: alpha = rank).
        targets: groups from TARGETS ("attention", "ffn", "embedding").
        base_quantize: None (LoRA), or "int8" / "int4" to quantize the frozen base first (QLoRA).

    Returns:
        {"rank", "alpha", "layers": [paths], "trainable_params", "total_params", "trainable_share",
         "base_quantize", "weight_bytes"}.
        Compile the model after this call, so the optimizer sees only the adapters.

    Raises ValueError for a bad rank, unknown targets, or a model that already has adapters.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"LoRA rank must be a positive integer (4-16 is usual), got {rank!r}.")
    if not model.built:
        raise ValueError("Build the model before adding LoRA adapters (call it once, or load a trained one).")
    if base_quantize is not None and base_quantize not in BASE_QUANTIZE:
        raise ValueError(f"base_quantize must be one of {', '.join(BASE_QUANTIZE)} (or None), got {base_quantize!r}.")
    layers = lora_layers(model, targets)
    already = [path for path, layer in layers if getattr(layer, "lora_enabled", False)]
    if already:
        raise ValueError(
            f"LoRA is already enabled on {already[0]!r}; merge it first (save, then load) to add new adapters."
        )
    # Shapes are checked on the float kernels, before quantizing: a bad rank must not leave a quantized model behind.
    _check_rank(layers, rank)
    from zoo.compress.keras_quantize import quantize_model, straight_through_int8_output

    if base_quantize is not None:
        quantize_model(model, base_quantize)
    straight_through_int8_output(model)  # an int8 model loaded from a file needs it too
    adapted = {id(layer) for _, layer in layers}
    for leaf in model._flatten_layers(include_self=False):
        if list(leaf._flatten_layers(include_self=False)):
            continue  # containers: freezing one would also freeze the adapters inside it
        if id(leaf) not in adapted:
            leaf.trainable = False
    for _, layer in layers:
        layer.enable_lora(rank, lora_alpha=alpha)
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.trainable = False  # the adapters alone carry the update
    model.train_function = model.test_function = model.predict_function = None
    trainable = sum(int(v.numpy().size) for v in model.trainable_weights)
    total = lora_free_params(model) + trainable
    return {
        "rank": rank,
        "alpha": alpha if alpha is not None else rank,
        "layers": [path for path, _ in layers],
        "trainable_params": trainable,
        "total_params": total,
        "trainable_share": trainable / total,
        "base_quantize": base_quantize,
        "weight_bytes": weight_bytes(model),
    }


def _check_rank(layers, rank):
    for path, layer in layers:
        kernel = layer.embeddings if isinstance(layer, keras.layers.Embedding) else layer.kernel
        smallest = min(int(d) for d in kernel.shape)
        if rank > smallest:
            raise ValueError(
                f"LoRA rank {rank} is larger than min(m, n) = {smallest} of {path!r} {tuple(kernel.shape)}."
            )


def lora_free_params(model):
    """Parameters of the model without its LoRA factors (the size after merging)."""
    return sum(int(v.numpy().size) for v in model.weights if "lora_" not in v.path)


def merged_model(model, path=None):
    """A plain zoo LLM with every LoRA update merged into its kernels (no adapters, original size).

    Saving is what merges (Keras writes W + (alpha / r) A B as the kernel), so this
    saves to `path` (a .keras file; a temporary one when None) and loads it back.

    Example:
        >>> merged = merged_model(model, "runs/lora/model.keras")   # doctest: +SKIP
    """
    from zoo.llm import load_llm
    from zoo.runs import save_model_atomic

    folder = None
    if path is None:
        folder = tempfile.mkdtemp(prefix="zoo-lora-")
        path = os.path.join(folder, "merged.keras")
    try:
        save_model_atomic(model, path)
        return load_llm(path, compile=False)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

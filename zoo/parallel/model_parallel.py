"""Model parallelism for the zoo LLM with `keras.distribution` (JAX backend).

Data parallelism copies the whole model to every device. When one device cannot
hold it, its weight matrices are split instead (tensor parallelism, as in
Megatron-LM): the devices form a 2-D mesh with a "batch" axis (data parallel)
and a "model" axis, and a LayoutMap says how each weight is cut along "model":

- attention in-projection (fused qkv, or query/key/value) and the feed-forward
  in-projection: column parallel, kernel (hidden, out) sharded on `out`, so each
  device computes its own share of heads / hidden units;
- attention out-projection and feed-forward out-projection: row parallel, kernel
  (in, hidden) sharded on `in`; XLA adds the all-reduce that sums the partial
  results.

Everything else (embeddings, LayerNorms) stays replicated. XLA's GSPMD then
inserts the collectives, so the layers themselves stay plain `keras.layers` code.
`keras.distribution` works on the JAX backend only: set KERAS_BACKEND=jax before
Keras is imported. On a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=4
makes four virtual devices to try it.

Example (KERAS_BACKEND=jax, four devices):
    >>> from zoo.llm import LLMConfig
    >>> config = LLMConfig(vocab_size=300, max_length=32, num_layers=1, hidden_dim=32, num_heads=2,
    ...                    intermediate_dim=64, position="rotary")
    >>> distribution = make_distribution("model", config, data_parallel=2, model_parallel=2)
    >>> model = build_distributed_llm(config, distribution)
    >>> weight_shardings(model)["block_0/self_attention/qkv/kernel"]
    (None, 'model')
"""

import re

# (regex that must match the whole variable path, as LayoutMap does; layout of its axes). Column-parallel kernels are split on
# their output axis, row-parallel kernels on their input axis; a column-parallel bias is
# split like its output. Row-parallel biases are added after the all-reduce: replicated.
LAYOUT_RULES = (
    (r".*attention/(qkv|query|key|value|query_key_value)/kernel", (None, "model")),
    (r".*attention/(qkv|query|key|value|query_key_value)/bias", ("model",)),
    (r".*attention/output/kernel", ("model", None)),
    (r".*ffn_(in|gate)/kernel", (None, "model")),
    (r".*ffn_(in|gate)/bias", ("model",)),
    (r".*ffn_out/kernel", ("model", None)),
)
KINDS = ("model", "data")


def require_jax():
    """Raise a RuntimeError unless Keras runs on the JAX backend (keras.distribution needs it)."""
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"keras.distribution (model and data parallel) runs on the JAX backend; Keras runs on "
            f"{keras.backend.backend()!r}. Start Python with KERAS_BACKEND=jax (and, on a CPU, "
            "XLA_FLAGS=--xla_force_host_platform_device_count=4), e.g. `zoo model-parallel`."
        )


def check_mesh(config, data_parallel, model_parallel, device_count=None):
    """Check that a (data_parallel x model_parallel) mesh fits the devices and divides the model.

    Each model-parallel shard must hold whole attention heads and an equal share of the
    width and the feed-forward units.

    Example:
        >>> from zoo.llm import LLMConfig
        >>> check_mesh(LLMConfig(hidden_dim=64, num_heads=4), 1, 3, device_count=3)
        Traceback (most recent call last):
        ...
        ValueError: A model-parallel mesh axis of 3 does not divide num_heads 4, hidden_dim 64, intermediate_dim 256; use a model axis that divides all of them, e.g. 1, 2, 4.
    """
    for name, value in (("data_parallel", data_parallel), ("model_parallel", model_parallel)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    sizes = {
        "num_heads": config.num_heads,
        "hidden_dim": config.hidden_dim,
        "intermediate_dim": config.intermediate_dim,
    }
    if any(size % model_parallel for size in sizes.values()):
        fits = [n for n in range(1, config.num_heads + 1) if all(size % n == 0 for size in sizes.values())]
        raise ValueError(
            f"A model-parallel mesh axis of {model_parallel} does not divide "
            f"{', '.join(f'{k} {v}' for k, v in sizes.items())}; use a model axis that divides all of them, "
            f"e.g. {', '.join(map(str, fits))}."
        )
    if device_count is not None and data_parallel * model_parallel != device_count:
        raise ValueError(
            f"A {data_parallel} x {model_parallel} mesh needs {data_parallel * model_parallel} devices, "
            f"{device_count} are visible; choose data_parallel * model_parallel = {device_count} (on a CPU, "
            "XLA_FLAGS=--xla_force_host_platform_device_count=N sets N)."
        )


def llm_layout_map(mesh):
    """A keras.distribution.LayoutMap that shards attention and feed-forward weights over `mesh`'s "model" axis."""
    import keras

    layout_map = keras.distribution.LayoutMap(mesh)
    for pattern, axes in LAYOUT_RULES:
        layout_map[pattern] = axes
    return layout_map


def make_distribution(kind, config, data_parallel=None, model_parallel=None, devices=None):
    """A keras.distribution for the LLM `config`: "model" (ModelParallel) or "data" (DataParallel).

    For "model", the devices form a (data_parallel, model_parallel) mesh named ("batch", "model");
    by default model_parallel = 2 when it divides the model, the rest goes to data_parallel.
    """
    import keras

    require_jax()
    if kind not in KINDS:
        raise ValueError(f"Unknown distribution {kind!r}; choose one of {', '.join(KINDS)}.")
    devices = list(devices or keras.distribution.list_devices())
    if kind == "data":
        return keras.distribution.DataParallel(devices=devices)
    if model_parallel is None:
        model_parallel = 2 if len(devices) % 2 == 0 and len(devices) > 1 else 1
    if data_parallel is None:
        data_parallel = max(1, len(devices) // model_parallel)
    check_mesh(config, data_parallel, model_parallel, device_count=len(devices))
    mesh = keras.distribution.DeviceMesh((data_parallel, model_parallel), ("batch", "model"), devices=devices)
    return keras.distribution.ModelParallel(layout_map=llm_layout_map(mesh), batch_dim_name="batch")


def check_jax_config(config):
    """The zoo LLM's learned position table does not trace on JAX with a free sequence length; say so."""
    if config.position == "learned":
        raise ValueError(
            "Model parallel runs on the JAX backend, where the learned position table cannot be traced for a "
            "free sequence length; use position='rotary' (as Llama) or 'sinusoidal' "
            "(config.replace(position='rotary'))."
        )


def build_distributed_llm(config, distribution, kind="causal", weights=None):
    """Build (and optionally load `weights` into) the zoo LLM with its variables laid out by `distribution`.

    Raises a ValueError when a ModelParallel layout matches no weight of a block (a renamed layer would
    otherwise silently train unsharded).
    """
    from zoo.llm import build_llm

    require_jax()
    check_jax_config(config)
    with distribution.scope():
        model = build_llm(kind, config=config, compile=False)
        if weights is not None:
            model.set_weights(weights)
    if hasattr(distribution, "_layout_map"):
        shardings = weight_shardings(model)
        sharded = [path for path, axes in shardings.items() if any(axes)]
        if not sharded:
            raise ValueError(
                "The model-parallel layout matched none of the model's weights; the layer names "
                f"changed? Rules: {[rule for rule, _ in LAYOUT_RULES]}; weights: {list(shardings)[:8]}"
            )
    return model


def weight_shardings(model):
    """{variable path: partition spec as a tuple} read from the live JAX arrays (None axes are replicated)."""
    out = {}
    for variable in model.weights:
        sharding = getattr(variable.value, "sharding", None)
        spec = getattr(sharding, "spec", None)
        axes = tuple(spec) if spec is not None else ()
        # A spec shorter than the array means the remaining axes are replicated.
        out[variable.path] = axes + (None,) * (len(variable.shape) - len(axes))
    return out


def shard_shapes(model, path):
    """Shapes of the per-device pieces of one weight (what each device really holds)."""
    for variable in model.weights:
        if variable.path == path:
            return [tuple(shard.data.shape) for shard in variable.value.addressable_shards]
    raise KeyError(f"No weight {path!r}; weights: {[v.path for v in model.weights][:10]} ...")


def matches_layout(path):
    """True when a weight path is sharded by LAYOUT_RULES (used by reports)."""
    return any(re.fullmatch(pattern, path) for pattern, _ in LAYOUT_RULES)

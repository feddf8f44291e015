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

Everything else (embeddings, LayerNorms, task heads) stays replicated. XLA's GSPMD then
inserts the collectives, so the layers themselves stay plain `keras.layers` code. The rules
cover every zoo architecture (causal, masked, seq2seq with cross-attention, classifier and QA
heads; fused or grouped-query attention, gated feed-forward) and every attention kind, with
learned, sinusoidal or rotary positions. A weight whose sharded axis the mesh does not divide
stays replicated (GSPMD computes the same result either way) and is listed in
`distribution.replicated`.
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
    (r".*attention/(qkv|query|key|value|key_value|query_key_value)/kernel", (None, "model")),
    (r".*attention/(qkv|query|key|value|key_value|query_key_value)/bias", ("model",)),
    (r".*attention/output/kernel", ("model", None)),
    (r".*ffn_(in|gate)/kernel", (None, "model")),
    (r".*ffn_(in|gate)/bias", ("model",)),
    (r".*ffn_out/kernel", ("model", None)),
)
KINDS = ("data", "model", "data+model")


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
    sizes = {}
    if config is not None:
        sizes = {"num_heads": config.num_heads, "hidden_dim": config.hidden_dim}
        if config.num_key_value_heads is not None:  # grouped-query attention: whole key/value heads per shard
            sizes["num_key_value_heads"] = config.num_key_value_heads
        sizes["intermediate_dim"] = config.intermediate_dim
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


def _model_parallel_class():
    """keras.distribution.ModelParallel that replicates a weight whose sharded axis the mesh does not divide."""
    import keras

    class LLMModelParallel(keras.distribution.ModelParallel):
        """ModelParallel over zoo's LAYOUT_RULES; `replicated` lists the weights that could not be cut evenly."""

        replicated = ()

        def get_variable_layout(self, variable):
            layout = super().get_variable_layout(variable)
            mesh = dict(zip(self.device_mesh.axis_names, self.device_mesh.shape))
            axes = tuple(getattr(layout, "axes", ()) or ())
            uneven = any(name is not None and size % mesh[name] for name, size in zip(axes, variable.shape))
            if uneven:
                self.replicated = (*self.replicated, variable.path)
                return keras.distribution.TensorLayout([None] * len(variable.shape), self.device_mesh)
            return layout

    return LLMModelParallel


def default_mesh(kind, device_count):
    """(data_parallel, model_parallel) when --mesh is not given: all devices on the one axis the kind uses,
    and for "data+model" two devices per model group.

    Example:
        >>> default_mesh("data+model", 8), default_mesh("model", 4), default_mesh("data", 4)
        ((4, 2), (1, 4), (4, 1))
    """
    if kind == "data":
        return device_count, 1
    if kind == "model":
        return 1, device_count
    model = 2 if device_count % 2 == 0 and device_count > 1 else 1
    return device_count // model, model


def make_distribution(kind, config=None, data_parallel=None, model_parallel=None, devices=None):
    """A keras.distribution for the LLM: "data" (DataParallel), "model" or "data+model" (ModelParallel).

    The devices form a (data_parallel, model_parallel) mesh named ("batch", "model"): the batch is split
    along "batch", the weights of LAYOUT_RULES along "model". "model" defaults to a 1 x N mesh, "data+model"
    to (N/2) x 2, "data" to N x 1. With a `config`, the mesh is checked against its heads and widths.
    """
    import keras

    require_jax()
    if kind not in KINDS:
        raise ValueError(f"Unknown distribution {kind!r}; choose one of {', '.join(KINDS)}.")
    devices = list(devices or keras.distribution.list_devices())
    default = default_mesh(kind, len(devices))
    data_parallel = default[0] if data_parallel is None else data_parallel
    model_parallel = default[1] if model_parallel is None else model_parallel
    if kind == "data":
        if model_parallel != 1:
            raise ValueError(
                f"--distribution data replicates the model: the mesh's model axis must be 1, got {model_parallel} "
                "(use --distribution data+model to shard the weights too)."
            )
        check_mesh(config, data_parallel, 1, device_count=len(devices))
        return keras.distribution.DataParallel(devices=devices)
    check_mesh(config, data_parallel, model_parallel, device_count=len(devices))
    mesh = keras.distribution.DeviceMesh((data_parallel, model_parallel), ("batch", "model"), devices=devices)
    return _model_parallel_class()(layout_map=llm_layout_map(mesh), batch_dim_name="batch")


def mesh_shape(distribution):
    """(data_parallel, model_parallel) of a distribution made by `make_distribution`."""
    shape = tuple(distribution.device_mesh.shape)
    return (shape[0], shape[1]) if len(shape) == 2 else (shape[0], 1)


def build_distributed_llm(config, distribution, kind="causal", weights=None):
    """Build (and optionally load `weights` into) the zoo LLM with its variables laid out by `distribution`.

    Raises a ValueError when a ModelParallel layout matches no weight of a block (a renamed layer would
    otherwise silently train unsharded).
    """
    from zoo.llm import build_llm

    require_jax()
    with distribution.scope():
        model = build_llm(kind, config=config, compile=False)
        if weights is not None:
            model.set_weights(weights)
    check_sharded(model, distribution)
    return model


def check_sharded(model, distribution):
    """Raise a ValueError when a model-parallel distribution left every weight of `model` replicated."""
    if not hasattr(distribution, "_layout_map") or mesh_shape(distribution)[1] == 1:
        return
    shardings = weight_shardings(model)
    if not any(any(axes) for axes in shardings.values()):
        raise ValueError(
            "The model-parallel layout matched none of the model's weights; the layer names "
            f"changed? Rules: {[rule for rule, _ in LAYOUT_RULES]}; weights: {list(shardings)[:8]}"
        )


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

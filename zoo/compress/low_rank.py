"""Low-rank factorization: a Dense kernel W (m x n) becomes two factors A (m x r) and B (r x n).

A truncated SVD W ~ U_r S_r V_r^T is the best rank-r approximation of W (Eckart-Young).
With A = U_r sqrt(S_r) and B = sqrt(S_r) V_r^T the layer computes x A B instead of
x W: r (m + n) weights instead of m n, fewer whenever r < m n / (m + n). The
rank of each layer is given, or chosen as the smallest r whose singular values
keep a share `energy` of sum(s^2) (the squared Frobenius norm of W). A short
fine-tune afterwards recovers most of what the truncation lost.

`LowRankDense` is the factored layer (registered, so a factored Sequential or
functional model saves to .keras and loads back). `factorize_model` rebuilds a
Sequential or functional model (the tutorial CNN) with its Dense layers factored;
`factorize_llm` swaps the Dense layers inside a zoo LLM's transformer blocks in
memory (to measure perplexity and parameters against rank and fine-tune; such a
model is saved with `save_weights`, since zoo's blocks rebuild plain Dense layers
from their config).

Example:
    >>> from zoo import build_cnn
    >>> small, report = factorize_model(build_cnn(), rank=8)
    >>> report["layers"]["dense"]["rank"], small.count_params() < build_cnn().count_params()
    (8, True)
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class LowRankDense(keras.layers.Layer):
    """A Dense layer whose kernel is the product of two factors: y = act(x A B + b).

    Args:
        units: output width n.
        rank: inner width r of the factorization.
        activation, use_bias: as in keras.layers.Dense.

    Example:
        >>> import numpy as np
        >>> layer = LowRankDense(units=4, rank=2)
        >>> tuple(layer(np.zeros((3, 6), "float32")).shape), layer.count_params()   # 6*2 + 2*4 + 4
        ((3, 4), 24)
    """

    def __init__(self, units, rank, activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.rank = int(rank)
        if self.units < 1 or self.rank < 1:
            raise ValueError(f"units and rank must be positive integers, got units={units}, rank={rank}.")
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        in_dim = int(input_shape[-1])
        check_rank(self.rank, in_dim, self.units, self.name)
        self.kernel_a = self.add_weight(name="kernel_a", shape=(in_dim, self.rank), initializer="glorot_uniform")
        self.kernel_b = self.add_weight(name="kernel_b", shape=(self.rank, self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros") if self.use_bias else None

    def call(self, x):
        y = ops.matmul(ops.matmul(x, self.kernel_a), self.kernel_b)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            rank=self.rank,
            activation=keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
        )
        return config


def check_rank(rank, m, n, name="layer"):
    """Raise a ValueError unless 1 <= rank <= min(m, n) (an m x n matrix has no larger rank)."""
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank!r}.")
    if rank > min(m, n):
        raise ValueError(
            f"rank {rank} is larger than min(m, n) = {min(m, n)} for the {m}x{n} kernel of {name!r}: "
            f"a matrix of that shape has rank at most {min(m, n)}. Choose a rank from 1 to {min(m, n)}, "
            "or pass energy= to choose one per layer."
        )


def rank_for_energy(singular_values, energy):
    """Smallest r whose r largest singular values keep `energy` of sum(s^2).

    Example:
        >>> rank_for_energy([3.0, 1.0, 0.0], 0.9)   # 9 / 10 of the energy is in the first value
        1
    """
    if not 0.0 < float(energy) <= 1.0:
        raise ValueError(f"energy is the share of sum(s^2) to keep and must lie in (0, 1], got {energy}.")
    s2 = np.square(np.asarray(singular_values, dtype="float64"))
    total = s2.sum()
    if total == 0.0:
        return 1
    kept = np.cumsum(s2) / total
    return int(min(np.searchsorted(kept, float(energy) - 1e-12) + 1, len(s2)))


def svd_factors(kernel, rank=None, energy=None, name="kernel"):
    """(A, B, r, kept_energy) with A B the best rank-r approximation of `kernel` (m x n).

    Give `rank`, or `energy` to choose the smallest rank that keeps that share of sum(s^2).

    Example:
        >>> import numpy as np
        >>> w = np.outer([1.0, 2.0], [3.0, 4.0, 5.0])   # a rank-1 matrix
        >>> a, b, r, kept = svd_factors(w, rank=1)
        >>> np.allclose(a @ b, w), r, round(kept, 6)
        (True, 1, 1.0)
    """
    kernel = np.asarray(kernel, dtype="float64")
    if kernel.ndim != 2:
        raise ValueError(f"svd_factors needs a 2-D kernel (m x n), got shape {kernel.shape}.")
    if (rank is None) == (energy is None):
        raise ValueError("Give exactly one of rank= (an integer) or energy= (a share of sum(s^2), e.g. 0.9).")
    u, s, vt = np.linalg.svd(kernel, full_matrices=False)
    if rank is None:
        rank = rank_for_energy(s, energy)
    check_rank(rank, *kernel.shape, name=name)
    root = np.sqrt(s[:rank])
    a = u[:, :rank] * root
    b = root[:, None] * vt[:rank]
    total = float(np.square(s).sum())
    kept = float(np.square(s[:rank]).sum() / total) if total else 1.0
    return a.astype("float32"), b.astype("float32"), int(rank), kept


def _plan(layer, rank, energy, name):
    """(A, B, info) for one Dense layer, or (None, None, info) when factoring would not save weights."""
    kernel, *rest = layer.get_weights()
    m, n = kernel.shape
    per_layer = rank.get(name) if isinstance(rank, dict) else rank
    if isinstance(rank, dict) and per_layer is None and energy is None:
        return None, None, {"shape": [m, n], "factored": False, "reason": "no rank given for this layer"}
    a, b, r, kept = svd_factors(kernel, rank=per_layer, energy=None if per_layer is not None else energy, name=name)
    info = {"shape": [m, n], "rank": r, "energy_kept": kept, "params_before": m * n, "params_after": r * (m + n)}
    if r * (m + n) >= m * n:
        # Two factors of this rank hold more numbers than the kernel itself: keep the Dense layer.
        return None, None, {**info, "factored": False, "reason": f"rank {r} saves nothing for {m}x{n}"}
    return a, b, {**info, "factored": True}


def factorize_model(model, rank=None, energy=None, layer_names=None):
    """A copy of a Sequential or functional `model` with its Dense layers factored by truncated SVD.

    Args:
        model: a built Keras Sequential/functional model (e.g. the tutorial CNN).
        rank: one rank for every layer, or {layer name: rank}.
        energy: share of sum(s^2) to keep, choosing each layer's rank (used where no rank is given).
        layer_names: only these Dense layers (default: all of them).

    Returns:
        (new_model, report) where report = {"layers": {name: {rank, shape, energy_kept,
        params_before, params_after, factored}}, "params_before", "params_after"}. The copy
        is compiled like the original when the original was compiled with string/serializable
        settings; otherwise compile it yourself before fine-tuning.

    Raises ValueError for a rank larger than min(m, n) of a layer, or neither rank nor energy.
    """
    if rank is None and energy is None:
        raise ValueError("Give rank= (an integer or {layer: rank}) or energy= (e.g. 0.9) to choose the ranks.")
    if not isinstance(model, keras.Sequential):
        raise ValueError(
            f"factorize_model rebuilds Sequential models such as the tutorial CNN, got {type(model).__name__}; "
            "for a zoo LLM use factorize_llm."
        )
    report = {"layers": {}}
    new_layers = []
    weights = {}
    for layer in model.layers:
        if type(layer) is keras.layers.Dense and (layer_names is None or layer.name in layer_names):
            a, b, info = _plan(layer, rank, energy, layer.name)
            report["layers"][layer.name] = info
            if a is not None:
                bias = layer.get_weights()[1:] if layer.use_bias else []
                new_layers.append(
                    LowRankDense(
                        layer.units, info["rank"], activation=layer.activation, use_bias=layer.use_bias, name=layer.name
                    )
                )
                weights[layer.name] = [a, b, *bias]
                continue
        new_layers.append(layer.__class__.from_config(layer.get_config()))
        weights[layer.name] = layer.get_weights()
    new_model = keras.Sequential([keras.Input(shape=model.input_shape[1:])] + new_layers, name=f"{model.name}_low_rank")
    for layer in new_model.layers:
        layer.set_weights(weights[layer.name])
    report["params_before"] = int(model.count_params())
    report["params_after"] = int(new_model.count_params())
    return new_model, report


def factorize_llm(model, rank=None, energy=None, which=("ffn_in", "ffn_out")):
    """Factor the Dense layers named in `which` inside every transformer block of a zoo LLM, in place.

    which: sublayer names of a block: "ffn_in", "ffn_out" (feed-forward) and
    "self_attention.qkv", "self_attention.output" (attention projections).
    Returns a report like `factorize_model`'s. Keras tracks the swapped layers, so
    `fit`, `count_params` and `save_weights` see the factors; a `.keras` file would
    rebuild plain Dense blocks, so save such a model with `save_weights`.

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("causal", "tiny", num_layers=1)
        >>> report = factorize_llm(model, rank=16)
        >>> report["params_after"] < report["params_before"]
        True
    """
    if rank is None and energy is None:
        raise ValueError("Give rank= (an integer or {layer path: rank}) or energy= (e.g. 0.9) to choose the ranks.")
    blocks = getattr(getattr(model, "backbone", None), "blocks", None)
    if not blocks:
        raise ValueError(
            f"factorize_llm needs a zoo causal/encoder LLM (model.backbone.blocks), got {type(model).__name__}."
        )
    known = ("ffn_in", "ffn_out", "self_attention.qkv", "self_attention.output")
    unknown = sorted(set(which) - set(known))
    if unknown:
        raise ValueError(f"Unknown block layer(s) {unknown}; choose from {', '.join(known)}.")
    params_before = int(model.count_params())
    report = {"layers": {}}
    for block in blocks:
        for spec in which:
            owner, attr = (block.self_attention, spec.split(".")[1]) if "." in spec else (block, spec)
            attr = {"qkv": "qkv_dense", "output": "output_dense"}.get(attr, attr) if owner is not block else attr
            layer = getattr(owner, attr, None)
            if type(layer) is not keras.layers.Dense:
                continue
            name = f"{block.name}/{spec}"
            a, b, info = _plan(layer, rank, energy, name)
            report["layers"][name] = info
            if a is None:
                continue
            factored = LowRankDense(
                layer.units,
                info["rank"],
                activation=layer.activation,
                use_bias=layer.use_bias,
                dtype=layer.dtype_policy,
                name=layer.name,
            )
            factored.build((None, a.shape[0]))
            factored.set_weights([a, b, *layer.get_weights()[1:]])
            # The block is built, so Keras refuses new sublayers; swap the tracked entry instead, so the
            # Dense weights leave the model and the factors join it.
            owner._tracker.replace_tracked_value("layers", layer, factored)
            setattr(owner, attr, factored)
    # The graph calls the blocks, and each block calls whatever its attributes now hold; recompile the step functions.
    model.train_function = model.test_function = model.predict_function = None
    report["params_before"] = params_before
    report["params_after"] = int(model.count_params())
    return report


def rank_sweep(model, ranks, evaluate, fine_tune=None, layer_names=None):
    """Factor the Dense layers of a Sequential `model` at each rank; score each (and after `fine_tune`).

    evaluate: function(model) -> score; fine_tune: optional function(model) that
    compiles and fits the factored model in place. Returns one row per rank:
    {"rank", "params", "score", "score_fine_tuned"}.

    Example:
        >>> rows = rank_sweep(cnn, [4, 16], accuracy_of)   # doctest: +SKIP
    """
    rows = []
    for r in ranks:
        small, report = factorize_model(model, rank=r, layer_names=layer_names)
        row = {"rank": r, "params": report["params_after"], "score": float(evaluate(small))}
        if fine_tune is not None:
            fine_tune(small)
            row["score_fine_tuned"] = float(evaluate(small))
        rows.append(row)
    return rows

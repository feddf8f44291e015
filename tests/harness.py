"""One test harness every zoo layer, backbone and task goes through (keras-hub's TestCase in functions).

- `run_layer_test`: config round trip, symbolic and eager calls, one fit step, .keras save/load
  (inside a functional model), mixed precision.
- `run_backbone_test`: the same for a functional backbone (config round trip, calls, precision, save/load).
- `run_task_test`: one fit step moves the weights with a finite loss; predict() matches the call.
- `run_model_saving_test`: `.keras` save -> load with safe_mode=True gives identical outputs.
- `run_precision_test`: mixed_float16 / mixed_bfloat16 builds and calls; outputs finite, variables float32.
- `run_serialization_test`: for what is not a layer (schedules, losses, tokenizers): same config, same result.

`TINY` is the one tiny LLM configuration the tests share (width 16, one block): a fit step takes
milliseconds on a CPU. A test file for a new model is a few calls into these functions (see
CONTRIBUTING.md).

Example:
    >>> from zoo.compress.low_rank import LowRankDense
    >>> import numpy as np
    >>> run_layer_test(LowRankDense, dict(units=3, rank=2), np.ones((2, 4), "float32"), (2, 3))
"""

import os
import tempfile

import keras
import numpy as np

# The shared tiny LLM configuration: every LLM test builds this (plus the fields it is about).
TINY = dict(vocab_size=64, max_length=16, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
SEQ = 8
MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def numpy_tree(tree):
    """Every tensor of a nested structure as a numpy array."""
    return keras.tree.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), tree)


def assert_trees_equal(a, b, atol=0.0):
    """Same structure and values (exactly, unless `atol` is given)."""
    a, b = numpy_tree(a), numpy_tree(b)
    keras.tree.assert_same_structure(a, b)
    for x, y in zip(keras.tree.flatten(a), keras.tree.flatten(b)):
        if atol:
            np.testing.assert_allclose(x, y, atol=atol, rtol=0)
        else:
            np.testing.assert_array_equal(x, y)


def _expect_shape(actual, expected, symbolic=False):
    """`expected` is a shape tuple, or a dict/list of them matching the outputs' structure."""
    if isinstance(expected, dict):
        assert set(actual) == set(expected), f"outputs {sorted(actual)}, expected {sorted(expected)}"
        for key in expected:
            _expect_shape(actual[key], expected[key], symbolic)
        return
    if isinstance(expected, list):
        assert len(actual) == len(expected)
        for got, want in zip(actual, expected):
            _expect_shape(got, want, symbolic)
        return
    want = (None, *expected[1:]) if symbolic else tuple(expected)
    assert tuple(actual.shape) == want, f"output shape {tuple(actual.shape)}, expected {want}"


def _call(layer, input_data, call_kwargs=None):
    if isinstance(input_data, dict) and not isinstance(layer, keras.Model):
        return layer(**input_data, **(call_kwargs or {}))
    return layer(input_data, **(call_kwargs or {}))


def _symbolic(input_data):
    def spec(x, name=None):
        return keras.Input(shape=np.shape(x)[1:], dtype=str(np.asarray(x).dtype), name=name)

    if isinstance(input_data, dict):
        return {key: spec(value, key) for key, value in input_data.items()}
    return spec(input_data)


def run_config_round_trip(obj):
    """serialize -> deserialize (safe_mode) gives the same class and the same config; returns the copy."""
    config = keras.saving.serialize_keras_object(obj)
    again = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert type(again) is type(obj), f"{type(again).__name__} is not {type(obj).__name__}"
    assert keras.saving.serialize_keras_object(again) == config
    return again


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    call_kwargs=None,
    run_training_check=True,
    run_precision_check=True,
    allow_unchanged=(),
):
    """Check a layer the way keras-hub's `run_layer_test` does.

    `input_data` is an array (the first call argument) or a dict of named call arguments
    (`layer(**input_data)`), e.g. {"x": ..., "padding_mask": ...}. `expected_output_shape` is
    a shape, or a dict/list of shapes for a layer with several outputs. `allow_unchanged`
    names trainable weights the fit step may leave as they were (e.g. an unused table).
    """
    expected = expected_output_shape
    layer = layer_cls(**init_kwargs)
    # Eager call.
    output = _call(layer, input_data, call_kwargs)
    _expect_shape(output, expected)
    assert all(np.isfinite(x).all() for x in keras.tree.flatten(numpy_tree(output)))

    # Config round trip: the copy built from the config, with the same weights, computes the same.
    again = run_config_round_trip(layer)
    _call(again, input_data, call_kwargs)
    again.set_weights(layer.get_weights())
    assert_trees_equal(_call(again, input_data, call_kwargs), output)

    # Symbolic call on keras.Input (batch None) inside a functional model.
    inputs = _symbolic(input_data)
    fresh = layer_cls(**init_kwargs)
    symbolic_output = _call(fresh, inputs, call_kwargs)
    _expect_shape(symbolic_output, expected, symbolic=True)

    model = keras.Model(inputs=inputs, outputs=symbolic_output)
    if run_training_check:
        _one_fit_step(
            model,
            input_data,
            _zeros_like(numpy_tree(_call(fresh, input_data, call_kwargs))),
            allow_unchanged=allow_unchanged,
            loss="mse",
        )
    # The layer inside a functional model survives a .keras save/load (safe_mode) unchanged.
    run_model_saving_test(model, input_data)
    if run_precision_check:
        run_precision_test(
            lambda dtype: layer_cls(**init_kwargs, dtype=dtype), lambda layer: _call(layer, input_data, call_kwargs)
        )
    return layer


def _zeros_like(tree):
    return keras.tree.map_structure(lambda x: np.zeros_like(x, dtype="float32"), tree)


def _one_fit_step(model, x, y, sample_weight=None, allow_unchanged=(), **compile_kwargs):
    """One step of fit(): the loss is finite and every trainable weight moves."""
    if compile_kwargs:
        model.compile(optimizer=keras.optimizers.Adam(1e-2), **compile_kwargs)
    before = {v.path: np.array(v) for v in model.trainable_variables}
    assert before, "the model has no trainable weights"
    batch = len(keras.tree.flatten(x)[0])
    history = model.fit(x, y, sample_weight=sample_weight, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    losses = history.history["loss"] if "loss" in history.history else next(iter(history.history.values()))
    assert np.isfinite(losses).all(), history.history
    unchanged = [
        v.path
        for v in model.trainable_variables
        if np.array_equal(np.array(v), before[v.path]) and not any(name in v.path for name in allow_unchanged)
    ]
    assert not unchanged, f"one fit step left these weights unchanged: {unchanged}"
    return history


def run_precision_test(build, call):
    """Under each mixed policy, `build(dtype)` builds and `call(model)` gives finite outputs; variables stay float32."""
    for policy in MIXED_POLICIES:
        model = build(policy)
        output = numpy_tree(call(model))
        assert all(np.isfinite(x.astype("float32")).all() for x in keras.tree.flatten(output)), policy
        # The policy reached the layers that hold weights: they compute in float16/bfloat16.
        compute = keras.dtype_policies.get(policy).compute_dtype
        computing = {layer.compute_dtype for layer in model._flatten_layers() if layer.weights}
        assert compute in computing, (policy, computing)
        for variable in model.weights:
            if variable.dtype.startswith("float"):
                assert variable.dtype == "float32", f"{policy}: {variable.path} is {variable.dtype}"


def run_model_saving_test(model, input_data, atol=0.0):
    """`.keras` save -> load with safe_mode=True: same class, same parameter count, identical outputs."""
    before = model(input_data, training=False)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.count_params() == model.count_params()
    assert_trees_equal(loaded(input_data, training=False), before, atol=atol)
    return loaded


def run_backbone_test(backbone_cls, init_kwargs, input_data, expected_output_shape, run_precision_check=True):
    """A functional backbone: config round trip, eager and symbolic calls, mixed precision, .keras save/load."""
    expected = expected_output_shape
    backbone = backbone_cls(**init_kwargs)
    output = backbone(input_data)
    _expect_shape(output, expected)
    again = backbone_cls.from_config(backbone.get_config())
    assert again.get_config() == backbone.get_config() and again.count_params() == backbone.count_params()
    again.set_weights(backbone.get_weights())
    assert_trees_equal(again(input_data), output)
    _expect_shape(backbone(_symbolic(input_data)), expected, symbolic=True)
    if run_precision_check:
        run_precision_test(lambda dtype: backbone_cls(**init_kwargs, dtype=dtype), lambda model: model(input_data))
    run_model_saving_test(backbone, input_data)
    return backbone


def run_task_test(
    model, x, y=None, sample_weight=None, expected_output_shape=None, allow_unchanged=(), call_input=None
):
    """A compiled task: predict() equals the call, and one fit step moves every weight with a finite loss.

    `call_input` is what the model is called on when that differs from the training input
    (a GAN trains on images and is called on noise).
    """
    call_input = x if call_input is None else call_input
    called = numpy_tree(model(call_input, training=False))
    if expected_output_shape is not None:
        _expect_shape(called, expected_output_shape)
    predicted = model.predict(call_input, batch_size=len(keras.tree.flatten(call_input)[0]), verbose=0)
    assert_trees_equal(predicted, called, atol=1e-5)
    return _one_fit_step(model, x, y, sample_weight=sample_weight, allow_unchanged=allow_unchanged)


def run_serialization_test(obj, compute):
    """Not a layer (schedule, loss, tokenizer): the deserialized copy has the same config and computes the same."""
    again = run_config_round_trip(obj)
    assert_trees_equal(compute(again), compute(obj))
    return again

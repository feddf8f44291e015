import keras
import numpy as np
import pytest

from tests.train.conftest import TINY, lm_batch
from zoo.llm import LLMConfig, build_llm
from zoo.train.accumulation import check_accum_steps, check_global_batch
from zoo.train.optimizer import build_optimizer, decayed_variables


def tiny_model(accum_steps=1, learning_rate=1e-2, clipnorm=1.0, weight_decay=0.1):
    model = build_llm("causal", config=LLMConfig(**TINY), compile=False)
    model.compile(
        optimizer=build_optimizer(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, accum_steps=accum_steps)
    )
    return model


def test_weight_decay_only_on_2d_weights():
    model = tiny_model()
    decayed = decayed_variables(model.optimizer, model.trainable_variables)
    two_d = [v.path for v in model.trainable_variables if len(v.shape) == 2 and "embeddings" not in v.path]
    assert decayed == two_d and decayed  # kernels only: no bias, LayerNorm gamma/beta or embedding table
    assert all(path.endswith("kernel") for path in decayed)


def test_embeddings_decay_only_when_asked():
    model = build_llm("causal", config=LLMConfig(**TINY), compile=False)
    optimizer = build_optimizer(1e-3, decay_embeddings=True)
    decayed = decayed_variables(optimizer, model.trainable_variables)
    assert "embeddings/token_embedding/embeddings" in decayed
    assert not any(path.endswith(("bias", "gamma", "beta")) for path in decayed)


def test_global_norm_clipping_rescales_all_gradients_together():
    variables = [keras.Variable(np.zeros(3, "float32")), keras.Variable(np.zeros(2, "float32"))]
    grads = [np.array([30.0, 0.0, 40.0], "float32"), np.array([0.0, 0.0], "float32")]  # global norm 50
    clipped = build_optimizer(1.0, weight_decay=0.0, clipnorm=1.0)._clip_gradients(grads)
    np.testing.assert_allclose(np.asarray(clipped[0]), [0.6, 0.0, 0.8], rtol=1e-6)
    unclipped = build_optimizer(1.0, weight_decay=0.0, clipnorm=0)._clip_gradients(grads)
    np.testing.assert_allclose(np.asarray(unclipped[0]), grads[0])
    assert variables[0].shape == (3,)


def test_k_micro_batches_equal_one_batch_of_k_times_b():
    # In float64. AdamW's first step is lr * g / (|g| + eps): for a gradient entry near eps (1e-8)
    # it amplifies rounding, so float32 sums of the same gradients in another order (two halves vs
    # one batch) moved some weights by up to 7e-5 of a 1e-2 step on a busy machine. In float64
    # the rounding is 1e-16 relative, and the two updates agree to 1e-6 of the step size whatever
    # the summation order or thread count.
    def model(accum_steps):
        keras.utils.set_random_seed(1)
        built = build_llm("causal", config=LLMConfig(**TINY), compile=False, dtype="float64")
        built.compile(optimizer=build_optimizer(1e-2, weight_decay=0.1, clipnorm=1.0, accum_steps=accum_steps))
        return built

    accumulated, single = model(2), model(1)
    start = accumulated.get_weights()
    single.set_weights(start)
    assert start[0].dtype == np.float64
    x, y = lm_batch(batch=8)

    # One micro-batch only fills the accumulator: no weight moves yet.
    first_half = {k: v[:4] for k, v in x.items()}
    accumulated.fit(first_half, y[:4], batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(accumulated.get_weights(), start))
    # The second micro-batch completes the update: the same as one step on all 8 rows.
    second_half = {k: v[4:] for k, v in x.items()}
    accumulated.fit(second_half, y[4:], batch_size=4, epochs=1, shuffle=False, verbose=0)
    single.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    step = max(float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), start))
    assert step > 1e-3  # the step really moved the weights (about the learning rate)
    difference = max(float(np.abs(a - b).max()) for a, b in zip(accumulated.get_weights(), single.get_weights()))
    assert difference <= 1e-6 * step, (difference, step)
    assert int(accumulated.optimizer.iterations) == int(single.optimizer.iterations) == 1


def test_accumulation_and_batch_errors_are_clear():
    with pytest.raises(ValueError, match="--accum-steps must be an integer >= 1"):
        check_accum_steps(0)
    with pytest.raises(ValueError, match="not divisible by the 8 replicas"):
        check_global_batch(12, num_replicas=8)
    assert check_global_batch(16, num_replicas=8) == 2


def test_compile_default_decays_the_same_weights_as_the_recipes(tmp_path):
    # One AdamW default: a zoo LLM's compile() (optimizer="auto") and the recipes' build_optimizer.
    model = build_llm("causal", config=LLMConfig(**TINY))
    variables = model.trainable_variables
    recipes = decayed_variables(build_optimizer(1e-3), variables)
    assert decayed_variables(model.optimizer, variables) == recipes
    assert not any("embeddings" in path or path.endswith(("bias", "gamma", "beta")) for path in recipes)
    # A saved and loaded model keeps the same exclusions (they are not in the optimizer's config).
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert decayed_variables(loaded.optimizer, loaded.trainable_variables) == recipes

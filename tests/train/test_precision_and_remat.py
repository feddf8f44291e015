import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.train.conftest import TINY, lm_batch
from zoo.llm import LLMConfig, build_llm
from zoo.train.optimizer import build_optimizer
from zoo.train.precision import check_precision, precision_scope, wrap_optimizer
from zoo.train.remat import enable_remat, rematerialized_blocks


# mixed_bfloat16 runs end to end in the recipe test (tests/train/test_pretrain_clm.py).
@pytest.mark.parametrize("precision", ["mixed_float16"])
def test_mixed_precision_trains_with_finite_losses(precision):
    with precision_scope(precision):
        model = build_llm("causal", config=LLMConfig(**TINY), compile=False, dtype=precision)
    assert keras.config.dtype_policy().name == "float32"  # the scope restores the global policy
    model.compile(optimizer=wrap_optimizer(build_optimizer(3e-3, accum_steps=2), precision))
    block = model.backbone.blocks[0]
    assert block.compute_dtype == precision.split("_")[1]
    assert all(v.dtype == "float32" for v in model.trainable_variables)  # master weights stay float32
    assert model.outputs[0].dtype == "float32"  # logits leave the model in float32 for a stable softmax
    if precision == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    x, y = lm_batch(batch=8)
    history = model.fit(x, y, batch_size=4, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ValueError, match="Choose one of: float32, mixed_bfloat16, mixed_float16"):
        check_precision("float8")


def _gradients(remat):
    keras.utils.set_random_seed(3)
    config = LLMConfig(**{**TINY, "num_layers": 2})
    model = build_llm("causal", config=config, compile=False)
    calls = {}
    for block in model.backbone.blocks:
        original = block.call

        def counted(*args, _original=original, _name=block.name, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _original(*args, **kwargs)

        block.call = counted
    if remat:
        enable_remat(model)
    x, y = lm_batch(batch=2)

    @tf.function  # fit() runs the step as a graph; remat must work there (calls are counted while tracing)
    def gradients():
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
        return tape.gradient(loss, model.trainable_variables)

    return model, [np.asarray(g) for g in gradients()], calls


def test_remat_gives_the_same_gradients_and_recomputes_each_block():
    plain, plain_grads, plain_calls = _gradients(remat=False)
    checkpointed, remat_grads, remat_calls = _gradients(remat=True)
    assert rematerialized_blocks(plain) == []
    assert rematerialized_blocks(checkpointed) == ["block_0", "block_1"]
    # Forward once without remat; with remat each block runs again in the backward pass.
    assert plain_calls == {"block_0": 1, "block_1": 1}
    assert remat_calls == {"block_0": 2, "block_1": 2}
    for a, b in zip(plain_grads, remat_grads):
        # Relative to the gradient's own scale: recomputation may sum in another order.
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(np.abs(a).max()))

"""Reversible residual blocks: the recomputing custom gradient equals ordinary backprop."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.llm.layers.blocks import TransformerBlock
from zoo.llm.layers.reversible import ReversibleStack


def _stacks(dtype="float32", attention="full", depth=2, **options):
    blocks = [
        TransformerBlock(
            8, 2, 16, causal=True, attention=attention, attention_options=options, dtype=dtype, name=f"block_{i}"
        )
        for i in range(depth)
    ]
    # Two stacks over the same blocks (same weights): one recomputes, one stores activations.
    return ReversibleStack(blocks, recompute=True, dtype=dtype), ReversibleStack(blocks, recompute=False, dtype=dtype)


def _gradients(stack, x, mask, graph):
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = stack(x, padding_mask=mask)
            # A loss that weighs every output differently, so every gradient entry matters.
            loss = tf.reduce_sum(y**2 + y * tf.sin(tf.reshape(tf.range(tf.size(y), dtype=y.dtype), tf.shape(y))))
        return [y] + tape.gradient(loss, [x] + stack.trainable_weights)

    return [np.asarray(t) for t in (tf.function(run) if graph else run)(tf.constant(x))]


@pytest.mark.parametrize(
    "graph, attention, options",
    # The graph case is what fit() runs (tf.custom_gradient in a tf.function); eager with another kind.
    [(True, "full", {}), (False, "sliding_window", dict(window=3, block_size=4))],
)
def test_recomputed_gradients_equal_stored_ones(graph, attention, options):
    # Tracing the custom gradient is slow on a busy CPU: one block in the graph, two eagerly.
    recompute, store = _stacks(attention=attention, depth=1 if graph else 2, **options)
    x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
    mask = np.ones((2, 6), "int32")
    mask[0, -2:] = 0
    # The reference is plain eager backprop through the same blocks.
    ours, reference = _gradients(recompute, x, mask, graph), _gradients(store, x, mask, False)
    assert len(ours) == len(reference) == 2 + len(store.trainable_weights)
    for a, b in zip(ours, reference):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
    assert all(np.abs(g).max() > 0 for g in ours[1:])  # every weight really gets a gradient


def test_recomputed_gradient_matches_finite_differences():
    recompute, _ = _stacks(dtype="float64")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 5, 8))
    direction = rng.normal(size=x.shape)

    def loss(value):
        return float(tf.reduce_sum(recompute(tf.constant(value)) ** 2))

    with tf.GradientTape() as tape:
        inputs = tf.constant(x)
        tape.watch(inputs)
        total = tf.reduce_sum(recompute(inputs) ** 2)
    analytic = float(tf.reduce_sum(tape.gradient(total, inputs) * direction))
    eps = 1e-5
    numeric = (loss(x + eps * direction) - loss(x - eps * direction)) / (2 * eps)
    assert analytic == pytest.approx(numeric, rel=1e-5)


def test_reversible_stack_rejects_post_norm_blocks():
    with pytest.raises(ValueError, match="norm='pre'"):
        ReversibleStack([TransformerBlock(8, 2, 16, norm="post")])

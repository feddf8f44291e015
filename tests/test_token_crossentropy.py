"""TokenCrossentropy equals Keras' sparse crossentropy from logits, in value and gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.losses import TokenCrossentropy


def _loss_and_grad(loss, labels, logits, sample_weight, jit):
    @tf.function(jit_compile=jit)
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(labels, x, sample_weight=sample_weight)
        return value, tape.gradient(value, x)

    return [t.numpy() for t in run(tf.constant(logits))]


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_keras_value_and_gradient(jit, weighted):
    rng = np.random.default_rng(0)
    logits = (3 * rng.normal(size=(3, 5, 40))).astype("float32")
    labels = rng.integers(0, 40, (3, 5))
    # One position whose true token has probability exp(-200): below the -log(p) range, the exact path.
    logits[0, 0] = 0.0
    logits[0, 0, 7] = 200.0
    labels[0, 0] = 3
    weights = rng.integers(0, 2, (3, 5)).astype("float32") if weighted else None
    reference = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    want = _loss_and_grad(reference, labels, logits, weights, jit)
    got = _loss_and_grad(TokenCrossentropy(), labels, logits, weights, jit)
    assert got[0] > 10  # the position with loss 200 counts (unless its weight is 0)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], atol=1e-7)


def test_serializes_and_takes_column_labels():
    loss = keras.losses.deserialize(keras.losses.serialize(TokenCrossentropy()))
    logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]], "float32")
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 1]), logits)
    np.testing.assert_allclose(loss(np.array([[0], [1]]), logits), expected, rtol=1e-6)

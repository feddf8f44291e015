"""Full attention through keras.ops.dot_product_attention equals zoo's einsum formulation."""

import numpy as np
import pytest

from zoo.llm.attention.full import MultiHeadAttention, prefers_dot_product_attention


def _outputs(layer, *args, **kwargs):
    """The layer's output with the einsum path, then with keras.ops.dot_product_attention."""
    results = []
    for fused in (False, True):
        layer.use_dot_product_attention = fused
        results.append(np.asarray(layer(*args, **kwargs)))
    return results


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("kv_heads", [None, 2])
def test_self_attention_with_padding_equals_the_einsum_path(causal, kv_heads):
    rng = np.random.default_rng(0)
    layer = MultiHeadAttention(4, 8, causal=causal, num_key_value_heads=kv_heads)
    x = rng.normal(size=(2, 7, 32)).astype("float32")
    padding = np.ones((2, 7), "int32")
    padding[1, 5:] = 0  # the second row's last two keys are padding
    einsum, fused = _outputs(layer, x, padding_mask=padding)
    np.testing.assert_allclose(fused, einsum, atol=1e-5)


def test_cross_attention_equals_the_einsum_path():
    rng = np.random.default_rng(1)
    layer = MultiHeadAttention(2, 8, cross_attention=True)
    x, context = rng.normal(size=(2, 3, 16)).astype("float32"), rng.normal(size=(2, 5, 16)).astype("float32")
    padding = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], "int32")
    einsum, fused = _outputs(layer, x, context=context, padding_mask=padding)
    np.testing.assert_allclose(fused, einsum, atol=1e-5)


def test_tensorflow_on_cpu_keeps_the_einsum_path():
    # Keras' TensorFlow version is the same einsums plus a select, measured slower on CPU.
    assert prefers_dot_product_attention() is False

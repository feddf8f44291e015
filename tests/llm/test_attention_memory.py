"""Sub-quadratic memory, checked on the traced graph: at n = 4096 no tensor of the forward and
backward pass of sliding-window or block-sparse attention comes near n x n elements.

The check traces (does not run) a tf.function computing the layer's output and its gradients,
then reads the static shape of every tensor in the graph. Full attention is traced the same way
as a control: its largest tensor has heads * n * n elements, so the check can see a quadratic one.
"""

import numpy as np
import pytest

from zoo.llm.attention import get_attention_class

N, WIDTH, HEADS = 4096, 16, 2


def largest_intermediate(kind, **options):
    """(elements, shape) of the largest tensor in the traced forward + backward graph at n = N."""
    import tensorflow as tf

    layer = get_attention_class(kind)(HEADS, WIDTH // HEADS, causal=True, **options)
    layer(np.zeros((1, 8, WIDTH), "float32"))

    @tf.function
    def forward_backward(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, [x] + layer.trainable_weights)

    graph = forward_backward.get_concrete_function(tf.TensorSpec((1, N, WIDTH), tf.float32)).graph
    largest = (0, None)
    for op in graph.get_operations():
        for tensor in op.outputs:
            shape = tensor.shape
            if shape.rank is not None and shape.is_fully_defined():
                largest = max(largest, (shape.num_elements(), tuple(shape)), key=lambda item: item[0])
    return largest


def test_full_attention_control_has_an_n_by_n_tensor():
    elements, shape = largest_intermediate("full")
    assert elements >= HEADS * N * N, shape


@pytest.mark.parametrize(
    "kind, options",
    [
        ("sliding_window", dict(window=256, block_size=64, global_tokens=4)),
        ("block_sparse", dict(block_size=64, local_blocks=1, global_blocks=1)),
    ],
)
def test_blocked_kinds_never_build_n_by_n_scores(kind, options):
    elements, shape = largest_intermediate(kind, **options)
    # Scores are [1, heads, n / 64, 64, K * 64 + global keys] with K <= 5 blocks and at most
    # one block of global keys: at most n * 384 per head.
    assert elements <= HEADS * N * 6 * 64, shape
    assert elements < HEADS * N * N / 10, shape

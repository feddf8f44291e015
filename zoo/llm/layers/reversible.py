"""Reversible residual blocks (Reformer; Gomez et al. 2017, RevNets): activation memory flat in depth.

A reversible stack carries two streams. Block i maps (x1, x2) to
    y1 = x1 + F(x2),   F = Attention(LN(.))
    y2 = x2 + G(y1),   G = FFN(LN(.))
and can be run backwards: x2 = y2 - G(y1), x1 = y1 - F(x2). So backprop does not
need the activations of the forward pass: the stack is one op with a custom
gradient (`keras.ops.custom_gradient`, on TensorFlow `tf.custom_gradient`) that
keeps only the stack's output, walks the blocks in reverse, recomputes each
block's input from its output and takes the block's vector-Jacobian product
there. Memory for activations is then that of one block, whatever the depth;
the price is a second forward pass of every block during backprop.

The stack starts with x1 = x2 = the embeddings and ends with (y1 + y2) / 2.
Requirements (checked by LLMConfig): norm="pre" and dropout=0 (recomputing with
dropout would need the same random masks). Decoder blocks with cross-attention
(seq2seq) stay standard blocks; the encoder stack is reversible. On backends
other than TensorFlow the stack computes the same function with ordinary
autodiff (same values and gradients, without the memory saving).

Example:
    >>> import numpy as np
    >>> from zoo.llm.layers.blocks import TransformerBlock
    >>> stack = ReversibleStack([TransformerBlock(8, 2, 16, causal=True) for _ in range(2)])
    >>> tuple(stack(np.zeros((1, 4, 8), "float32")).shape)
    (1, 4, 8)
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class ReversibleStack(keras.layers.Layer):
    """Transformer blocks run as reversible residual pairs, with a recomputing gradient.

    Args:
        blocks: TransformerBlocks (pre-norm, no cross-attention); their attention
            and feed-forward sublayers are F and G of each reversible block.
        recompute: False uses plain autodiff (for comparison: same gradients,
            activations stored).

    Example:
        >>> from zoo.llm.layers.blocks import TransformerBlock
        >>> ReversibleStack([TransformerBlock(8, 2, 16)], recompute=False).recompute
        False
    """

    def __init__(self, blocks, recompute=True, **kwargs):
        super().__init__(**kwargs)
        self.blocks = list(blocks)
        if not self.blocks:
            raise ValueError("A reversible stack needs at least one block.")
        for block in self.blocks:
            if block.norm != "pre" or block.has_cross_attention or block.dropout:
                raise ValueError(f"{block.name}: reversible blocks need norm='pre', no cross-attention and dropout=0.")
            block.in_reversible_stack = True
        self.recompute = bool(recompute)

    def build(self, x_shape):
        for block in self.blocks:
            if not block.built:
                block.build(x_shape)
        self.built = True

    def _forward(self, x1, x2, padding_mask, training):
        for block in self.blocks:
            x1 = x1 + block.attention_branch(x2, padding_mask, training)
            x2 = x2 + block.ffn_branch(x1)
        return x1, x2

    def call(self, x, padding_mask=None, training=None):
        if self.recompute and keras.backend.backend() == "tensorflow":
            y1, y2 = self._recomputing(padding_mask, training)(x, x)
        else:
            y1, y2 = self._forward(x, x, padding_mask, training)
        return (y1 + y2) * ops.cast(0.5, y1.dtype)

    def _recomputing(self, padding_mask, training):
        """The stack as a function of (x1, x2) whose gradient recomputes instead of storing."""
        import tensorflow as tf  # the TensorFlow backend's VJP; only reached on that backend

        @ops.custom_gradient
        def stack(x1, x2):
            y1, y2 = self._forward(x1, x2, padding_mask, training)

            def grad(dy1, dy2, variables=None):
                variables = list(variables or [])
                totals = [None] * len(variables)
                out1, out2 = y1, y2
                for block in reversed(self.blocks):
                    # Recompute this block only once the later block's gradient exists: in a
                    # graph nothing else orders them, and recomputing every block up front
                    # would hold all their activations at once (memory growing with depth).
                    with tf.control_dependencies([dy1, dy2]):
                        out1, out2 = tf.identity(out1), tf.identity(out2)
                    # Undo y2 = x2 + G(y1): recompute G at y1 and take its VJP.
                    with tf.GradientTape() as tape:
                        tape.watch(out1)
                        g = block.ffn_branch(out1)
                    d_out1, *g_vars = tape.gradient(g, [out1] + variables, output_gradients=dy2)
                    dy1 = dy1 + d_out1
                    with tf.control_dependencies([dy1]):
                        in2 = out2 - g
                    # Undo y1 = x1 + F(x2).
                    with tf.GradientTape() as tape:
                        tape.watch(in2)
                        f = block.attention_branch(in2, padding_mask, training)
                    d_in2, *f_vars = tape.gradient(f, [in2] + variables, output_gradients=dy1)
                    in1 = out1 - f
                    dy2 = dy2 + d_in2
                    totals = [_add(t, a, b) for t, a, b in zip(totals, g_vars, f_vars)]
                    out1, out2 = in1, in2
                totals = [ops.zeros_like(v) if t is None else t for t, v in zip(totals, variables)]
                return (dy1, dy2), totals

            return (y1, y2), grad

        return stack

    def get_config(self):
        config = super().get_config()
        config.update(
            blocks=[keras.saving.serialize_keras_object(block) for block in self.blocks],
            recompute=self.recompute,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["blocks"] = [keras.saving.deserialize_keras_object(block) for block in config["blocks"]]
        return cls(**config)


def _add(total, *parts):
    for part in parts:
        if part is not None:
            total = part if total is None else total + part
    return total

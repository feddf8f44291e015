"""Crossentropy losses: one for one-hot or integer labels, one fast token loss on logits.

`FlexibleCrossentropy`: the tutorial compiles its CNN and LSTM with `categorical_crossentropy`, which needs
one-hot labels; most data loaders give integer class ids. This loss looks at the
label shape once, when the graph is traced, and picks the matching Keras loss, so
both kinds of labels train the same model.

`TokenCrossentropy`: sparse crossentropy on logits, the LLMs' default loss; the same
values and gradients as Keras' `SparseCategoricalCrossentropy(from_logits=True)`, faster
on TensorFlow (see its docstring).

Example:
    >>> import numpy as np
    >>> loss = FlexibleCrossentropy()
    >>> probs = np.array([[0.9, 0.1]], "float32")
    >>> round(float(loss(np.array([0]), probs)), 6) == round(float(loss(np.array([[1.0, 0.0]]), probs)), 6)
    True
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class FlexibleCrossentropy(keras.losses.Loss):
    """Categorical crossentropy for one-hot labels, sparse crossentropy for integer labels."""

    def __init__(self, from_logits=False, name="categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        one_hot = (
            len(y_true.shape) == len(y_pred.shape)
            and y_true.shape[-1] is not None
            and y_true.shape[-1] == y_pred.shape[-1]
            and y_pred.shape[-1] != 1
        )
        if one_hot:
            return keras.losses.categorical_crossentropy(
                ops.cast(y_true, y_pred.dtype), y_pred, from_logits=self.from_logits
            )
        return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=self.from_logits)

    def get_config(self):
        config = super().get_config()
        config.update({"from_logits": self.from_logits})
        return config


# Below this probability of the true token, -log(p) loses precision (float32 subnormals from about
# 1e-38): the loss is then computed as logsumexp(logits) - logit instead (a loss above about 69).
_SMALLEST_SAFE_PROBABILITY = 1e-30


@keras.saving.register_keras_serializable(package="zoo")
class TokenCrossentropy(keras.losses.Loss):
    """Sparse categorical crossentropy from logits (integer labels), per position.

    Equal to `keras.losses.SparseCategoricalCrossentropy(from_logits=True)` in value and
    gradient (tested). On the TensorFlow backend it computes them differently: TensorFlow's
    fused `SparseSoftmaxCrossEntropyWithLogits` kernel was the largest non-matmul op of an
    LLM training step on a CPU (a [batch x seq, vocab] tensor, 8% of the step of the `small`
    preset), and a oneDNN softmax plus a gradient written by hand,
    `(softmax - one_hot(label)) * upstream` as one multiply and a scatter of the label
    entries, does the same work in about a third of the time (benchmarks/llm_train_profile.py).
    The loss is -log(softmax[label]); when some true-token probability is below 1e-30 it
    is logsumexp(logits) - logits[label] instead, so it stays exact there too. Other
    backends use Keras' loss (JAX fuses it with XLA anyway).

    Example:
        >>> import numpy as np
        >>> logits = np.array([[2.0, 0.5, -1.0]], "float32")
        >>> round(float(TokenCrossentropy()(np.array([0]), logits)), 5)
        0.24131
    """

    def __init__(self, name="token_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        if keras.backend.backend() != "tensorflow":
            return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return _token_crossentropy(y_pred, y_true)


def _token_crossentropy(logits, labels):
    """Per-position loss of float32 logits [..., vocab] and int32 labels [...] with a hand-written gradient."""

    @ops.custom_gradient
    def loss_of(logits):
        probs = ops.softmax(logits, axis=-1)
        picked = ops.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
        loss = ops.cond(
            ops.all(picked >= _SMALLEST_SAFE_PROBABILITY),
            lambda: -ops.log(picked),
            lambda: ops.logsumexp(logits, axis=-1) - ops.take_along_axis(logits, labels[..., None], axis=-1)[..., 0],
        )

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            # d loss / d logits = softmax - one_hot(label): scale all of it, then set the label entries
            # (a scatter of one value per row instead of a second pass over a one-hot tensor).
            vocab = ops.shape(logits)[-1]
            scaled = ops.reshape(probs * upstream[..., None], (-1, vocab))
            rows = ops.shape(scaled)[0]
            index = ops.stack([ops.arange(rows, dtype="int32"), ops.reshape(labels, (-1,))], axis=1)
            scaled = ops.scatter_update(scaled, index, ops.reshape((picked - 1.0) * upstream, (-1,)))
            return ops.reshape(scaled, ops.shape(logits))

        return loss, grad

    return loss_of(logits)

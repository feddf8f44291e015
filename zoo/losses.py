"""Crossentropy that takes one-hot labels (as the tutorial prints) or integer labels.

The tutorial compiles its CNN and LSTM with `categorical_crossentropy`, which needs
one-hot labels; most data loaders give integer class ids. This loss looks at the
label shape once, when the graph is traced, and picks the matching Keras loss, so
both kinds of labels train the same model.

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

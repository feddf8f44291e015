"""The tutorial's LSTM text generator: Embedding(vocab, 256) -> LSTM(128) -> Dense(vocab, softmax).

It reads a window of `sequence_length` token ids and predicts the next token.
`make_next_token_windows` cuts a token stream into such (window, next token)
pairs; `zoo.text.sampler.sample_text` generates text with it.

Example:
    >>> from zoo import build_lstm_generator
    >>> model = build_lstm_generator(vocab_size=100, sequence_length=40)
    >>> model.count_params()   # 256*100 + LSTM 197,120 + 129*100
    235620
"""

import keras
import numpy as np
from keras import layers

from zoo.losses import FlexibleCrossentropy


def build_lstm_generator(
    vocab_size,
    sequence_length=40,
    embedding_dim=256,
    lstm_units=128,
    optimizer="adam",
    compile=True,
    name="lstm_generator",
):
    """Build (and by default compile) the tutorial's next-token LSTM.

    Args:
        vocab_size: number of token ids (padding and unknown included), >= 2.
        sequence_length: tokens the model reads before predicting the next one
            (the tutorial's `max_length`).
        embedding_dim: embedding width (256 in the tutorial).
        lstm_units: LSTM width (128 in the tutorial).
        optimizer: optimizer used when `compile=True` (adam, as printed).
        compile: compile with categorical crossentropy as printed (integer labels work too).
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"vocab_size must be an integer >= 2, got {vocab_size!r}.")
    if sequence_length < 1:
        raise ValueError(f"sequence_length must be at least 1, got {sequence_length}.")
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids"))
    model.add(layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim, name="embedding"))
    model.add(layers.LSTM(lstm_units, name="lstm"))
    model.add(layers.Dense(vocab_size, activation="softmax", name="next_token"))
    if compile:
        model.compile(optimizer=optimizer, loss=FlexibleCrossentropy())
    return model


def make_next_token_windows(ids, sequence_length, stride=1, max_windows=None):
    """Cut a 1-D array of token ids into (windows, next_ids) training pairs.

    Returns int32 arrays of shapes (n, sequence_length) and (n,).
    """
    ids = np.asarray(ids, dtype="int32")
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D sequence of token ids, got shape {ids.shape}.")
    if len(ids) <= sequence_length:
        raise ValueError(
            f"The text has {len(ids)} tokens; it needs more than sequence_length={sequence_length} to make one window."
        )
    starts = np.arange(0, len(ids) - sequence_length, stride)
    if max_windows is not None:
        starts = starts[:max_windows]
    windows = np.lib.stride_tricks.sliding_window_view(ids, sequence_length)[starts]
    return np.ascontiguousarray(windows), ids[starts + sequence_length]

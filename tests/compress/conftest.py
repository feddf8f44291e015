"""Small models shared by the TF-MOT/TFLite compression tests (built or trained once per session)."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def small_cnn(digits):
    """The tutorial CNN's shape at an eighth of its width, trained briefly on digits: (model, train, test)."""
    import keras

    from zoo.vision.cnn import build_cnn

    keras.utils.set_random_seed(0)
    (x, y), (x_test, y_test) = digits
    model = build_cnn(filters=(4, 8, 8), dense_units=16)
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    return model, (x[:256], y[:256]), (x_test[:120], y_test[:120])


@pytest.fixture(scope="session")
def pruned_cnn(small_cnn):
    """small_cnn pruned to 50% with PolynomialDecay over one short epoch, TensorBoard logs in a temp folder."""
    import tempfile

    from zoo.compress.prune import prune_model

    model, (x, y), _ = small_cnn
    log_dir = tempfile.mkdtemp(prefix="zoo-prune-logs-")
    result = prune_model(
        model, x, y, target_sparsity=0.5, schedule="polynomial", epochs=1, batch_size=64, log_dir=log_dir
    )
    return result, log_dir


@pytest.fixture(scope="session")
def tiny_lstm():
    """An untrained LSTM generator over 20 token ids, windows of 6, and random next-token data."""
    import keras

    from zoo.text.lstm_generator import build_lstm_generator

    keras.utils.set_random_seed(0)
    model = build_lstm_generator(20, 6, embedding_dim=8, lstm_units=8)
    rng = np.random.default_rng(0)
    return model, rng.integers(0, 20, (64, 6)).astype("int32"), rng.integers(0, 20, 64)


def run(model, x):
    """Eager forward pass as numpy (no predict(): it compiles a function per model, slow in tests)."""
    return np.asarray(model(x, training=False))


@pytest.fixture(scope="session")
def cnn_float32_tflite(small_cnn):
    """small_cnn as a float32 TFLite file (bytes), the reference for quantized sizes."""
    from zoo.compress.ptq import quantize_tflite

    return quantize_tflite(small_cnn[0], "float32")

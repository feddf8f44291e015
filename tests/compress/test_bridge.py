"""The tf_keras bridge: Keras 3 -> tf_keras -> Keras 3 keeps predictions, and fails clearly where it cannot."""

import os

import keras
import numpy as np
import pytest

from tests.compress.conftest import run
from zoo.compress.bridge import BridgeError, copy_weights_back, to_keras3, to_tf_keras


def test_cnn_round_trip_gives_identical_predictions(small_cnn):
    model, _, (x_test, _) = small_cnn
    bridged = to_tf_keras(model)
    expected = run(model, x_test[:16])
    np.testing.assert_allclose(run(bridged.model, x_test[:16]), expected, rtol=0, atol=1e-6)
    assert [layer.name for layer in bridged.model.layers[1:]] == [layer.name for layer in model.layers]
    back = to_keras3(bridged.model, model)
    assert back is not model and back.compiled  # a compiled copy, ready for fit()
    np.testing.assert_array_equal(run(back, x_test[:16]), expected)


def test_lstm_round_trip_and_weights_flow_back(tiny_lstm):
    model, x, _ = tiny_lstm
    bridged = to_tf_keras(model)
    np.testing.assert_allclose(run(bridged.model, x), run(model, x), atol=1e-6)
    # Change the tf_keras weights: copying back must carry the change into the Keras 3 model.
    dense = bridged.model.get_layer("next_token")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 0, bias + 1.0])
    clone = keras.models.clone_model(model)
    assert sorted(copy_weights_back(bridged.model, clone)) == ["embedding", "lstm", "next_token"]
    np.testing.assert_allclose(run(clone, x), run(bridged.model, x), atol=1e-6)


def test_nested_transfer_base_is_inlined_and_stays_frozen(small_cnn):
    # Same shape as the VGG16 transfer model (frozen nested base + new head), at CNN size.
    from zoo.vision.transfer import build_transfer_model

    source, _, (x_test, _) = small_cnn
    model = build_transfer_model(source, num_classes=3, dense_units=8)
    bridged = to_tf_keras(model)
    names = [layer.name for layer in bridged.model.layers]
    assert "conv3" in names and "base" not in names  # TF-MOT refuses nested models
    assert not bridged.model.get_layer("conv1").trainable
    assert bridged.model.get_layer("new_dense").trainable
    np.testing.assert_allclose(run(bridged.model, x_test[:4]), run(model, x_test[:4]), atol=1e-6)


def test_layers_the_bridge_cannot_rebuild_are_listed():
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d"), Doubler(name="twice")])
    with pytest.raises(BridgeError, match=r"twice \(Doubler\)"):
        to_tf_keras(model)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(BridgeError, match="subclassed.*prune_layers_one_shot"):
        to_tf_keras(Subclassed())


def test_already_quantized_model_is_refused():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="d")])
    model.quantize("int8")
    with pytest.raises(BridgeError, match="already quantized"):
        to_tf_keras(model)


def test_keras3_still_works_after_tfmot_was_imported():
    import tensorflow as tf

    from zoo.compress.tfmot import load_tfmot

    before = os.environ.get("TF_USE_LEGACY_KERAS")
    _, tf_keras = load_tfmot()
    assert tf_keras.__version__.startswith("2.")
    assert os.environ.get("TF_USE_LEGACY_KERAS") == before  # TF-MOT's process-wide switch was undone
    assert getattr(tf, "keras").__version__.startswith("3.")  # TensorFlow's keras attribute is still Keras 3
    # A fresh Keras 3 model still compiles with Keras 3 optimizers and trains.
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    first = model.train_on_batch(np.ones((8, 3)), np.zeros((8, 1)))
    second = model.train_on_batch(np.ones((8, 3)), np.zeros((8, 1)))
    assert second < first

import h5py
import keras
import numpy as np
import pytest

from zoo import build_cnn, build_transfer_model, build_vgg16_transfer, unfreeze_top_block
from zoo.vision.vgg16_transfer import VGG16_NOTOP_FILE


def test_vgg16_transfer_parameter_count_equals_tutorial_architecture():
    model = build_vgg16_transfer(num_classes=10, weights=None)
    base = 14_714_688  # VGG16 without its top, 224x224x3
    head = (7 * 7 * 512 * 256 + 256) + (256 * 10 + 10)
    assert model.count_params() == base + head == 21_140_042
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == head, "the base must be frozen"
    assert [type(layer).__name__ for layer in model.layers] == ["Functional", "Flatten", "Dense", "Dense"]
    assert model.input_shape == (None, 224, 224, 3)


def test_missing_imagenet_weights_name_the_file_and_do_not_download(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        build_vgg16_transfer(weights="imagenet", input_shape=(32, 32, 3))
    message = str(info.value)
    assert VGG16_NOTOP_FILE in message and str(tmp_path / "models") in message


def test_missing_local_weights_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        build_vgg16_transfer(weights=str(tmp_path / "nope.h5"), input_shape=(32, 32, 3))


def _reference_base():
    return keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))


def test_local_weights_path_loads(tmp_path):
    reference = _reference_base()
    path = tmp_path / "vgg16_notop.weights.h5"
    reference.save_weights(path)
    model = build_vgg16_transfer(num_classes=3, weights=str(path), input_shape=(32, 32, 3))
    for a, b in zip(reference.get_weights(), model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_imagenet_weights_come_from_the_keras_cache(tmp_path, monkeypatch):
    # Write a file in the legacy h5 layout Keras' own download uses, where the cache keeps it.
    from keras.src.legacy.saving import legacy_h5_format

    reference = _reference_base()
    (tmp_path / "models").mkdir()
    with h5py.File(tmp_path / "models" / VGG16_NOTOP_FILE, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    model = build_vgg16_transfer(num_classes=3, weights="imagenet", input_shape=(32, 32, 3))
    for a, b in zip(reference.get_weights(), model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_frozen_stage_trains_only_the_head_then_fine_tuning_unfreezes_block5():
    model = build_vgg16_transfer(num_classes=3, weights=None, input_shape=(32, 32, 3))
    x = np.random.default_rng(0).normal(size=(12, 32, 32, 3)).astype("float32")
    y = np.arange(12) % 3
    base_before = [w.copy() for w in model.layers[0].get_weights()]
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=5, batch_size=4, verbose=0)
    assert model.evaluate(x, y, verbose=0)[0] < before
    for a, b in zip(base_before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)

    unfrozen = unfreeze_top_block(model, learning_rate=1e-5)
    assert unfrozen == ["block5_conv1", "block5_conv2", "block5_conv3"]
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)
    block4 = model.layers[0].get_layer("block4_conv3").get_weights()[0].copy()
    block5 = model.layers[0].get_layer("block5_conv3").get_weights()[0].copy()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    np.testing.assert_array_equal(block4, model.layers[0].get_layer("block4_conv3").get_weights()[0])
    assert not np.array_equal(block5, model.layers[0].get_layer("block5_conv3").get_weights()[0])


def test_save_load_gives_identical_predictions(tmp_path):
    model = build_vgg16_transfer(num_classes=4, weights=None, input_shape=(32, 32, 3))
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    model.save(tmp_path / "vgg.keras")
    loaded = keras.models.load_model(tmp_path / "vgg.keras")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"input_shape": (224, 224, 1)}, "3 channels"),
        ({"input_shape": (16, 16, 3)}, "at least 32x32"),
        ({"weights": 3}, "weights must be"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_vgg16_transfer(**{"weights": None, **kwargs})


def test_small_base_transfer_reuses_trained_features(digits):
    (x, y), _ = digits
    source = build_cnn(num_classes=10)
    source.fit(x[:128], y[:128], epochs=1, verbose=0)
    model = build_transfer_model(source, num_classes=5)
    base = model.get_layer("base")
    assert not base.trainable
    np.testing.assert_array_equal(base.get_layer("conv1").get_weights()[0], source.get_layer("conv1").get_weights()[0])
    assert model.output_shape == (None, 5)
    assert unfreeze_top_block(model, base_name="base", prefix="conv3") == ["conv3"]
    with pytest.raises(ValueError, match="No layer"):
        unfreeze_top_block(model, base_name="base", prefix="block5")
    with pytest.raises(ValueError, match="cut_at"):
        build_transfer_model(source, num_classes=5, cut_at="nope")

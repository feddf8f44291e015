import keras
import numpy as np
import pytest

from tests.harness import run_model_saving_test
from zoo import build_cnn


def test_parameter_count_equals_tutorial_architecture():
    model = build_cnn()
    # conv 3*3*1*32+32, conv 3*3*32*64+64, conv 3*3*64*64+64, dense 576*64+64, dense 64*10+10
    expected = 320 + 18_496 + 36_928 + 36_928 + 650
    assert model.count_params() == expected == 93_322
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dense", "Dense"]
    assert model.output_shape == (None, 10)
    assert model.layers[-1].activation.__name__ == "softmax"


@pytest.mark.parametrize("one_hot", [True, False])
def test_short_fit_lowers_loss_with_one_hot_or_sparse_labels(digits, one_hot):
    (x, y), _ = digits
    x, y = x[:256], y[:256]
    labels = keras.utils.to_categorical(y, 10) if one_hot else y
    model = build_cnn()
    before = model.evaluate(x, labels, verbose=0)[0]
    model.fit(x, labels, epochs=3, batch_size=32, verbose=0)
    after = model.evaluate(x, labels, verbose=0)[0]
    assert after < before * 0.7


def test_one_hot_and_sparse_losses_agree():
    from zoo.losses import FlexibleCrossentropy

    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], "float32")
    loss = FlexibleCrossentropy()
    sparse = float(loss(np.array([0, 2]), probs))
    one_hot = float(loss(np.eye(3, dtype="float32")[[0, 2]], probs))
    assert sparse == pytest.approx(one_hot, rel=1e-6)
    assert sparse == pytest.approx(-np.mean(np.log([0.7, 0.8])), rel=1e-5)


def test_save_load_gives_identical_predictions(digits):
    (x, _), _ = digits
    run_model_saving_test(build_cnn(), x[:16])


def test_configurable_shape_and_classes():
    model = build_cnn(input_shape=(32, 32, 3), num_classes=5)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 5)


@pytest.mark.parametrize("bad", [(28, 28), (28, 28, 0), "28x28", None])
def test_bad_input_shape_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="input_shape"):
        build_cnn(input_shape=bad)


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True])
def test_num_classes_below_two_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        build_cnn(num_classes=bad)


def test_wrong_image_shape_at_predict_time_is_rejected():
    model = build_cnn()
    with pytest.raises(ValueError, match="incompatible"):
        model.predict(np.zeros((1, 32, 32, 1), "float32"), verbose=0)

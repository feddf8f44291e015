"""TF-MOT quantization-aware training through the bridge, converted to int8 TFLite."""

import numpy as np
import pytest

from tests.compress.conftest import run
from zoo.compress.bridge import BridgeError
from zoo.compress.ptq import AlreadyQuantizedError, TFLiteModel, quantize_tflite
from zoo.compress.qat import qat_tflite, quantize_aware_train


def test_qat_cnn_to_int8_tflite(small_cnn, cnn_float32_tflite):
    from zoo.train.tensorboard import RunSummaries, StepScalars

    model, (x, y), (x_test, _) = small_cnn
    steps = RunSummaries(None)  # counts the global step without writing (as --no-tensorboard)
    result = quantize_aware_train(model, x, y, epochs=1, batch_size=64, callbacks=[StepScalars(steps)])
    assert steps.step == -(-len(x) // 64) and steps.epoch_steps == [steps.step]  # Keras 3 callback saw each batch
    assert {"conv1", "conv2", "conv3", "dense", "probabilities"} <= set(result.quantized)
    content = qat_tflite(result.tf_keras_model)
    assert len(content) < len(cnn_float32_tflite) - 2 * model.count_params()
    agreement = np.mean(TFLiteModel(content).predict(x_test).argmax(-1) == run(model, x_test).argmax(-1))
    assert agreement >= 0.85
    with pytest.raises(AlreadyQuantizedError, match="quantization-aware"):
        quantize_tflite(result.tf_keras_model, "int8", representative_data=x[:8])


def test_qat_refuses_what_it_cannot_quantize(tiny_lstm, small_cnn):
    lstm, x, y = tiny_lstm
    with pytest.raises(BridgeError, match=r"lstm \(LSTM\)"):
        quantize_aware_train(lstm, x, y)
    model, (x, y), _ = small_cnn
    with pytest.raises(ValueError, match="does not have"):
        quantize_aware_train(model, x, y, only=["no_such_layer"])
    from zoo.compress.bridge import to_tf_keras

    with pytest.raises(ValueError, match="no TF-MOT quantization wrappers"):
        qat_tflite(to_tf_keras(model).model)

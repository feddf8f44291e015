"""Post-training quantization to TFLite, run with ai_edge_litert; prune then int8; clear errors."""

import numpy as np
import pytest

from tests.compress.conftest import run
from zoo.compress.ptq import AlreadyQuantizedError, TFLiteModel, quantize_tflite


def test_float32_and_int8_tflite_size_and_agreement(small_cnn, cnn_float32_tflite):
    model, (x, _), (x_test, y_test) = small_cnn
    expected = run(model, x_test)
    np.testing.assert_allclose(TFLiteModel(cnn_float32_tflite).predict(x_test[:8]), expected[:8], atol=1e-4)
    content = quantize_tflite(model, "int8", representative_data=x[:64])
    # int8 stores one byte per weight instead of four (the file's fixed overhead aside).
    assert len(content) < len(cnn_float32_tflite) - 2 * model.count_params()
    int8 = TFLiteModel(content)
    agreement = np.mean(int8.predict(x_test).argmax(-1) == expected.argmax(-1))
    assert agreement >= 0.9
    assert int8.evaluate(x_test, y_test)["accuracy"] >= np.mean(expected.argmax(-1) == y_test) - 0.05
    assert int8.latency_ms(x_test, repeats=3, warmup=1) > 0


def test_prune_then_int8(pruned_cnn, small_cnn):
    result, _ = pruned_cnn
    _, (x, _), (x_test, _) = small_cnn
    content = quantize_tflite(result.tf_keras_model, "int8", representative_data=x[:32], integer_io=True)
    tflite = TFLiteModel(content)
    assert tflite.input["dtype"] == np.int8  # full integer, inputs included
    agreement = np.mean(tflite.predict(x_test).argmax(-1) == run(result.model, x_test).argmax(-1))
    assert agreement >= 0.85


def test_ptq_errors_are_clear(small_cnn):
    import keras

    model, _, _ = small_cnn
    with pytest.raises(ValueError, match="representative_data"):
        quantize_tflite(model, "int8")
    with pytest.raises(ValueError, match="mode must be one of"):
        quantize_tflite(model, "int3")
    with pytest.raises(AlreadyQuantizedError, match="TFLite flatbuffer"):
        quantize_tflite(b"TFL3...", "dynamic")
    quantized = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="d")])
    quantized.quantize("int8")
    with pytest.raises(AlreadyQuantizedError, match="already quantized"):
        quantize_tflite(quantized, "dynamic")

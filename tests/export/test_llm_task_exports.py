"""The LLM's other task models: a classifier gets probabilities and labels, any other keeps its own outputs."""

import numpy as np
import pytest
import tensorflow as tf

SMALL = dict(num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32, vocab_size=50, max_length=16, compile=False)


@pytest.mark.parametrize(
    "kind, signature_kind, outputs",
    [
        ("classifier", "classifier", {"probabilities", "label"}),
        ("qa", "functional", {"start_logits", "end_logits"}),
    ],
)
def test_llm_task_exports_answer_like_keras(tmp_path, kind, signature_kind, outputs):
    from zoo.export.saved_model import export_saved_model
    from zoo.llm import build_llm

    model = (
        build_llm(kind, "tiny", num_classes=3, **SMALL) if kind == "classifier" else build_llm(kind, "tiny", **SMALL)
    )
    result = export_saved_model(model, tmp_path)  # publishing includes the comparison with Keras
    assert result.kind == signature_kind
    assert set(result.signatures["serving_default"]["outputs"]) == outputs
    assert result.signatures["serving_default"]["inputs"]["token_ids"] == {"dtype": "int32", "shape": [None, None]}
    assert max(result.max_abs_diff["serving_default"].values()) < 1e-4
    served = tf.saved_model.load(result.path).signatures["serving_default"]
    ids = np.array([[2, 9, 11, 3], [2, 5, 3, 0]], "int32")
    answer = served(token_ids=tf.constant(ids), padding_mask=tf.constant((ids != 0).astype("int32")))
    if kind == "classifier":
        np.testing.assert_allclose(answer["probabilities"].numpy().sum(axis=-1), 1.0, atol=1e-6)

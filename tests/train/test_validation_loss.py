"""val_loss is the mean loss over the validation windows, whatever tf.data knows about their number.

Keras 3.15 on TensorFlow (no XLA) divides evaluate()'s sums by one batch too many for the corpus
pipeline (unknown cardinality: the step that meets the end of the data is counted), so a run's
val_loss read n/(n+1) of the truth; `known_length` states the number of batches.
"""

import dataclasses

import numpy as np

from zoo.data.corpus import as_model_inputs, clm_splits, known_length, training_stream, training_windows
from zoo.llm import build_llm
from zoo.llm.models.presets import get_preset
from zoo.train.pretraining import fit_from


def test_fit_reports_the_eager_mean_validation_loss(corpus):
    train, validation, tokenizer = clm_splits(corpus, 16, 4, 0.2, seed=0)
    validation = as_model_inputs(validation)
    assert int(validation.cardinality()) < 0  # tf.data cannot tell: this is where Keras miscounted
    config = dataclasses.replace(get_preset("tiny"), vocab_size=tokenizer.vocabulary_size(), max_length=16)
    model = build_llm("causal", config=dataclasses.replace(config, num_layers=1))
    model.compile(optimizer="sgd", loss=model.loss, jit_compile=False)
    x, y = training_windows(train)
    history, _ = fit_from(model, training_stream(x, y, 4, 0), validation, 0, 2, 2, [], verbose=0)

    vx, vy = training_windows(validation.map(lambda inputs, labels: (inputs["token_ids"], labels)))
    assert int(known_length(validation).cardinality()) == len(vx) // 4
    logits = np.asarray(model({"token_ids": vx, "padding_mask": np.ones_like(vx)}, training=False), "float64")
    top = logits.max(-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    eager = -np.take_along_axis(log_probs, vy[..., None], -1).mean()
    np.testing.assert_allclose(history["val_loss"][-1], eager, rtol=1e-4)

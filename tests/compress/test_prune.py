"""TF-MOT pruning through the bridge: schedules, callbacks, strip, per-layer sparsity, sizes, 2:4, the LLM."""

import os

import keras
import numpy as np
import pytest

from tests.compress.conftest import run
from zoo.compress.prune import MaskKeeper, prune_layers_one_shot, prune_model, pruning_schedule


def test_polynomial_decay_prunes_every_layer_and_shrinks_gzip(small_cnn, pruned_cnn):
    model, _, (x_test, _) = small_cnn
    result, log_dir = pruned_cnn
    assert result.pruned == ["conv1", "conv2", "conv3", "dense", "probabilities"]
    assert result.skipped == []
    for layer, share in result.sparsity.items():
        assert share == pytest.approx(0.5, abs=0.02), layer
    # Pruning keeps the dense layout (same raw size); the zeros show once gzipped.
    assert result.size_after["raw_bytes"] == result.size_before["raw_bytes"]
    assert result.size_after["gzip_bytes"] < 0.8 * result.size_before["gzip_bytes"]
    # strip_pruning removed the wrappers; the input model was left as it was.
    assert not any("prune_low_magnitude" in layer.name for layer in result.tf_keras_model.layers)
    assert float(np.mean(model.get_layer("dense").kernel.numpy() == 0)) < 0.05
    np.testing.assert_allclose(run(result.model, x_test[:8]), run(result.tf_keras_model, x_test[:8]), atol=1e-6)
    assert os.listdir(log_dir)  # PruningSummaries wrote TensorBoard logs


def test_two_of_four_structured_sparsity():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="d1"), keras.layers.Dense(4, name="d2")])
    result = prune_layers_one_shot(model, 0.5, m_by_n=(2, 4))
    kernel = model.get_layer("d1").kernel.numpy()
    # TF-MOT groups four consecutive weights along the input axis; two of each four are zero.
    groups = kernel.T.reshape(16, 2, 4)
    assert np.all((groups == 0).sum(-1) == 2)
    assert [path.split("/")[-1] for path in result.pruned] == ["d1", "d2"]


def test_llm_dense_and_embedding_layers_pruned_one_shot_and_kept_sparse():
    from zoo.llm import build_llm

    llm = build_llm(
        "causal",
        "tiny",
        num_layers=1,
        hidden_dim=16,
        intermediate_dim=32,
        num_heads=2,
        vocab_size=32,
        max_length=16,
        compile=False,
    )
    result = prune_layers_one_shot(llm, 0.5)
    assert {"block_0/ffn_in", "block_0/ffn_out", "embeddings/token_embedding"} <= set(result.pruned)
    assert any("LayerNormalization" in s for s in result.skipped)  # listed, left dense
    assert result.overall_sparsity == pytest.approx(0.5, abs=0.01)
    # MaskKeeper puts the zeros back after every training batch (driven here without fit's tracing cost).
    keeper = MaskKeeper(result.masks)
    keeper.set_model(llm)
    keeper.on_train_begin()
    layer = next(x for x in llm._flatten_layers() if getattr(x, "path", None) == "block_0/ffn_in")
    layer.kernel.assign(layer.kernel + 1.0)  # an optimizer step that moved every weight
    assert np.mean(layer.kernel.numpy() == 0) == 0
    keeper.on_train_batch_end(0)
    for path, mask in result.masks.items():
        layer = next(x for x in llm._flatten_layers() if getattr(x, "path", None) == path)
        weights = (layer.kernel if hasattr(layer, "kernel") else layer.embeddings).numpy()
        assert np.all(weights[~mask] == 0) and np.all(weights[mask] != 0), path


def test_bad_pruning_arguments_are_explained(small_cnn):
    model, (x, y), _ = small_cnn
    assert type(pruning_schedule("constant", 0.5, end_step=10)).__name__ == "ConstantSparsity"
    with pytest.raises(ValueError, match="between 0 and 1"):
        pruning_schedule("constant", 1.5, end_step=10)
    with pytest.raises(ValueError, match="schedule must be one of"):
        pruning_schedule("cosine", 0.5, end_step=10)
    with pytest.raises(ValueError, match="0 < m < n"):
        prune_model(model, x, y, m_by_n=(4, 2))
    with pytest.raises(ValueError, match="same length"):
        prune_model(model, x, y[:3])

"""Each recipe end to end, on real data, with the smallest settings: it must write a complete run folder."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from zoo.cli import load_recipe

pytestmark = pytest.mark.recipe  # end-to-end recipe runs: `make test-fast` skips them

RUN_FILES = {"config.json", "history.csv", "plot.png", "model.keras", "results.json"}


def _only_run(root, prefix):
    runs = [p for p in Path(root).iterdir() if p.name.startswith(prefix)]
    assert len(runs) == 1, runs
    run = runs[0]
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    assert (run / "plot.png").read_bytes()[:4] == b"\x89PNG"
    # TensorBoard logs are on by default (tests/train/test_tensorboard.py reads them back).
    assert list((run / "tensorboard" / "train").glob("events.out.tfevents.*"))
    return run, json.loads((run / "results.json").read_text())


def test_train_cnn_writes_a_run_folder(tmp_path):
    train_cnn = load_recipe("train-cnn")
    assert train_cnn.main(["--epochs", "2", "--runs-dir", str(tmp_path), "--verbose", "0"]) == 0
    run, results = _only_run(tmp_path, "train-cnn-")
    config = json.loads((run / "config.json").read_text())
    assert config["epochs"] == 2 and config["recipe"] == "train-cnn"
    assert len((run / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs
    assert results["test_accuracy"] > 0.5  # two epochs are far above chance (0.1)
    model = keras.models.load_model(run / "model.keras")
    assert model.count_params() == 93_322


def test_train_lstm_reports_perplexity_and_samples(tmp_path):
    train_lstm = load_recipe("train-lstm")
    argv = [
        "--epochs",
        "1",
        "--max-windows",
        "800",
        "--sample-length",
        "10",
        "--runs-dir",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    assert train_lstm.main(argv) == 0
    run, results = _only_run(tmp_path, "train-lstm-")
    assert (run / "vocabulary.json").exists()
    assert 1.0 < results["validation_perplexity"] < results["vocab_size"]
    assert set(results["samples"]) == {"0.2", "0.7", "1.0"}


def test_train_lstm_on_a_japanese_text_file(tmp_path):
    train_lstm = load_recipe("train-lstm")
    text = tmp_path / "ja.txt"
    text.write_text("大規模言語モデルは、大量のテキストで学習します。" * 40, encoding="utf-8")
    argv = [
        "--text",
        str(text),
        "--epochs",
        "1",
        "--seq-len",
        "8",
        "--sample-length",
        "5",
        "--prompt",
        "大規模",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--verbose",
        "0",
    ]
    assert train_lstm.main(argv) == 0
    _, results = _only_run(tmp_path / "runs", "train-lstm-")
    assert results["samples"]["0.2"].startswith("大規模")


def test_train_lstm_rejects_a_missing_text_file(tmp_path):
    train_lstm = load_recipe("train-lstm")
    with pytest.raises(SystemExit, match="neither a file nor a folder"):
        train_lstm.main(["--text", str(tmp_path / "missing.txt"), "--runs-dir", str(tmp_path)])


def test_train_gan_saves_sample_grids_and_a_score(tmp_path):
    train_gan = load_recipe("train-gan")
    argv = [
        "--epochs",
        "1",
        "--classifier-epochs",
        "1",
        "--score-samples",
        "50",
        "--runs-dir",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    assert train_gan.main(argv) == 0
    run, results = _only_run(tmp_path, "train-gan-")
    assert (run / "samples" / "epoch_001.png").exists()
    assert sum(results["class_counts"]) <= 50
    assert "confident_share" in (run / "history.csv").read_text().splitlines()[0]
    gan = keras.models.load_model(run / "model.keras")
    assert gan.predict(np.zeros((2, 100), "float32"), verbose=0).shape == (2, 28, 28, 1)
    # The score sits next to its baseline, the same generator before training (one epoch is too
    # short to beat it; tests/test_gan.py checks that training does).
    assert {"untrained_confident_share", "untrained_class_evenness"} <= set(results)


def test_transfer_small_freezes_then_fine_tunes(tmp_path):
    transfer = load_recipe("transfer")
    argv = [
        "--source-epochs",
        "1",
        "--epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--target-per-class",
        "5",
        "--runs-dir",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    assert transfer.main(argv) == 0
    _, results = _only_run(tmp_path, "transfer-small-")
    assert results["base_frozen_in_stage1"] is True
    assert results["unfrozen_layers"] == ["conv3"]
    assert results["target_train_images"] == 25


def test_transfer_vgg16_runs_end_to_end_offline(tmp_path):
    transfer = load_recipe("transfer")
    argv = [
        "--model",
        "vgg16",
        "--image-size",
        "32",
        "--subset",
        "40",
        "--epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--runs-dir",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    assert transfer.main(argv) == 0
    _, results = _only_run(tmp_path, "transfer-vgg16-")
    assert results["base_frozen_in_stage1"] is True
    assert results["unfrozen_layers"] == ["block5_conv1", "block5_conv2", "block5_conv3"]


def test_transfer_vgg16_with_missing_imagenet_weights_fails_before_training(tmp_path, monkeypatch):
    transfer = load_recipe("transfer")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    with pytest.raises(SystemExit, match="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5") as exit_info:
        transfer.main(["--model", "vgg16", "--weights", "imagenet", "--runs-dir", str(tmp_path)])
    assert exit_info.value.code == 2  # a user mistake: one line, no traceback

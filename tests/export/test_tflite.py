"""`zoo export --format tflite`: CNN, LSTM generator and the small LM, run with ai_edge_litert."""

import os

import numpy as np
import pytest

from tests.export.conftest import make_run_folder, tiny_cnn, tiny_lstm
from tests.export.test_saved_model import export_with_cli


@pytest.fixture(scope="module")
def tflite_exports(tmp_path_factory, lm_run):
    root = tmp_path_factory.mktemp("tflite")
    out = root / "saved_models"
    models = {"cnn": tiny_cnn(), "lstm_generator": tiny_lstm(30), "causal_lm": lm_run[1]}
    sources = {
        "cnn": make_run_folder(root / "runs", "train-cnn", models["cnn"]),
        "lstm_generator": make_run_folder(root / "runs", "train-lstm", models["lstm_generator"]),
        "causal_lm": lm_run[0],
    }
    summaries = {name: export_with_cli(src, "--format", "tflite", "--output", out) for name, src in sources.items()}
    summaries["lm_float16"] = export_with_cli(
        sources["causal_lm"], "--format", "tflite", "--output", out, "--quantization", "float16"
    )
    return {"models": models, "summaries": summaries, "out": out}


@pytest.mark.parametrize(
    "name, signature, batch",
    [
        ("cnn", "serving_default", 5),  # any batch size
        ("lstm_generator", "serving_default", 1),
        ("causal_lm", "logits", 1),
    ],
)
def test_litert_interpreter_matches_keras(tflite_exports, name, signature, batch):
    from zoo.export.reference import keras_outputs, sample_inputs
    from zoo.export.tflite import run_tflite

    summary, model = tflite_exports["summaries"][name], tflite_exports["models"][name]
    assert summary["path"] == os.path.join(str(tflite_exports["out"]), model.name, "tflite", "1", "model.tflite")
    assert summary["signatures"] == [signature]
    inputs = sample_inputs(model, summary["kind"], signature, batch=batch, seed=7, prompt_length=9)
    got = run_tflite(summary["path"], inputs, signature)
    want = keras_outputs(model, summary["kind"], signature, inputs)
    for output, value in want.items():
        np.testing.assert_allclose(got[output], value, atol=1e-4, err_msg=output)


def test_lm_tflite_keeps_its_tokenizer_and_any_sequence_length(tflite_exports):
    from zoo.export.tflite import run_tflite

    folder = os.path.dirname(tflite_exports["summaries"]["causal_lm"]["path"])
    assert sorted(os.listdir(os.path.join(folder, "assets"))) == ["sentencepiece.model", "tokenizer.json"]
    for length in (3, 11):
        out = run_tflite(os.path.join(folder, "model.tflite"), {"token_ids": np.full((1, length), 7, "int32")})
        assert out["logits"].shape == (1, length, 400)


def test_float16_saves_about_two_bytes_per_weight_and_stays_close(tflite_exports):
    full, half = tflite_exports["summaries"]["causal_lm"], tflite_exports["summaries"]["lm_float16"]
    assert half["version"] == 2 and half["quantization"] == "float16"
    # The graph itself does not shrink; the weights go from 4 to 2 bytes (small vectors may stay float32).
    params = tflite_exports["models"]["causal_lm"].count_params()
    assert full["size_bytes"] - half["size_bytes"] > 1.2 * params
    assert max(half["max_abs_diff"]["logits"].values()) < 1e-2


def test_a_batch_one_file_says_so_when_given_more(tflite_exports):
    from zoo.export.tflite import run_tflite

    summary = tflite_exports["summaries"]["lstm_generator"]
    assert summary["batch_size"] == 1
    with pytest.raises(ValueError, match="takes batches of 1 .*call it once per example"):
        run_tflite(summary["path"], {"token_ids": np.ones((2, 8), "int32")})

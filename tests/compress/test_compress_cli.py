"""`zoo compress`: the TF-MOT/TFLite techniques write their run folder; the others are their own recipes."""

import json
import os
import sys
import types

import pytest

from zoo import cli


@pytest.mark.recipe
def test_ptq_from_a_saved_model_writes_tflite_and_results(small_cnn, tmp_path):
    model, _, _ = small_cnn
    path = str(tmp_path / "cnn.keras")
    model.save(path)
    assert (
        cli.main(
            [
                "compress",
                "ptq",
                "--from",
                path,
                "--modes",
                "dynamic",
                "--calibration-samples",
                "8",
                "--runs-dir",
                str(tmp_path / "runs"),
            ]
        )
        == 0
    )
    (run_dir,) = os.listdir(tmp_path / "runs")
    folder = tmp_path / "runs" / run_dir
    assert (folder / "model-dynamic.tflite").stat().st_size > 0
    results = json.loads((folder / "results.json").read_text())
    # Dynamic-range int8 keeps the Keras model's accuracy, and that is well above chance (0.1).
    assert results["keras_accuracy"] > 0.1 + 0.1
    assert results["tflite"]["dynamic"]["accuracy"] == pytest.approx(results["keras_accuracy"], abs=0.05)
    assert results["tflite"]["dynamic"]["gzip_bytes"] > 0


def test_other_techniques_are_dispatched_to_their_recipes(monkeypatch):
    calls = []
    fake = types.ModuleType("zoo.recipes.low_rank")
    fake.main = lambda argv, prog=None: calls.append((argv, prog)) or 0
    monkeypatch.setitem(sys.modules, "zoo.recipes.low_rank", fake)
    assert cli.main(["compress", "low-rank", "--rank", "4"]) == 0
    assert calls == [(["--rank", "4"], "zoo compress low-rank")]


def test_missing_recipe_unknown_technique_and_bad_options_are_explained(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMPRESS, "lora", ("recipe:no_such_recipe", "x"))
    assert cli.main(["compress", "lora"]) == 2
    assert "no_such_recipe.py is missing" in capsys.readouterr().err
    assert cli.main(["compress", "lowrank"]) == 2
    assert "zoo compress low-rank" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2:4") as exit_info:
        cli.main(["compress", "prune", "--m-by-n", "two-four"])
    assert exit_info.value.code == 2
    assert cli.main(["compress"]) == 2
    out = capsys.readouterr().out
    for technique in ("prune", "qat", "ptq", "quantize-llm", "distill", "low-rank", "lora"):
        assert technique in out

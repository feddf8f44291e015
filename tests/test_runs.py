import json
import os

import keras
import pytest

from zoo.runs import RunFolder, atomic_write_json, merge_histories, plot_history, save_model_atomic


def test_run_folder_names_and_config(tmp_path):
    a = RunFolder("demo", {"epochs": 3}, root=tmp_path)
    b = RunFolder("demo", {"epochs": 3}, root=tmp_path)
    assert a.path != b.path  # two runs in the same second do not collide
    assert os.path.basename(a.path).startswith("demo-")
    assert json.loads(open(a.file("config.json")).read()) == {"recipe": "demo", "epochs": 3}


def test_a_failed_save_leaves_the_previous_model_intact(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = str(tmp_path / "model.keras")
    save_model_atomic(model, path)
    good = open(path, "rb").read()

    class Broken(keras.Model):
        def save(self, *args, **kwargs):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_model_atomic(Broken(), path)
    assert open(path, "rb").read() == good
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temp file left behind
    with pytest.raises(ValueError, match=".keras"):
        save_model_atomic(model, str(tmp_path / "model.h5"))


def test_atomic_json_and_plot(tmp_path):
    atomic_write_json(tmp_path / "r.json", {"a": 1})
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": 1}
    history = merge_histories({"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}, {"loss": [0.5], "val_loss": [1.0]})
    assert history["loss"] == [2.0, 1.0, 0.5]
    plot_history(history, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no metrics"):
        plot_history({}, tmp_path / "empty.png")

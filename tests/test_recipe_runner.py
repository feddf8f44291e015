"""The recipe runner, the typed options and the run-folder reader: what every recipe relies on."""

import argparse
import json

import pytest

from zoo.errors import UsageError
from zoo.recipe import Recipe, UsageExit
from zoo.runs import RunFolder, find_run


def tiny_recipe(body, training=False):
    recipe = Recipe("tiny", "A recipe for the tests.", examples=["zoo tiny", "zoo tiny --n 2"], training=training)

    @recipe.options
    def add_options(parser):
        parser.add_argument("--n", type=int, default=1)

    recipe.body(body)
    return recipe


def test_the_run_folder_is_made_on_first_use_with_the_options_and_notes(tmp_path):
    def body(args, run):
        run.note(extra=args.n * 10)
        return run.finish(None, None, {"n": args.n})

    results = tiny_recipe(body).run(["--n", "3", "--runs-dir", str(tmp_path), "--seed", "7"])
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("tiny-") and results["run_dir"] == str(folder)
    config = json.loads((folder / "config.json").read_text())
    assert config["n"] == 3 and config["seed"] == 7 and config["extra"] == 30 and config["recipe"] == "tiny"
    assert json.loads((folder / "results.json").read_text())["n"] == 3


def test_a_user_error_exits_2_with_one_line_and_leaves_no_run_folder(tmp_path, capsys):
    def body(args, run):
        raise UsageError("--n 5 is too many:\nuse at most 4.")

    with pytest.raises(UsageExit) as exit_info:
        tiny_recipe(body).run(["--n", "5", "--runs-dir", str(tmp_path)])
    assert exit_info.value.code == 2 and str(exit_info.value) == "--n 5 is too many: use at most 4."
    assert capsys.readouterr().err == "zoo tiny: error: --n 5 is too many: use at most 4.\n"
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_programming_error_keeps_its_traceback(tmp_path):
    def body(args, run):
        raise KeyError("a bug, not a user mistake")

    with pytest.raises(KeyError):
        tiny_recipe(body).run(["--runs-dir", str(tmp_path)])


def test_the_seed_is_set_before_the_body_and_training_recipes_get_the_shared_options(tmp_path):
    import numpy as np

    def body(args, run):
        import keras

        return {
            "draw": float(keras.random.uniform(()).numpy()),
            "numpy": float(np.random.rand()),
            "tensorboard": args.tensorboard,
            "precision": args.precision,
            "strategy": args.strategy,
        }

    recipe = tiny_recipe(body, training=True)
    first = recipe.run(["--seed", "3", "--strategy", "default", "--runs-dir", str(tmp_path)])
    second = recipe.run(["--seed", "3", "--strategy", "default", "--runs-dir", str(tmp_path)])
    assert first == second
    assert first["tensorboard"] is True and first["precision"] == "float32" and first["strategy"] == "default"
    assert recipe.build_parser().epilog.splitlines() == ["examples:", "  zoo tiny", "  zoo tiny --n 2"]


@pytest.mark.parametrize(
    "kind, text, ok",
    [
        ("positive_int", "3", True),
        ("positive_int", "0", False),
        ("fraction", "0.5", True),
        ("fraction", "1", False),
        ("memory_size", "2GiB", True),
        ("memory_size", "lots", False),
        ("positive_float", "-1", False),
        ("non_negative_int", "0", True),
    ],
)
def test_typed_options(kind, text, ok):
    from zoo import options

    if ok:
        getattr(options, kind)(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            getattr(options, kind)(text)


def test_find_run_reads_a_run_folder_and_its_tokenizer(tmp_path):
    run = RunFolder("pretrain-clm", {"tokenizer": "tokenizer"}, root=str(tmp_path))
    (tmp_path / "model.keras").write_bytes(b"not read")
    with pytest.raises(FileNotFoundError, match="has no model.keras"):
        find_run(run.path)
    (tmp_path / run.path.split("/")[-1] / "model.keras").write_bytes(b"not read")
    files = find_run(run.path)
    assert files.model_file == run.file("model.keras") and files.tokenizer_dir is None
    assert files.config["recipe"] == "pretrain-clm"
    (tmp_path / run.path.split("/")[-1] / "tokenizer").mkdir()
    (tmp_path / run.path.split("/")[-1] / "tokenizer" / "tokenizer.json").write_text("{}")
    assert find_run(run.path).tokenizer_dir == run.file("tokenizer")
    # A bare .keras file: no config, the tokenizer/ beside it if any.
    bare = find_run(str(tmp_path / "model.keras"))
    assert bare.config == {} and bare.folder is None and bare.tokenizer_dir is None


def test_a_nan_loss_stops_any_recipe_with_exit_2_before_it_saves(tmp_path):
    import keras
    import numpy as np

    def body(args, run):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        x = np.ones((8, 2), "float32")
        x[5] = np.nan  # in the third batch of two
        model.fit(x, np.ones((8, 1)), batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=run.callbacks())
        return run.finish(model, None, {"done": True})

    with pytest.raises(UsageExit) as exit_info:
        tiny_recipe(body).run(["--runs-dir", str(tmp_path)])
    assert exit_info.value.code == 2 and "Training diverged: loss became nan at step 3" in str(exit_info.value)
    (folder,) = tmp_path.iterdir()
    assert not (folder / "results.json").exists() and not (folder / "model.keras").exists()

    def fit_without_the_run_callbacks(args, run):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.layers[0].bias.assign([np.inf])
        return run.finish(model, {"loss": [0.5]}, {"done": True})

    with pytest.raises(UsageExit, match="the model has NaN or infinite weights, so no model or results were saved"):
        tiny_recipe(fit_without_the_run_callbacks).run(["--runs-dir", str(tmp_path / "backstop")])
    assert not list((tmp_path / "backstop").rglob("results.json"))


def test_a_full_disk_exits_1_with_one_line_naming_the_file_and_keeps_the_earlier_one(tmp_path, capsys, monkeypatch):
    import errno
    import os

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def body(args, run):
        run.save_results({"n": 1})
        monkeypatch.setattr(os, "fsync", full_disk)
        return run.save_results({"n": 2})

    with pytest.raises(SystemExit) as exit_info:
        tiny_recipe(body).run(["--runs-dir", str(tmp_path)])
    assert exit_info.value.code == 1
    (folder,) = tmp_path.iterdir()
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"zoo tiny: error: cannot write {folder / 'results.json'}: no space left on device (ENOSPC)")
    assert json.loads((folder / "results.json").read_text()) == {"n": 1}
    monkeypatch.undo()

    def writes_on_its_own(args, run):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), run.file("history.csv"))  # as open() would

    with pytest.raises(SystemExit) as exit_info:
        tiny_recipe(writes_on_its_own).run(["--runs-dir", str(tmp_path)])
    assert exit_info.value.code == 1
    assert "history.csv: the file system is read-only (EROFS)" in capsys.readouterr().err


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_runs_folder_exits_1_naming_it(tmp_path, capsys):
    def body(args, run):
        return run.save_results({"n": 1})

    tmp_path.chmod(0o500)
    try:
        with pytest.raises(SystemExit) as exit_info:
            tiny_recipe(body).run(["--runs-dir", str(tmp_path / "runs")])
    finally:
        tmp_path.chmod(0o700)
    assert exit_info.value.code == 1 and "permission denied (EACCES)" in capsys.readouterr().err

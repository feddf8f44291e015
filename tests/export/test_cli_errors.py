"""`zoo export` on bad input: each case a clear error, exit code 2, and nothing written."""

import os

import keras
import pytest
from keras import ops

from tests.export.conftest import make_run_folder, tiny_cnn


@keras.saving.register_keras_serializable(package="zoo_test")
class EagerOnly(keras.layers.Layer):
    """A layer that reads tensor values in Python: it works eagerly but cannot become a graph."""

    def call(self, x):
        scale = float(ops.convert_to_numpy(ops.max(x)))  # a concrete number: impossible while tracing
        return x / scale

    def compute_output_spec(self, x):
        return keras.KerasTensor(x.shape, x.dtype)


def run_cli(capsys, *argv):
    from zoo.export.cli import main

    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    return make_run_folder(tmp_path_factory.mktemp("runs"), "train-cnn", tiny_cnn())


def test_a_path_that_does_not_exist(tmp_path, capsys):
    code, err = run_cli(capsys, tmp_path / "runs" / "nothing", "--output", tmp_path / "out")
    assert code == 2
    assert "does not exist" in err and "run folder" in err and ".keras" in err
    assert not os.path.exists(tmp_path / "out")


def test_a_folder_that_is_not_a_run_folder(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    code, err = run_cli(capsys, tmp_path / "notes", "--output", tmp_path / "out")
    assert code == 2 and "is not a run folder: it has no model.keras" in err


def test_a_file_that_is_not_a_keras_model(tmp_path, capsys):
    (tmp_path / "weights.h5").write_bytes(b"\x89HDF")
    code, err = run_cli(capsys, tmp_path / "weights.h5", "--output", tmp_path / "out")
    assert code == 2 and "is not a Keras model file" in err
    (tmp_path / "broken.keras").write_bytes(b"not a zip archive")
    code, err = run_cli(capsys, tmp_path / "broken.keras", "--output", tmp_path / "out")
    assert code == 2 and "Could not load" in err and "model.save()" in err
    assert not os.path.exists(tmp_path / "out")


def test_a_version_that_exists_is_refused_and_left_as_it_was(cnn_run, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(capsys, cnn_run, "--output", out, "--version", 3)[0] == 0
    before = {f: os.path.getmtime(out / "cnn" / "3" / f) for f in ("saved_model.pb", "fingerprint.pb")}
    code, err = run_cli(capsys, cnn_run, "--output", out, "--version", 3)
    assert code == 2
    assert "Version 3 of 'cnn' already exists" in err and "Omit --version" in err
    assert {f: os.path.getmtime(out / "cnn" / "3" / f) for f in before} == before
    assert sorted(os.listdir(out / "cnn")) == ["3"]  # no temporary folder left behind


def test_a_model_that_cannot_be_traced(tmp_path, capsys):
    inputs = keras.Input((4,), name="features")
    model = keras.Model(inputs, keras.layers.Dense(2)(EagerOnly()(inputs)), name="eager_only")
    model.save(tmp_path / "eager_only.keras")
    code, err = run_cli(capsys, tmp_path / "eager_only.keras", "--output", tmp_path / "out")
    assert code == 2
    assert "Could not trace the 'serving_default' signature of 'eager_only'" in err
    assert "keras.ops.cond/where" in err
    assert not os.path.exists(tmp_path / "out" / "eager_only" / "1")


def test_a_subclassed_model_without_inputs_cannot_be_traced(tmp_path):
    from zoo.export.saved_model import export_saved_model
    from zoo.export.signatures import TraceError

    class Unbuilt(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TraceError, match="has no known inputs .* Sequential or functional"):
        export_saved_model(Unbuilt(name="unbuilt"), tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--name", "my model"], "letters, digits"),
        (["--version", "0"], "positive integer"),
        (["--quantization", "float16"], "--format tflite and litert only"),
        (["--max-length", "64"], "--max-length (at least 2) applies to --format litert-generate only"),
    ],
)
def test_bad_options(cnn_run, tmp_path, capsys, argv, message):
    code, err = run_cli(capsys, cnn_run, "--output", tmp_path / "out", *argv)
    assert code == 2 and message in err
    assert not os.path.exists(tmp_path / "out" / "cnn")


def test_an_export_that_disagrees_with_keras_is_not_published(tmp_path, monkeypatch):
    from zoo.export import saved_model

    real = saved_model.keras_outputs

    def off_by_a_little(*args, **kwargs):
        outputs = real(*args, **kwargs)
        outputs["probabilities"] = outputs["probabilities"] + 1e-3
        return outputs

    monkeypatch.setattr(saved_model, "keras_outputs", off_by_a_little)
    with pytest.raises(saved_model.ExportCheckError, match="'probabilities' differs from the Keras model by 0.001"):
        saved_model.export_saved_model(tiny_cnn(), tmp_path)
    assert os.listdir(tmp_path / "cnn") == []


def test_a_tokenizer_that_does_not_fit_the_model(cnn_run, lm_tokenizer_dir, tmp_path, capsys):
    from zoo.llm import build_llm

    small = build_llm(
        "causal",
        "tiny",
        num_layers=1,
        hidden_dim=8,
        num_heads=2,
        intermediate_dim=8,
        vocab_size=300,
        max_length=16,
        compile=False,
    )
    small.save(tmp_path / "small.keras")
    code, err = run_cli(capsys, tmp_path / "small.keras", "--tokenizer", lm_tokenizer_dir, "--output", tmp_path / "o")
    assert code == 2 and "has 400 tokens but the model's vocab_size is 300" in err
    code, err = run_cli(capsys, tmp_path / "small.keras", "--tokenizer", tmp_path, "--output", tmp_path / "o")
    assert code == 2 and "is not a SentencePiece tokenizer folder" in err
    code, err = run_cli(capsys, cnn_run, "--tokenizer", lm_tokenizer_dir, "--output", tmp_path / "o")
    assert code == 2 and "has no token vocabulary" in err
    assert not os.path.exists(tmp_path / "o")


def test_a_model_with_nan_weights_is_not_exported(tmp_path, capsys):
    import numpy as np

    model = tiny_cnn()
    kernel = model.layers[-1].kernel
    kernel.assign(np.where(np.arange(kernel.shape[-1]) == 0, np.nan, kernel.numpy()).astype("float32"))
    model.save(tmp_path / "diverged.keras")
    code, err = run_cli(capsys, tmp_path / "diverged.keras", "--output", tmp_path / "out")
    assert code == 2 and "has NaN weights (1 of" in err and "its training diverged" in err
    assert "bug in the serving path" not in err
    assert not os.path.exists(tmp_path / "out")


def test_an_output_folder_without_space_exits_1_naming_it(cnn_run, tmp_path, capsys, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1 << 30, 1 << 30, 1 << 10))
    code, err = run_cli(capsys, cnn_run, "--output", tmp_path / "out")
    assert code == 1 and err.count("\n") == 1
    assert f"cannot write {tmp_path / 'out'}: it needs about" in err and "(ENOSPC)" in err
    assert not os.path.exists(tmp_path / "out" / "cnn" / "1")


def test_a_tokenizer_of_the_same_size_but_another_corpus_is_refused(lm_tokenizer_dir, tmp_path, capsys):
    import shutil

    from tests.export.conftest import LM_VOCAB, tiny_lm
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer
    from zoo.export.model_source import check_run_tokenizer
    from zoo.runs import RunFolder, find_run

    run = RunFolder("train-llm", {"tokenizer": "tokenizer"}, root=str(tmp_path / "runs"))
    shutil.copytree(lm_tokenizer_dir, run.file("tokenizer"))
    run.finish(tiny_lm(), None, {})  # records the tokenizer's fingerprint in config.json
    other = train_tokenizer(load_builtin_corpus()[40:80], kind="sentencepiece-unigram", vocab_size=LM_VOCAB)
    other_dir = save_tokenizer(other, tmp_path / "other-corpus" / "tokenizer")
    code, err = run_cli(capsys, run.path, "--tokenizer", other_dir, "--output", tmp_path / "out")
    assert code == 2 and f"The tokenizer in {other_dir} is not the one this model was trained with" in err
    assert not os.path.exists(tmp_path / "out")
    # The run's own tokenizer passes, and so does the corpus folder it was copied from (the same tokenizer).
    check_run_tokenizer(find_run(run.path))
    check_run_tokenizer(find_run(run.path, lm_tokenizer_dir))


def test_a_keras_file_carrying_python_code_is_refused_before_the_code_runs(tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    # A lambda is stored as its bytecode (and its default values): loading it unsafely would run it.
    payload = keras.layers.Lambda(
        lambda x, path=str(marker): (__import__("pathlib").Path(path).write_text("ran"), x)[1]
    )
    model = keras.Sequential([keras.Input((2,)), payload, keras.layers.Dense(1)])
    model.save(tmp_path / "lambda.keras")
    marker.unlink()  # saving traced the function once
    code, err = run_cli(capsys, tmp_path / "lambda.keras", "--output", tmp_path / "out")
    assert code == 2 and "Could not load" in err and "safe_mode" in err
    assert not marker.exists() and not os.path.exists(tmp_path / "out")

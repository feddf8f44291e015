"""The options of the JAX route refuse what cannot work, in one line, before any training (in-process, TensorFlow)."""

import pytest

from zoo.errors import UsageError
from zoo.parallel.backend import option_value, select_backend
from zoo.parallel.distribution import parse_mesh
from zoo.parallel.hosts import host_settings


def test_backend_comes_from_the_option_then_the_environment():
    env = {"KERAS_BACKEND": "tensorflow"}
    assert select_backend(["--steps", "2"], environ=env) == "tensorflow"
    assert option_value(["--backend", "jax", "--backend=tensorflow"], "--backend") == "tensorflow"
    with pytest.raises(UsageError, match="'torch' is not a backend here; choose one of tensorflow, jax"):
        select_backend(["--backend", "torch"], environ={})
    # Keras already runs on TensorFlow in this process: switching is refused, with the fix.
    with pytest.raises(UsageError, match="already runs on tensorflow .* KERAS_BACKEND=jax"):
        select_backend(["--backend", "jax"], environ={})


def test_mesh_and_hosts_are_checked():
    assert parse_mesh("4x2") == (4, 2)
    with pytest.raises(UsageError, match="BATCHxMODEL"):
        parse_mesh("4")
    assert host_settings(None, None, None, environ={}) is None
    assert host_settings(None, None, None, environ={"KERAS_DISTRIBUTION_JOB_ADDRESSES": "h:1", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2", "KERAS_DISTRIBUTION_PROCESS_ID": "1"}) == ("h:1", 2, 1)  # fmt: skip
    with pytest.raises(UsageError, match="--num-processes N and --process-id I together"):
        host_settings("10.0.0.1:1234", None, 0, environ={})
    with pytest.raises(UsageError, match="host:port of process 0"):
        host_settings("10.0.0.1", 2, 0, environ={})


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--distribution", "data"],
            "--distribution is keras.distribution and runs on the JAX backend: add --backend jax",
        ),
        (["--mesh", "2x2"], "--mesh is keras.distribution and runs on the JAX backend"),
        (["--backend", "jax"], "Keras already runs on tensorflow in this process"),
    ],
)
def test_jax_options_on_tensorflow_exit_2_with_one_line(options, message, tmp_path, capsys):
    from zoo.cli import load_recipe
    from zoo.recipe import UsageExit

    with pytest.raises(UsageExit) as exit_info:
        load_recipe("pretrain-clm").recipe.run([*options, "--runs-dir", str(tmp_path)])
    assert exit_info.value.code == 2 and message in str(exit_info.value)
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # refused before the run folder


def test_tensorflow_only_tools_say_so_on_jax(monkeypatch):
    from zoo.parallel import backend

    monkeypatch.setattr(backend, "active_backend", lambda: "jax")
    with pytest.raises(UsageError, match="SavedModel export for TF Serving needs the TensorFlow backend"):
        from zoo.export.saved_model import export_saved_model

        export_saved_model("runs/none")
    with pytest.raises(UsageError, match="TFLite export needs the TensorFlow backend; Keras runs on jax"):
        from zoo.export.tflite import export_tflite

        export_tflite("runs/none")

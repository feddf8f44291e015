"""The JAX route: `zoo pretrain-clm --backend jax` with keras.distribution, on one host and on two.

The suite runs on TensorFlow, so the JAX runs are child processes, started together and
awaited once (module fixture `runs`):

- this process writes a step-0 checkpoint, so that every run starts from the same weights
  (the backends' random initializers differ) and resumes it with `--resume`;
- TensorFlow, in this process: 3 steps of the recipe;
- JAX on 8 virtual devices (tests/parallel/jax_mesh_job.py): layouts of every architecture,
  a checkpoint resumed 8 -> 4 -> 1 devices, then the same 3 steps of the recipe with
  `--distribution data+model --mesh 4x2`;
- JAX, two processes on 127.0.0.1 (`--coordinator`, gloo CPU collectives), `--distribution data`
  over their 2 x 2 devices: the same 3 steps.

Validation losses are compared between the JAX runs only: Keras 3.15's evaluate() on TensorFlow
does not weigh every batch of a dataset of unknown length the same (see the note in the test).
"""

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.parallel.helpers import HERE, ROOT, free_ports, job_env, last_json
from tests.train.conftest import corpus  # noqa: F401  (the shared corpus fixture)

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install 'zoo[jax]')"),
    pytest.mark.recipe,  # whole training runs in subprocesses: `make test-fast` skips them
]

STEPS = 3
# float32 on two backends (and two partitionings): the same maths summed in another order.
LOSS_TOLERANCE = 1e-4


def recipe_args(data, checkpoint, runs_dir):
    return [
        "--data", str(data), "--preset", "tiny", "--seq-len", "16", "--batch-size", "4",
        "--steps", str(STEPS), "--eval-every", str(STEPS), "--sample-tokens", "0", "--no-tensorboard",
        "--verbose", "0", "--resume", str(checkpoint), "--runs-dir", str(runs_dir),
    ]  # fmt: skip


def write_step0_checkpoint(data, folder):
    """The tiny preset's weights and optimizer state before step 1, as `--resume` reads them."""
    from zoo.data.tokenizer import load_tokenizer
    from zoo.train.checkpoints import StepCheckpoint
    from zoo.train.pretraining import TrainingOptions, build_model, model_config

    options = TrainingOptions(data=str(data), seq_len=16, batch_size=4, steps=STEPS)
    config = model_config(options, load_tokenizer(Path(data) / "tokenizer").vocabulary_size())
    model = build_model(options, config, STEPS)
    model.optimizer.build(model.trainable_variables)
    checkpoint = StepCheckpoint(str(folder), every=1, llm_config=config.get_config(), start_step=0)
    checkpoint.set_model(model)
    checkpoint.save()
    return folder


def start(args, tmp, **env):
    """Start a JAX child process (its own TMPDIR, so scratch folders stay under the test's tmp)."""
    tmp.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
        env=job_env(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TMPDIR=str(tmp), **env),
    )


def finish(name, proc, timeout=300):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, f"{name} failed (exit {proc.returncode}):\n{out[-3000:]}\n{err[-5000:]}"
    return out


def run_folder(runs_dir):
    folders = sorted(Path(runs_dir).glob("pretrain-clm-*"))
    assert len(folders) == 1, f"expected one run folder in {runs_dir}, found {folders}"
    return folders[0]


def read_run(folder):
    """(loss, val_loss, {weight name: array}) of a finished run folder (its last history row and checkpoint)."""
    import h5py

    from zoo.train.checkpoints import read_checkpoint

    with open(folder / "history.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    weights = {}
    with h5py.File(read_checkpoint(str(folder))["weights"], "r") as f:
        f.visititems(lambda name, item: weights.setdefault(name, np.array(item)) if hasattr(item, "shape") else None)
    return float(rows[-1]["loss"]), float(rows[-1]["val_loss"]), weights


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory):  # noqa: F811
    from zoo.cli import load_recipe

    tmp = tmp_path_factory.mktemp("jax_route")
    checkpoint = write_step0_checkpoint(corpus, tmp / "step0")
    cli = ["-m", "zoo.cli", "pretrain-clm", "--backend", "jax"]
    (port,) = free_ports(1)
    hosts = [
        "--distribution", "data", "--cpu-devices", "2",
        "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
    ]  # fmt: skip
    procs = {
        "mesh": start(
            [
                str(HERE / "jax_mesh_job.py"),
                str(tmp / "mesh"),
                *recipe_args(corpus, checkpoint, tmp / "jax"),
                "--distribution",
                "data+model",
                "--mesh",
                "4x2",
            ],
            tmp / "tmp-mesh",
            XLA_FLAGS="--xla_force_host_platform_device_count=8",
        ),  # fmt: skip
        **{
            f"host{i}": start(
                [*cli, *recipe_args(corpus, checkpoint, tmp / "hosts"), *hosts, "--process-id", str(i)],
                tmp / f"tmp-host{i}",
            )
            for i in range(2)
        },
    }
    try:
        load_recipe("pretrain-clm").recipe.run(recipe_args(corpus, checkpoint, tmp / "tf"))
    finally:
        outputs = {name: finish(name, proc) for name, proc in procs.items()}
    return {
        "tf": read_run(run_folder(tmp / "tf")),
        "jax": read_run(run_folder(tmp / "jax")),
        "jax_results": (run_folder(tmp / "jax") / "results.json").read_text(),
        "hosts": read_run(run_folder(tmp / "hosts")),  # exactly one folder: only process 0 writes
        "host_logs": outputs["host0"] + outputs["host1"],
        "mesh": last_json(outputs["mesh"]),
    }


def assert_same_weights(got, want, tolerance):
    assert sorted(got) == sorted(want)
    worst = max(float(np.max(np.abs(got[k] - want[k]))) if got[k].size else 0.0 for k in want)
    assert worst < tolerance, worst


def test_jax_sharded_run_trains_the_weights_of_tensorflow(runs):
    tf_loss, _, tf_weights = runs["tf"]
    jax_loss, _, jax_weights = runs["jax"]
    np.testing.assert_allclose(jax_loss, tf_loss, rtol=LOSS_TOLERANCE)
    # Every weight and AdamW moment after 3 steps on 8 sharded devices equals TensorFlow's on one:
    # far below one step's size (~1e-3), so every step took the same batches and gradients.
    assert_same_weights(jax_weights, tf_weights, 1e-4)
    assert '"backend": "jax"' in runs["jax_results"] and '"mesh": [\n    4,\n    2\n  ]' in runs["jax_results"]


def test_two_processes_train_the_weights_of_one(runs):
    loss, val_loss, weights = runs["hosts"]
    tf_loss, _, tf_weights = runs["tf"]
    np.testing.assert_allclose(loss, tf_loss, rtol=LOSS_TOLERANCE)
    assert_same_weights(weights, tf_weights, 1e-4)
    # Validation over the data split across two processes equals the one-process validation.
    np.testing.assert_allclose(val_loss, runs["jax"][1], rtol=LOSS_TOLERANCE)
    assert "process 0 of 2: 2 local devices, 4 in all" in runs["host_logs"]
    assert "process 1 is not process 0" in runs["host_logs"]


def test_every_architecture_is_laid_out_on_the_mesh(runs):
    mesh = runs["mesh"]
    assert mesh["backend"] == "jax" and mesh["devices"] == 8
    for name, case in mesh["layouts"].items():
        sharded = case["sharded"]
        assert case["replicated_fallback"] == [], name
        # Every attention in- and out-projection and feed-forward matrix of every block is cut on "model".
        kernels = [p for p in sharded if p.endswith("kernel")]
        assert any("attention/output" in p for p in kernels) and any("ffn_out" in p for p in kernels), name
        assert all(axes in ([None, "model"], ["model", None]) for p, axes in sharded.items() if p in kernels)
        for path, piece in case["attention_pieces"].items():  # each device holds half of the cut axis
            axis = sharded[path].index("model")
            assert piece[1 - axis] in (32, 16) and piece[axis] * 2 in (32, 48, 64, 96), (name, path, piece)
        if "forward_max_diff" in case:
            assert case["forward_max_diff"] <= 1e-5 * max(1.0, case["forward_scale"]), name
    assert "decoder_block_0/cross_attention/key_value/kernel" in mesh["layouts"]["seq2seq"]["sharded"]
    assert "block_0/ffn_gate/kernel" in mesh["layouts"]["llama_gqa"]["sharded"]
    assert mesh["layouts"]["gpt2_learned"]["attention_pieces"]["block_0/self_attention/qkv/kernel"] == [32, 48]


def test_checkpoint_resumes_on_another_mesh(runs):
    resume = runs["mesh"]["resume"]
    # 8 devices (4x2, sharded) -> 4 devices (1x4, sharded) -> 1 device: the losses of one uninterrupted run.
    assert resume["sharded_weights_per_mesh"][:2] == [6, 6] and resume["sharded_weights_per_mesh"][2] == 0
    np.testing.assert_allclose(resume["got"], resume["want"], rtol=LOSS_TOLERANCE)
    assert resume["final_max_diff"] < 1e-4

import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.train.conftest import QUICK
from zoo.cli import load_recipe

pretrain_clm = load_recipe("pretrain-clm")

pytestmark = pytest.mark.recipe  # end-to-end recipe runs: `make test-fast` skips them


def only_run(runs_dir):
    (run,) = [p for p in Path(runs_dir).iterdir() if p.is_dir()]
    return run


def final_weights(run):
    from zoo.llm import load_llm

    return load_llm(str(run / "model.keras"), compile=False).get_weights()


def test_recipe_trains_with_every_option_and_fills_the_run_folder(corpus, tmp_path):
    runs = tmp_path / "runs"
    assert (
        pretrain_clm.main(
            [
                *QUICK,
                "--data",
                str(corpus),
                "--steps",
                "6",
                "--eval-every",
                "3",
                "--runs-dir",
                str(runs),
                "--precision",
                "mixed_bfloat16",
                "--remat",
                "--accum-steps",
                "2",
                "--decay",
                "linear",
                "--warmup-steps",
                "2",
                "--max-memory",
                "1GiB",
                "--tensorboard",
                "--pictures",
            ]
        )
        == 0
    )
    run = only_run(runs)
    for name in (
        "config.json",
        "history.csv",
        "plot.png",
        "training.png",
        "model.keras",
        "results.json",
        "samples.txt",
        "tokenizer/tokenizer.json",
        "checkpoints/state.json",
        "attention.png",
        "memory.png",
        "block.png",
    ):
        assert (run / name).is_file(), name
    # TensorBoard on the step axis: validation every 3 steps lands at steps 3 and 6 (not 1 and 2),
    # the samples as text at the same steps, the run's pictures as images.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = {}
    for split in ("train", "validation"):
        logs[split] = EventAccumulator(str(run / "tensorboard" / split), size_guidance={"tensors": 0})
        logs[split].Reload()
    assert [e.step for e in logs["validation"].Tensors("loss")] == [3, 6]
    assert [e.step for e in logs["train"].Tensors("samples")] == [3, 6]
    assert {"pictures/attention", "pictures/memory", "pictures/block"} <= set(logs["train"].Tags()["tensors"])
    results = json.loads((run / "results.json").read_text())
    assert results["steps"] == 6 and math.isfinite(results["val_loss"])
    # The corpus's unigram entropy lies below the uniform distribution's over its 400 tokens.
    assert 0.5 * math.log(400) < results["unigram_entropy"] < math.log(400)
    assert results["beats_unigram_by"] == pytest.approx(results["unigram_entropy"] - results["val_loss"])
    with open(run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2  # validation every 3 steps
    for key in ("loss", "val_loss", "val_perplexity", "learning_rate", "tokens_per_second"):
        assert all(math.isfinite(float(row[key])) for row in rows), key
    assert float(rows[0]["val_perplexity"]) == pytest.approx(math.exp(float(rows[0]["val_loss"])), rel=1e-4)
    assert "samples after epoch 2" in (run / "samples.txt").read_text()
    assert json.loads((run / "checkpoints/state.json").read_text())["step"] == 6
    # Sample prompts are openings of the corpus's own validation documents, not fixed strings.
    from zoo.data.pipelines import split_documents

    validation = split_documents(corpus, 0.1, seed=0)[1]
    assert results["prompts"] and all(any(p in text for text in validation) for p in results["prompts"])
    assert {s["prompt"] for s in results["samples"]} == set(results["prompts"])


def test_given_prompts_replace_the_corpus_ones(corpus, tmp_path):
    runs = tmp_path / "runs"
    assert (
        pretrain_clm.main(
            [
                *QUICK,
                "--data",
                str(corpus),
                "--steps",
                "2",
                "--eval-every",
                "2",
                "--runs-dir",
                str(runs),
                "--prompt",
                "猫は",
                "--prompt",
                "def f",
            ]
        )
        == 0
    )
    results = json.loads((only_run(runs) / "results.json").read_text())
    assert results["prompts"] == ["猫は", "def f"]


# Run in a child process: `zoo pretrain-clm ...` that SIGKILLs itself right before the second rename onto
# checkpoints/state.json (the checkpoint of step 6), after that step's weights are already on disk.
KILLED_AT_THE_SECOND_CHECKPOINT = """
import os, signal, sys
real, seen = os.replace, []
def replace(src, dst, *args, **kwargs):
    if os.fspath(dst).endswith(os.path.join("checkpoints", "state.json")):
        seen.append(dst)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from zoo.cli import main
main(sys.argv[1:])
"""


def test_a_run_killed_at_a_checkpoint_rename_resumes_exactly_or_is_refused(corpus, tmp_path):
    common = [*QUICK, "--data", str(corpus), "--steps", "8", "--eval-every", "4", "--checkpoint-every", "3"]
    pretrain_clm.main([*common, "--runs-dir", str(tmp_path / "whole")])
    whole = only_run(tmp_path / "whole")

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="3")
    argv = ["pretrain-clm", *common, "--runs-dir", str(tmp_path / "killed")]
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AT_THE_SECOND_CHECKPOINT, *argv], env=env, cwd=root, capture_output=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    killed = only_run(tmp_path / "killed")
    assert not (killed / "model.keras").exists()
    # The checkpoint named is step 3, and its weights are step 3's (the step-6 files never got a pointer).
    assert json.loads((killed / "checkpoints/state.json").read_text())["step"] == 3

    pretrain_clm.main([*common, "--runs-dir", str(tmp_path / "resumed"), "--resume", str(killed)])
    resumed = only_run(tmp_path / "resumed")
    results = json.loads((resumed / "results.json").read_text())
    expected = json.loads((whole / "results.json").read_text())
    assert results["val_loss"] == pytest.approx(expected["val_loss"], abs=1e-5)
    for a, b in zip(final_weights(resumed), final_weights(whole)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert results["resumed_from_step"] == 3 and results["steps"] == 8 and results["steps_run"] == 5

    # Refused before training: another architecture, another data position, a damaged weights file.
    with pytest.raises(SystemExit, match="another architecture.*dropout"):
        pretrain_clm.main([*common, "--runs-dir", str(tmp_path / "other"), "--resume", str(killed), "--dropout", "0.2"])
    with pytest.raises(SystemExit, match=r"exactly: batch_size: checkpoint 4, this run 2.*which batches come next"):
        pretrain_clm.main(
            [*common, "--runs-dir", str(tmp_path / "other"), "--resume", str(killed), "--batch-size", "2"]
        )
    (weights,) = (killed / "checkpoints").glob("step-00000003/checkpoint.weights.h5")
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(SystemExit, match=rf"{weights} is damaged or truncated"):
        pretrain_clm.main([*common, "--runs-dir", str(tmp_path / "other"), "--resume", str(killed)])
    assert not (tmp_path / "other").exists()


def test_a_diverging_run_stops_at_its_first_nan_step_and_keeps_the_last_finite_checkpoint(corpus, tmp_path, capsys):
    from zoo.train.checkpoints import read_checkpoint

    argv = [*QUICK, "--data", str(corpus), "--steps", "6", "--eval-every", "3", "--checkpoint-every", "1"]
    argv += ["--learning-rate", "1e30", "--clipnorm", "0", "--warmup-steps", "0", "--runs-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as info:
        pretrain_clm.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    found = re.search(r"loss became (nan|inf) at step (\d+); the last finite checkpoint is step (\d+)", err)
    assert found, err
    assert int(found[3]) < int(found[2]) and "lower --learning-rate (now 1e+30), enable --clipnorm 1.0" in err
    run = only_run(tmp_path)
    assert not (run / "results.json").exists() and not (run / "model.keras").exists()
    state = read_checkpoint(str(run))
    assert state["step"] == int(found[3])
    assert all_finite(state["weights"])


def all_finite(h5_path):
    """Whether every float array in a .weights.h5 file (weights and optimizer moments) is finite."""
    import h5py

    arrays = []
    with h5py.File(h5_path, "r") as f:
        f.visititems(lambda name, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    floats = [a for a in arrays if np.asarray(a).dtype.kind == "f"]
    return bool(floats) and all(np.isfinite(a).all() for a in floats)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--accum-steps", "0"], "--accum-steps must be an integer >= 1"),
        (
            ["--max-memory", "4MB", "--batch-size", "64"],
            r"needs about .* MiB .*more than --max-memory 3.8 MiB; "
            r"the largest batch that fits is \d+",
        ),
        (["--max-memory", "lots"], "--max-memory must look like"),
        (["--resume", "/no/such/run"], "no checkpoint there"),
    ],
)
def test_bad_options_fail_early_with_a_clear_message(corpus, tmp_path, extra, message):
    with pytest.raises(SystemExit, match=message):
        pretrain_clm.main([*QUICK, "--data", str(corpus), "--runs-dir", str(tmp_path), *extra])
    assert not any(tmp_path.iterdir())  # nothing trained, no run folder

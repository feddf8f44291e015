import json
from pathlib import Path

import pytest

from tests.train.conftest import QUICK
from zoo.cli import load_recipe

run = load_recipe("run")

pytestmark = pytest.mark.recipe  # end-to-end recipe runs: `make test-fast` skips them


def test_main_job_runs_every_stage_and_says_where_everything_is(corpus, tmp_path, capsys):
    saved = tmp_path / "saved_models"
    # 120 steps: enough for the model to beat the unigram baseline (it starts near ln 400 = 6.0 nats).
    assert (
        run.main(
            [
                *QUICK,
                "--data",
                str(corpus),
                "--steps",
                "120",
                "--eval-every",
                "60",
                "--warmup-steps",
                "5",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--saved-models",
                str(saved),
                "--max-new-tokens",
                "3",
                "--prompt",
                "The",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for stage in range(1, 6):
        assert f"[{stage}/5]" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "main_job.json").read_text())
    assert summary["run_dir"] == str(run_dir)
    for key in ("model", "generated", "samples"):
        assert Path(summary[key]).is_file(), key
    assert all(Path(p).is_file() for p in summary["plots"])
    assert Path(summary["generated"]).read_text().startswith("The")
    # The main job beats the unigram baseline: its validation loss is below the unigram entropy.
    assert summary["val_loss"] < summary["unigram_entropy"], summary
    assert summary["beats_unigram_by"] == pytest.approx(summary["unigram_entropy"] - summary["val_loss"])
    # The exported SavedModel is where the summary and the last lines say.
    assert summary["exported"] and (Path(summary["exported"]) / "saved_model.pb").is_file()
    assert summary["exported"] in out and str(run_dir) in out
    assert "vs unigram baseline" in out

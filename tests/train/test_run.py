import json
from pathlib import Path

from tests.train.conftest import QUICK
from zoo.cli import load_recipe

run = load_recipe("run")


def test_main_job_runs_every_stage_and_says_where_everything_is(corpus, tmp_path, capsys):
    saved = tmp_path / "saved_models"
    assert run.main([*QUICK, "--data", str(corpus), "--steps", "4", "--eval-every", "2", "--warmup-steps", "1",
                     "--runs-dir", str(tmp_path / "runs"), "--saved-models", str(saved), "--max-new-tokens", "3",
                     "--prompt", "The"]) == 0
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
    assert summary["val_loss"] > 0 and summary["unigram_entropy"] > 0
    # The exported SavedModel is where the summary and the last lines say.
    assert summary["exported"] and (Path(summary["exported"]) / "saved_model.pb").is_file()
    assert summary["exported"] in out and str(run_dir) in out
    assert "vs unigram baseline" in out

import json

import pytest

from tests.train.conftest import QUICK
from zoo.cli import load_recipe

tune = load_recipe("tune")

pytestmark = pytest.mark.recipe  # end-to-end recipe runs: `make test-fast` skips them


def test_search_saves_the_best_trial_of_all(corpus, tmp_path, capsys):
    assert tune.main([*QUICK, "--data", str(corpus), "--trials", "2", "--steps", "3", "--runs-dir", str(tmp_path)]) == 0
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    best = json.loads((run / "best_trial.json").read_text())
    trials = json.loads((run / "trials.json").read_text())
    assert len(trials) == 2
    assert best["val_loss"] == min(t["val_loss"] for t in trials)
    hp = best["hyperparameters"]
    assert tune.LEARNING_RATES[0] <= hp["learning_rate"] <= tune.LEARNING_RATES[1]
    assert hp["batch_size"] in tune.BATCH_SIZES and hp["weight_decay"] in tune.WEIGHT_DECAYS
    assert hp["warmup_fraction"] in tune.WARMUP_FRACTIONS
    assert f"best trial {best['trial']}" in capsys.readouterr().out


def test_search_rejects_bad_options(corpus, tmp_path):
    with pytest.raises(SystemExit, match="--trials must be at least 1"):
        tune.main([*QUICK, "--data", str(corpus), "--trials", "0", "--runs-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="a search starts its trials afresh"):
        tune.main([*QUICK, "--data", str(corpus), "--resume", str(tmp_path), "--runs-dir", str(tmp_path)])

import csv
import json
import math
from pathlib import Path

import pytest

from tests.train.conftest import QUICK
from zoo.cli import load_recipe

pretrain_mlm = load_recipe("pretrain-mlm")

pytestmark = pytest.mark.recipe  # end-to-end recipe runs: `make test-fast` skips them


@pytest.mark.parametrize("nsp", [False, True])
def test_masked_lm_trains_and_reports(corpus, tmp_path, nsp):
    runs = tmp_path / "runs"
    argv = [
        *QUICK,
        "--data",
        str(corpus),
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--seq-len",
        "24",
        "--runs-dir",
        str(runs),
    ]
    assert pretrain_mlm.main(argv + (["--nsp"] if nsp else [])) == 0
    (run,) = runs.iterdir()
    results = json.loads((run / "results.json").read_text())
    # Per masked token, an untrained model is near log(vocabulary): padded mask slots must not dilute it.
    assert 0.5 * math.log(400) < results["val_mlm_loss"] < 1.5 * math.log(400)
    with open(run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(math.isfinite(float(r["val_loss"])) for r in rows)
    if nsp:
        assert {"mlm_loss", "nsp_loss", "nsp_accuracy", "val_nsp_accuracy"} <= set(rows[0])
        assert results["val_nsp_accuracy"] == pytest.approx(float(rows[-1]["val_nsp_accuracy"]))
        # Four steps cannot learn NSP: the head does no better than chance, a loss of ln 2 per pair (it ends a
        # little above, 0.95 here), and stays finite and bounded (that NSP does learn is
        # tests/llm/test_models.py::test_next_sentence_prediction_beats_chance...).
        assert math.log(2) - 0.1 < float(rows[-1]["val_nsp_loss"]) < 2.0
        # Perplexity belongs to the language model, not to the sum with the NSP loss.
        assert float(rows[0]["val_perplexity"]) == pytest.approx(math.exp(float(rows[0]["val_mlm_loss"])), rel=1e-4)
    assert (Path(run) / "model.keras").is_file() and (Path(run) / "training.png").is_file()
    # Fill-in examples come from the corpus's validation text, one blank each.
    assert len(results["fill_in"]) == 3 and all("[MASK]" in line for line in results["fill_in"])


def test_masked_lm_rejects_bad_options(corpus, tmp_path):
    with pytest.raises(SystemExit, match="--mask-rate must be in"):
        pretrain_mlm.main([*QUICK, "--data", str(corpus), "--runs-dir", str(tmp_path), "--mask-rate", "1.5"])
    with pytest.raises(SystemExit, match="--accum-steps must be an integer >= 1"):
        pretrain_mlm.main([*QUICK, "--data", str(corpus), "--runs-dir", str(tmp_path), "--accum-steps", "-1"])

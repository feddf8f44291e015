"""The three fine-tuning recipes end to end at tiny size, and their bad-input errors."""

import csv
import json
from pathlib import Path

import pytest

from recipes import finetune_nli, finetune_qa, finetune_sentiment

QUICK = ["--verbose", "0", "--batch-size", "32"]


def results_of(runs):
    (run,) = Path(runs).iterdir()
    with open(run / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    return json.loads((run / "results.json").read_text()), history, run


def test_sentiment_from_scratch_beats_majority(tmp_path, tiny_config):
    argv = [*QUICK, "--from-scratch", "--preset", str(tiny_config), "--seq-len", "32", "--epochs", "6",
            "--learning-rate", "3e-3", "--vocab-size", "1000", "--runs-dir", str(tmp_path)]
    assert finetune_sentiment.main(argv) == 0
    results, history, run = results_of(tmp_path)
    assert results["majority_baseline"]["accuracy"] == pytest.approx(0.5)
    assert results["eval"]["accuracy"] > results["majority_baseline"]["accuracy"] + 0.1
    assert results["eval"]["macro_f1"] > results["majority_baseline"]["macro_f1"]
    assert float(history[-1]["loss"]) < float(history[0]["loss"])
    assert "val_macro_f1" in history[0] and (run / "model.keras").is_file() and (run / "predictions.json").is_file()


def test_nli_japanese_from_a_pretrained_run(tmp_path, mlm_run):
    folder, _ = mlm_run
    argv = [*QUICK, "--pretrained", str(folder), "--language", "ja", "--seq-len", "48", "--epochs", "3",
            "--learning-rate", "3e-3", "--runs-dir", str(tmp_path)]
    assert finetune_nli.main(argv) == 0
    results, history, _ = results_of(tmp_path)
    assert results["start"]["init"] == "pretrained" and results["labels"] == ["entailment", "neutral", "contradiction"]
    assert results["chance_accuracy"] == pytest.approx(1 / 3)
    assert float(history[-1]["loss"]) < float(history[0]["loss"])
    assert 0.0 <= results["eval"]["accuracy"] <= 1.0 and results["eval"]["count"] == 120


def test_qa_with_quick_pretraining_learns(tmp_path, tiny_config):
    from zoo.finetune.datasets import dataset_path

    # A slice of the shipped SQuAD files, written back in the same layout: the user-file path.
    files = []
    for split, articles in (("train", 10), ("dev", 4)):
        data = json.loads(dataset_path("qa", "en", split).read_text())
        data["data"] = data["data"][:articles]
        files.append(tmp_path / f"{split}.json")
        files[-1].write_text(json.dumps(data))
    runs = tmp_path / "runs"
    argv = [*QUICK, "--batch-size", "16", "--preset", str(tiny_config), "--pretrain-steps", "3", "--seq-len", "112",
            "--epochs", "4", "--learning-rate", "3e-3", "--train", str(files[0]), "--eval", str(files[1]),
            "--runs-dir", str(runs)]
    assert finetune_qa.main(argv) == 0
    results, history, run = results_of(runs)
    assert results["start"]["init"] == "quick-mlm" and results["start"]["pretrain_steps"] == 3
    assert float(history[-1]["loss"]) < float(history[0]["loss"])
    assert {"exact_match", "f1"} <= set(results["eval"]) and results["trivial_baseline"]["exact_match"] == 0.0
    assert results["train_questions"] + results["dropped_train_questions"] == 70 and "val_f1" in history[0]
    assert len(json.loads((run / "predictions.json").read_text())) == results["eval_questions"] == 12


def test_bad_user_files_and_mismatched_tokenizers_stop_with_clear_errors(tmp_path, mlm_run):
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence1\tsentence2\tlabel\nA man runs.\tA person moves.\tentailment\nA dog.\t\tneutral\n")
    with pytest.raises(SystemExit, match=r"bad\.tsv line 3: missing field 'hypothesis' or 'sentence2'"):
        finetune_nli.main([*QUICK, "--train", str(bad), "--eval", str(bad), "--runs-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="Give both --train and --eval"):
        finetune_sentiment.main([*QUICK, "--train", str(bad), "--runs-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="--pretrained and --from-scratch exclude each other"):
        finetune_qa.main([*QUICK, "--pretrained", "x", "--from-scratch", "--runs-dir", str(tmp_path)])
    folder, _ = mlm_run
    other = tmp_path / "tok"
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer

    save_tokenizer(train_tokenizer(["the cat sat"] * 20, vocab_size=270), other)
    with pytest.raises(SystemExit, match="Tokenizer mismatch"):
        finetune_qa.main([*QUICK, "--pretrained", str(folder), "--tokenizer", str(other), "--runs-dir", str(tmp_path)])
    assert not list(tmp_path.glob("finetune-*"))  # no run folder is left for a run that never started

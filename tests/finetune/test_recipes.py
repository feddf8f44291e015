"""The three fine-tuning recipes end to end at tiny size, and their bad-input errors."""

import csv
import json
from pathlib import Path

import pytest

from zoo.cli import load_recipe

finetune_nli = load_recipe("finetune-nli")
finetune_qa = load_recipe("finetune-qa")
finetune_sentiment = load_recipe("finetune-sentiment")

pytestmark = pytest.mark.recipe  # end-to-end recipe runs: `make test-fast` skips them

QUICK = ["--verbose", "0", "--batch-size", "32"]


def results_of(runs):
    (run,) = Path(runs).iterdir()
    with open(run / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    return json.loads((run / "results.json").read_text()), history, run


def test_sentiment_from_a_pretrained_run_beats_majority(tmp_path, mlm_run):
    folder, _ = mlm_run
    argv = [
        *QUICK,
        "--pretrained",
        str(folder),
        "--seq-len",
        "32",
        "--epochs",
        "6",
        "--learning-rate",
        "3e-3",
        "--runs-dir",
        str(tmp_path),
    ]
    assert finetune_sentiment.main(argv) == 0
    results, history, run = results_of(tmp_path)
    assert results["start"]["init"] == "pretrained" and results["start"]["pretrained_task"] == "MaskedLM"
    assert results["majority_baseline"]["accuracy"] == pytest.approx(0.5) and results["chance_accuracy"] == 0.5
    assert results["eval"]["accuracy"] > results["majority_baseline"]["accuracy"] + 0.1
    assert results["eval"]["macro_f1"] > results["majority_baseline"]["macro_f1"]
    assert float(history[-1]["loss"]) < float(history[0]["loss"])
    assert "val_macro_f1" in history[0] and (run / "model.keras").is_file() and (run / "predictions.json").is_file()
    assert (run / "tokenizer" / "tokenizer.json").is_file()  # the run can itself be a --pretrained start


def test_from_scratch_start_covers_japanese_with_its_own_tokenizer(tiny_config):
    from zoo.finetune.datasets import dataset_path
    from zoo.finetune.features import byte_fallback_share
    from zoo.finetune.formats import NLI_LABELS, read_classification
    from zoo.finetune.pretrained import from_scratch
    from zoo.llm.models.backbone import EncoderBackbone

    rows = read_classification(dataset_path("nli", "ja", "train"), ("premise", "hypothesis"), NLI_LABELS)
    texts = [t for r in rows for t in r["texts"]]
    backbone, tokenizer, info = from_scratch(texts, preset=str(tiny_config), seq_len=48, vocab_size=1000)
    assert isinstance(backbone, EncoderBackbone) and info["init"] == "from-scratch"
    assert backbone.llm_config.num_segments == 2 and backbone.llm_config.vocab_size == tokenizer.vocabulary_size()
    # Trained on the task text too, the tokenizer spells Japanese with its own pieces: only the kanji of
    # the dev set's held-out names fall back to bytes (an English-only tokenizer: every character, 1.0).
    assert byte_fallback_share(tokenizer, texts[:50]) == 0.0
    dev = read_classification(dataset_path("nli", "ja", "dev"), ("premise", "hypothesis"), NLI_LABELS)
    assert byte_fallback_share(tokenizer, [r["texts"][0] for r in dev]) < 0.15


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
    argv = [
        *QUICK,
        "--batch-size",
        "16",
        "--preset",
        str(tiny_config),
        "--pretrain-steps",
        "3",
        "--seq-len",
        "112",
        "--epochs",
        "4",
        "--learning-rate",
        "3e-3",
        "--train",
        str(files[0]),
        "--eval",
        str(files[1]),
        "--runs-dir",
        str(runs),
    ]
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

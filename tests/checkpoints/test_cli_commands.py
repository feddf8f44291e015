"""`zoo import` and `zoo generate`: a run folder from a checkpoint, text out, one-line errors with exit 2."""

from tests.checkpoints import writers
from tests.checkpoints.conftest import copy_tokenizer
from zoo.cli import main


def test_import_then_generate(tmp_path, tokenizer_folders, capsys):
    folder = tmp_path / "gpt2"
    copy_tokenizer(tokenizer_folders, "bpe", folder)
    writers.write_hf_gpt2(folder, 400)
    assert main(["import", str(folder), "--out", str(tmp_path / "run")]) == 0
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "config.json",
        "import.json",
        "model.keras",
        "tokenizer",
    ]
    capsys.readouterr()
    assert main(["generate", str(tmp_path / "run"), "The quick", "--max-length", "10"]) == 0
    from_run = capsys.readouterr().out.strip()
    assert main(["generate", str(folder), "The quick", "--max-length", "10"]) == 0
    assert from_run.startswith("The quick") and capsys.readouterr().out.strip() == from_run


def test_bad_paths_exit_2_with_one_line(tmp_path, capsys):
    assert main(["import", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("zoo import:") and "not a folder" in err and "\n" not in err
    assert main(["generate", str(tmp_path), "hi"]) == 2
    assert "no config.json" in capsys.readouterr().err

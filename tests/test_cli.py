import subprocess
import sys
from pathlib import Path

import pytest

from zoo.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["run", "train-cnn", "train-lstm", "train-gan", "transfer", "pretrain-clm", "pretrain-mlm", "tune",
           "finetune-qa", "finetune-nli", "finetune-sentiment", "compress", "model-parallel", "pipeline-parallel",
           "retrieve", "knn-lm", "rag"]


def test_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_console_script_help_runs_in_a_fresh_process():
    zoo = Path(sys.executable).parent / "zoo"
    result = subprocess.run([str(zoo), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "train-cnn" in result.stdout and "train-gan" in result.stdout


@pytest.mark.parametrize("name", RECIPES)
def test_each_recipe_has_help_through_zoo(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    assert f"zoo {name}" in capsys.readouterr().out


@pytest.mark.parametrize("script", ["run", "train_cnn", "train_lstm", "train_gan", "transfer", "pretrain_clm"])
def test_each_recipe_runs_as_a_script(script):
    result = subprocess.run(
        [sys.executable, str(ROOT / "recipes" / f"{script}.py"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--runs-dir" in result.stdout


def test_unknown_command_suggests_the_closest(capsys):
    assert main(["train-cn"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'train-cn'" in err and "zoo train-cnn" in err


def test_unknown_option_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train-cnn", "--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err

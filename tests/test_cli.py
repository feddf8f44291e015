import subprocess
import sys
from pathlib import Path

import pytest

from zoo.cli import COMMANDS, load_recipe, main

ROOT = Path(__file__).resolve().parents[1]
RECIPES = [
    "run",
    "train-cnn",
    "train-lstm",
    "train-gan",
    "transfer",
    "pretrain-clm",
    "pretrain-mlm",
    "tune",
    "finetune-qa",
    "finetune-nli",
    "finetune-sentiment",
    "compress",
    "model-parallel",
    "pipeline-parallel",
    "retrieve",
    "knn-lm",
    "rag",
    "sft",
    "dpo",
    "chat",
    "reason",
]


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
    try:
        code = main([name, "--help"])  # a group of commands (zoo compress) returns its list
    except SystemExit as exit_info:
        code = exit_info.code
    assert code == 0
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


def _all_commands():
    from zoo.cli import COMMANDS

    for name, (target, _) in COMMANDS.items():
        yield [name]
        if isinstance(target, dict):
            yield from ([name, sub] for sub in target)


HELP_PROBE = """
import contextlib, io, json, sys, time
from zoo.cli import main
report = {}
for command in json.loads(sys.argv[1]):
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            main([*command, "--help"])
        except SystemExit:
            pass
    report[" ".join(command)] = [out.getvalue(), time.perf_counter() - started]
report["modules"] = sorted(m for m in ("tensorflow", "keras", "jax") if m in sys.modules)
print(json.dumps(report))
"""


def test_every_help_is_fast_imports_no_tensorflow_and_ends_with_examples():
    import json

    commands = list(_all_commands())
    result = subprocess.run(
        [sys.executable, "-c", HELP_PROBE, json.dumps(commands)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report.pop("modules") == []  # no TensorFlow, Keras or JAX for --help
    for command, (text, seconds) in report.items():
        tail = text.rstrip().split("examples:")[-1].strip().splitlines()
        assert "examples:" in text and 2 <= len(tail) <= 4, command
        assert all(line.strip().startswith(("zoo ", "python ")) for line in tail), (command, tail)
        assert seconds < 1.0, (command, seconds)


def test_a_user_mistake_exits_2_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain-clm", "--data", str(tmp_path / "nothing-here"), "--runs-dir", str(tmp_path / "runs")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"zoo pretrain-clm: error: {tmp_path / 'nothing-here'} is not a corpus folder (no tokenizer/ and "
        f"shards/); make one with `zoo data prepare <your texts> --out {tmp_path / 'nothing-here'}`."
    ]
    assert not (tmp_path / "runs").exists()


def test_every_example_in_every_help_parses_with_its_command():
    import contextlib
    import io
    import shlex

    for command in _all_commands():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main([*command, "--help"])
            except SystemExit:
                pass
        examples = out.getvalue().rstrip().split("examples:")[-1].strip().splitlines()
        for line in examples:
            words = shlex.split(line)
            if words[0] != "zoo" or "--help" in words:
                continue
            assert words[1 : 1 + len(command)] == command or len(command) == 2, line
            # Only the parser runs: a wrong option name exits 2 here.
            target = COMMANDS[words[1]][0]
            if isinstance(target, dict):
                target, rest = target[words[2]][0], words[3:]
            else:
                rest = words[2:]
            if not target.startswith("recipe:"):
                continue
            module = load_recipe(target.split(":", 1)[1])
            module.recipe.build_parser().parse_args(rest)


def test_recipe_docstrings_show_commands_that_exist():
    import re

    for path in sorted((ROOT / "recipes").glob("*.py")):
        for words in re.findall(r"^\s+zoo ([\w-]+)(?: ([\w-]+))?", path.read_text(), flags=re.M):
            assert words[0] in COMMANDS, (path.name, words)
            target = COMMANDS[words[0]][0]
            if isinstance(target, dict):
                assert words[1] in target, (path.name, words)

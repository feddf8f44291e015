"""Configs are typed: a wrong type or range in LLMConfig, a JSON preset or --filter-config names the field."""

import json

import pytest

from zoo.cli import main
from zoo.llm.config import LLMConfig


@pytest.mark.parametrize(
    "field, value",
    [
        ("use_bias", "no"),  # a non-empty string is truthy: it used to mean True
        ("tie_embeddings", "false"),
        ("dropout", None),  # used to raise a TypeError from float()
        ("dropout", [0.1]),
        ("attention", "bogus"),  # used to be accepted
        ("vocab_size", -5),
        ("hidden_dim", 64.0),
        ("num_key_value_heads", "2"),
        ("rotary_max_wavelength", "10000"),
        ("rope_scaling_factor", float("inf")),
        ("max_length", 2**40),
    ],
)
def test_each_field_is_checked_for_type_and_range(field, value):
    with pytest.raises(ValueError, match=field if field != "attention" else "attention kind 'bogus'"):
        LLMConfig(**{field: value})


def test_a_json_preset_with_a_string_boolean_is_one_line_exit_2(tmp_path, capsys):
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({**LLMConfig().get_config(), "use_bias": "no"}))
    assert main(["explain", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert "use_bias" in err and "'no'" in err and len(err.splitlines()) == 1


def test_a_negative_class_count_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", "tiny", "--task", "classifier", "--num-classes", "-5"])
    assert exit_info.value.code == 2
    assert "--num-classes" in capsys.readouterr().err


@pytest.mark.parametrize(
    "values, named",
    [
        ({"min_words": "50"}, "min_words"),
        ({"reject_lorem_ipsum": "false"}, "reject_lorem_ipsum"),
        ({"max_symbol_ratio": 5}, "max_symbol_ratio"),
        ({"min_stop_words": -1}, "min_stop_words"),
        ([1, 2], "JSON object"),
    ],
)
def test_filter_config_values_are_typed(tmp_path, capsys, values, named):
    path = tmp_path / "filters.json"
    path.write_text(json.dumps(values))
    assert main(["data", "prepare", "--filter-config", str(path), "--out", str(tmp_path / "c"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c").exists()

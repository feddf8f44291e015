"""The docstring examples of zoo.checkpoints run as written."""

import doctest
import importlib

import pytest

MODULES = ["errors", "hf_folder", "weight_map", "gpt2", "bert", "llama", "families", "tokenizers"]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    module = importlib.import_module(f"zoo.checkpoints.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

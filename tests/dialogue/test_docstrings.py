"""The examples in the dialogue modules' docstrings are true (the self-contained ones)."""

import doctest
import importlib

import pytest

MODULES = [
    "zoo.dialogue",
    "zoo.dialogue.formats",
    "zoo.dialogue.chat_template",
    "zoo.dialogue.sft",
    "zoo.dialogue.synthetic",
    "zoo.dialogue.dpo",
    "zoo.dialogue.streaming",
    "zoo.reasoning",
    "zoo.reasoning.arithmetic",
    "zoo.reasoning.char_tokenizer",
    "zoo.reasoning.calculator",
    "zoo.reasoning.self_consistency",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

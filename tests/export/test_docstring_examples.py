"""The runnable examples in the export modules' docstrings are true (the others need a trained run)."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["versions", "client"])
def test_docstring_examples(name):
    module = importlib.import_module(f"zoo.export.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

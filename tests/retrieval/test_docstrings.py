"""The examples in the retrieval modules' docstrings are true (the cheap, self-contained ones)."""

import doctest
import importlib

import pytest

MODULES = ["errors", "bm25", "vector_index", "domains", "fingerprints", "passages"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"zoo.retrieval.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""The examples in the data modules' docstrings are true (the cheap ones; the TF-heavy ones are tested above)."""

import doctest
import importlib

import pytest

MODULES = ["atomic_files", "document", "shards", "clean", "language", "filters", "dedup", "report", "acquire",
           "special_tokens", "stats", "crawler", "parallel", "japanese_quality", "prompts", "morphology"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"zoo.data.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""Every `>>>` example in zoo's docstrings runs and prints what it shows.

Modules are found by walking the `zoo` package, so a new module's examples are tested
without listing it here. Shell commands (`$ zoo ...`) are not examples in this sense.
A module whose examples cannot run in a test process goes in SKIP with the reason; an example
that needs what a test lacks (a recipe's run folder, a downloaded checkpoint) is marked
`# doctest: +SKIP` in place, and a module whose examples are all marked so is reported as skipped.
"""

import doctest
import importlib
import pkgutil

import pytest

import zoo

SKIP = {
    # keras.distribution runs on the JAX backend only, and the suite's process runs TensorFlow;
    # tests/parallel/test_model_parallel.py runs the same steps in a JAX subprocess.
    "zoo.parallel.model_parallel": "needs KERAS_BACKEND=jax and four devices",
}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def modules_with_examples():
    names = []
    for info in pkgutil.walk_packages(zoo.__path__, "zoo."):
        module = importlib.import_module(info.name)
        if any(test.examples for test in doctest.DocTestFinder().find(module)):
            names.append(info.name)
    return sorted(names)


MODULES = modules_with_examples()


def test_the_walk_finds_the_modules_with_examples():
    # A broken walk (or import) would make the parametrized test below silently empty.
    assert len(MODULES) > 90
    assert set(SKIP) <= set(MODULES), "SKIP names a module without examples"


@pytest.mark.parametrize("name", [name for name in MODULES if name not in SKIP])
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    result = doctest.testmod(importlib.import_module(name), optionflags=FLAGS, verbose=False, report=True)
    if result.attempted == 0:
        pytest.skip("every example is marked +SKIP (it needs a run folder or files a test does not have)")
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} of {result.attempted} examples failed"

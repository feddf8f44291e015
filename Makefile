# The two commands of the README. Each one sets everything up from nothing but Python.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint format setup clean docs notebooks check-notebooks pictures

$(BIN)/zoo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[dev,jax,ja,docs]"
	touch $(BIN)/zoo

setup: $(BIN)/zoo

# Main job on the built-in data: prepare corpus, train tokenizer, pretrain a causal LM, generate, export.
demo: setup
	$(BIN)/zoo run

# Test processes: two by default (CI has 2 cores); `make test WORKERS=8` on a bigger machine, WORKERS=0 for one process.
# --dist loadfile keeps each test file in one process, so a file's fixtures are built once.
WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile

# The whole test suite (CI runs exactly this).
test: setup
	$(PYTEST)

# The suite without the end-to-end recipe runs (tests marked `recipe`): the quick check while you work.
test-fast: setup
	$(PYTEST) -m "not recipe"

# Lint and format check (CI runs this before the tests); `make format` rewrites the files.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The docs site into site/: README.md, README.ja.md, the notebooks and the API reference from the docstrings,
# built with warnings as errors (broken links included). CI runs this after `make lint`.
docs: setup
	$(BIN)/python notebooks/build_notebooks.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Regenerate notebooks/*.ipynb from their sources, notebooks/NN_*.py (jupytext percent format).
notebooks: setup
	$(BIN)/python notebooks/build_notebooks.py

# CI: every notebook valid and in step with its source, and the first-hour notebook run in a fresh kernel.
check-notebooks: setup
	$(BIN)/python notebooks/build_notebooks.py --check --execute 00_first_hour

# Redraw the docs' pictures (docs/images/*.png) from zoo's own code (a few minutes: it trains tokenizers).
pictures: setup
	$(BIN)/zoo pictures

clean:
	rm -rf $(VENV) runs site

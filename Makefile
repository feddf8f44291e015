# The two commands of the README. Each one sets everything up from nothing but Python.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint format setup clean

$(BIN)/zoo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[dev,jax,ja]"
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

clean:
	rm -rf $(VENV) runs

# The two commands of the README. Each one sets everything up from nothing but Python.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint format setup clean pictures

$(BIN)/zoo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[dev,jax,ja]"
	touch $(BIN)/zoo

setup: $(BIN)/zoo

# Main job on the built-in data: prepare corpus, train tokenizer, pretrain a causal LM, generate, export.
demo: setup
	$(BIN)/zoo run

# The whole test suite (CI runs exactly this).
test: setup
	$(BIN)/python -m pytest -q

# The suite without the end-to-end recipe runs (tests marked `recipe`): the quick check while you work.
test-fast: setup
	$(BIN)/python -m pytest -q -m "not recipe"

# Lint and format check (CI runs this before the tests); `make format` rewrites the files.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Redraw the docs' pictures (docs/images/*.png) from zoo's own code (a few minutes: it trains tokenizers).
pictures: setup
	$(BIN)/zoo pictures

clean:
	rm -rf $(VENV) runs

# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint format bench bench-quick docs docs-ci clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch lies on disk here; installing it first keeps pip
	# from pulling a multi-GB CUDA build to satisfy the project's range.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fpsolve demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The documentation site (Sphinx, warnings are errors) in docs/_build/html/index.html;
# the gallery runs every example with --quick (FPSOLVE_GALLERY=full: as written).
docs: $(STAMP)
	rm -rf docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
	$(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html
	@echo "open docs/_build/html/index.html"

# CI: the same build without running any gallery code.
docs-ci: $(STAMP)
	rm -rf docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
	FPSOLVE_GALLERY=none $(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html

# Runs every benchmarks/*.py and rewrites README.md's "Benchmark results" from their JSON.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Smoke run of every benchmark at small sizes (README untouched).
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --quick

clean:
	rm -rf $(VENV) fpsolve-demo .pytest_cache docs/_build docs/generated docs/auto_examples

# Two commands do all the set-up on a fresh machine:
#   make demo   the main job on the embedded local default
#   make test   lint, types and the whole test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test bench bench-compiled clean system-tools

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CWLPIPE_PURE_PYTHON=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/cwlpipe demo

system-tools:
	scripts/system-tools

test: $(BIN)/.installed system-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest
	scripts/with-compiled-core python -m pytest -q -p no:cacheprovider tests/unit

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_patterns.py
	$(BIN)/python bench/bench_metrics.py
	$(BIN)/python bench/bench_process.py
	$(BIN)/python -m bench core

bench-compiled: $(BIN)/.installed
	scripts/with-compiled-core python -m bench core

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Two commands for a fresh machine:
#   make demo   create .venv, install augrnn, train a Neural Turing Machine on copy
#   make test   lint and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

demo: install
	$(BIN)/augrnn demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench_ntm.py
	$(BIN)/python benchmarks/bench_act.py
	$(BIN)/python benchmarks/bench_attention.py

clean:
	rm -rf $(VENV) build src/*.egg-info

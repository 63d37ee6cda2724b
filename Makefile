# Two commands for a fresh machine:
#   make demo   create .venv, install augrnn, train a Neural Turing Machine on copy
#   make test   lint, build the documentation site strictly and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint docs browser speech speech-corpus bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

demo: install
	$(BIN)/augrnn demo

lint: install
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

# The documentation site, into site/: a broken link, a missing page or a docstring that does not
# render fails the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The browser tests (the HTML report, the site) drive Debian's chromium: install it when apt
# can (as root) and it is missing; otherwise those tests are skipped, and say so.
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends chromium >/dev/null; } || \
		echo "chromium is not installed: the report's browser tests will be skipped"

# The speech tests synthesise a small corpus with Debian's espeak-ng: install it as chromium is
# installed; without it those tests are skipped, and say so.
speech:
	@command -v espeak-ng >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends espeak-ng >/dev/null; } || \
		echo "espeak-ng is not installed: the speech tests that synthesise audio will be skipped"

# The spoken digits corpus of the las_digits presets (17,200 utterances, cached in
# ~/.cache/augrnn or $$AUGRNN_CACHE_DIR; about 2.5 minutes on 2 cores).
speech-corpus: install speech
	$(BIN)/augrnn speech-corpus las_digits

test: lint docs browser speech
	$(BIN)/python -m pytest -q

# The peer ACT package pins torch<2 in its metadata but its models need only torch: install it
# without dependencies, for the benchmark only.
bench: install
	$(BIN)/python -m pip install --quiet --no-deps pytorch-adaptive-computation-time
	$(BIN)/augrnn bench --threads 1 --json runs/bench.json

clean:
	rm -rf $(VENV) build site src/*.egg-info

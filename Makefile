# The two commands: `make run` and `make test`. Both create .venv/ when needed.
SHELL := bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The package is installed in setuptools' editable (lenient) mode: an import
# finder maps each `tessera.*` sub-package onto its root folder, so a new module
# is importable at once, without a reinstall.

.PHONY: install run test lint typecheck check bench bench-client bench-client-scale clean jssdk

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/tessera serve --server-name localhost:8008 --listen 127.0.0.1:8008 --data-dir data

test: install lint typecheck jssdk
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot see through the editable install's link tree (it skips symlinked
# files and treats the tree as an installed package), so it checks a tree of
# folder links that spells the `tessera` namespace, and reports source paths.
TYPECHECK := build/typecheck
typecheck: install
	@mkdir -p $(TYPECHECK)/tessera
	@for d in app kernel command query projections federation schema; do \
		ln -sfn ../../../$$d $(TYPECHECK)/tessera/$$d; done
	@set -o pipefail; cd $(TYPECHECK) && ../../$(BIN)/mypy --config-file ../../pyproject.toml \
		tessera | sed -E 's#^tessera/(app|kernel|command|query|projections|federation|schema)/#\1/#'

# matrix-js-sdk with its Rust crypto (npm), for the end-to-end encryption tests.
JSSDK := tests/e2e/jssdk
jssdk: $(JSSDK)/node_modules/.installed

$(JSSDK)/node_modules/.installed: $(JSSDK)/package.json $(JSSDK)/package-lock.json
	cd $(JSSDK) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: install
	$(BIN)/python -m bench.kernel

# The Client-Server scenarios against a `tessera serve` the benchmark starts
# itself on fresh storage; the scale profile needs PostgreSQL and NATS running.
bench-client: install
	$(BIN)/python -m bench.client --profile embedded

bench-client-scale: install
	$(BIN)/python -m bench.client --profile scale

clean:
	rm -rf build $(VENV) .mypy_cache .pytest_cache .ruff_cache

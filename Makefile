# The two commands: `make run` and `make test`. Both create .venv/ when needed.
SHELL := bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The package is installed in setuptools' "strict" editable mode: a tree of links
# under build/ that mypy and pytest both resolve. A new module needs a reinstall,
# so the stamp depends on every package folder (a folder's mtime moves when a file
# is added to or removed from it).
PKG_DIRS := $(shell find app kernel command query projections federation schema -type d -not -name __pycache__ 2>/dev/null)

.PHONY: install run test lint typecheck check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml $(PKG_DIRS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict
	touch $(STAMP)

run: install
	$(BIN)/tessera serve

test: install lint typecheck
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

bench: install
	$(BIN)/python -m bench.kernel

clean:
	rm -rf build $(VENV) .mypy_cache .pytest_cache .ruff_cache

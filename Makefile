# uketome - make demo | make test | make install
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
DATA_DIR ?= $(CURDIR)/data
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: install install-test demo serve test lint typecheck pytest test-postgres messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "uketome needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24"

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -c constraints.txt -e ".[postgres]"
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -c constraints.txt -e ".[test]"
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	UKETOME_DEBUG=true UKETOME_DATA_DIR="$(DATA_DIR)" PORT=$(PORT) $(BIN)/uketome demo

serve: install
	PORT=$(PORT) $(BIN)/uketome serve

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-test
	PYTHONPATH=. $(BIN)/mypy

pytest: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The suite again, against PostgreSQL (UKETOME_TEST_DATABASE_URL, default the local server).
test-postgres: install-test
	UKETOME_TEST_DATABASE_URL=$${UKETOME_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	  $(BIN)/pytest $(PYTEST_ARGS)

# Refresh the message catalogues after changing user-facing strings (needs GNU gettext).
messages: install-test
	cd src/uketome && UKETOME_DEBUG=true UKETOME_DATA_DIR=$(CURDIR)/.venv/messages-data \
	  ../../$(BIN)/django-admin makemessages --settings=uketome.settings -l ja --no-obsolete --no-location
	$(BIN)/python -m uketome.core.catalogue compile

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# imagetagger: `make up` runs the whole system on this machine; `make test` runs every check CI runs.
# Each target sets up what it needs first, so both work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: up test lint typecheck pytest model bench clean check-model setup setup-dev sam-validate browser-deps

# ------------------------------------------------------------------------------------------------- set-up
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The runtime (no PyTorch): Lambda code, local stack, ONNX endpoint. Re-runs when the pins change.
$(RUNTIME_STAMP): requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/runtime.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Tests, linters, training (PyTorch) on top of the runtime.
$(DEV_STAMP): requirements/dev.txt $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@

setup: $(RUNTIME_STAMP)
setup-dev: $(DEV_STAMP)

check-model:
	@test -f models/default/model.onnx -a -f models/default/model.json || \
		{ echo "models/default/ has no model.onnx/model.json: the committed default model is missing (make model rebuilds it)"; exit 1; }

# ------------------------------------------------------------------------------------------------- run
up: $(RUNTIME_STAMP) check-model
	$(BIN)/imagetagger up

# ------------------------------------------------------------------------------------------------- checks
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

# Every function's handler is called app.py, so each is checked on its own (mypy wants unique module names).
typecheck: $(DEV_STAMP)
	$(BIN)/mypy layers/imagetagger/imagetagger local/imagetagger_local
	for handler in functions/*/app.py; do $(BIN)/mypy "$$handler" || exit 1; done

pytest: $(DEV_STAMP) check-model browser-deps
	$(BIN)/python -m pytest tests/

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download is not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser-deps:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

# aws-sam-cli's pins conflict with ours, so it lives in its own virtualenv. `sam validate --lint` needs no AWS
# credentials (only a region name, given here).
TOOLS := .venv-tools
$(TOOLS)/.installed: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet -r requirements/tools.txt
	touch $@

sam-validate: $(TOOLS)/.installed
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --lint --region us-east-1 -t template.yaml

test: lint sam-validate typecheck pytest

# ------------------------------------------------------------------------------------------------- model and benchmark
model: $(DEV_STAMP)
	$(BIN)/imagetagger train

bench: $(DEV_STAMP) check-model
	$(BIN)/imagetagger bench --json

# ------------------------------------------------------------------------------------------------- clean
# Build and test leftovers; keeps .local/ (your local data) and the virtualenvs unless asked: `make clean ALL=1`.
clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .hypothesis .aws-sam build dist test-results
	find . \( -path ./$(VENV) -o -path ./$(TOOLS) \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	if [ -n "$(ALL)" ]; then rm -rf $(VENV) $(TOOLS) .local; fi

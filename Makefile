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
export UV_COMPILE_BYTECODE := 1

.PHONY: run test lint unit integration e2e bench venv lock clean

run: $(STAMP)
	$(VENV)/bin/argosy run

# One pytest run over every test directory; exit code 5 (nothing collected) is not a failure.
test: lint
	$(VENV)/bin/pytest tests -q -p no:cacheprovider --durations=15; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy src/argosy/kernel src/argosy/platform src/argosy/venues \
		src/argosy/services/notification src/argosy/services/gateway src/argosy/services/users src/argosy/services/config \
		src/argosy/services/market_data src/argosy/services/risk src/argosy/services/trading \
		src/argosy/services/strategy

unit integration e2e: $(STAMP)
	$(VENV)/bin/pytest tests/$@ -q; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

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

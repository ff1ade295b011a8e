# autoscope developer entry points. Everything runs in ./.venv.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	# the CPU build of torch first, so that the torch requirement is already satisfied
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,async,epics,nion,qserver]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/autoscope demo

test: $(STAMP)
	bash .ci/services.sh
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not server" -x -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

bench: $(STAMP)
	$(BIN)/autoscope bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache

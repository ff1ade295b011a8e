# autoscope developer entry points. Everything runs in ./.venv.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast lint format bench docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	# the CPU build of torch first, so that the torch requirement is already satisfied
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,async,epics,nion,qserver,remote,docs,reference]"
	# atomai (the benchmark's reference row) without its declared dependencies, which name the
	# GUI build of OpenCV: the reference extra above holds what it needs
	$(BIN)/pip install -q -c constraints.txt --no-deps atomai==0.8.1
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/autoscope demo

test: $(STAMP)
	bash .ci/services.sh
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/mypy src
	$(MAKE) docs
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not server" -x -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/mypy src

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

bench: $(STAMP)
	$(BIN)/autoscope bench

# the site, warnings as errors, into docs/_build/html; then every {testcode} snippet of the pages runs
# (from scratch: API pages left over from renamed modules would otherwise fail the -W build)
docs: $(STAMP)
	rm -rf docs/_build docs/generated
	$(BIN)/sphinx-build -W --keep-going -q -d docs/_build/doctrees -b html docs docs/_build/html
	$(BIN)/sphinx-build -W --keep-going -q -d docs/_build/doctrees -b doctest docs docs/_build/doctest

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache docs/_build docs/generated

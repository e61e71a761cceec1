# avin: two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test lint fmt bench build release clean e2e

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# numba speeds up the ZigZag batch; the pure-Python path gives identical results without it
	-$(BIN)/python -m pip install --quiet 'numba>=0.59'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/avin $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q --cov=engine --cov-report=term:skip-covered $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy engine

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

build: $(STAMP)
	$(BIN)/python -m build --outdir dist .

release: lint test build
	@echo "release artefacts in dist/: $$(ls dist)"

clean:
	rm -rf $(VENV) dist build *.egg-info .pytest_cache .mypy_cache .ruff_cache

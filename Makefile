# One entry point for people and CI. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: install system-packages test soak demo dev emulator bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system-packages:
	bash scripts/system-packages.sh

test: $(STAMP) system-packages
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not soak" $(PYTEST_ARGS)

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/tmeet-etl demo

dev: $(STAMP)
	$(BIN)/tmeet-etl dev

emulator: $(STAMP)
	$(BIN)/tmeet-etl emulator --scale demo

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data .pytest_cache

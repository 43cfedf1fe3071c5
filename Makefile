# Gridbot: every target sets itself up (virtual environment + install) on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $@

demo: $(BIN)/.installed
	$(BIN)/gridbot demo --console 8080

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.routing_bench
	$(BIN)/python -m benchmarks.intake_bench
	$(BIN)/python -m benchmarks.intake_scale_bench
	$(BIN)/python -m benchmarks.sweep_bench
	$(BIN)/python -m benchmarks.export_bench

clean:
	rm -rf $(VENV) build *.egg-info

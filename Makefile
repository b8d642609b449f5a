# One-command entry points. `make reproduce` builds the whole default workflow,
# `make test` runs the test suite; both create the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: setup reproduce test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@# Real Fashion-MNIST offline: Debian's package holds the original idx files. Installed
	@# where we are root with apt; elsewhere the workflow falls back to torchvision's download.
	-@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) || \
		echo "note: could not install dataset-fashion-mnist; Fashion-MNIST will be downloaded"; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

reproduce: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

bench: setup
	$(BIN)/python benchmarks/operations.py

clean:
	rm -rf results .snakemake

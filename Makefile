# One-command entry points. `make reproduce` builds the whole default workflow,
# `make test` runs the test suite; both create the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
# TeX Live for results/reproduction.pdf (latentspace.latexdoc.TEX_PACKAGES)
TEX_PACKAGES := texlive-latex-recommended texlive-latex-extra latexmk lmodern

.PHONY: setup reproduce reproduce-cpu-full test lint bench docs docs-cpu-full docs-render clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@# Real Fashion-MNIST offline: Debian's package holds the original idx files. Installed
	@# where we are root with apt; elsewhere the workflow falls back to torchvision's download.
	-@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) || \
		echo "note: could not install dataset-fashion-mnist; Fashion-MNIST will be downloaded"; fi
	@# TeX Live for the reproduction PDF (about 40 s), likewise; without it the default
	@# target leaves results/reproduction.pdf out and says what to install.
	-@if ! (command -v latexmk && kpsewhich lmodern.sty adjustbox.sty newunicodechar.sty) >/dev/null 2>&1 && \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -q --no-install-recommends $(TEX_PACKAGES) >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $(TEX_PACKAGES) >/dev/null 2>&1)) || \
		echo "note: could not install $(TEX_PACKAGES); results/reproduction.pdf will be left out"; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

reproduce: setup
	$(BIN)/snakemake --cores $(CORES)

# Two workers (pytest-xdist) taking whole modules in tests/conftest.py's order: the SLURM
# tests mostly wait on their cluster, so the rest runs beside them. The workers share the
# cores with the workflow jobs they start, where OpenMP threads that spin while waiting for
# a descheduled sibling slowed a training job 40-fold (84 against 3,300 images/s): with
# OMP_WAIT_POLICY=PASSIVE they sleep instead.
TEST_WORKERS ?= 2

test: setup
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

# The CPU-full tier: the default's figures and tables, every model trained to convergence
# (config/cpu-full.yaml on top of config/config.yaml; results in results-cpu-full/).
CPU_FULL := --configfile config/config.yaml config/cpu-full.yaml

reproduce-cpu-full: setup
	$(BIN)/snakemake --cores $(CORES) $(CPU_FULL)

# docs/results.md is generated: the template docs/results.md.j2 rendered over the default
# run's claims ledger and the CPU-full tier's. After `make reproduce` (default config) or
# `make reproduce-cpu-full`, these copy the run's ledger into docs/ and render the page;
# tests/test_claims.py checks that they agree.
docs: setup
	$(BIN)/snakemake --cores $(CORES) results/data/values.json results/tables/claims.csv
	mkdir -p docs/default-run
	cp results/data/values.json results/tables/claims.csv docs/default-run/
	$(MAKE) docs-render

docs-cpu-full: setup
	$(BIN)/snakemake --cores $(CORES) $(CPU_FULL) results-cpu-full/data/values.json results-cpu-full/tables/claims.csv
	mkdir -p docs/cpu-full-run
	cp results-cpu-full/data/values.json results-cpu-full/tables/claims.csv docs/cpu-full-run/
	$(MAKE) docs-render

docs-render: setup
	$(BIN)/python -m latentspace.claims docs/results.md.j2 docs/default-run/values.json \
		$(if $(wildcard docs/cpu-full-run/values.json),--tier cpu-full=docs/cpu-full-run/values.json) -o docs/results.md

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check .

bench: setup
	$(BIN)/python benchmarks/operations.py

clean:
	rm -rf results results-cpu-full .snakemake

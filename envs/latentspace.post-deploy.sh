#!/usr/bin/env bash
# Installs this repository's latentspace library into the conda env just created.
#
# Snakemake runs <env>.post-deploy.sh beside envs/<env>.yaml once, right after creating
# that env, with the env activated. It creates the env from a *copy* of the env file in
# .snakemake/conda/<hash>.yaml (or under --conda-prefix), and conda runs a `pip:` section
# in the directory of that copy, so a relative path such as `-e ..` in the env file would
# resolve against .snakemake/conda/, not against the repository. rules/common.smk exports
# the repository's absolute path as LATENTSPACE_ROOT instead, which this script inherits.
#
# --no-deps: the env file lists every package the env's rules import (tests/test_envs.py
# checks it), so that the plotting env does not pull torch in through the library's own
# requirements. Editable (-e), so that code edits reach the env without rebuilding it.
set -euo pipefail
python -m pip install --no-deps -e "${LATENTSPACE_ROOT:?LATENTSPACE_ROOT is unset: run through the workflow, which sets it}"

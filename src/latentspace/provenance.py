"""Provenance of a run: what built it, stated in the PDF, the HTML report and the claims table.

:func:`collect` returns one dict: the git commit of the workflow (full and short hash) and
whether its working tree had uncommitted changes, the SHA-256 of the resolved config, the
seed, the device the run computes on, the versions of the packages that decide the numbers
and the date. Rule ``provenance`` writes it to ``results/provenance.json``;
:func:`describe` and :func:`describe_latex` turn it into one paragraph.

The source state (:func:`source_state`, one ``git`` call) and the config hash
(:func:`config_sha256`) are cheap and torch-free, so the workflow computes them while it
builds the DAG and passes them to the rule as params: a new commit, a change to the tree
or to the config reruns it. Only :func:`compute_device` imports torch, lazily, to name the
device the same way :func:`latentspace.device.resolve_device` picks it ("auto").
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata as md
import json
import os
import subprocess
from collections.abc import Mapping
from typing import Any

__all__ = ["PACKAGES", "TRAINING_MODULES", "CLASSIFIER_MODULES", "source_state", "config_sha256", "code_digest", "package_versions", "compute_device", "auto_precision", "collect",
           "describe", "describe_latex"]

PACKAGES = ("torch", "torchvision", "snakemake", "numpy", "scipy")
"""The distributions whose versions a run records (they decide its numbers)."""


def source_state(root: str | os.PathLike) -> dict[str, Any]:
    """The git commit of the repository holding ``root`` and whether its working tree was
    dirty (tracked files changed, or untracked files that git does not ignore), from one
    ``git status`` call that takes no lock. Outside a repository, or without git, the
    commit is ``"unknown"`` and ``dirty`` is None."""
    unknown = {"commit": "unknown", "commit_short": "unknown", "dirty": None}
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain=v2", "--branch", "--untracked-files=normal"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return unknown
    if out.returncode != 0:
        return unknown
    lines = out.stdout.splitlines()
    oid = next((ln.split()[2] for ln in lines if ln.startswith("# branch.oid ")), None)
    if oid is None or oid == "(initial)":  # no commit yet
        return unknown
    return {"commit": oid, "commit_short": oid[:7], "dirty": any(not ln.startswith("#") for ln in lines)}


TRAINING_MODULES = ("_checks", "_registry", "atomic", "catalog", "checkpoints", "data", "device", "files", "models",
                    "operations", "priors", "training")
"""The modules of this package that a trained model's weights depend on: everything
:mod:`latentspace.training` imports from the package, directly or through another module
(a test keeps the list complete)."""

CLASSIFIER_MODULES = ("_checks", "_registry", "atomic", "classifier", "data", "device", "files")
"""Likewise for the dataset classifier (:mod:`latentspace.classifier`)."""


def code_digest(modules: tuple[str, ...] = TRAINING_MODULES) -> str:
    """SHA-256 (first 16 hex digits) of the source of these modules of the package, read
    as files without importing them (the workflow computes it while it builds the DAG).

    The training rules take it as a param. Snakemake's between-workflow cache
    (``--cache``) keys a job on its rule's script, params, inputs and software environment,
    not on the modules the script imports, so without it a cached generator of an older
    library would be reused; and a change to the training code reruns training, as a change
    to the script does."""
    from pathlib import Path

    root = Path(__file__).parent
    h = hashlib.sha256()
    for name in modules:
        h.update(name.encode() + b"\0" + (root / f"{name}.py").read_bytes() + b"\0")
    return h.hexdigest()[:16]


def config_sha256(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON dump of the resolved config (keys sorted, no spaces),
    so the same settings give the same hash whatever their order in the YAML file."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution (``"not installed"`` where absent), read from
    its metadata: nothing is imported."""
    versions = {}
    for name in packages:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def compute_device() -> str:
    """The device a run's "auto" device resolves to here: ``"cpu"``, or the name of the
    current CUDA device (e.g. ``"NVIDIA H200"``)."""
    from .device import resolve_device  # imports torch

    device = resolve_device("auto")
    if device.type != "cuda":
        return device.type
    import torch

    return torch.cuda.get_device_name(device)


def auto_precision() -> str:
    """What a training precision of "auto" resolves to on the device "auto" picks here
    (:func:`latentspace.device.resolve_precision`)."""
    from .device import resolve_device, resolve_precision  # imports torch

    return resolve_precision("auto", resolve_device("auto"))


def collect(source: Mapping[str, Any], config_hash: str, seed: int, device: str | None = None,
            date: _dt.datetime | None = None, precision: str | None = None) -> dict[str, Any]:
    """The provenance record of a run: ``source`` as :func:`source_state` returns it, the
    config's :func:`config_sha256`, the seed, the device (:func:`compute_device` unless
    given), what precision "auto" means there (:func:`auto_precision` unless given),
    :func:`package_versions` and the date (now, UTC, unless given)."""
    missing = {"commit", "commit_short", "dirty"} - set(source)
    if missing:
        raise ValueError(f"source state lacks {sorted(missing)}: pass what source_state() returns")
    date = date or _dt.datetime.now(_dt.UTC)
    return {
        "commit": source["commit"],
        "commit_short": source["commit_short"],
        "dirty": source["dirty"],
        "config_sha256": config_hash,
        "seed": int(seed),
        "device": device if device is not None else compute_device(),
        "auto_precision": precision if precision is not None else auto_precision(),
        "versions": package_versions(),
        "date": date.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _sentence(prov: Mapping[str, Any], code, plain) -> str:
    """The paragraph, with ``code`` wrapping hashes, the device and versions and ``plain``
    applied to the other values taken from ``prov`` (the prose itself holds no special
    character of LaTeX)."""
    if prov["commit"] == "unknown":
        source = "from a source tree outside git (commit unknown)"
    else:
        state = {True: "with uncommitted changes in the working tree",
                 False: "with a clean working tree",
                 None: "working tree state unknown"}[prov["dirty"]]
        source = f"from commit {code(prov['commit_short'])} ({code(prov['commit'])}), {state}"
    versions = [f"{plain(name)} {code(v)}" for name, v in prov["versions"].items()]
    listed = ", ".join(versions[:-1]) + f" and {versions[-1]}" if len(versions) > 1 else "".join(versions)
    return (f"Built {source}; config SHA-256 {code(prov['config_sha256'])}, seed {plain(prov['seed'])}, "
            f"computing on {code(prov['device'])}, with {listed}; on {plain(prov['date'])}.")


def describe(prov: Mapping[str, Any]) -> str:
    """One paragraph of plain text stating the provenance record ``prov``."""
    return _sentence(prov, str, str)


def describe_latex(prov: Mapping[str, Any]) -> str:
    """:func:`describe` as LaTeX: hashes, the device and versions in typewriter type, every
    LaTeX special character of the values escaped."""
    from .latexdoc import escape

    return _sentence(prov, lambda v: r"\texttt{" + escape(str(v)) + "}", lambda v: escape(str(v)))

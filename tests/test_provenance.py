"""latentspace.provenance: the record of what built a run (commit, dirty tree, config hash,
seed, device, versions, date) and the paragraph that states it."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import subprocess
import sys

import pytest

from latentspace import device, provenance

SOURCE = {"commit": "0123456789abcdef0123456789abcdef01234567", "commit_short": "0123456", "dirty": True}


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    try:
        git(tmp_path, "init", "-q")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"git is not usable here: {exc}")
    git(tmp_path, "config", "user.email", "test@example.org")
    git(tmp_path, "config", "user.name", "test")
    (tmp_path / "Snakefile").write_text("rule all:\n")
    (tmp_path / ".gitignore").write_text("results/\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_source_state_names_the_commit_and_whether_the_tree_is_dirty(repo):
    clean = provenance.source_state(repo)
    assert clean == {"commit": git(repo, "rev-parse", "HEAD"), "commit_short": git(repo, "rev-parse", "HEAD")[:7],
                     "dirty": False}
    (repo / "results").mkdir()
    (repo / "results" / "x.csv").write_text("ignored\n")
    assert provenance.source_state(repo)["dirty"] is False  # ignored files do not count
    (repo / "new.smk").write_text("# untracked\n")
    assert provenance.source_state(repo)["dirty"] is True
    (repo / "new.smk").unlink()
    (repo / "Snakefile").write_text("rule all:\n    input: []\n")
    assert provenance.source_state(repo) == {**clean, "dirty": True}
    git(repo, "commit", "-q", "-am", "second")
    again = provenance.source_state(repo)
    assert again["dirty"] is False and again["commit"] != clean["commit"]


def test_source_state_outside_git_is_unknown(tmp_path):
    assert provenance.source_state(tmp_path / "nowhere") == {"commit": "unknown", "commit_short": "unknown",
                                                             "dirty": None}


def test_config_hash_is_canonical():
    a = {"seed": 1, "models": {"normal": {"prior": "normal"}, "cauchy": {"prior": "cauchy"}}}
    b = {"models": {"cauchy": {"prior": "cauchy"}, "normal": {"prior": "normal"}}, "seed": 1}
    assert provenance.config_sha256(a) == provenance.config_sha256(b)
    assert len(provenance.config_sha256(a)) == 64
    assert provenance.config_sha256(a) != provenance.config_sha256({**a, "seed": 2})


def test_collect_records_versions_from_metadata_and_the_date():
    when = dt.datetime(2026, 11, 30, 7, 5, tzinfo=dt.UTC)
    record = provenance.collect(SOURCE, "f" * 64, 3, device="NVIDIA H200", date=when)
    assert record["commit"] == SOURCE["commit"] and record["dirty"] is True and record["seed"] == 3
    assert record["device"] == "NVIDIA H200" and record["date"] == "2026-11-30 07:05 UTC"
    assert set(record["versions"]) == set(provenance.PACKAGES)
    for name in ("torch", "numpy", "scipy", "snakemake"):
        assert record["versions"][name] == md.version(name)
    assert provenance.package_versions(("surely-not-a-package-here",)) == {"surely-not-a-package-here": "not installed"}
    json.dumps(record)  # what rule `provenance` writes
    assert record["auto_precision"] == device.resolve_precision("auto", device.resolve_device("auto"))
    assert provenance.collect(SOURCE, "f" * 64, 3, device="cpu", precision="float32")["auto_precision"] == "float32"
    with pytest.raises(ValueError, match="source state lacks"):
        provenance.collect({"commit": "abc"}, "f" * 64, 1, device="cpu")


def test_device_is_the_one_the_library_picks():
    import torch

    from latentspace.device import resolve_device

    device = provenance.compute_device()
    if resolve_device("auto").type == "cuda":
        assert device == torch.cuda.get_device_name(torch.cuda.current_device())
    else:
        assert device == "cpu"


def test_import_needs_no_torch():
    code = "import sys, latentspace.provenance as p; p.package_versions(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module, listed", [("training", provenance.TRAINING_MODULES),
                                            ("classifier", provenance.CLASSIFIER_MODULES)])
def test_the_code_digest_covers_every_module_training_imports(module, listed):
    """The training rules' `code` param hashes exactly the package's modules that training
    loads, so that a change to any of them (and to no other) retrains and misses the cache."""
    code = f"import sys, latentspace.{module}; print(' '.join(sorted(m for m in sys.modules if m.startswith('latentspace.'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert sorted(m.removeprefix("latentspace.") for m in loaded) == sorted(listed)
    assert provenance.code_digest(listed) != provenance.code_digest(listed[:-1])
    assert len(provenance.code_digest(listed)) == 16


def test_describe_states_every_field():
    record = provenance.collect(SOURCE, "ab" * 32, 7, device="my_gpu #1", date=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    text = provenance.describe(record)
    for part in (SOURCE["commit"], SOURCE["commit_short"], "uncommitted changes", "ab" * 32, "seed 7", "my_gpu #1",
                 "2026-01-02 00:00 UTC", *(f"{name} {v}" for name, v in record["versions"].items())):
        assert part in text, part
    assert "\n" not in text
    latex = provenance.describe_latex(record)
    assert r"\texttt{my\_gpu \#1}" in latex and "my_gpu" not in latex
    assert r"\texttt{" + "ab" * 32 + "}" in latex
    clean = provenance.describe({**record, "dirty": False})
    assert "clean working tree" in clean and "uncommitted" not in clean
    outside = provenance.describe({**record, "commit": "unknown", "commit_short": "unknown", "dirty": None})
    assert "commit unknown" in outside

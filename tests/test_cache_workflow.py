"""Between-workflow caching of trained models (`snakemake --cache`, rules/train.smk): a
model trained in one working directory is reused, as a symbolic link into the cache, by
another that asks for the same model; a change of its options, or of the training code,
trains it again; a model with snapshots is never cached (its snapshots are no declared
output). Each test works in its own directories and cache; none uses the shared run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import fresh_config, planned_rules, snakemake

pytestmark = pytest.mark.slow

GENERATOR = Path("results/models/cauchy/generator.pt")  # config/test.yaml: no snapshots


def run(workdir: Path, configfile: Path, *targets: str) -> str:
    # targets first: --cache takes the rule names that follow it (none: every eligible rule)
    result = snakemake(workdir, "--cores", "1", *targets, "--cache", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_a_trained_generator_is_reused_from_the_cache_and_retrained_when_its_options_change(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(cache))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(fresh_config()))

    first = tmp_path / "first"
    out = run(first, config, str(GENERATOR))
    assert "Moving output file results/models/cauchy/generator.pt to cache" in out, out[-2000:]
    assert (first / "results" / "models" / "cauchy" / "status.jsonl").exists()
    entries = sorted(p.name[64:] for p in cache.iterdir())
    assert entries == ["generator.pt", "samples.png"], entries

    second = tmp_path / "second"  # another checkout's results, same config
    out = run(second, config, str(GENERATOR))
    assert "Symlinking output file results/models/cauchy/generator.pt from cache" in out, out[-2000:]
    assert "to cache" not in out
    assert not (second / "results" / "models" / "cauchy" / "status.jsonl").exists(), "no training ran"
    assert (second / "results" / "logs" / "train_gan_cauchy.log").read_text() == ""
    assert (second / GENERATOR).is_symlink()
    assert (second / GENERATOR).read_bytes() == (first / GENERATOR).read_bytes()

    changed = fresh_config()
    changed["models"]["cauchy"]["steps"] = changed["training"]["steps"] + 5
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(changed))
    third = tmp_path / "third"
    out = run(third, other, str(GENERATOR))
    assert "Moving output file results/models/cauchy/generator.pt to cache" in out, out[-2000:]
    assert (third / "results" / "models" / "cauchy" / "status.jsonl").exists()
    assert (third / GENERATOR).read_bytes() != (first / GENERATOR).read_bytes()
    assert len(list(cache.iterdir())) == 4  # a second entry, beside the first


def test_models_with_snapshots_train_outside_the_cache(tmp_path, monkeypatch):
    """config/test.yaml's `normal` keeps snapshots: with --cache it is planned in
    train_gan_snapshots, the rule without the cache, and the rest in train_gan."""
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    dry = snakemake(tmp_path / "w", "-n", "results/models/normal/generator.pt",
                    "results/models/cauchy/generator.pt", "results/models/fc/generator.pt", "--cache")
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = planned_rules(dry.stdout)
    assert jobs["train_gan_snapshots"] == 1 and jobs["train_gan"] == 2, jobs

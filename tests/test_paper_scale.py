"""config/paper.yaml, the papers' scale: what it plans, what the config check refuses, the
SLURM profile on it, and every one of its rules run in CI on config/paper-ci.yaml (sizes
shrunk; the same rules, CelebA loader and extractors) with a synthetic CelebA and
stand-in Inception files (tests/paper_ci.py)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SNAKEMAKE, fresh_config, planned_rules, rejected

PAPER = ROOT / "config" / "paper.yaml"
PAPER_CI = ROOT / "config" / "paper-ci.yaml"
DEFAULT = ROOT / "config" / "config.yaml"
TABLE = re.compile(r"\S+/tables/([\w.-]+)\.tex\b")
# Rules of paper.yaml's plan that the CI run cannot run: the ImageNet Inception download
# (no network in CI; paper-ci.yaml gives a local stand-in instead, and tests/test_inception.py
# checks the verified fetch from a file:// URL).
NOT_IN_CI = {"download_inception_logits"}


def dry_run(workdir: Path, *configfiles: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`snakemake -n` in ``workdir`` on ``configfiles``, given last: the values after
    --configfile are all read as config files."""
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "-n", *extra,
           "--configfile", *map(str, configfiles)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def planned_tables(run: subprocess.CompletedProcess) -> set[str]:
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return set(TABLE.findall(run.stdout))


def test_classifier_on_a_dataset_without_labels_is_refused(tmp_path):
    cfg = fresh_config()
    cfg["dataset"] = {"name": "celeba", "size": 16}
    cfg["metrics"]["extractors"] = ["classifier"]
    out = rejected(tmp_path, cfg)
    assert "invalid config at metrics.extractors" in out, out[-2000:]
    assert "'celeba' has no class labels" in out


def test_paper_config_plans_every_table_of_the_default_config(tmp_path):
    # (the Snakefile's own default, config/config.yaml, is found relative to the working
    # directory, so it is named here)
    default = planned_tables(dry_run(tmp_path / "default", DEFAULT))
    run = dry_run(tmp_path / "paper", PAPER)
    paper = planned_tables(run)
    assert {"midpoint-quality", "void-quality", "emergence", "sampling-robustness", "autoencoders"} <= default
    # The default's table classifier is the accuracy of the dataset classifier, which
    # CelebA (no labels) cannot train: paper.yaml scores with InceptionV3 instead.
    assert default - paper == {"classifier"}, sorted(default - paper)
    jobs = planned_rules(run.stdout)
    assert "train_classifier" not in jobs and "classifier_table" not in jobs
    assert jobs["download_inception_logits"] == 1  # the Inception Score's ImageNet weights
    assert "extractor=inception" in run.stdout  # reference statistics of the FID network


def test_slurm_profile_plans_the_paper_config(tmp_path):
    run = dry_run(tmp_path, PAPER, extra=("--profile", str(ROOT / "profiles" / "slurm")))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    jobs = planned_rules(run.stdout)
    # the normal model keeps snapshots, so it trains in train_gan_snapshots (rules/train.smk)
    assert (jobs["train_gan"], jobs["train_gan_snapshots"], jobs["train_autoencoder"]) == (11, 1, 2), jobs
    for rule in ("train_gan", "train_gan_snapshots", "train_autoencoder"):  # the profile's GPU and limits
        block = run.stdout.split(f"rule {rule}:", 1)[1].split("\n\n", 1)[0]
        resources = re.search(r"resources: (.*)", block).group(1)
        assert "gpu=1" in resources and "runtime=720" in resources and "mem_mb=16000" in resources, (rule, resources)


def rule_kinds(rules: set[str]) -> set[str]:
    """Rule names with the per-model decoding and plotting rules as one kind each: those are
    named after the figure families their models share (rules/render.smk), and the overlay
    shortens the model lists."""
    return {re.sub(r"^(plot_)?model_grids\w*", r"\1model_grids", rule) for rule in rules}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.:FutureWarning")  # TorchScript is the stand-ins' format
def test_every_rule_of_the_paper_config_runs_on_the_ci_overlay(tmp_path):
    from paper_ci import prepare

    files = prepare(tmp_path)
    planned = set(planned_rules(dry_run(tmp_path / "plan", PAPER).stdout))
    start = time.monotonic()
    run = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                          "--cores", "2", "--configfile", str(PAPER), str(PAPER_CI)],
                         capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - start
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    ran = set(re.findall(r"^(?:local)?rule (\w+):", out, flags=re.M))
    ran, planned = rule_kinds(ran), rule_kinds(planned)
    assert ran == planned - NOT_IN_CI, (sorted(planned - NOT_IN_CI - ran), sorted(ran - planned))
    (tmp_path / "wall-seconds.txt").write_text(f"{wall:.0f}\n")

    results = tmp_path / "results-paper"
    fid_sha1 = "sha1:" + hashlib.sha1(files["inception_weights"].read_bytes()).hexdigest()
    logits_sha256 = "sha256:" + hashlib.sha256(files["inception_logits_weights"].read_bytes()).hexdigest()
    # The reference statistics are the stand-in FID network's, on the synthetic test split.
    from latentspace import metrics

    ref = metrics.FeatureStats.load(results / "data" / "metrics" / "reference-inception.npz")
    assert (ref.extractor, ref.fingerprint, ref.n) == ("inception", fid_sha1, 100)
    # Every metric table scores with both Inception networks, and with nothing else.
    for name in ("midpoint-quality", "void-quality", "sampling-robustness", "emergence"):
        df = pd.read_csv(results / "tables" / f"{name}.csv")
        assert not [c for c in df.columns if c.endswith("_classifier")], (name, list(df.columns))
        values = df[["fid_inception", "is_inception"]].to_numpy()
        assert np.isfinite(values).all(), (name, df)
        assert df["is_inception"].between(1.0 - 1e-9, 10.0).all()  # 1 <= IS <= 10, the stand-in's classes
        assert "IS (Inception)" in (results / "tables" / f"{name}.tex").read_text()
    logs = [*(results / "logs").glob("quality_data_*.log"), results / "logs" / "emergence_data.log"]
    assert len(logs) == 4
    for log in logs:
        text = log.read_text()
        assert f"extractor inception: {fid_sha1}" in text and f"extractor inception_logits: {logits_sha256}" in text
    ae = pd.read_csv(results / "tables" / "autoencoders.csv")
    assert np.isfinite(ae[["fid", "fid_std", "swd"]].to_numpy()).all()
    assert "FID (Inception)" in (results / "tables" / "autoencoders.tex").read_text()
    assert fid_sha1 in (results / "logs" / "autoencoders_table.log").read_text()
    # The CelebA loader read the synthetic archive (test split: 100 images of 64 x 64).
    assert (tmp_path / "resources" / "celeba" / "cache-test-64-crop178.npy").exists()


def test_slurm_profile_keys_for_a_gpu_cluster():
    import yaml

    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    profile = yaml.safe_load(text)
    assert profile["slurm-requeue"] is True  # preempted jobs requeue; training resumes from its checkpoint
    # account and partition belong in the profile (commented placeholders): the plugin's
    # account guess fails, and --default-resources on the command line would replace the
    # whole block, runtime and memory included
    assert re.search(r"^\s*# slurm_account: ", text, flags=re.M) and re.search(r"^\s*# slurm_partition: ", text, flags=re.M)
    assert {"runtime", "mem_mb"} <= set(profile["default-resources"])
    resources = profile["set-resources"]
    for rule in ("quality_data", "emergence_data", "reference_stats", "autoencoders_table"):  # Inception at 50,000
        assert resources[rule]["gpu"] == 1 and resources[rule]["runtime"] >= 60 and resources[rule]["mem_mb"] >= 16000

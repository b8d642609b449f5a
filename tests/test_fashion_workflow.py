"""The default dataset end to end: config/test.yaml on Fashion-MNIST (16 x 16, the first
1,500 images of each split, as many as the digits the other workflow tests use), from the
dataset through GAN, auto-encoder and classifier training to a decoded figure and two
metric tables. Runs where Debian's dataset-fashion-mnist package is installed (`make
setup` installs it where it can); elsewhere it is skipped, saying why (no download in
the tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import fresh_config, snakemake

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
TARGETS = ["results/tables/void-quality.csv", "results/figures/samples-normal.pdf", "results/tables/autoencoders.csv"]

pytestmark = pytest.mark.skipif(
    not FASHION_DIR.is_dir(),
    reason=f"{FASHION_DIR} is missing: install Debian's dataset-fashion-mnist to run the workflow on Fashion-MNIST",
)


@pytest.mark.slow
def test_fashion_mnist_end_to_end(tmp_path):
    cfg = fresh_config()
    cfg["dataset"] = {**cfg["dataset"], "name": "fashion-mnist", "size": 16, "limit": 1500}
    cfg["autoencoders"]["table"]["n_images"] = 1500  # null: the whole test split, 10,000 here
    configfile = tmp_path / "fashion.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    work = tmp_path / "w"
    run = snakemake(work, "--cores", "2", *TARGETS, configfile=configfile)
    assert run.returncode == 0, run.stderr[-5000:]

    log = (work / "results/logs/train_gan_normal.log").read_text()
    assert "ImageDataset('fashion-mnist', shape=(1500, 1, 16, 16)" in log, log[-2000:]
    classifier = yaml.safe_load((work / "results/models/classifier/classifier.json").read_text())
    assert classifier["test_accuracy"] > 0.2, classifier  # ten classes: chance is 0.1

    void = pd.read_csv(work / "results/tables/void-quality.csv")
    assert len(void) == len(cfg["metrics"]["void_quality"]["models"]) * len(cfg["metrics"]["void_quality"]["alphas"])
    zero = void[void["alpha"] == 0]
    assert (abs(zero["is_classifier"] - 1) < 1e-6).all(), void  # one image: IS = 1
    assert (void[void["alpha"] == 1]["is_classifier"] > 1 + 1e-3).all(), void

    ae = pd.read_csv(work / "results/tables/autoencoders.csv")
    assert (ae["n"] == 1500).all() and np.isfinite(ae[["fid", "swd"]].to_numpy()).all(), ae
    assert (work / "results/figures/samples-normal.pdf").read_bytes().startswith(b"%PDF-")

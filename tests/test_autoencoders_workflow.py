"""The auto-encoder stage of the workflow (rules/autoencoders.smk) on config/test.yaml: both
models trained, the table with its configured rows, the saved data behind each figure,
a training job that resumes from its checkpoint, and the config checks. Reuses the one
end-to-end run `built`."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import fresh_config, rejected, snakemake

from latentspace import autoencoders, data, metrics, training
from latentspace.plotting import Grid

CFG = fresh_config()
AE = CFG["autoencoders"]
KINDS = ["sae", "vae"]
# The schema's default noise laws (config/test.yaml keeps them).
NOISES = list(AE.get("noises", {"normal": 0, "uniform": 0, "poisson": 0, "chi2": 0}))
SIZE = CFG["dataset"]["size"]
N_TEST = 297  # the digits test split, which table.n_images (null) takes whole
FIGURES = ["reconstructions", "decoder-priors", "latent-tsne"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_both_autoencoders_trained(built, kind):
    run = built / "results/models" / f"autoencoder-{kind}"
    assert (run / "autoencoder.pt").stat().st_size > 0
    for name in ("reconstructions.png", "samples.png"):
        assert (run / name).read_bytes().startswith(b"\x89PNG")
    losses = pd.read_csv(run / "losses.csv")
    assert list(losses.columns) == ["step", "loss", "mse", "kl"]
    assert losses["step"].iloc[-1] == AE["training"]["steps"]
    assert (losses["kl"] == 0).all() if kind == "sae" else (losses["kl"] > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_figures_are_valid_pdf_and_png(built, name):
    pdf = (built / "results/figures" / f"{name}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]
    assert (built / "results/figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.slow
def test_table_holds_the_configured_rows(built):
    tex = (built / "results/tables/autoencoders.tex").read_text()
    for token in (r"\toprule", r"\midrule", r"\bottomrule", "MSE", "FID (classifier)", "KID (classifier)",
                  "precision (classifier)", "recall (classifier)", "SWD (pixels)"):
        assert token in tex
    assert tex.count(r"\\") == 1 + 1 + len(KINDS) * (1 + len(NOISES))  # header, real images, models

    df = pd.read_csv(built / "results/tables/autoencoders.csv")
    assert list(df.columns) == ["model", "images", "input", "mse", "mse_std", "fid", "fid_std", "kid", "kid_std",
                                "precision", "precision_std", "recall", "recall_std", "swd", "swd_std", "n"]
    assert list(df["model"]) == ["data"] + [k for k in KINDS for _ in range(1 + len(NOISES))]
    for kind in KINDS:
        assert list(df[df["model"] == kind]["images"]) == ["reconstructions", *NOISES]
    assert (df["n"] == N_TEST).all()
    recon = df["images"] == "reconstructions"
    assert df[~recon]["mse"].isna().all()
    assert np.isfinite(df[["fid", "fid_std", "kid", "kid_std", "swd", "swd_std"]].to_numpy()).all()
    assert df[["precision", "recall"]].apply(lambda c: c.between(0, 1).all()).all()
    # The MSE column is the models' reconstruction error: recomputed from autoencoder.pt.
    test = data.load("digits", split="test", size=SIZE).images()
    for kind in KINDS:
        model = training.load_autoencoder(built / f"results/models/autoencoder-{kind}/autoencoder.pt")
        err = metrics.mse(autoencoders.reconstruct(model, test), test)
        row = df[(df["model"] == kind) & recon].iloc[0]
        assert row["mse"] == pytest.approx(float(err.mean()), rel=1e-6), kind
        assert row["mse_std"] == pytest.approx(float(err.std()), rel=1e-5), kind
    # Real training images are the floor of FID and SWD: every model's images score worse.
    data_row, models = df[df["model"] == "data"].iloc[0], df[df["model"] != "data"]
    assert (models["fid"] > 2 * data_row["fid"]).all() and (models["swd"] > 2 * data_row["swd"]).all(), df
    sae_inputs = set(df[(df["model"] == "sae") & ~recon]["input"])
    assert sae_inputs == {"centerized + spherized"}
    assert set(df[(df["model"] == "vae") & ~recon]["input"]) == {"as drawn"}


@pytest.mark.slow
def test_saved_figure_data(built):
    grid = Grid.load(built / "results/data/grids/reconstructions.npz")
    n = AE["reconstructions"]["n_images"]
    assert grid.images.shape == (3, n, 1, SIZE, SIZE)
    assert grid.row_labels == ["test image", "SAE", "VAE"]
    assert np.allclose(np.linalg.norm(grid.latents[1], axis=1), 1, atol=1e-3)  # SAE codes on the sphere

    grid = Grid.load(built / "results/data/grids/decoder-priors.npz")
    n = AE["decoder_priors"]["n_samples"]
    assert grid.images.shape == (len(KINDS) * len(NOISES), n, 1, SIZE, SIZE)
    assert grid.row_labels == NOISES * len(KINDS)
    assert grid.latents.shape[2] == AE["training"]["latent_dim"]
    sae = grid.latents[: len(NOISES)]
    assert np.allclose(np.linalg.norm(sae, axis=2), 1, atol=1e-3)
    assert np.abs(sae.mean(axis=2)).max() < 1e-4  # centerized

    tsne = pd.read_csv(built / "results/data/latent-tsne.csv")
    per_model = 10 * AE["latent_tsne"]["per_class"]  # ten digit classes
    assert len(tsne) == len(KINDS) * per_model
    assert list(tsne.groupby("model").size()) == [per_model] * len(KINDS)
    assert (tsne.groupby(["model", "label"]).size() == AE["latent_tsne"]["per_class"]).all()
    assert np.allclose(tsne[tsne["model"] == "sae"]["norm"], 1, atol=1e-5)


@pytest.mark.slow
def test_training_job_resumes_from_its_checkpoint(built, tmp_path):
    # In a copy, so that the shared run keeps its files and times: the declared outputs of
    # a failed job are gone, its checkpoint beside them is not, and the rerun continues.
    run = "results/models/autoencoder-vae"
    shutil.copytree(built / run, tmp_path / run, ignore=shutil.ignore_patterns("autoencoder.pt", "*.png"))
    result = snakemake(tmp_path, "--cores", "1", f"{run}/autoencoder.pt")
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "results/logs/train_autoencoder_vae.log").read_text()
    assert f"resumed from the checkpoint of step {AE['training']['steps']}" in log
    assert (tmp_path / run / "autoencoder.pt").read_bytes() == (built / run / "autoencoder.pt").read_bytes()


def test_gan_named_like_an_autoencoder_is_rejected(tmp_path):
    config = {**CFG, "models": {**CFG["models"], "autoencoder-sae": {"prior": "normal"}}}
    out = rejected(tmp_path, config)
    assert "models.autoencoder-sae" in out and "taken by the auto-encoder" in out, out[-2000:]


def test_unknown_autoencoder_key_is_rejected(tmp_path):
    config = {**CFG, "autoencoders": {**AE, "training": {**AE["training"], "latent": 3}}}
    out = rejected(tmp_path, config)
    assert "invalid config at autoencoders.training" in out and "'latent' was unexpected" in out, out[-2000:]

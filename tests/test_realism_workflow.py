"""The realisticity-index stage of the workflow (rules/realism.smk) on config/test.yaml:
the ri-paths, ri-profiles and ri-projection figures of every model of `realism.models`,
the saved paths (shapes as configured, shared endpoints, the linear path), profiles and
summaries, a figure that replots without optimising, and the checks of the model names.
Reuses the one end-to-end run `built` (the ri-* figures are part of `all`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import copy_of, fresh_config, planned_rules, rejected, snakemake

from latentspace.plotting import Grid

CFG = fresh_config()
RI = CFG["realism"]
MODELS = RI["models"]
FIGURES = [f"{kind}-{model}" for kind in ("ri-paths", "ri-profiles", "ri-projection") for model in MODELS]


def load(built, model: str) -> Grid:
    return Grid.load(built / "results/data/realism" / f"ri-{model}.npz")


def test_test_config_exercises_the_stage():
    assert MODELS and RI["steps"] > 0 and RI["n_pairs"] >= 2


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_figure_is_valid_pdf_and_png(built, name):
    pdf = (built / "results/figures" / f"{name}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    png = (built / "results/figures" / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_saved_paths_have_the_configured_shape_and_shared_endpoints(built, model):
    grid = load(built, model)
    n_pairs, k = RI["n_pairs"], RI["k"]
    dim, size = CFG["models"][model].get("latent_dim", 100), CFG["dataset"]["size"]
    assert grid.shape == (2 * n_pairs, k + 1) and grid.latents.shape[2] == dim
    assert grid.images.shape == (2 * n_pairs, k + 1, 1, size, size)
    assert np.isfinite(grid.images).all() and np.abs(grid.images).max() <= 1
    assert grid.row_labels == ["linear", "ri_optimal"] * n_pairs
    assert grid.row_groups == [f"pair {p + 1}" for p in range(n_pairs) for _ in range(2)]
    assert grid.col_labels == [f"{i / k:.3g}" for i in range(k + 1)]
    linear, optimal = grid.latents[0::2], grid.latents[1::2]
    # Both paths of a pair start and end at the same points, bit for bit.
    np.testing.assert_array_equal(linear[:, [0, -1]], optimal[:, [0, -1]])
    # The linear row is the linear path; the optimised one left it.
    t = np.linspace(0, 1, k + 1)[None, :, None]
    np.testing.assert_allclose(linear, (1 - t) * linear[:, :1] + t * linear[:, -1:], rtol=0, atol=1e-5)
    assert np.abs(optimal - linear).max() > 1e-3
    assert grid.extra["k"] == k and grid.extra["steps"] == RI["steps"] and grid.extra["model"] == model
    assert len(grid.extra["history"]) == n_pairs and all(len(h) == RI["steps"] + 1 for h in grid.extra["history"])


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_profiles_and_summary(built, model):
    df = pd.read_csv(built / "results/data/realism" / f"ri-profiles-{model}.csv")
    n_pairs, k = RI["n_pairs"], RI["k"]
    assert len(df) == n_pairs * 2 * (k + 1)
    assert list(df.columns) == ["pair", "path", "i", "t", "ri", "log_ri", "distance", "a", "b"]
    assert df["ri"].between(0, 1).all() and (df["log_ri"] <= 0).all()
    assert df["distance"].isna().tolist() == (df["i"] == 0).tolist() and (df["distance"].dropna() >= 0).all()
    # eq. 4: every path starts at (1, 0) and ends at (0, 1); the linear one is (1 - t, t).
    for _, path in df.groupby(["pair", "path"]):
        np.testing.assert_allclose(path[["a", "b"]].to_numpy()[[0, -1]], [[1, 0], [0, 1]], atol=1e-5)
    linear = df[df["path"] == "linear"]
    np.testing.assert_allclose(linear[["a", "b"]].to_numpy(), np.stack([1 - linear["t"], linear["t"]], 1), atol=1e-5)
    summary = pd.read_csv(built / "results/data/realism" / f"ri-summary-{model}.csv")
    assert len(summary) == 2 * n_pairs
    energy = summary.pivot(index="pair", columns="path", values="energy")
    # The optimiser keeps its best iterate, which includes the linear start, so "<=" would
    # hold with no optimisation at all: require a real decrease (it is 25-30 % here).
    assert (energy["ri_optimal"] < 0.99 * energy["linear"]).all(), energy
    grid = load(built, model)
    np.testing.assert_allclose(np.asarray(grid.extra["energy"])[:, 0], energy["linear"], rtol=1e-8)


@pytest.mark.slow
def test_a_figure_replots_without_optimising(built, tmp_path):
    work = copy_of(built, tmp_path / "w")
    name = f"ri-paths-{MODELS[0]}"
    pdf = work / "results/figures" / f"{name}.pdf"
    pdf.unlink()
    run = snakemake(work, "-n", f"results/figures/{name}.pdf")
    assert run.returncode == 0, run.stderr
    assert planned_rules(run.stdout) == {"plot_ri_paths": 1}, run.stdout
    run = snakemake(work, "--cores", "1", f"results/figures/{name}.pdf")
    assert run.returncode == 0, run.stderr[-3000:]
    assert pdf.read_bytes().startswith(b"%PDF-")


BAD_REALISM = [
    ({"models": ["normal", "laplace"]}, "realism.models", "'laplace' is not defined"),
    ({"models": ["normal"], "k": 1}, "realism.k", "minimum"),
    ({"optimizer": "lbfgs"}, "realism.optimizer", "lbfgs"),
    ({"alpha": 1.5}, "realism.alpha", "maximum"),
    ({"colour": "red"}, "realism", ""),
]


@pytest.mark.parametrize(("patch", "key", "words"), BAD_REALISM)
def test_bad_realism_config_names_the_key(tmp_path, patch, key, words):
    cfg = fresh_config()
    cfg["realism"] = {**cfg["realism"], **patch}
    out = rejected(tmp_path, cfg)
    assert f"invalid config at {key}" in out, out[-2000:]
    assert words in out


def test_realism_models_need_a_torch_density(tmp_path):
    cfg = fresh_config()
    cfg["models"]["ball"] = {"prior": "sphere", "latent_dim": 16}
    cfg["realism"]["models"] = ["ball"]
    out = rejected(tmp_path, cfg)
    assert "invalid config at realism.models: model 'ball' has the sphere prior" in out, out[-2000:]

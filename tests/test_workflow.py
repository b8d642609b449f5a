"""The Snakemake workflow: config validation, dry runs, lint, and an end-to-end run of
config/test.yaml into a temporary directory."""

from __future__ import annotations

import math
import subprocess

import pandas as pd
import pytest
import yaml
from conftest import ROOT, SNAKEMAKE, copy_of, fresh_config, planned_rules, rejected, snakemake

FIGURES = [
    "norms-vs-dimension",
    "interpolations-2d",
    "midpoints-2d",
    "midpoint-norms-100d",
    "transport-maps",
    "sparse-prior-3d",
    "sphere-geometry",
]
TABLES = {
    "norm-concentration": {"prior", "dim", "mean", "std", "predicted_mean", "predicted_std"},
    "distribution-mismatch": {"prior", "operation", "ks_coords", "ks_projections", "ks_norms", "w1_norms", "n_tests",
                              "p_adjusted_min", "worst_test", "alpha", "preserved", "claimed"},
}


def test_schema_lists_every_interpolation():
    from latentspace import operations

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    assert schema["definitions"]["interpolation"]["enum"] == operations.interpolation_names()


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/test.yaml", "config/paper.yaml"])
def test_dry_run(tmp_path, configfile):
    run = snakemake(tmp_path, "-n", configfile=ROOT / configfile)
    assert run.returncode == 0, run.stderr
    assert "plot_norms_vs_dimension" in run.stdout
    assert "distribution_mismatch_table" in run.stdout


def test_cpu_full_tier_plans_the_default_jobs_with_converged_models(tmp_path):
    """config/cpu-full.yaml on top of config/config.yaml: the same jobs as the default, every
    generative model trained for 10,000 steps or more, results in their own directory."""
    default = snakemake(tmp_path / "a", "-n", configfile=ROOT / "config/config.yaml")
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path / "b"), "-n",
           "--configfile", str(ROOT / "config/config.yaml"), str(ROOT / "config/cpu-full.yaml")]
    full = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert default.returncode == 0 and full.returncode == 0, default.stderr[-2000:] + full.stderr[-2000:]
    assert planned_rules(full.stdout) == planned_rules(default.stdout)
    assert "results-cpu-full/models/normal/generator.pt" in full.stdout
    base = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    overlay = yaml.safe_load((ROOT / "config/cpu-full.yaml").read_text())
    for model, spec in base["models"].items():
        steps = overlay["models"].get(model, {}).get("steps") or spec.get("steps") or overlay["training"]["steps"]
        assert steps >= 10000, model
    assert overlay["autoencoders"]["training"]["steps"] >= 10000


def test_lint():
    run = subprocess.run([SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


BAD_CONFIGS = [
    ({"priors": {"normal": {"prior": "gaussian"}}}, "priors.normal.prior"),
    ({"seed": -1}, "seed"),
    ({"geometry": {"norms_vs_dimension": {"dims": [10, -5]}}}, "geometry.norms_vs_dimension.dims.1"),
    ({"geometry": {"norms_vs_dimension": {"n_samples": "many"}}}, "geometry.norms_vs_dimension.n_samples"),
    ({"priors": {"normal": {"prior": "cauchy", "params": {"scale": -1.0}}}}, "priors.normal.params.scale"),
    ({"geometry": {"midpoints_2d": {"n_pairs": 10, "colour": "red"}}}, "geometry.midpoints_2d"),
    ({"geometry": {"norm_concentration": {"priors": ["laplace"]}}}, "geometry.norm_concentration.priors"),
    # priors and their params, checked against latentspace.catalog wherever they occur
    ({"priors": {"normal": {"prior": "normal", "params": {"sigma": 2.0}}}}, "priors.normal.params.sigma"),
    ({"priors": {"normal": {"prior": "scaled", "params": {"base": "cauchy", "base_params": {"scale": -2.0}}}}},
     "priors.normal.params.base_params.scale"),
    ({"models": {"cauchy": {"prior": "cauchy", "params": {"scale": 0}}}}, "models.cauchy.params.scale"),
    ({"models": {"cauchy": {"prior": "lorentz"}}}, "models.cauchy.prior"),
    ({"autoencoders": {"noises": {"normal": {"prior": "poisson", "params": {"lam": -1}}}}},
     "autoencoders.noises.normal.params.lam"),
    # what the operations need of a prior, from the catalog (cauchy_linear: continuous i.i.d.)
    ({"priors": {"normal": {"prior": "sphere"}}}, "geometry.interpolations_2d.priors"),
]


@pytest.mark.parametrize(("patch", "key"), BAD_CONFIGS)
def test_malformed_config_names_the_key(tmp_path, patch, key):
    cfg = fresh_config()
    for section, value in patch.items():
        if isinstance(value, dict) and isinstance(cfg.get(section), dict):
            for sub, subvalue in value.items():
                cfg[section][sub] = {**cfg[section].get(sub, {}), **subvalue} if isinstance(subvalue, dict) else subvalue
        else:
            cfg[section] = value
    out = rejected(tmp_path, cfg, "--cores", "1")  # a real run: no job may start
    assert f"invalid config at {key}" in out or ("invalid config:" in out and key in out), out[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_figures_are_valid_pdf_and_png(built, name):
    pdf = (built / "results/figures" / f"{name}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]
    png = (built / "results/figures" / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TABLES))
def test_tables_are_booktabs_and_csv(built, name):
    tex = (built / "results/tables" / f"{name}.tex").read_text()
    for token in (r"\begin{tabular}", r"\toprule", r"\midrule", r"\bottomrule", r"\end{tabular}"):
        assert token in tex
    df = pd.read_csv(built / "results/tables" / f"{name}.csv")
    assert TABLES[name] <= set(df.columns)
    assert len(df) > 0


@pytest.mark.slow
def test_mismatch_table_holds_every_configured_pair(built):
    cfg = fresh_config()["geometry"]["distribution_mismatch"]
    df = pd.read_csv(built / "results/tables/distribution-mismatch.csv")
    assert len(df) == len(cfg["priors"]) * len(cfg["operations"])
    row = df[(df["prior"] == "normal") & (df["operation"] == "linear")].iloc[0]
    assert not row["preserved"], "linear interpolation must not preserve the normal prior"


@pytest.mark.slow
def test_every_model_trained(built):
    models = fresh_config()["models"]
    for name, spec in models.items():
        run = built / "results/models" / name
        assert (run / "generator.pt").stat().st_size > 0
        assert (run / "samples.png").read_bytes().startswith(b"\x89PNG")
        losses = pd.read_csv(run / "losses.csv")
        assert list(losses.columns) == ["step", "d_loss", "g_loss", "d_real", "d_fake"]
        assert losses["step"].iloc[-1] == fresh_config()["training"]["steps"]
        for step in spec.get("snapshot_steps", []):
            assert (run / "snapshots" / f"generator-step{step:07d}.pt").exists()


@pytest.mark.slow
def test_every_rule_logged(built):
    logs = list((built / "results/logs").glob("*.log"))
    assert len(logs) >= 20
    assert all("done in" in log.read_text() for log in logs)


@pytest.mark.slow
def test_second_run_has_nothing_to_do(built):
    code, out = (built / "second-run.txt").read_text().split("\n", 1)  # the dry run made right after `built`
    assert code == "0", out[-3000:]
    assert "Nothing to be done" in out, out[-3000:]


@pytest.mark.slow
def test_rerun_gives_identical_csv(built, tmp_path):
    work = copy_of(built, tmp_path / "w")
    target = work / "results/data/midpoint-norms-100d.csv"
    before = target.read_bytes()
    # The target before --forcerun, which would take it for one more rule name.
    run = snakemake(work, "--cores", "2", "results/data/midpoint-norms-100d.csv", "--forcerun", "midpoint_norms_100d_data")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "midpoint_norms_100d_data" in run.stderr  # it did run again
    assert target.read_bytes() == before


@pytest.mark.slow
def test_one_figure_rebuilds_without_recomputing(built, tmp_path):
    work = copy_of(built, tmp_path / "w")
    pdf = work / "results/figures/sphere-geometry.pdf"
    pdf.unlink()
    run = snakemake(work, "-n", "results/figures/sphere-geometry.pdf")
    assert run.returncode == 0, run.stderr
    assert planned_rules(run.stdout) == {"plot_sphere_geometry": 1}, run.stdout
    run = snakemake(work, "--cores", "1", "results/figures/sphere-geometry.pdf")
    assert run.returncode == 0, run.stderr[-3000:]
    assert pdf.read_bytes().startswith(b"%PDF-")


@pytest.mark.slow
def test_norm_concentration_matches_observation_2_1(built, stats):
    """The sample std of the norms against its prediction: the exact chi std where the
    table has it (normal prior), else Observation 2.1's asymptotic one, whose relative error
    is O(1/D) (allowed: 2/D). The sampling error of a std of n near-normal values is
    std / sqrt(2 (n - 1)), tested at the suite's level ALPHA. A wrong formula (a variance
    for a std, a missing factor 2) misses by far more."""
    df = pd.read_csv(built / "results/tables/norm-concentration.csv")
    cfg = fresh_config()["geometry"]["norm_concentration"]
    assert sorted(zip(df["prior"], df["dim"], strict=True)) == sorted((p, d) for p in cfg["priors"] for d in cfg["dims"])
    for row in df.itertuples():
        exact = math.isfinite(row.exact_std)
        target = row.exact_std if exact else row.predicted_std
        tolerance = stats.z_critical() * target / math.sqrt(2 * (row.n - 1)) + (0 if exact else 2 * target / row.dim)
        assert abs(row.std - target) < tolerance, row

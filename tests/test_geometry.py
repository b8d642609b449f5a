"""Closed forms of latentspace.geometry, the mismatch statistics and the table writer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch
from conftest import ALPHA

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
    # ... and lies within 0.5 % of the finite-sample law (scipy's kstwo), above it.
    assert 1 < c / scipy.stats.kstwo.isf(0.01, n // 2) < 1.005


def test_ks_2samp_matches_scipy_and_inverts_ks_critical():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 6)).astype(np.float32)
    y = rng.normal(0.05, 1.0, size=(2000, 6)).astype(np.float32)
    x[:, :2], y[:, :2] = np.round(x[:, :2]), np.round(y[:, :2])  # ties: a discrete law
    stat, p = stats.ks_2samp(x, y)
    ref = scipy.stats.ks_2samp(x, y, axis=0, method="asymp")
    np.testing.assert_allclose(stat, ref.statistic, atol=1e-12)
    # The asymptotic p-value against scipy's finite-sample one (effective size 1200).
    np.testing.assert_allclose(p, ref.pvalue, rtol=0.05, atol=1e-3)
    one, p_one = stats.ks_2samp(x[:, 3], y[:, 3])
    assert one.shape == () and float(one) == pytest.approx(stat[3])
    # The critical value is the p-value's inverse: p = alpha exactly at the critical value.
    c = stats.ks_critical(3000, 2000, 1e-3)
    assert scipy.stats.kstwobign.sf(c * math.sqrt(3000 * 2000 / 5000)) == pytest.approx(1e-3, rel=1e-6)


def test_holm_adjusted_pvalues():
    # Sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005, 3 x 0.01, 2 x 0.03, max(0.06, 1 x 0.04).
    adjusted = stats.holm(np.array([0.01, 0.04, 0.03, 0.005]))
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert stats.holm(np.array([0.5, 0.9]))[1] == 1.0  # capped at 1
    d = stats.random_directions(7, 5, runlog.generator(0, "dirs"))
    assert d.shape == (7, 5) and torch.allclose(d.norm(dim=-1), torch.ones(7, dtype=torch.float64))


def test_mismatch_flags_linear_and_accepts_normalized_on_normal():
    normal = priors.get("normal")
    linear = stats.interpolation_mismatch("linear", normal, 50, 2000, generator=runlog.generator(0, "a"))
    norm = stats.interpolation_mismatch("normalized", normal, 50, 2000, generator=runlog.generator(0, "b"))
    assert not linear.preserved and linear.ks_norms > 0.9
    assert norm.preserved
    # An i.i.d. prior keeps the pooled test: pooled coordinates and norms, two tests.
    assert norm.n_tests == 2 and math.isnan(norm.ks_projections)


def test_mismatch_rejects_spherical_cauchy_linear_on_the_semicircle_prior():
    # The semicircle prior is not isotropic: spherical Cauchy-linear keeps the law of the
    # norms but not the prior (first paper, Obs. 3.4 needs isotropy). At the default
    # table's size (D = 100, n = 5000) the family of coordinate tests sees it in the
    # coordinates that carry the mixture (0 and 1), at family-wise level ALPHA.
    semicircle = priors.get("semicircle")
    m = stats.interpolation_mismatch("spherical_cauchy_linear", semicircle, 100, 5000,
                                     generator=runlog.generator(0, "semicircle"), alpha=ALPHA)
    assert m.n_tests == 100 + 100 + 1
    assert not m.preserved and m.p_adjusted_min <= ALPHA
    assert m.worst_test in ("coordinate 0", "coordinate 1")
    assert m.ks_coords > 2 * m.ks_coords_critical
    # The norms alone cannot tell: the operation maps them through the prior's norm law.
    assert m.ks_norms <= m.ks_norms_critical


@pytest.mark.parametrize("name", ["semicircle", "sparse"])
def test_mismatch_accepts_fresh_samples_of_a_non_isotropic_prior(name):
    # False-positive control: the prior's own fresh samples against fresh samples. Holm's
    # procedure rejects a true null with probability at most ALPHA (the family-wise level).
    prior = priors.get(name)
    g = runlog.generator(0, "fresh", name)
    y, ref = prior.sample(5000, 100, generator=g), prior.sample(5000, 100, generator=g)
    m = stats.mismatch(y, ref, alpha=ALPHA, pooled=False, directions=stats.random_directions(100, 100, g))
    assert m.n_tests == 201
    assert m.preserved, m


@pytest.mark.parametrize(("name", "op"), [("sphere", "slerp"), ("sphere", "spherical_cauchy_linear"),
                                          ("radial", "spherical_cauchy_linear")])
def test_mismatch_accepts_preserving_operations_of_isotropic_priors(name, op):
    # Obs. 3.1 and 3.4 of the first paper: these operations preserve these isotropic
    # priors, so the family holds a true null, rejected with probability at most ALPHA.
    params = {"sphere": {"radius": 10.0}, "radial": {"radius_law": "halfnorm", "radius_params": {"scale": 10.0}}}
    m = stats.interpolation_mismatch(op, priors.get(name, **params[name]), 100, 5000,
                                     generator=runlog.generator(0, "isotropic", name, op), alpha=ALPHA)
    assert m.n_tests == 201
    assert m.preserved, m


def test_projections_see_a_joint_law_the_coordinates_miss():
    # Two correlated coordinates (rho = 0.8) with standard normal marginals, in D = 5: every
    # coordinate has the reference's law (so the coordinate tests hold true nulls, at level
    # ALPHA), but the projections do not (their variance is 1 + 1.6 u_0 u_1, not 1).
    g = runlog.generator(0, "correlated")
    ref = torch.randn(5000, 5, generator=g, dtype=torch.float64)
    y = torch.randn(5000, 5, generator=g, dtype=torch.float64)
    y[:, 1] = 0.8 * y[:, 0] + 0.6 * y[:, 1]
    m = stats.mismatch(y, ref, alpha=ALPHA, pooled=False, directions=stats.random_directions(100, 5, g))
    assert m.ks_coords <= m.ks_coords_critical
    assert not m.preserved and m.worst_test.startswith("projection")
    assert m.ks_projections > m.ks_projections_critical


def test_mismatch_table_marks_inapplicable_pairs():
    df = stats.mismatch_table({"sphere": priors.get("sphere")}, ["slerp", "cauchy_linear"], 10, 200, 0.5, seed=0,
                              projections=20)
    assert list(df["applicable"]) == [True, False]
    assert "i.i.d." in df.loc[1, "note"]
    assert bool(df.loc[0, "claimed"]) and bool(df.loc[0, "preserved"])
    assert df.loc[0, "n_tests"] == 10 + 20 + 1 and pd.isna(df.loc[1, "n_tests"])
    tex = stats.mismatch_latex_frame(df)
    assert list(tex.columns) == ["prior", "operation", "KS coords", "KS proj.", "KS norms", "W1 norms", "tests",
                                 "min adj. p", "not rejected", "claimed"]
    assert tex.loc[0, "tests"] == "31" and tex.loc[1, "not rejected"] == "n/a"


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

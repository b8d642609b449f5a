"""Distribution preservation (property 4 of the papers): the result of an operation on
independent draws from the prior must again be distributed as the prior.

Test: two-sample Kolmogorov-Smirnov of the result against a fresh sample of the prior,
on the pooled coordinates and on the norms, each at level ALPHA (conftest.py), in D = 100.
For an i.i.d. prior all N * D pooled coordinates of N independent rows are independent,
so the pooled KS test is exact; the norms are N independent values. Critical values come
from the sample sizes (conftest.Stats.ks_2samp_critical): with N = 2000 rows they are
0.0070 for coordinates (2 x 200 000 values) and 0.070 for norms (2 x 2000).

Negative controls run the same test on operations that do not preserve the prior; it
must reject them, which shows the test has the power to see a violation.
"""

from __future__ import annotations

import math

import pytest
import torch

from latentspace import operations as ops
from latentspace import priors

D = 100
N = 2000
TS = [0.25, 0.5]


def _draw(prior: priors.Prior, k: int, seed: int, n: int = N) -> list[torch.Tensor]:
    """k independent (n, D) float64 samples from one seeded generator."""
    g = torch.Generator().manual_seed(seed)
    return [prior.sample(n, D, generator=g, dtype=torch.float64) for _ in range(k)]


def _statistics(result: torch.Tensor, prior: priors.Prior, stats, seed: int) -> dict[str, tuple[float, float]]:
    """KS (statistic, critical value) of coordinates and norms of ``result`` (n, D) against
    a fresh sample of the prior of the same size."""
    (fresh,) = _draw(prior, 1, seed=10_000 + seed, n=result.shape[0])
    assert result.shape == fresh.shape and torch.isfinite(result).all()
    return {
        "coordinates": stats.ks_2samp(result.numpy(), fresh.numpy()),
        "norms": stats.ks_2samp(result.norm(dim=-1).numpy(), fresh.norm(dim=-1).numpy()),
    }


def assert_preserved(result, prior, stats, seed):
    for what, (stat, crit) in _statistics(result, prior, stats, seed).items():
        assert stat < crit, f"{what}: KS {stat:.4f} >= critical value {crit:.4f}"


def assert_rejected(result, prior, stats, seed):
    """The negative control: both statistics must exceed their critical values (a
    violation visible in the norms alone would pass a coordinate-only test, and vice versa;
    the controls here are chosen to show up in both)."""
    for what, (stat, crit) in _statistics(result, prior, stats, seed).items():
        assert stat > crit, f"{what}: KS {stat:.4f} <= critical value {crit:.4f}, not rejected"


# --------------------------------------------------------------------------- 2-point interpolations

PRESERVING = [
    ("linear", "cauchy"),
    ("normalized", "normal"),
    ("cauchy_linear", "normal"),
    ("cauchy_linear", "uniform"),
    ("cauchy_linear", "chi2"),
    ("spherical_cauchy_linear", "normal"),
    ("ot_matched", "normal"),
    ("ot_matched", "uniform"),
]


@pytest.mark.parametrize("t", TS)
@pytest.mark.parametrize(("op", "prior_name"), PRESERVING)
def test_interpolation_preserves_the_prior(op, prior_name, t, stats):
    prior = priors.get(prior_name)
    seed = 10 * PRESERVING.index((op, prior_name)) + TS.index(t)
    z1, z2 = _draw(prior, 2, seed)
    assert_preserved(ops.get(op)(z1, z2, t, prior=prior), prior, stats, seed)


@pytest.mark.parametrize("t", TS)
def test_slerp_preserves_the_uniform_law_on_the_sphere(t, stats):
    """The sphere prior is not i.i.d.: its coordinates within a row are dependent, so the
    pooled KS is not exact. Use the first coordinate of each of n = 20 000 independent
    rows (i.i.d.) and check the norms directly (they are 1 up to rounding; a KS test of a
    point mass would only measure rounding)."""
    prior = priors.get("sphere")
    n = 20_000
    z1, z2 = _draw(prior, 2, seed=50, n=n)
    out = ops.slerp(z1, z2, t)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(n, dtype=torch.float64), rtol=1e-12, atol=0)
    (fresh,) = _draw(prior, 1, seed=51, n=n)
    stat, crit = stats.ks_2samp(out[:, 0].numpy(), fresh[:, 0].numpy())
    assert stat < crit
    # Control: linear interpolation pulls the points inside the sphere, and the same test
    # on the first coordinate sees the smaller spread.
    lin = ops.linear(z1, z2, t)
    assert (lin.norm(dim=-1) < 0.99).all()
    stat, crit = stats.ks_2samp(lin[:, 0].numpy(), fresh[:, 0].numpy())
    assert stat > crit


# --------------------------------------------------------------------------- matched operations


@pytest.mark.parametrize("prior_name", ["normal", "uniform"])
def test_matched_four_point_grid_interior_point(prior_name, stats):
    """Grid point (1, 2) of a 4 x 4 grid: weights (2/9, 4/9, 1/9, 2/9)."""
    prior = priors.get(prior_name)
    corners = torch.stack(_draw(prior, 4, seed=60))
    grid = ops.four_point_grid(corners, 4, prior=prior, matched=True)
    assert_preserved(grid[1, 2], prior, stats, seed=60)
    assert_rejected(ops.four_point_grid(corners, 4)[1, 2], prior, stats, seed=60)


@pytest.mark.parametrize("prior_name", ["normal", "uniform"])
def test_matched_vicinity(prior_name, stats):
    prior = priors.get(prior_name)
    (z,) = _draw(prior, 1, seed=70)
    near = ops.vicinity(z, 0.5, prior, k=1, generator=torch.Generator().manual_seed(71), matched=True)[0]
    assert_preserved(near, prior, stats, seed=70)


@pytest.mark.parametrize("prior_name", ["normal", "uniform"])
def test_matched_analogy(prior_name, stats):
    prior = priors.get(prior_name)
    z1, z2, z3 = _draw(prior, 3, seed=80)
    assert_preserved(ops.analogy(z1, z2, z3, prior=prior, matched=True), prior, stats, seed=80)
    assert_rejected(ops.analogy(z1, z2, z3), prior, stats, seed=80)


@pytest.mark.parametrize("prior_name", ["normal", "uniform"])
def test_random_walk_after_20_steps(prior_name, stats):
    """Matched, every step is distributed as the prior (eps = 0.5); unmatched, the spread
    grows by sqrt(1 + eps^2 Var Z / Var Z) per step, about 9.3 times after 20 steps."""
    prior = priors.get(prior_name)
    (z0,) = _draw(prior, 1, seed=90)
    matched = ops.random_walk(z0, 20, 0.5, prior, generator=torch.Generator().manual_seed(91), matched=True)
    assert_preserved(matched[-1], prior, stats, seed=90)
    plain = ops.random_walk(z0, 20, 0.5, prior, generator=torch.Generator().manual_seed(91))
    assert_rejected(plain[-1], prior, stats, seed=90)


# --------------------------------------------------------------------------- negative controls


@pytest.mark.parametrize("t", TS)
@pytest.mark.parametrize("prior_name", ["normal", "uniform"])
def test_linear_interpolation_is_rejected(prior_name, t, stats):
    """Linear midpoints of a finite-mean prior shrink towards the origin (Obs. 2.2): for the
    normal prior (1-t) z1 + t z2 ~ N(0, (1-t)^2 + t^2), a variance of 0.625 or 0.5."""
    prior = priors.get(prior_name)
    z1, z2 = _draw(prior, 2, seed=100)
    assert_rejected(ops.linear(z1, z2, t), prior, stats, seed=100)


@pytest.mark.parametrize("t", TS)
def test_reversed_cauchy_linear_is_rejected(t, stats):
    """The maps in the wrong order, g^-1((1-t) g(z1) + t g(z2)) with g = from_cauchy: it
    treats normal samples as Cauchy ones, so the result is not normal."""
    prior = priors.get("normal")
    z1, z2 = _draw(prior, 2, seed=110)
    wrong = ops.to_cauchy((1 - t) * ops.from_cauchy(z1, prior) + t * ops.from_cauchy(z2, prior), prior)
    assert_rejected(wrong, prior, stats, seed=110)
    # The right order on the same draws passes.
    assert_preserved(ops.cauchy_linear(z1, z2, t, prior=prior), prior, stats, seed=110)


def test_critical_values_follow_the_sample_sizes(stats):
    # The thresholds quoted in the module docstring, at ALPHA = 1e-4.
    assert stats.ks_2samp_critical(N * D, N * D) == pytest.approx(2.2253 * math.sqrt(2 / (N * D)), rel=1e-4)
    assert stats.ks_2samp_critical(N * D, N * D) == pytest.approx(0.0070, abs=1e-4)
    assert stats.ks_2samp_critical(N, N) == pytest.approx(0.070, abs=1e-3)

"""Tests of latentspace.priors, run from one table of priors x parameter sets.

Statistical checks are hypothesis tests at level ``ALPHA`` (conftest.py); each states
its statistic, its sample size and how the threshold follows from them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
import torch

from latentspace import priors

# --------------------------------------------------------------------------- the table

# (registry name, parameters). Every registered prior appears at least once; dimensions
# used below are >= 6, so k = 3 fits the sparse and orthogonal priors.
TABLE: list[tuple[str, dict]] = [
    ("normal", {}),
    ("uniform", {}),
    ("cauchy", {}),
    ("cauchy", {"scale": 2.5}),
    ("sphere", {}),
    ("sphere", {"radius": 3.0}),
    ("discrete", {}),
    ("radial", {}),
    ("radial", {"radius_law": "chi", "radius_params": {"df": 3}}),
    ("radial", {"radius_law": "gamma", "radius_params": {"a": 2.0, "scale": 0.5}}),
    ("sparse", {"k": 3}),
    ("sparse", {"k": 3, "base": "cauchy", "base_params": {"scale": 2.0}}),
    ("orthogonal", {"k": 3}),
    ("orthogonal", {"k": 3, "base": "uniform"}),
    ("semicircle", {}),
    ("semicircle", {"tail_variance": 2.0}),
    ("poisson", {}),
    ("poisson", {"lam": 3.5}),
    ("chi2", {}),
    ("chi2", {"k": 4.0}),
    ("scaled", {"base": "normal", "alpha": 0.5}),
    ("scaled", {"base": "uniform", "alpha": 2.0}),
    ("scaled", {"base": "cauchy", "alpha": 3.0, "base_params": {"scale": 0.5}}),
]


def _id(case: tuple[str, dict]) -> str:
    name, params = case
    return name + "".join(f"-{k}={v}" for k, v in params.items())


def _build(case: tuple[str, dict]) -> priors.Prior:
    name, params = case
    return priors.get(name, **params)


def _select(predicate) -> list[tuple[str, dict]]:
    return [c for c in TABLE if predicate(_build(c))]


CONTINUOUS_IID = _select(lambda p: p.iid and p.continuous)
DISCRETE_IID = _select(lambda p: p.iid and not p.continuous)
CONTINUOUS_ISOTROPIC = _select(lambda p: p.isotropic and p.continuous)

D = 6


def test_table_covers_every_registered_prior():
    assert {name for name, _ in TABLE} == set(priors.names())
    # The selections below are not empty, so the parametrised tests really run.
    assert len(CONTINUOUS_IID) >= 8 and len(DISCRETE_IID) == 3 and len(CONTINUOUS_ISOTROPIC) == 5


# --------------------------------------------------------------------------- registry


def test_unknown_prior_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown prior 'gauss'") as err:
        priors.get("gauss")
    for name in priors.names():
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("normal", {"scale": 1.0}, ["scale", "no parameters"]),
        ("cauchy", {"sigma": 1.0}, ["sigma", "scale"]),
        ("sphere", {"r": 1.0, "radius": 2.0}, ["r", "radius"]),
        ("scaled", {"base": "normal", "beta": 1.0}, ["beta", "alpha", "base_params"]),
    ],
)
def test_unknown_parameter_raises_and_lists_accepted(name, params, expected):
    with pytest.raises(ValueError, match="unknown parameter") as err:
        priors.get(name, **params)
    for text in expected:
        assert text in str(err.value)


@pytest.mark.parametrize(
    ("name", "params", "param"),
    [
        ("cauchy", {"scale": -1.0}, "scale"),
        ("cauchy", {"scale": 0.0}, "scale"),
        ("cauchy", {"scale": math.nan}, "scale"),
        ("cauchy", {"scale": math.inf}, "scale"),
        ("cauchy", {"scale": "1"}, "scale"),
        ("sphere", {"radius": 0.0}, "radius"),
        ("poisson", {"lam": -2.0}, "lam"),
        ("chi2", {"k": 0}, "k"),
        ("sparse", {"k": 0}, "k"),
        ("sparse", {"k": 2.5}, "k"),
        ("sparse", {"k": True}, "k"),
        ("orthogonal", {"k": -3}, "k"),
        ("semicircle", {"tail_variance": -0.5}, "tail_variance"),
        ("scaled", {"alpha": -1.0}, "alpha"),
        ("scaled", {"base": "cauchy", "base_params": {"scale": -1.0}}, "scale"),
        ("sparse", {"base": "sparse"}, "base"),
        ("radial", {"radius_law": "cauchy"}, "radius_law"),
        ("radial", {"radius_params": {"nonsense": 1.0}}, "radius_params"),
        ("radial", {"radius_law": "lognorm"}, "radius_params"),  # lognorm needs its shape s
    ],
)
def test_invalid_parameter_raises_naming_it(name, params, param):
    with pytest.raises(ValueError) as err:
        priors.get(name, **params)
    assert f"'{param}'" in str(err.value)


def test_unknown_base_prior_raises_listing_the_valid_bases():
    with pytest.raises(ValueError, match="parameter 'base' must be one of cauchy, chi2, discrete, normal, poisson, "
                                         "radial, semicircle, sphere, uniform, got 'gauss'"):
        priors.get("scaled", base="gauss")


@pytest.mark.parametrize(("name", "params"), [("sparse", {"k": 7}), ("orthogonal", {"k": 7})])
def test_k_larger_than_dim_raises(name, params):
    with pytest.raises(ValueError, match="'k' = 7 exceeds the dimension 6"):
        priors.get(name, **params).sample(2, 6)


@pytest.mark.parametrize(("n", "dim"), [(0, 3), (3, 0), (2.0, 3), (3, True)])
def test_bad_sample_shape_raises(n, dim):
    with pytest.raises(ValueError, match="sample: '(n|dim)' must be an integer >= 1"):
        priors.get("normal").sample(n, dim)


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("case", TABLE, ids=_id)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_sample_shape_dtype_determinism(case, dtype, stats):
    prior = _build(case)
    a = prior.sample(7, D, generator=stats.generator(123), dtype=dtype)
    b = prior.sample(7, D, generator=stats.generator(123), dtype=dtype)
    wide = prior.sample(7, D, generator=stats.generator(123), dtype=torch.float64)
    other = prior.sample(7, D, generator=stats.generator(124), dtype=dtype)
    assert a.shape == (7, D) and a.dtype == dtype
    assert torch.isfinite(a).all()
    assert torch.equal(a, b)
    # The draw is made in float64 and cast afterwards: the same numbers in every dtype.
    assert torch.equal(a, wide.to(dtype))
    assert not torch.equal(a, other)


@pytest.mark.parametrize("case", CONTINUOUS_IID, ids=_id)
def test_icdf_inverts_cdf(case, stats):
    prior = _build(case)
    x = prior.sample(300, D, generator=stats.generator(1), dtype=torch.float64)
    torch.testing.assert_close(prior.icdf(prior.cdf(x)), x, rtol=1e-9, atol=1e-12)
    u = torch.cat([torch.tensor([1e-10, 1e-6]), torch.linspace(0.01, 0.99, 99), torch.tensor([1 - 1e-6, 1 - 1e-10])])
    u = u.to(torch.float64)
    torch.testing.assert_close(prior.cdf(prior.icdf(u)), u, rtol=1e-9, atol=1e-13)
    # cdf and icdf keep the dtype they are given.
    assert prior.cdf(x.float()).dtype == torch.float32
    assert prior.icdf(u.float()).dtype == torch.float32


@pytest.mark.parametrize("case", CONTINUOUS_IID, ids=_id)
def test_iid_samples_follow_the_coordinate_law(case, stats):
    """One-sample KS of pooled coordinates against ``prior.coordinate.cdf`` (and the
    prior's own ``cdf``). The coordinates of an i.i.d. prior are independent, so the
    n * D = 12 000 pooled values are an i.i.d. sample; critical value from kstwo."""
    prior = _build(case)
    x = prior.sample(2000, D, generator=stats.generator(2), dtype=torch.float64).numpy().ravel()
    stat, crit = stats.ks_1samp(x, prior.coordinate.cdf)
    assert stat < crit
    # The torch cdf and the scipy law describe the same distribution.
    grid = np.quantile(x, np.linspace(0.005, 0.995, 41))
    np.testing.assert_allclose(prior.cdf(torch.from_numpy(grid)).numpy(), prior.coordinate.cdf(grid), rtol=1e-12)


@pytest.mark.parametrize("case", DISCRETE_IID, ids=_id)
def test_discrete_iid_samples_follow_the_coordinate_law(case, stats):
    """Pearson chi-square goodness of fit of the pooled coordinates (KS is not exact for
    atoms). Cells: the support points with expected count >= 5, the rest merged into one
    tail cell; critical value chi2.ppf(1 - alpha, cells - 1)."""
    prior = _build(case)
    x = prior.sample(2000, D, generator=stats.generator(3), dtype=torch.float64).numpy().ravel()
    law = prior.coordinate
    lo, hi = law.support()
    support = np.arange(max(lo, -1), min(hi, 40) + 1) if lo >= 0 else np.array([-1.0, 1.0])
    probs = law.pmf(support)
    assert np.all(np.isin(x, support)), "samples outside the support"
    keep = probs * len(x) >= 5
    observed = [np.sum(x == v) for v in support[keep]]
    expected = list(len(x) * probs[keep])
    if not keep.all() or probs.sum() < 1 - 1e-12:
        observed.append(len(x) - sum(observed))
        expected.append(len(x) - sum(expected))
    stat = scipy.stats.chisquare(observed, expected).statistic
    assert stat < scipy.stats.chi2.ppf(1 - stats.alpha, len(observed) - 1)
    # The prior's own cdf agrees with the scipy law on and between the atoms.
    grid = np.concatenate([support, support + 0.5, support - 0.5])
    np.testing.assert_allclose(prior.cdf(torch.from_numpy(grid)).numpy(), law.cdf(grid), atol=1e-12)


@pytest.mark.parametrize("case", CONTINUOUS_ISOTROPIC, ids=_id)
def test_isotropic_norms_follow_the_norm_law(case, stats):
    """One-sample KS of ||Z|| against ``norm_cdf(., D)`` (the chi law for the normal
    prior, the radius law for the radial one), n = 4000 i.i.d. norms, D = 10."""
    prior = _build(case)
    dim = 10
    z = prior.sample(4000, dim, generator=stats.generator(4), dtype=torch.float64)
    r = z.norm(dim=-1)
    stat, crit = stats.ks_1samp(r.numpy(), lambda v: prior.norm_cdf(torch.from_numpy(v), dim).numpy())
    assert stat < crit
    # Directions are uniform: the first coordinate of Z / ||Z|| is, rescaled to [0, 1],
    # Beta((D - 1) / 2, (D - 1) / 2) (the marginal of the uniform law on S^(D-1)).
    u0 = ((z[:, 0] / r + 1) / 2).numpy()
    stat, crit = stats.ks_1samp(u0, scipy.stats.beta((dim - 1) / 2, (dim - 1) / 2).cdf)
    assert stat < crit
    # norm_icdf inverts norm_cdf.
    torch.testing.assert_close(prior.norm_icdf(prior.norm_cdf(r[:200], dim), dim), r[:200], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("radius", [1.0, 3.0])
def test_sphere_samples_have_the_radius_and_uniform_directions(radius, stats):
    prior = priors.get("sphere", radius=radius)
    dim = 10
    z = prior.sample(4000, dim, generator=stats.generator(5), dtype=torch.float64)
    torch.testing.assert_close(z.norm(dim=-1), torch.full((4000,), radius, dtype=torch.float64), rtol=1e-12, atol=0)
    # First coordinate of the unit vector, rescaled: Beta((D-1)/2, (D-1)/2); KS, n = 4000.
    stat, crit = stats.ks_1samp(((z[:, 0] / radius + 1) / 2).numpy(), scipy.stats.beta(4.5, 4.5).cdf)
    assert stat < crit
    r = torch.tensor([0.5 * radius, radius, 2 * radius], dtype=torch.float64)
    assert prior.norm_cdf(r, dim).tolist() == [0.0, 1.0, 1.0]
    assert prior.norm_icdf(torch.tensor([0.1, 0.9], dtype=torch.float64), dim).tolist() == [radius, radius]


@pytest.mark.parametrize("tail_variance", [0.5, 2.0])
def test_semicircle_marginals(tail_variance, stats):
    """KS of the coordinates 0, 1, 2 (each column i.i.d. over n = 4000 rows) against the
    marginals of the mixture: (1/3) sum_i N(mu_i[j], Sigma_i[j, j]), and N(0, tail_variance)."""
    prior = priors.get("semicircle", tail_variance=tail_variance)
    z = prior.sample(4000, 5, generator=stats.generator(6), dtype=torch.float64).numpy()
    means = np.array([[2.0, 6.0], [0.0, 0.0], [2.0, -6.0]])
    variances = np.array([[5.0, 2.0], [1.0, 3.0], [5.0, 2.0]])
    for j in (0, 1):
        cdf = lambda v, j=j: np.mean(  # noqa: E731
            [scipy.stats.norm(means[i, j], math.sqrt(variances[i, j])).cdf(v) for i in range(3)], axis=0
        )
        stat, crit = stats.ks_1samp(z[:, j], cdf)
        assert stat < crit
    stat, crit = stats.ks_1samp(z[:, 2], scipy.stats.norm(0, math.sqrt(tail_variance)).cdf)
    assert stat < crit
    with pytest.raises(ValueError, match="dim >= 2"):
        prior.sample(3, 1)


# --------------------------------------------------------------------------- log densities


def _semicircle_logpdf(z: np.ndarray, tail_variance: float) -> np.ndarray:
    """log of (1/3) sum_i N(z; mu_i, Sigma_i) built by hand with scipy."""
    dim = z.shape[-1]
    means = [(2.0, 6.0), (0.0, 0.0), (2.0, -6.0)]
    covs = [[[5.0, 2.0], [2.0, 2.0]], [[1.0, 0.0], [0.0, 3.0]], [[5.0, -2.0], [-2.0, 2.0]]]
    logs = []
    for mean2, cov2 in zip(means, covs, strict=True):
        mean = np.zeros(dim)
        mean[:2] = mean2
        cov = tail_variance * np.eye(dim)
        cov[:2, :2] = cov2
        logs.append(scipy.stats.multivariate_normal(mean, cov).logpdf(z))
    return scipy.special.logsumexp(np.stack(logs), axis=0) - math.log(3)


def _log_prob_cases():
    rng = np.random.default_rng(7)
    wide = rng.normal(scale=2.0, size=(50, 7))
    box = rng.uniform(-1.5, 1.5, size=(200, 3))  # about 30 % of the rows fall outside the cube
    positive = np.abs(wide) + 1e-3
    positive[::7, 0] = -0.5  # outside the support of chi2
    return [
        ("normal", {}, wide, scipy.stats.norm().logpdf),
        ("uniform", {}, box, scipy.stats.uniform(-1, 2).logpdf),
        ("cauchy", {}, 10 * wide, scipy.stats.cauchy().logpdf),
        ("cauchy", {"scale": 2.5}, 10 * wide, scipy.stats.cauchy(scale=2.5).logpdf),
        ("chi2", {}, positive, scipy.stats.chi2(1.0).logpdf),
        ("chi2", {"k": 4.0}, positive, scipy.stats.chi2(4.0).logpdf),
        ("scaled", {"base": "normal", "alpha": 0.5}, wide, scipy.stats.norm(scale=0.5).logpdf),
        ("scaled", {"base": "uniform", "alpha": 2.0}, 2 * box, scipy.stats.uniform(-2, 4).logpdf),
        ("semicircle", {}, 3 * wide[:, :5], lambda z: _semicircle_logpdf(z, 0.5)),
        ("semicircle", {"tail_variance": 2.0}, 3 * wide[:, :5], lambda z: _semicircle_logpdf(z, 2.0)),
    ]


@pytest.mark.parametrize(
    ("name", "params", "z", "reference"), _log_prob_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_log_prob_against_scipy(name, params, z, reference):
    prior = priors.get(name, **params)
    expected = reference(z)
    if expected.ndim == 2:  # per-coordinate log densities: sum over the last axis
        expected = expected.sum(-1)
    got = prior.log_prob(torch.from_numpy(z))
    assert got.shape == z.shape[:-1] and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)
    assert np.isfinite(expected).any()
    if name in ("uniform", "chi2") or (name == "scaled" and params["base"] == "uniform"):
        assert np.isneginf(expected).any(), "the case should include points outside the support"
    # float32 in, float32 out.
    assert prior.log_prob(torch.from_numpy(z).float()).dtype == torch.float32


@pytest.mark.parametrize("dim", [1, 3, 7])
def test_radial_with_chi_radius_is_the_normal_prior(dim, stats):
    """If R ~ chi(D) and the direction is uniform, Z ~ N(0, I_D): the radial log density
    must equal the normal one (and for D = 1 the default half-normal radius too)."""
    z = priors.get("normal").sample(40, dim, generator=stats.generator(8), dtype=torch.float64)
    expected = scipy.stats.norm.logpdf(z.numpy()).sum(-1)
    radial = priors.get("radial", radius_law="chi", radius_params={"df": dim})
    np.testing.assert_allclose(radial.log_prob(z).numpy(), expected, rtol=1e-10)
    if dim == 1:
        np.testing.assert_allclose(priors.get("radial").log_prob(z).numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("dim", "radius_law", "radius_params"),
    [(2, "gamma", {"a": 2.0, "scale": 0.5}), (3, "lognorm", {"s": 0.5}), (3, "halfnorm", {})],
)
def test_radial_density_integrates_to_the_radius_law(dim, radius_law, radius_params):
    """Numerically integrate exp(log_prob) over the ball of radius rho, in polar form
    (circumference 2 pi r in R^2, sphere area 4 pi r^2 in R^3): it must give F_R(rho)."""
    prior = priors.get("radial", radius_law=radius_law, radius_params=radius_params)
    shell = {2: lambda r: 2 * math.pi * r, 3: lambda r: 4 * math.pi * r * r}[dim]

    def density_on_shell(r: float) -> float:
        z = torch.zeros(1, dim, dtype=torch.float64)
        z[0, 0] = r
        return math.exp(prior.log_prob(z).item()) * shell(r)

    law = getattr(scipy.stats, radius_law)(**radius_params)
    for rho in (0.3, 1.0, 2.5):
        value, err = scipy.integrate.quad(density_on_shell, 0, rho, epsabs=1e-11, epsrel=1e-10)
        assert value == pytest.approx(law.cdf(rho), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("case", _select(lambda p: not p.has_density), ids=_id)
def test_priors_without_density_refuse_log_prob(case):
    with pytest.raises(NotImplementedError, match="no density"):
        _build(case).log_prob(torch.zeros(2, D))


# --------------------------------------------------------------------------- structured priors


def test_sparse_has_exactly_k_nonzeros_at_uniform_positions(stats):
    """Every row keeps exactly k non-zero coordinates. Positions: Pearson chi-square of
    the column counts against n k / D each (D - 1 degrees of freedom). Each row picks k
    distinct columns, so a column count is Binomial(n, k/D), whose variance is below the
    multinomial one the chi-square assumes: the test is conservative (level <= alpha)."""
    n, dim, k = 3000, 20, 3
    prior = priors.get("sparse", k=k)
    z = prior.sample(n, dim, generator=stats.generator(9), dtype=torch.float64)
    assert (torch.count_nonzero(z, dim=1) == k).all()
    counts = torch.count_nonzero(z, dim=0).numpy()
    stat = scipy.stats.chisquare(counts, np.full(dim, n * k / dim)).statistic
    assert stat < scipy.stats.chi2.ppf(1 - stats.alpha, dim - 1)
    # The kept values follow the base law: KS against N(0, 1), n * k = 9000 values.
    kept = z[z != 0].numpy()
    stat, crit = stats.ks_1samp(kept, scipy.stats.norm.cdf)
    assert stat < crit


@pytest.mark.parametrize("base", ["normal", "uniform"])
def test_orthogonal_zeroes_the_last_coordinates(base, stats):
    n, dim, k = 2000, 10, 4
    z = priors.get("orthogonal", k=k, base=base).sample(n, dim, generator=stats.generator(10), dtype=torch.float64)
    assert (z[:, k:] == 0).all()
    assert (z[:, :k] != 0).all()
    stat, crit = stats.ks_1samp(z[:, :k].numpy(), priors.get(base).coordinate.cdf)
    assert stat < crit


@pytest.mark.parametrize(
    ("base", "alpha", "base_params"),
    [("normal", 0.5, {}), ("uniform", 2.0, {}), ("cauchy", 3.0, {"scale": 0.5}), ("chi2", 0.25, {"k": 3.0})],
)
def test_scaled_is_alpha_times_base(base, alpha, base_params, stats):
    scaled = priors.get("scaled", base=base, alpha=alpha, base_params=base_params)
    plain = priors.get(base, **base_params)
    s = scaled.sample(500, D, generator=stats.generator(11), dtype=torch.float64)
    b = plain.sample(500, D, generator=stats.generator(11), dtype=torch.float64)
    torch.testing.assert_close(s, alpha * b, rtol=1e-15, atol=0)
    x = s[:50]
    torch.testing.assert_close(scaled.cdf(x), plain.cdf(x / alpha))
    u = torch.linspace(0.01, 0.99, 21, dtype=torch.float64)
    torch.testing.assert_close(scaled.icdf(u), alpha * plain.icdf(u))
    # The frozen scipy law is the law of one coordinate of the scaled prior, too.
    xs = x.numpy().ravel()
    np.testing.assert_allclose(scaled.coordinate.cdf(xs), plain.coordinate.cdf(xs / alpha), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(scaled.cdf(x).numpy().ravel(), scaled.coordinate.cdf(xs), rtol=1e-10, atol=1e-15)
    expected = plain.log_prob(x / alpha) - D * math.log(alpha)
    torch.testing.assert_close(scaled.log_prob(x), expected)
    assert (scaled.iid, scaled.isotropic, scaled.continuous) == (plain.iid, plain.isotropic, plain.continuous)
    # And square_moments follows: E[(aZ)^2] = a^2 E[Z^2], Var[(aZ)^2] = a^4 Var[Z^2].
    if base != "cauchy":
        mu, var = priors.square_moments(scaled)
        mu0, var0 = priors.square_moments(plain)
        assert (mu, var) == pytest.approx((alpha**2 * mu0, alpha**4 * var0), rel=1e-12)


def test_scaled_discrete_base_has_no_scipy_law_but_square_moments():
    # scipy cannot rescale a discrete law, so ``coordinate`` is None rather than the
    # base's (wrong) law; square_moments still works from the base: (2 Z)^2 = 4.
    prior = priors.get("scaled", base="discrete", alpha=2.0)
    assert prior.coordinate is None
    assert priors.square_moments(prior) == (4.0, 0.0)


def test_scaled_with_alpha_zero_is_a_point_mass(stats):
    prior = priors.get("scaled", base="normal", alpha=0.0)
    assert (prior.sample(5, D, generator=stats.generator(12)) == 0).all()
    assert not prior.continuous and not prior.has_density
    for call in (
        lambda: prior.cdf(torch.zeros(3)),
        lambda: prior.icdf(torch.full((3,), 0.5)),
        lambda: prior.log_prob(torch.zeros(2, D)),
    ):
        with pytest.raises(ValueError, match="point mass"):
            call()


# --------------------------------------------------------------------------- tails


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_cauchy_cdf_and_icdf_are_exact_far_in_the_tails(scale):
    """For |x| >= 1e8 gamma, F(x) = atan(gamma / |x|) / pi = gamma / (pi |x|) (1 + O((gamma/x)^2)),
    so gamma / (pi |x|) is exact to double precision; likewise F^-1(p) = -gamma / (pi p) for
    p <= 1e-8. The naive 1/2 + atan(x / gamma) / pi cancels to relative errors of 1e-7 and worse."""
    prior = priors.get("cauchy", scale=scale)
    x = torch.tensor([-1e8, -1e10, -1e20, -1e100, -1e300], dtype=torch.float64)
    expected = scale / (math.pi * x.abs())
    torch.testing.assert_close(prior.cdf(x), expected, rtol=1e-14, atol=0)
    # scipy's log cdf agrees (it is accurate in the lower tail).
    np.testing.assert_allclose(
        prior.cdf(x[:3]).log().numpy(), scipy.stats.cauchy(scale=scale).logcdf(x[:3].numpy()), rtol=1e-13
    )
    p = torch.tensor([1e-8, 1e-10, 1e-20, 1e-100, 1e-300], dtype=torch.float64)
    torch.testing.assert_close(prior.icdf(p), -scale / (math.pi * p), rtol=1e-14, atol=0)
    # Upper tail by symmetry: u = 1 - p is rounded, but p' = 1 - u is then exact and
    # F^-1(u) = gamma / (pi p') exactly.
    u = 1 - torch.tensor([1e-8, 1e-10, 1e-12], dtype=torch.float64)
    torch.testing.assert_close(prior.icdf(u), scale / (math.pi * (1 - u)), rtol=1e-13, atol=0)
    assert prior.cdf(torch.tensor([0.0])).item() == 0.5
    assert prior.icdf(torch.tensor([0.0, 1.0], dtype=torch.float64)).tolist() == [-math.inf, math.inf]


def test_normal_cdf_is_accurate_in_the_lower_tail():
    prior = priors.get("normal")
    x = torch.tensor([-10.0, -30.0, -37.0], dtype=torch.float64)
    np.testing.assert_allclose(prior.cdf(x).numpy(), scipy.stats.norm.cdf(x.numpy()), rtol=1e-12)
    assert prior.cdf(torch.tensor([-30.0], dtype=torch.float64)).item() > 0  # erf-based cdf gives 0 here
    p = torch.tensor([1e-10, 1e-100, 1e-300], dtype=torch.float64)
    np.testing.assert_allclose(prior.icdf(p).numpy(), scipy.stats.norm.ppf(p.numpy()), rtol=1e-12)


# --------------------------------------------------------------------------- moments, Observation 2.1


def test_square_moments():
    assert priors.square_moments(priors.get("normal")) == pytest.approx((1.0, 2.0), rel=1e-12)
    assert priors.square_moments(priors.get("uniform")) == pytest.approx((1 / 3, 4 / 45), rel=1e-12)
    # chi2(k): E X^2 = k (k + 2), E X^4 = k (k + 2) (k + 4) (k + 6).
    k = 3.0
    m2, m4 = k * (k + 2), k * (k + 2) * (k + 4) * (k + 6)
    assert priors.square_moments(priors.get("chi2", k=k)) == pytest.approx((m2, m4 - m2 * m2), rel=1e-12)
    mu, var = priors.square_moments(priors.get("cauchy"))
    assert mu == math.inf and math.isnan(var)
    with pytest.raises(ValueError, match="i.i.d."):
        priors.square_moments(priors.get("sphere"))
    with pytest.raises(ValueError, match="E\\[Z\\^2\\] finite"):
        priors.observation_2_1(priors.get("cauchy"), 10)


def _exact_norm_moments(name: str, dim: int) -> tuple[float, float]:
    """Exact mean and variance of ||Z|| in dimension ``dim``.

    normal: ||Z|| ~ chi(D), E = sqrt(2) Gamma((D+1)/2) / Gamma(D/2), Var = D - E^2.
    uniform on [-1, 1]^D: with S = ||Z||^2, sqrt(S) = (1 / (2 sqrt pi)) int_0^inf
    (1 - e^{-sS}) s^{-3/2} ds, and E e^{-s U^2} = sqrt(pi / (4 s)) erf(sqrt s) for
    U ~ U(-1, 1), so E||Z|| = (1 / (2 sqrt pi)) int_0^inf (1 - phi(s)^D) s^{-3/2} ds
    (one quadrature), and Var = E S - E^2 = D / 3 - E^2.
    """
    if name == "normal":
        mean = math.sqrt(2) * math.exp(scipy.special.gammaln((dim + 1) / 2) - scipy.special.gammaln(dim / 2))
        return mean, dim - mean * mean

    def log_phi(s: float) -> float:
        if s < 1e-3:  # Taylor series of phi(s) = 1 - s/3 + s^2/10 - s^3/42 + ..., no cancellation
            return math.log1p(-s / 3 + s * s / 10 - s**3 / 42 + s**4 / 216)
        return math.log(0.5 * math.sqrt(math.pi / s) * math.erf(math.sqrt(s)))

    def integrand(v: float) -> float:  # substituted s = v^2: a smooth integrand on [0, inf)
        if v == 0:
            return 2 * dim / 3
        return -math.expm1(dim * log_phi(v * v)) * 2 / (v * v)

    total = sum(
        scipy.integrate.quad(integrand, a, b, limit=200, epsabs=1e-13, epsrel=1e-13)[0]
        for a, b in ((0, 1), (1, math.inf))
    )
    mean = total / (2 * math.sqrt(math.pi))
    return mean, dim / 3 - mean * mean


OBS_DIMS = (10, 100, 1000)


@pytest.mark.parametrize("name", ["normal", "uniform"])
@pytest.mark.parametrize("dim", OBS_DIMS)
def test_observation_2_1_sample_moments(name, dim, stats):
    """Sample mean and variance of ||Z|| (n = 20 000) against the exact moments, +- z SE
    (two-sided level alpha each, SEs from conftest.Stats.mean_and_variance_se); then
    against Observation 2.1's N(sqrt(D mu), sigma^2 / (4 mu)) with the tolerance widened by
    the approximation's exact bias at this D, |exact - approximation|, which is O(1/sqrt D)
    for the mean and O(1/D) for the variance (see the next test)."""
    prior = priors.get(name)
    n = 20_000
    r = prior.sample(n, dim, generator=stats.generator(13 + dim), dtype=torch.float64).norm(dim=-1).numpy()
    mean, var, se_mean, se_var = stats.mean_and_variance_se(r)
    exact_mean, exact_var = _exact_norm_moments(name, dim)
    z = stats.z_critical()
    assert abs(mean - exact_mean) < z * se_mean
    assert abs(var - exact_var) < z * se_var
    approx_mean, approx_var = priors.observation_2_1(prior, dim)
    assert abs(mean - approx_mean) < z * se_mean + abs(exact_mean - approx_mean)
    assert abs(var - approx_var) < z * se_var + abs(exact_var - approx_var)


# Moments of Z^2 for one coordinate: mean mu, variance sigma^2, third central moment k3.
# normal: Z^2 ~ chi2(1), so (1, 2, 8). uniform: Z^2 = U^2 with U ~ U(0, 1), E U^(2n) = 1/(2n+1),
# so mu = 1/3, sigma^2 = 1/5 - 1/9 = 4/45, k3 = 1/7 - 3/15 + 2/27 = 16/945.
SQUARE_MOMENTS = {"normal": (1.0, 2.0, 8.0), "uniform": (1 / 3, 4 / 45, 16 / 945)}


@pytest.mark.parametrize("name", ["normal", "uniform"])
def test_observation_2_1_is_the_large_d_limit(name):
    """The formula (not the paper's N(sqrt(D), 1) text: the normal variance is 1/2) and its
    error against the exact moments, which must vanish at the rate the next terms of the
    expansion predict. With S = D mu (1 + e), E e = 0, E e^2 = v = sigma^2 / (D mu^2),
    E e^3 = k3 / (D^2 mu^3), E e^4 = 3 v^2 + O(D^-3), expanding
    sqrt(S) = sqrt(D mu) (1 + e/2 - e^2/8 + e^3/16 - ...) gives
        E||Z||   = sqrt(D mu) - sigma^2 / (8 mu^{3/2} sqrt D) + O(D^{-3/2}),
        Var||Z|| = sigma^2 / (4 mu) + (7 sigma^4 / (32 mu^3) - k3 / (8 mu^2)) / D + O(D^-2)
    (for the normal prior the 1/D coefficient is -1/8, the known chi-law expansion). So
    sqrt(D) (approximate - exact mean) and D (exact - approximate variance) must equal
    these coefficients up to a relative O(1/D), checked as rel <= 3 / D."""
    prior = priors.get(name)
    mu, sigma2, k3 = SQUARE_MOMENTS[name]
    for dim in OBS_DIMS:
        approx_mean, approx_var = priors.observation_2_1(prior, dim)
        assert approx_mean == pytest.approx(math.sqrt(dim * mu), rel=1e-12)
        assert approx_var == pytest.approx(sigma2 / (4 * mu), rel=1e-12)
    assert priors.observation_2_1(priors.get("normal"), 100)[1] == pytest.approx(0.5)
    assert priors.observation_2_1(priors.get("uniform"), 100)[1] == pytest.approx(1 / 15)

    mean_coefficient = sigma2 / (8 * mu**1.5)
    var_coefficient = 7 * sigma2**2 / (32 * mu**3) - k3 / (8 * mu**2)
    mean_errors = []
    for dim in OBS_DIMS:
        exact_mean, exact_var = _exact_norm_moments(name, dim)
        approx_mean, approx_var = priors.observation_2_1(prior, dim)
        mean_errors.append(approx_mean - exact_mean)
        assert (approx_mean - exact_mean) * math.sqrt(dim) == pytest.approx(mean_coefficient, rel=3 / dim)
        assert (exact_var - approx_var) * dim == pytest.approx(var_coefficient, rel=3 / dim)
    # The mean's error is not negligible at D = 10 (about 1 % of the mean), and shrinks by
    # sqrt(10) per decade of D.
    assert mean_errors[0] > 0.005 * math.sqrt(10 * mu)
    for e1, e2 in zip(mean_errors, mean_errors[1:], strict=False):
        assert e1 / e2 == pytest.approx(math.sqrt(10), rel=0.05)


# --------------------------------------------------------------------------- Lemma 1, spherical AE paper


def test_lemma_1_distances_on_the_sphere_in_r512(stats):
    """Distances between independent uniform points of the unit sphere in R^512: the paper
    quotes mean 1.4139 and std 0.0313, and formula (7) gives them in closed form. Monte
    Carlo with n = 20 000 pairs; tolerance z SE plus 5e-5 for the paper's rounding."""
    dim, n = 512, 20_000
    sphere = priors.get("sphere")
    g = stats.generator(14)
    dist = torch.cat(
        [
            (
                sphere.sample(5000, dim, generator=g, dtype=torch.float64)
                - sphere.sample(5000, dim, generator=g, dtype=torch.float64)
            ).norm(dim=-1)
            for _ in range(n // 5000)
        ]
    ).numpy()
    mean, var, se_mean, se_var = stats.mean_and_variance_se(dist)
    std, se_std = math.sqrt(var), se_var / (2 * math.sqrt(var))  # delta method for sqrt
    z = stats.z_critical()
    # Formula (7) with d = 512 (the paper's S^d is the sphere in R^d, as its numbers confirm).
    xi_mu = math.exp(
        (dim - 1) * math.log(2)
        + 2 * scipy.special.gammaln(dim / 2)
        - 0.5 * math.log(math.pi)
        - scipy.special.gammaln(dim - 0.5)
    )
    xi_sigma = math.sqrt(2) * math.sqrt(1 - xi_mu**2 / 2)
    assert round(xi_mu, 4) == 1.4139 and round(xi_sigma, 4) == 0.0313
    assert abs(mean - 1.4139) < z * se_mean + 5e-5
    assert abs(std - 0.0313) < z * se_std + 5e-5
    assert abs(mean - xi_mu) < z * se_mean
    assert abs(std - xi_sigma) < z * se_std


# --------------------------------------------------------------------------- norm law estimate


def test_monte_carlo_norm_law_of_a_non_isotropic_prior(stats):
    """``NormLaw`` estimates the law of ||Z|| from n1 = 2^14 draws for a non-isotropic
    prior. Comparing it with m = 4000 fresh norms is a two-sample KS (n1, m) problem."""
    prior, dim = priors.get("uniform"), 10
    law = priors.NormLaw(prior, dim, n=1 << 14, seed=3)
    assert not law.exact
    r = prior.sample(4000, dim, generator=stats.generator(15), dtype=torch.float64).norm(dim=-1)
    cdf = law.cdf(r.sort().values).numpy()
    ecdf_hi, ecdf_lo = np.arange(1, 4001) / 4000, np.arange(4000) / 4000
    stat = max(np.max(ecdf_hi - cdf), np.max(cdf - ecdf_lo))
    assert stat < stats.ks_2samp_critical(1 << 14, 4000)
    u = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    torch.testing.assert_close(law.cdf(law.icdf(u)), u, rtol=0, atol=1e-9)
    assert priors.norm_law(prior, dim) is priors.norm_law(priors.get("uniform"), dim)  # cached by repr

"""Tests of latentspace.operations: registry, shapes, dtypes, edge cases, the transport maps.

Distribution preservation (the statistical heart of the papers) is in
test_preservation.py; statistical checks here follow the same conventions (conftest.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from latentspace import operations as ops
from latentspace import priors

INTERPOLATIONS = ["linear", "slerp", "normalized", "cauchy_linear", "spherical_cauchy_linear", "ot_matched"]
D = 8


def _prior(name: str, **params) -> priors.Prior:
    return priors.get(name, **params)


# Priors each interpolation is defined for (and tested on): the generic ones on any prior,
# cauchy_linear on continuous i.i.d. priors, ot_matched on i.i.d. priors,
# spherical_cauchy_linear on any prior (exact norm law if isotropic, Monte Carlo otherwise).
VALID = {
    "linear": ["normal", "cauchy", "sphere"],
    "slerp": ["normal", "cauchy", "sphere"],
    "normalized": ["normal", "uniform"],
    "cauchy_linear": ["normal", "uniform", "cauchy", "chi2"],
    "spherical_cauchy_linear": ["normal", "uniform", "sphere"],
    "ot_matched": ["normal", "uniform", "cauchy", "chi2"],
}
CASES = [(op, p) for op in INTERPOLATIONS for p in VALID[op]]


def _t_mid(op: str, prior_name: str) -> float:
    """An interior t. ot_matched on chi2 builds a Monte Carlo law (about 5 s) per weight
    pair (1 - t, t): all its tests share t = 1/2, so the law is built once."""
    return 0.5 if (op, prior_name) == ("ot_matched", "chi2") else 0.3


def _pair(prior_name: str, shape1, shape2, dtype=torch.float64, seed=0):
    prior = _prior(prior_name)
    g = torch.Generator().manual_seed(seed)
    n1, n2 = math.prod(shape1), math.prod(shape2)
    z1 = prior.sample(n1, D, generator=g, dtype=dtype).reshape(*shape1, D)
    z2 = prior.sample(n2, D, generator=g, dtype=dtype).reshape(*shape2, D)
    return prior, z1, z2


def _tol(dtype):
    # float64: round trips through cdf/icdf lose a few ulps; float32: single precision.
    return {"rtol": 1e-9, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-6}


# --------------------------------------------------------------------------- registry


def test_registry():
    assert ops.interpolation_names() == INTERPOLATIONS
    assert set(VALID) == set(INTERPOLATIONS)
    for name in ops.names():
        assert ops.get(name).name == name
    assert ops.names("grid") == ["four_point_grid"]
    assert {op.kind for op in map(ops.get, ops.names())} == {
        "interpolation",
        "n_point",
        "grid",
        "vicinity",
        "random_walk",
        "analogy",
        "transform",
    }


def test_unknown_operation_raises_listing_valid_names():
    with pytest.raises(ValueError, match="unknown operation 'lerp'") as err:
        ops.get("lerp")
    for name in ops.names():
        assert name in str(err.value)


# --------------------------------------------------------------------------- endpoints, shapes, dtypes


@pytest.mark.parametrize(("op", "prior_name"), CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_endpoints_and_dtype(op, prior_name, dtype):
    prior, z1, z2 = _pair(prior_name, (5,), (5,), dtype)
    f = ops.get(op)
    at0, at1 = f(z1, z2, 0.0, prior=prior), f(z1, z2, 1.0, prior=prior)
    assert at0.dtype == dtype and at1.dtype == dtype
    assert at0.shape == z1.shape
    torch.testing.assert_close(at0, z1, **_tol(dtype))
    torch.testing.assert_close(at1, z2, **_tol(dtype))
    mid = f(z1, z2, 0.5, prior=prior)
    assert mid.dtype == dtype and torch.isfinite(mid).all()


@pytest.mark.parametrize(("op", "prior_name"), CASES)
def test_t_vector_adds_a_leading_axis(op, prior_name):
    prior, z1, z2 = _pair(prior_name, (3,), (3,))
    f = ops.get(op)
    ts = [0.0, _t_mid(op, prior_name), 0.5, 1.0]
    for t in (torch.tensor(ts, dtype=torch.float64), ts):
        path = f(z1, z2, t, prior=prior)
        assert path.shape == (4, 3, D)
        for i, ti in enumerate(ts):
            torch.testing.assert_close(path[i], f(z1, z2, ti, prior=prior), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="1-D"):
        f(z1, z2, torch.full((2, 2), 0.5), prior=prior)


@pytest.mark.parametrize(("op", "prior_name"), CASES)
def test_batch_shapes_broadcast(op, prior_name):
    prior, z1, z2 = _pair(prior_name, (3, 1), (1, 4))
    f = ops.get(op)
    t = _t_mid(op, prior_name)
    out = f(z1, z2, t, prior=prior)
    assert out.shape == (3, 4, D)
    a, b = torch.broadcast_tensors(z1, z2)
    torch.testing.assert_close(out, f(a.contiguous(), b.contiguous(), t, prior=prior), rtol=1e-12, atol=1e-12)
    assert f(z1, z2, [t, 1.0], prior=prior).shape == (2, 3, 4, D)


@pytest.mark.parametrize(("op", "prior_name"), [c for c in CASES if c[0] not in ("normalized", "ot_matched")])
def test_equal_endpoints_give_the_endpoint(op, prior_name):
    prior, z, _ = _pair(prior_name, (5,), (5,))
    for t in (0.25, 0.5, 0.8):
        torch.testing.assert_close(ops.get(op)(z, z, t, prior=prior), z, rtol=1e-9, atol=1e-12)


def test_normalized_and_matched_do_not_fix_equal_endpoints():
    # Normalized interpolation rescales: at t = 1/2, z -> z / sqrt(1/2); ot_matched on the
    # normal prior is the same map; on the Cauchy prior it divides by ||w||_1 = 1.
    prior, z, _ = _pair("normal", (5,), (5,))
    torch.testing.assert_close(ops.normalized(z, z, 0.5), math.sqrt(2) * z)
    torch.testing.assert_close(ops.ot_matched(z, z, 0.5, prior=prior), math.sqrt(2) * z)
    cauchy, c, _ = _pair("cauchy", (5,), (5,))
    torch.testing.assert_close(ops.ot_matched(c, c, 0.5, prior=cauchy), c)


def test_ot_matched_on_the_normal_prior_is_normalized():
    prior, z1, z2 = _pair("normal", (6,), (6,))
    for t in (0.1, 0.5, 0.75):
        torch.testing.assert_close(ops.ot_matched(z1, z2, t, prior=prior), ops.normalized(z1, z2, t))


@pytest.mark.parametrize("op", INTERPOLATIONS)
def test_mismatched_shapes_and_bad_inputs_raise(op):
    f, prior = ops.get(op), _prior("normal")
    z = torch.zeros(3, D, dtype=torch.float64)
    with pytest.raises(ValueError, match="same latent dimension"):
        f(z, torch.zeros(3, D + 1, dtype=torch.float64), 0.5, prior=prior)
    with pytest.raises(ValueError, match="do not broadcast"):
        f(z, torch.zeros(4, D, dtype=torch.float64), 0.5, prior=prior)
    with pytest.raises(ValueError, match="scalar"):
        f(torch.tensor(1.0), torch.tensor(1.0), 0.5, prior=prior)
    with pytest.raises(TypeError, match="floating-point"):
        f(torch.zeros(3, D, dtype=torch.long), z, 0.5, prior=prior)
    with pytest.raises(TypeError, match="torch.Tensor"):
        f(np.zeros((3, D)), z, 0.5, prior=prior)


@pytest.mark.parametrize("op", ["cauchy_linear", "ot_matched"])
def test_prior_requirements_are_checked(op):
    f = ops.get(op)
    z = torch.ones(2, D, dtype=torch.float64)
    with pytest.raises(ValueError, match="needs the latent prior"):
        f(z, z, 0.5)
    for non_iid in ("sphere", "radial", "semicircle"):
        with pytest.raises(ValueError, match="i.i.d. prior"):
            f(z, z, 0.5, prior=_prior(non_iid))
    if op == "cauchy_linear":  # atoms: F_Z is not a bijection
        with pytest.raises(ValueError, match="continuous law"):
            f(z, z, 0.5, prior=_prior("discrete"))
    with pytest.raises(ValueError, match="needs the latent prior"):
        ops.spherical_cauchy_linear(z, z, 0.5)


# --------------------------------------------------------------------------- slerp edge cases


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(
    "case", ["parallel", "antiparallel", "antiparallel_scaled", "zero_first", "zero_second", "both_zero"]
)
def test_slerp_degenerate_endpoints_are_finite(case, dtype):
    z = torch.tensor([0.5, -1.0, 2.0, 0.25, 0.0, 1.5], dtype=dtype)
    zero = torch.zeros_like(z)
    z1, z2 = {
        "parallel": (z, 2.5 * z),
        "antiparallel": (z, -z),
        "antiparallel_scaled": (z, -3 * z),
        "zero_first": (zero, z),
        "zero_second": (z, zero),
        "both_zero": (zero, zero),
    }[case]
    ts = torch.linspace(0, 1, 9, dtype=dtype)
    path = ops.slerp(z1, z2, ts)
    assert path.dtype == dtype and torch.isfinite(path).all()
    tol = _tol(dtype)
    torch.testing.assert_close(path[0], z1, **tol)
    torch.testing.assert_close(path[-1], z2, **tol)
    norms = path.norm(dim=-1)
    n1, n2 = z1.norm(), z2.norm()
    if case.startswith("antiparallel"):
        # Half a great circle: the norm moves linearly and the midpoint is orthogonal to z1.
        torch.testing.assert_close(norms, (1 - ts) * n1 + ts * n2, **tol)
        assert abs(float(path[4] @ z1)) < 1e-5 * float(n1 * norms[4])
    else:
        # The formula's limit, the linear path.
        torch.testing.assert_close(path, (1 - ts[:, None]) * z1 + ts[:, None] * z2, **tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_slerp_keeps_the_norm_of_equal_norm_endpoints(dtype):
    g = torch.Generator().manual_seed(3)
    z1 = torch.randn(50, 16, generator=g, dtype=torch.float64)
    z2 = torch.randn(50, 16, generator=g, dtype=torch.float64)
    z2 = z2 / z2.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True)
    z2[0] = -z1[0]  # one antiparallel pair
    z2[1] = z1[1]  # one parallel pair
    z1, z2 = z1.to(dtype), z2.to(dtype)
    path = ops.slerp(z1, z2, torch.linspace(0, 1, 11, dtype=dtype))
    torch.testing.assert_close(path.norm(dim=-1), z1.norm(dim=-1).expand(11, 50), **_tol(dtype))
    # The angle moves linearly: angle(z1, path(t)) = t * Omega.
    cos = lambda a, b: ((a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))).clamp(-1, 1)  # noqa: E731
    omega = torch.arccos(cos(z1, z2).double())
    angles = torch.arccos(cos(z1.expand(11, 50, 16), path).double())
    expected = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None] * omega
    torch.testing.assert_close(angles[:, 2:], expected[:, 2:], rtol=0, atol=1e-6 if dtype == torch.float64 else 2e-3)


# --------------------------------------------------------------------------- Cauchy maps


@pytest.mark.parametrize("prior_name", ["normal", "uniform", "chi2"])
def test_to_cauchy_gives_a_cauchy_sample_and_from_cauchy_inverts_it(prior_name, stats):
    """KS of to_cauchy(Z) against the standard Cauchy law, n * D = 20 000 i.i.d. values."""
    prior = _prior(prior_name)
    z = prior.sample(2500, D, generator=stats.generator(20), dtype=torch.float64)
    c = ops.to_cauchy(z, prior)
    assert c.dtype == torch.float64 and torch.isfinite(c).all()
    stat, crit = stats.ks_1samp(c.numpy(), scipy.stats.cauchy.cdf)
    assert stat < crit
    torch.testing.assert_close(ops.from_cauchy(c, prior), z, rtol=1e-9, atol=1e-12)
    # Monotone: the maps preserve the order of the coordinates.
    order = z.flatten().argsort()
    assert (c.flatten()[order].diff() >= 0).all()


def test_cauchy_maps_stay_finite_at_the_edge_of_the_support():
    uniform = _prior("uniform")
    edge = torch.tensor([-1.0, -1 + 1e-15, 0.0, 1 - 1e-15, 1.0], dtype=torch.float64)
    c = ops.to_cauchy(edge, uniform)
    assert torch.isfinite(c).all() and (c.diff() > 0).all()
    torch.testing.assert_close(ops.from_cauchy(c, uniform), edge, rtol=0, atol=1e-15)
    assert ops.cauchy_linear(edge, edge.flip(0), 0.5, prior=uniform).isfinite().all()
    normal = _prior("normal")
    far = torch.tensor([-35.0, -8.0, 8.0, 35.0], dtype=torch.float64)
    torch.testing.assert_close(ops.from_cauchy(ops.to_cauchy(far, normal), normal), far, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- transport maps


class _ByScipy(priors.IIDPrior):
    """An i.i.d. prior known only through its scipy law: ``matched_map`` has no closed form
    for it and takes the Monte Carlo path."""

    name = "by_scipy"
    continuous = True
    has_density = True
    symmetric = True

    def __init__(self, law: str = "uniform") -> None:
        self.law = law
        self.coordinate = {"uniform": scipy.stats.uniform(-1, 2), "normal": scipy.stats.norm()}[law]


# DKW: the empirical cdf of N = 2^21 draws is within eps = sqrt(ln(2/alpha) / (2N))
# = 1.5e-3 of the true cdf everywhere, except with probability alpha; the linear
# interpolation between plotting positions adds at most 1/N.
_N_MC = 1 << 21


def _dkw(alpha: float) -> float:
    return math.sqrt(math.log(2 / alpha) / (2 * _N_MC)) + 1 / _N_MC


def _two_uniform_cdf(y: np.ndarray, t: float) -> np.ndarray:
    """cdf of Y = (1 - t) U1 + t U2, U_i ~ U(-1, 1), by hand (the matched-operations paper,
    appendix Example 1): with a = max(t, 1 - t), b = 1 - a, the density is a trapezoid,
    so F = (y + 1)^2 / (8ab) on [-1, b - a], (y + a) / (2a) on [b - a, a - b],
    1 - (1 - y)^2 / (8ab) on [a - b, 1]."""
    a = max(t, 1 - t)
    b = 1 - a
    return np.select(
        [y < -1, y < b - a, y < a - b, y < 1],
        [0.0, (y + 1) ** 2 / (8 * a * b), (y + a) / (2 * a), 1 - (1 - y) ** 2 / (8 * a * b)],
        1.0,
    )


@pytest.mark.parametrize("t", [0.5, 0.7, 0.2, 0.95])
def test_uniform_matched_map_is_appendix_example_1(t):
    y = torch.linspace(-1.2, 1.2, 241, dtype=torch.float64)
    expected = 2 * _two_uniform_cdf(y.numpy(), t) - 1
    np.testing.assert_allclose(ops.matched_map(y, (1 - t, t), _prior("uniform")).numpy(), expected, rtol=0, atol=1e-13)


def test_closed_form_maps():
    g = torch.Generator().manual_seed(4)
    y = torch.randn(20, D, generator=g, dtype=torch.float64)
    w = (0.2, -0.5, 1.3)
    torch.testing.assert_close(ops.matched_map(y, w, _prior("normal")), y / math.sqrt(0.04 + 0.25 + 1.69))
    torch.testing.assert_close(ops.matched_map(y, w, _prior("cauchy", scale=3.0)), y / 2.0)
    # A scaled normal prior goes through the normal closed form (the map is scale-free).
    torch.testing.assert_close(ops.matched_map(y, w, _prior("scaled", base="normal", alpha=2.0)), y / math.sqrt(1.98))
    # A scaled uniform: the uniform map on y / alpha, times alpha.
    uniform, scaled = _prior("uniform"), _prior("scaled", base="uniform", alpha=2.0)
    torch.testing.assert_close(ops.matched_map(2 * y, w, scaled), 2 * ops.matched_map(y, w, uniform))
    # One positive weight: y = w Z, mapped back exactly, for every prior.
    chi2 = _prior("chi2", k=3.0)
    torch.testing.assert_close(ops.matched_map(y.abs(), (0.0, 2.0), chi2), y.abs() / 2, rtol=0, atol=0)
    with pytest.raises(ValueError, match="non-zero weight"):
        ops.matched_map(y, (0.0, 0.0), uniform)
    with pytest.raises(ValueError, match="i.i.d."):
        ops.matched_map(y, (0.5, 0.5), _prior("sphere"))


def test_uniform_sum_cdf_symmetry_and_limits():
    uniform = _prior("uniform")
    y = torch.linspace(-3.5, 3.5, 141, dtype=torch.float64)
    for w in [(0.3, 0.7), (-1.0, 1.0, 1.0), (0.1, 0.2, 0.3, 0.4)]:
        m = ops.matched_map(y, w, uniform)
        # T is odd (both laws symmetric), monotone, in [-1, 1], and +-1 outside +-sum|w|.
        # The spline sums terms up to about 20 with alternating signs, so near p = 1 it is
        # accurate to some 1e-14 absolute: monotone up to that.
        torch.testing.assert_close(m, -m.flip(0), rtol=0, atol=1e-12)
        assert (m.diff() >= -1e-13).all() and (m.abs() <= 1).all()
        outside = y.abs() >= sum(abs(v) for v in w)
        torch.testing.assert_close(m[outside], torch.sign(y[outside]))


@pytest.mark.parametrize("law", ["uniform", "normal"])
def test_monte_carlo_matched_map_agrees_with_the_closed_form(law, stats):
    """The same law with and without a closed form: the numerical map uses the empirical
    cdf of 2^21 draws of Y, off by at most eps = _dkw(alpha) in probability. uniform:
    T = 2 F - 1, so |T_mc - T| <= 2 eps. normal: T = Phi^-1(F); for |T| <= 2 the slope of
    Phi^-1 on the region is at most 1 / phi(2.1), so |T_mc - T| <= eps / phi(2.1)."""
    numeric, closed = _ByScipy(law), _prior(law)
    w = (0.35, 0.65)
    scale = 1.0 if law == "uniform" else math.sqrt(0.35**2 + 0.65**2)
    y = torch.linspace(-0.999, 0.999, 401, dtype=torch.float64) * (1.0 if law == "uniform" else 2 * scale)
    got, expected = ops.matched_map(y, w, numeric), ops.matched_map(y, w, closed)
    eps = _dkw(stats.alpha)
    bound = 2 * eps if law == "uniform" else eps / scipy.stats.norm.pdf(2.1)
    assert (got - expected).abs().max().item() < bound
    # And the bound is not vacuous: it is far below the size of the map's values.
    assert bound < 0.05 * expected.abs().max().item()


def test_monte_carlo_matched_map_on_chi2_gives_chi2(stats):
    """ot_matched on chi2(1) takes the numerical path. One-sample KS of the matched midpoints
    (n * D = 16 000 values, independent of the 2^21 Monte Carlo draws, which use their own
    seed) against chi2(1). The map's cdf error eps (DKW) can move the statistic by eps, so
    the threshold is the KS critical value plus eps. Linear midpoints must fail it."""
    prior = _prior("chi2")  # the same prior (and so Monte Carlo law) as the shape tests
    g = stats.generator(21)
    z1 = prior.sample(2000, D, generator=g, dtype=torch.float64)
    z2 = prior.sample(2000, D, generator=g, dtype=torch.float64)
    matched = ops.ot_matched(z1, z2, 0.5, prior=prior)
    stat, crit = stats.ks_1samp(matched.numpy(), prior.coordinate.cdf)
    assert stat < crit + _dkw(stats.alpha)
    stat, _ = stats.ks_1samp(ops.linear(z1, z2, 0.5).numpy(), prior.coordinate.cdf)
    assert stat > crit + _dkw(stats.alpha)


# --------------------------------------------------------------------------- other operations


def test_n_point_and_four_point_grid():
    prior = _prior("normal")
    g = torch.Generator().manual_seed(5)
    corners = prior.sample(4 * 3, D, generator=g, dtype=torch.float64).reshape(4, 3, D)
    grid = ops.four_point_grid(corners, 4)
    assert grid.shape == (4, 4, 3, D)
    torch.testing.assert_close(grid[0, 0], corners[0])
    torch.testing.assert_close(grid[0, -1], corners[1])
    torch.testing.assert_close(grid[-1, 0], corners[2])
    torch.testing.assert_close(grid[-1, -1], corners[3])
    a, b = 1 / 3, 2 / 3
    w = ((1 - a) * (1 - b), b * (1 - a), a * (1 - b), a * b)
    torch.testing.assert_close(grid[1, 2], sum(wi * c for wi, c in zip(w, corners, strict=True)))
    matched = ops.four_point_grid(corners, 4, prior=prior, matched=True)
    torch.testing.assert_close(matched[1, 2], grid[1, 2] / math.sqrt(sum(v * v for v in w)))
    torch.testing.assert_close(matched[0, 0], corners[0])  # the corners stay put
    with pytest.raises(ValueError, match=r"\(4, \.\.\., D\)"):
        ops.four_point_grid(corners[:3], 4)
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        ops.four_point_grid(corners, 1)
    with pytest.raises(ValueError, match="simplex"):
        ops.n_point(corners, (0.5, 0.7, -0.1, -0.1))
    with pytest.raises(ValueError, match="one per point"):
        ops.n_point(corners, (0.5, 0.5))
    with pytest.raises(ValueError, match="needs the latent prior"):
        ops.n_point(corners, (0.25,) * 4, matched=True)


def test_vicinity_random_walk_and_analogy():
    prior, eps = _prior("normal"), 0.5
    z = prior.sample(3, D, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    near = ops.vicinity(z, eps, prior, k=5, generator=torch.Generator().manual_seed(7))
    near_m = ops.vicinity(z, eps, prior, k=5, generator=torch.Generator().manual_seed(7), matched=True)
    assert near.shape == (5, 3, D)
    torch.testing.assert_close(near_m, near / math.sqrt(1 + eps**2))
    assert ops.vicinity(z[0], eps, prior, k=2).shape == (2, D)
    for bad in (0.0, -1.0, "0.5"):
        with pytest.raises(ValueError, match="eps must be a positive number"):
            ops.vicinity(z, bad, prior)

    walk = ops.random_walk(z, 6, eps, prior, generator=torch.Generator().manual_seed(8))
    walk_m = ops.random_walk(z, 6, eps, prior, generator=torch.Generator().manual_seed(8), matched=True)
    assert walk.shape == walk_m.shape == (7, 3, D)
    torch.testing.assert_close(walk[0], z)
    torch.testing.assert_close(walk_m[0], z)
    # The same directions u: step 1 is z + eps u, matched (z + eps u) / sqrt(1 + eps^2).
    torch.testing.assert_close(walk_m[1], walk[1] / math.sqrt(1 + eps**2))

    z1, z2, z3 = prior.sample(3 * 4, D, generator=torch.Generator().manual_seed(9), dtype=torch.float64).reshape(
        3, 4, D
    )
    torch.testing.assert_close(ops.analogy(z1, z2, z3), z3 + z2 - z1)
    torch.testing.assert_close(ops.analogy(z1, z2, z3, prior=prior, matched=True), (z3 + z2 - z1) / math.sqrt(3))
    with pytest.raises(ValueError, match="same latent dimension"):
        ops.analogy(z1, z2, z3[..., :-1])


def test_centerize_spherize():
    g = torch.Generator().manual_seed(10)
    z = priors.get("poisson", lam=2.0).sample(100, 32, generator=g, dtype=torch.float64)
    out = ops.centerize_spherize(z)
    torch.testing.assert_close(out.mean(dim=-1), torch.zeros(100, dtype=torch.float64), rtol=0, atol=1e-15)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(100, dtype=torch.float64), rtol=1e-14, atol=0)
    scaled = ops.centerize_spherize(z, radius=math.sqrt(32))
    torch.testing.assert_close(scaled, math.sqrt(32) * out)
    # A direction is kept: centerize then normalise.
    c = z - z.mean(dim=-1, keepdim=True)
    torch.testing.assert_close(out, c / c.norm(dim=-1, keepdim=True))
    assert ops.centerize_spherize(z.float()).dtype == torch.float32
    with pytest.raises(ValueError, match="zero vector"):
        ops.centerize_spherize(torch.ones(2, 5))  # a constant vector centres to 0

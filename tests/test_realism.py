"""The realisticity index and ri-optimal interpolation (latentspace.realism, Struski et al.
2019): the closed form for the normal prior against scipy's chi-squared survival function
(deep tail included), the KDE estimator against the closed form within a bound derived
from its sample size, the paper's Example 1 and Observation 1, the eq. 3 energy by hand,
the optimiser (lower energy, bit-exact endpoints, one generator call per step), the eq. 4
projection, and the errors for bad input. Seeds are fixed; statistical checks use the
suite's level ALPHA (tests/conftest.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from latentspace import models, priors, realism

NORMAL, UNIFORM, CAUCHY = priors.get("normal"), priors.get("uniform"), priors.get("cauchy")
SEMICIRCLE, CHI2, SPHERE = priors.get("semicircle"), priors.get("chi2", k=3), priors.get("sphere")


def rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def along_axis(sq_norms, dim: int) -> torch.Tensor:
    """Points of R^dim with the given squared norms, in random directions."""
    sq = torch.as_tensor(np.asarray(sq_norms, dtype=np.float64))
    u = torch.randn(len(sq), dim, generator=rng(7), dtype=torch.float64)
    return u / u.norm(dim=-1, keepdim=True) * sq.sqrt()[:, None]


class Counting(nn.Module):
    """Wraps a generator and records the batch size of every call."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.calls.append(z.shape[0])
        return self.inner(z)


def tiny_dcgan(dim: int = 8) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return models.build_generator("dcgan", latent_dim=dim, image_size=16, channels=1, width=4).eval()


def tiny_mlp(dim: int, out: int = 64) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        return nn.Sequential(nn.Linear(dim, 32), nn.Tanh(), nn.Linear(32, out), nn.Tanh())


# --------------------------------------------------------------------------- the index of a point


@pytest.mark.parametrize("dim", [1, 2, 20, 100, 1000])
def test_closed_form_is_the_chi2_survival_function(dim):
    # Squared norms at chi^2_D upper-tail probabilities from 1 - 1e-9 down to 1e-250: far
    # below 1e-16, where 1 - cdf is exactly 0 in float64, ri must keep its relative precision.
    tails = np.array([1 - 1e-9, 0.9, 0.5, 0.1, 1e-3, 1e-10, 1e-30, 1e-100, 1e-250])
    sq = scipy.stats.chi2(dim).isf(tails)
    ri = realism.NormalIndex(dim)(along_axis(sq, dim)).numpy()
    np.testing.assert_allclose(ri, scipy.stats.chi2(dim).sf(sq), rtol=1e-8)
    np.testing.assert_allclose(ri, tails, rtol=1e-6)
    assert 1 - scipy.stats.chi2(dim).cdf(sq[-1]) == 0 < ri[-1]
    assert realism.NormalIndex(dim)(torch.zeros(dim)) == 1  # the mode


def test_closed_form_for_a_scaled_normal_prior():
    index = realism.index_for(priors.get("scaled", base="normal", alpha=2.0), 10)
    assert isinstance(index, realism.NormalIndex) and index.scale == 2.0
    z = NORMAL.sample(50, 10, generator=rng(), dtype=torch.float64) * 3
    np.testing.assert_allclose(index(z).numpy(), scipy.stats.chi2(10).sf((z / 2).square().sum(-1).numpy()), rtol=1e-8)


def test_ri_of_prior_samples_is_uniform(stats):
    # ri(Z) = 1 - F(||Z||^2) with ||Z||^2 ~ chi^2_D: uniform on [0, 1] (probability integral transform).
    z = NORMAL.sample(20000, 50, generator=rng(1), dtype=torch.float64)
    stat, critical = stats.ks_1samp(realism.NormalIndex(50)(z).numpy(), scipy.stats.uniform().cdf)
    assert stat < critical


def kde_error_bound(dim: int, n: int, bandwidth: float, p: float) -> float:
    """A bound on sup_x |G_W(x) - F(x)| for the KDE estimate G_W of the cdf F of
    log f(X), X ~ N(0, I_dim), holding with probability 1 - p over the n samples.

    G_W = F_n * Phi_h (the empirical cdf smoothed by the kernel), so
    |G_W - F| <= |(F_n - F) * Phi_h| + |F * Phi_h - F| <= sup|F_n - F| + h^2/2 sup|g'|:
    the first term is at most sqrt(log(2/p) / (2n)) with probability 1 - p (DKW with
    Massart's constant), the second is the second-order Taylor bound of smoothing with a
    symmetric unit-variance kernel (g = F' the density of log f(X)). Here
    log f(X) = c - S/2 with S ~ chi^2_dim, so g(y) = 2 f_S(2(c - y)) and
    sup|g'| = 4 sup|f_S'|, f_S'(s) = f_S(s) ((dim/2 - 1)/s - 1/2)."""
    s = np.linspace(1e-3, scipy.stats.chi2(dim).isf(1e-12), 200001)
    slope = np.abs(scipy.stats.chi2(dim).pdf(s) * ((dim / 2 - 1) / s - 0.5)).max()
    return math.sqrt(math.log(2 / p) / (2 * n)) + bandwidth**2 / 2 * 4 * slope


@pytest.mark.parametrize("dim", [10, 100])
def test_kde_estimator_matches_the_closed_form_for_the_normal_prior(stats, dim):
    n = realism.DEFAULT_KDE_SAMPLES
    kde = realism.index_for(NORMAL, dim, method="kde", n_samples=n, generator=rng(2))
    assert isinstance(kde, realism.KDEIndex) and kde.n_samples == n
    # Points over the whole range of ri, from the mode to the far tail.
    sq = np.concatenate([[0.0], scipy.stats.chi2(dim).isf(np.linspace(0.001, 0.999, 199)), [4.0 * dim]])
    z = along_axis(sq, dim)
    err = (kde(z) - realism.NormalIndex(dim)(z)).abs().max().item()
    bound = kde_error_bound(dim, n, kde.bandwidth, stats.alpha)
    assert bound < 0.05  # not vacuous: DKW gives 0.031 at n = 5000, smoothing 0.004 to 0.01
    assert err < bound, (err, bound)


@pytest.mark.parametrize(
    "index",
    [
        realism.NormalIndex(20),
        realism.index_for(NORMAL, 20, method="kde", n_samples=2000, generator=rng(3)),
        realism.index_for(SEMICIRCLE, 20, n_samples=2000, generator=rng(3)),
        realism.index_for(CAUCHY, 20, n_samples=2000, generator=rng(3)),
        realism.index_for(UNIFORM, 20, n_samples=2000, generator=rng(3)),
    ],
    ids=lambda index: index.name,
)
def test_ri_lies_in_the_unit_interval(index):
    z = NORMAL.sample(200, 20, generator=rng(4), dtype=torch.float64)
    points = torch.cat([z, 0.1 * z, 10 * z, 1e4 * z, torch.zeros(1, 20)])
    ri, log_ri = index(points), index.log_ri(points)
    assert ri.shape == (len(points),) and ri.dtype == torch.float64
    assert not ri.isnan().any() and (ri >= 0).all() and (ri <= 1).all()
    assert (log_ri <= 0).all()
    # The KDE works in log space: log ri stays finite far outside the samples (the
    # uniform prior's index is 0 off its support, exactly as Example 1 says).
    if isinstance(index, realism.KDEIndex) and index.bandwidth > 0:
        assert torch.isfinite(log_ri).all()


def test_kde_index_is_monotone_in_the_density():
    # "Higher density implies higher index": ri is a non-decreasing function of log f.
    index = realism.index_for(SEMICIRCLE, 20, n_samples=2000, generator=rng(5))
    z = SEMICIRCLE.sample(500, 20, generator=rng(6), dtype=torch.float64) * 1.5
    order = SEMICIRCLE.log_prob(z).argsort()
    assert (index(z)[order].diff() >= 0).all()


def test_uniform_prior_index_is_the_indicator_of_its_support():
    # The paper's Example 1: for the uniform density on U, ri = 1_U.
    index = realism.index_for(UNIFORM, 6, n_samples=100, generator=rng())
    assert isinstance(index, realism.KDEIndex) and index.bandwidth == 0 and index.differentiable
    inside = UNIFORM.sample(100, 6, generator=rng(1), dtype=torch.float64)
    outside = inside.clone()
    outside[:, 0] = 1.5
    assert (index(inside) == 1).all() and (index(outside) == 0).all()


def test_index_for_errors():
    with pytest.raises(ValueError, match="no density"):
        realism.index_for(SPHERE, 5)
    with pytest.raises(ValueError, match="closed form exists for the normal prior only"):
        realism.index_for(CAUCHY, 5, method="closed")
    with pytest.raises(ValueError, match="unknown method"):
        realism.index_for(NORMAL, 5, method="exact")
    with pytest.raises(ValueError, match="n_samples"):
        realism.index_for(CAUCHY, 5, n_samples=1)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 5\)"):
        realism.NormalIndex(5)(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="shape"):
        realism.KDEIndex(NORMAL.log_prob, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="not finite"):
        realism.KDEIndex(UNIFORM.log_prob, torch.full((10, 3), 2.0))


def test_scipy_density_has_no_gradient_and_is_refused():
    index = realism.index_for(CHI2, 4, n_samples=200, generator=rng())
    assert not index.differentiable
    assert 0 <= index(CHI2.sample(3, 4, generator=rng(1))).min()  # values are fine
    x, y = CHI2.sample(2, 4, generator=rng(2))
    with pytest.raises(ValueError, match="computed outside torch"):
        realism.optimise_path(tiny_mlp(4), index, x, y, k=4, steps=1)


# --------------------------------------------------------------------------- paths and their energy


def test_path_energy_and_index_by_hand():
    # Identity "generator": the images are the latents. eq. 3 and Definition 2 term by term.
    dim, alpha = 3, 0.3
    path = torch.tensor([[0.0, 0.0, 0.5], [1.0, 2.0, 0.0], [2.0, 1.0, 1.0], [3.0, 0.5, 0.0]], dtype=torch.float64)
    ri = scipy.stats.chi2(dim).sf(path.square().sum(-1).numpy())
    mean = alpha * (ri[:-1] + ri[1:]) / 2
    step = np.linalg.norm(np.diff(path.numpy(), axis=0), axis=1)
    index = realism.NormalIndex(dim)
    energy = realism.path_energy(index, path, path, alpha)
    np.testing.assert_allclose(energy.item(), (np.log(mean) ** 2 * step**2).sum(), rtol=1e-12)
    profile = realism.path_profile(index, path, path, alpha)
    np.testing.assert_allclose(profile.ri.numpy(), ri, rtol=1e-12)
    np.testing.assert_allclose(profile.distances.numpy(), step, rtol=1e-12)
    # Definition 2 uses the unscaled index: log((ri_i + ri_{i+1}) / 2), no alpha.
    log_index = (np.log((ri[:-1] + ri[1:]) / 2) * step).sum()
    np.testing.assert_allclose(profile.log_index.item(), log_index, rtol=1e-12)
    np.testing.assert_allclose(realism.path_log_index(index, path, path).item(), log_index, rtol=1e-12)
    np.testing.assert_allclose(profile.energy.item(), energy.item(), rtol=1e-12)
    assert profile.length.item() == pytest.approx(step.sum())
    # Batched paths give the same numbers, and images of any shape flatten per point.
    both = torch.stack([path, path.flip(0)])
    images = both.reshape(2, 4, 1, 3, 1)
    np.testing.assert_allclose(realism.path_energy(index, both, images, alpha).numpy(), [energy.item()] * 2, rtol=1e-12)


def test_path_shapes_are_checked():
    index = realism.NormalIndex(3)
    path = torch.zeros(5, 3)
    with pytest.raises(ValueError, match="images of a path"):
        realism.path_energy(index, path, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="k >= 2"):
        realism.path_energy(index, torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="alpha"):
        realism.path_energy(index, path, path, alpha=0)
    with pytest.raises(ValueError, match="alpha"):
        realism.path_profile(index, path, path, alpha=1.5)


def test_linear_path():
    x, y = torch.tensor([1.0, -2.0]), torch.tensor([3.0, 4.0])
    path = realism.linear_path(x, y, 4)
    assert path.shape == (5, 2) and torch.equal(path[0], x) and torch.equal(path[-1], y)
    torch.testing.assert_close(path[2], (x + y) / 2)
    with pytest.raises(ValueError, match="'k' must be an integer >= 2"):
        realism.linear_path(x, y, 1)


def test_farthest_pairs_pick_the_farthest_candidates():
    x, y = realism.farthest_pairs(SEMICIRCLE, 3, 20, rng(8), candidates=10)
    assert x.shape == y.shape == (3, 20)
    z = SEMICIRCLE.sample(30, 20, generator=rng(8), dtype=torch.float64).reshape(3, 10, 20)
    best = torch.cdist(z, z).amax(dim=(1, 2))
    torch.testing.assert_close((x - y).norm(dim=-1), best, rtol=1e-12, atol=0)


def test_plane_coordinates():
    g = rng(9)
    z0, zk = torch.randn(2, 30, generator=g, dtype=torch.float64)
    path = realism.linear_path(z0, zk, 10)
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    torch.testing.assert_close(realism.plane_coordinates(path), torch.stack([1 - t, t], -1), rtol=0, atol=1e-12)
    # a z0 + b zk plus a component orthogonal to the plane projects to (a, b).
    basis = torch.stack([z0, zk], -1)
    noise = torch.randn(30, generator=g, dtype=torch.float64)
    noise -= basis @ torch.linalg.lstsq(basis, noise).solution
    bent = path.clone()
    bent[4] = 0.7 * z0 - 0.4 * zk + 5 * noise
    bent[6] = 0 * z0 + 3 * noise  # the origin plus an orthogonal part
    coords = realism.plane_coordinates(bent)
    torch.testing.assert_close(coords[4], torch.tensor([0.7, -0.4], dtype=torch.float64))
    torch.testing.assert_close(coords[6], torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-12)
    for end in (-z0, 2 * z0):
        with pytest.raises(ValueError, match="parallel"):
            realism.plane_coordinates(realism.linear_path(z0, end, 4))


# --------------------------------------------------------------------------- ri-optimal interpolation


def linear_model(dim: int, out: int, orthonormal: bool = False) -> nn.Module:
    """G(z) = A z, float64, A injective (out > dim): the paper's Observation 1."""
    g = rng(10)
    a = torch.randn(out, dim, generator=g, dtype=torch.float64)
    if orthonormal:
        a = torch.linalg.qr(a).Q
    model = nn.Linear(dim, out, bias=False).to(torch.float64)
    with torch.no_grad():
        model.weight.copy_(a)
    return model


@pytest.mark.parametrize("optimizer,lr,atol", [("gd", 0.01, 1e-12), ("adam", 0.01, 1e-6)])
def test_observation_1_linear_path_is_optimal(optimizer, lr, atol):
    # A linear injective generator and the uniform prior on the (convex) cube: ri = 1 on
    # the cube, so eq. 3 is log^2(alpha) sum ||A (x_{i+1} - x_i)||^2, minimal (by the
    # Cauchy-Schwarz inequality) for equally spaced points on the segment: the linear path.
    dim, k, alpha = 5, 10, 0.5
    index = realism.index_for(UNIFORM, dim, n_samples=100, generator=rng())
    model = linear_model(dim, 20)
    x, y = 0.8 * UNIFORM.sample(2, dim, generator=rng(11), dtype=torch.float64)
    result = realism.optimise_path(model, index, x, y, k=k, steps=50, lr=lr, optimizer=optimizer, alpha=alpha)
    exact = math.log(alpha) ** 2 * (model.weight @ (y - x)).square().sum().item() / k
    assert result.energy_linear.item() == pytest.approx(exact, rel=1e-12)
    # No iterate gets below the linear path (beyond rounding), and the result is the linear path.
    assert result.history.min().item() >= exact * (1 - 1e-9)
    torch.testing.assert_close(result.path, result.linear, rtol=0, atol=atol)
    # The gradient at the linear path is zero: Adam's step is lr g / (|g| + eps) with g at
    # rounding level, so it moves by at most about lr * 1e-8 per step.


def test_observation_1_optimiser_finds_the_linear_path_from_a_bent_start():
    # The converse: from a bent path, plain gradient descent descends to the linear path.
    # A is an isometry, so eq. 3 is c sum ||x_{i+1} - x_i||^2 (c = log^2 alpha), whose
    # Hessian 2c (path Laplacian) has eigenvalues 2c (2 - 2 cos(j pi / k)), j = 1..k-1:
    # lr = 1 / (8c) is stable and contracts the error by 1 - (1 - cos(pi/k)) / 2 per step
    # (0.988 at k = 10), to under 1e-2 of the bend after 400 steps.
    dim, k, alpha = 5, 10, 0.5
    index = realism.index_for(UNIFORM, dim, n_samples=100, generator=rng())
    model = linear_model(dim, 20, orthonormal=True)
    x, y = 0.5 * UNIFORM.sample(2, dim, generator=rng(12), dtype=torch.float64)
    line = realism.linear_path(x, y, k)
    t = torch.linspace(0, 1, k + 1, dtype=torch.float64)[1:-1, None]
    bend = 0.4 * torch.sin(math.pi * t) * torch.tensor([1.0, -1.0, 0.5, 0.0, 0.3], dtype=torch.float64)
    c = math.log(alpha) ** 2
    result = realism.optimise_path(
        model, index, x, y, k=k, steps=400, lr=1 / (8 * c), optimizer="gd", alpha=alpha, init=line[1:-1] + bend
    )
    linear_energy = result.energy_linear.item()  # c ||A (y - x)||^2 / k, and ||A v|| = ||v||
    assert linear_energy == pytest.approx(c * (y - x).square().sum().item() / k, rel=1e-12)
    assert result.history[0].item() > 1.5 * linear_energy  # the bent start is clearly worse
    assert result.energy.item() == pytest.approx(linear_energy, rel=1e-4)
    assert (result.path - line).abs().max().item() < 1e-2 * bend.abs().max().item()


@pytest.mark.parametrize("case", ["normal-dcgan", "semicircle-mlp"])
def test_optimisation_lowers_the_energy_and_keeps_the_endpoints(case):
    if case == "normal-dcgan":
        dim, prior, model = 8, NORMAL, tiny_dcgan(8)
        index = realism.index_for(NORMAL, dim)
    else:
        dim, prior, model = 20, SEMICIRCLE, tiny_mlp(20)
        index = realism.index_for(SEMICIRCLE, dim, n_samples=2000, generator=rng(13))
    x, y = realism.farthest_pairs(prior, 2, dim, rng(14), candidates=8)
    x, y = x.float(), y.float()
    counting = Counting(model).eval()
    result = realism.optimise_path(counting, index, x, y, k=10, steps=40, lr=0.05)
    assert result.path.shape == result.linear.shape == (2, 11, dim) and result.path.dtype == torch.float32
    assert torch.equal(result.path[:, 0], x) and torch.equal(result.path[:, -1], y)  # bit for bit
    assert torch.equal(result.history[0], result.energy_linear)
    assert (result.energy < 0.95 * result.energy_linear).all(), (result.energy, result.energy_linear)
    assert torch.equal(result.energy, result.history.min(dim=0).values)
    # One batched generator call per step (every point of both paths), plus scoring the last iterate.
    assert counting.calls == [2 * 11] * 41
    # The generator's mode is restored and its weights get no gradients.
    assert not model.training and all(p.grad is None for p in model.parameters())
    # The reported energy is the energy of the returned path.
    with torch.no_grad():
        images = model(result.path.reshape(-1, dim)).reshape(2, 11, -1)
    torch.testing.assert_close(realism.path_energy(index, result.path, images), result.energy, rtol=1e-5, atol=0)


def test_single_pair_and_train_mode_restored():
    model = tiny_mlp(4).train()
    index = realism.NormalIndex(4)
    x, y = torch.randn(2, 4, generator=rng(15))
    result = realism.optimise_path(model, index, x, y, k=3, steps=2, optimizer="gd", lr=0.1)
    assert result.path.shape == (4, 4) and result.history.shape == (3,) and result.energy.shape == ()
    assert model.training


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"k": 1}, "'k' must be an integer >= 2"),
        ({"k": 2.5}, "'k' must be an integer"),
        ({"steps": -1}, "'steps' must be an integer >= 0"),
        ({"lr": 0}, "'lr' must be a positive number"),
        ({"lr": math.nan}, "'lr' must be a positive number"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": 2}, "alpha"),
        ({"init": torch.zeros(3, 4)}, "'init' must have shape"),
    ],
)
def test_optimise_path_rejects_bad_options(kwargs, match):
    x, y = torch.randn(2, 4, generator=rng(16))
    with pytest.raises(ValueError, match=match):
        realism.optimise_path(tiny_mlp(4), realism.NormalIndex(4), x, y, **{"k": 5, **kwargs})


def test_optimise_path_rejects_bad_endpoints():
    model, index = tiny_mlp(4), realism.NormalIndex(4)
    x = torch.randn(3, 4, generator=rng(17))
    with pytest.raises(ValueError, match="both have shape"):
        realism.optimise_path(model, index, x, x[:2])
    with pytest.raises(ValueError, match="both have shape"):
        realism.optimise_path(model, index, x[None], x[None])
    with pytest.raises(ValueError, match="dimension 5"):
        realism.optimise_path(model, realism.NormalIndex(5), x, x)
    bad = x.clone()
    bad[0, 0] = math.inf
    with pytest.raises(ValueError, match="finite"):
        realism.optimise_path(model, index, bad, x)
    # A point with ri = 0 makes the energy infinite: the uniform prior off its cube.
    uniform = realism.index_for(UNIFORM, 4, n_samples=10, generator=rng())
    with pytest.raises(ValueError, match="infinite energy"):
        realism.optimise_path(model, uniform, torch.zeros(4), torch.full((4,), 3.0), k=4, steps=1)

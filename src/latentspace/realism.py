"""Realisticity index and ri-optimal interpolation (Struski, Tabor, Podolak, Nowak 2019,
"Interpolation in generative models").

The *realisticity index* of a latent point z under a prior with density f (the paper's
Definition 1) is the probability mass of the region where the density is at most f(z)::

    ri(z; f) = P(f(X) <= f(z)),  X ~ f,          values in [0, 1].

High density means high index; for Z drawn from the prior, ri(Z) is uniform on [0, 1]
(it is the cdf of the continuous variable f(X) at f(Z)). Two ways to compute it:

* :class:`NormalIndex`, the closed form for the standard normal prior: f(X) <= f(z) iff
  ||X||^2 >= ||z||^2 and ||X||^2 ~ chi^2_D, so ri(z) = 1 - F_{chi^2_D}(||z||^2), the
  chi-squared *survival function* Q(D/2, ||z||^2 / 2) (regularised upper incomplete
  gamma). It is evaluated directly, not as 1 - cdf, so it keeps full relative precision
  far into the tail, where 1 - cdf would round to 0.
* :class:`KDEIndex`, the paper's estimator for any prior with a log-density (its section
  3): draw n samples w_i (5,000 by default, the paper's footnote), take l_i = log f(w_i),
  and estimate the cdf of log f(X) by a Gaussian kernel density estimate with Silverman's
  bandwidth h = (4 / (3n))^{1/5} sd(l):
  ri(z) ~ G(log f(z)) = (1/n) sum_i Phi((log f(z) - l_i) / h).
  It is computed as a log-sum-exp of ``log_ndtr`` terms, so log ri stays finite (and its
  gradient defined) for points far outside the samples.

The index of a path gamma (Definition 2) weighs log ri by the speed of the decoded path:
ri(gamma) = exp(int log ri(gamma(t)) ||(G gamma)'(t)|| dt) (:func:`path_log_index`). With
the paper's rescaled index ri_alpha = alpha ri (alpha < 1) its section 5 seeks the path
that minimises the energy

    E(gamma) = 1/2 int log^2 ri_alpha(gamma(t)) ||dG(gamma(t)) gamma'(t)||^2 dt,

discretised at k + 1 points x_0 = x, ..., x_k = y as (its eq. 3, the sum 2E/k)::

    sum_{i=0}^{k-1} log^2( alpha (ri(x_i) + ri(x_{i+1})) / 2 ) ||G(x_{i+1}) - G(x_i)||^2.

The squared distances are taken between *decoded images* (eq. 2 measures the velocity of
G gamma); :func:`optimise_path` minimises this sum over the k - 1 inner points by gradient
descent (torch autograd; Adam or plain gradient descent) from the linear path, the
endpoints fixed, every path point decoded in one batched generator call per step. The
factor alpha keeps the weight positive where ri = 1: with alpha = 1 a path through points
of maximal density would cost nothing whatever its length. The paper does not state its
alpha; we default to 1/2.

Paths are tensors of shape (..., k + 1, D) (endpoints included); decoded images have
the shape (..., k + 1, *image shape). :func:`plane_coordinates` gives the paper's eq. 4
projection of a path onto the plane spanned by its endpoints (through the origin).

    >>> from latentspace import priors, realism
    >>> index = realism.index_for(priors.get("normal"), 100)
    >>> index(torch.zeros(100))                       # the mode: ri = 1
    >>> result = realism.optimise_path(generator, index, x, y, k=50, steps=200)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from latentspace import priors as _priors
from latentspace._checks import check_int
from latentspace.priors import Prior

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_KDE_SAMPLES",
    "OPTIMIZERS",
    "RealismIndex",
    "NormalIndex",
    "KDEIndex",
    "index_for",
    "silverman_bandwidth",
    "linear_path",
    "farthest_pairs",
    "path_energy",
    "path_log_index",
    "PathProfile",
    "path_profile",
    "RIPath",
    "optimise_path",
    "plane_coordinates",
]

DEFAULT_ALPHA = 0.5
DEFAULT_KDE_SAMPLES = 5000  # the paper's footnote 2: "it is enough to take N = 5000"
OPTIMIZERS = ("adam", "gd")

# Points whose log-density is evaluated against all n KDE samples at once, per chunk:
# chunk * n float64 values (32 MiB).
_KDE_CHUNK_VALUES = 1 << 22


def _check_alpha(where: str, alpha: object) -> float:
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 < alpha <= 1:
        raise ValueError(f"{where}: 'alpha' (the rescaling ri_alpha = alpha ri) must lie in (0, 1], got {alpha!r}")
    return float(alpha)


# --------------------------------------------------------------------------- the index of a point


class RealismIndex:
    """ri(z) = P(f(X) <= f(z)) for a prior with density f on R^D (the paper's Definition 1).

    Subclasses write :meth:`_log_ri` for float64 points of shape (..., D). Calling the
    index returns ri in [0, 1]; :meth:`log_ri` returns its logarithm, which is what the
    path energy needs and which stays accurate where ri is tiny. Both accept any leading
    shape, keep autograd (when :attr:`differentiable`) and return float64.

    Attributes:
        dim: the latent dimension D.
        name: what the index is of, for logs and errors.
        differentiable: gradients of ri with respect to z are exact (autograd through
            torch); False where the log-density is computed outside torch (scipy), and
            :func:`optimise_path` then refuses the index.
    """

    dim: int
    name: str = ""
    differentiable: bool = True

    def log_ri(self, z: Tensor) -> Tensor:
        """log ri(z) for z of shape (..., D): a float64 tensor of shape (...), in [-inf, 0]."""
        z = torch.as_tensor(z)
        if z.ndim < 1 or z.shape[-1] != self.dim:
            raise ValueError(
                f"{self.name} realisticity index: z must have shape (..., {self.dim}), got {tuple(z.shape)}"
            )
        if not z.is_floating_point():
            z = z.to(torch.float64)
        if z.requires_grad and torch.is_grad_enabled() and not self.differentiable:
            raise ValueError(
                f"{self.name} realisticity index: the prior's log-density is computed outside torch "
                "(scipy), so ri has no gradient; ri-optimal paths need a prior with a torch log-density "
                "(normal, uniform, cauchy, semicircle, or scaled of one of them)"
            )
        return self._log_ri(z.to(torch.float64))

    def __call__(self, z: Tensor) -> Tensor:
        """ri(z) in [0, 1], float64, of shape (...)."""
        return self.log_ri(z).exp()

    def _log_ri(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, dim={self.dim})"


class NormalIndex(RealismIndex):
    """The closed form for the normal prior N(0, s^2 I_D) (``scale`` s, 1 by default):

        ri(z) = P(||X||^2 >= ||z||^2) = Q(D/2, ||z / s||^2 / 2) = 1 - F_{chi^2_D}(||z / s||^2),

    with Q the regularised upper incomplete gamma function (``torch.special.gammaincc``,
    differentiable in its second argument). Q is computed directly, so ri keeps its
    relative precision in the tail (ri = 1e-100 at ||z||^2 = 753 for D = 100, where
    1 - cdf is exactly 0); it underflows to 0 only where ri < 1e-308 (||z||^2 beyond about
    1,800 for D = 100), and log ri is then -inf. For large D the paper's eq. 1 approximates
    it by 1/2 + erf(sqrt(D - 1/2) - ||z||) / 2: about 1 inside the ball of radius
    sqrt(D - 1/2) - 3, about 0 outside radius sqrt(D - 1/2) + 3.
    """

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        check_int("NormalIndex", "dim", dim, 1)
        if not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"NormalIndex: 'scale' must be a positive number, got {scale!r}")
        self.dim, self.scale = dim, float(scale)
        self.name = "normal (closed form)" if self.scale == 1 else f"normal, scale {self.scale:g} (closed form)"

    def _log_ri(self, z: Tensor) -> Tensor:
        half_sq = 0.5 * (z / self.scale).square().sum(-1)  # ||z / s||^2 / 2
        a = torch.full_like(half_sq, 0.5 * self.dim)
        return torch.special.gammaincc(a, half_sq).log()


def silverman_bandwidth(values: Tensor) -> float:
    """The paper's Silverman bandwidth for a 1-D Gaussian KDE of ``values``:
    h = (4 / (3n))^{1/5} sd, sd the sample standard deviation (n - 1 in the denominator).
    0 when all values are equal (a point mass: the estimated cdf is then a step)."""
    values = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
    if values.numel() < 2:
        raise ValueError(f"silverman_bandwidth: need at least 2 values, got {values.numel()}")
    if (values == values[0]).all():
        return 0.0  # exactly, not the rounding error of the mean (a few ulps)
    return float((4 / (3 * values.numel())) ** 0.2 * values.std())


class KDEIndex(RealismIndex):
    """The paper's estimator of ri for any density f (its section 3, "Estimation of the
    realisticity index in the general case").

    From samples w_1..w_n of the prior, l_i = log f(w_i) is a sample of log f(X); its cdf
    is estimated by a Gaussian KDE with Silverman's bandwidth h (:func:`silverman_bandwidth`),
    and ri(z) = P(log f(X) <= log f(z)) by

        G(log f(z)) = (1/n) sum_i Phi((log f(z) - l_i) / h),

    computed in log space (``logsumexp`` of ``log_ndtr``). Its error has two parts: the
    empirical cdf of n samples is within sqrt(log(2/p) / (2n)) of the true cdf with
    probability 1 - p (Dvoretzky-Kiefer-Wolfowitz; convolving with the kernel does not
    enlarge it), and smoothing adds at most h^2/2 sup|g'|, g the density of log f(X).
    When every l_i is equal (h = 0: a uniform prior, whose density is constant on its
    support) the estimate is the empirical cdf itself, the fraction of l_i <= log f(z):
    1 on the support and 0 outside, as the paper's Example 1 says.

    Args:
        log_prob: z (..., D) -> log f(z) (...), e.g. a prior's ``log_prob``.
        samples: (n, D) draws from f, n >= 2.
        bandwidth: h; Silverman's rule when None.
        name: for logs and errors.
        differentiable: ``log_prob`` is a torch function (autograd gives exact gradients)
            or constant on its support (gradient 0); False when it goes through scipy.
    """

    def __init__(
        self,
        log_prob: Callable[[Tensor], Tensor],
        samples: Tensor,
        bandwidth: float | None = None,
        name: str = "density",
        differentiable: bool = True,
    ) -> None:
        samples = torch.as_tensor(samples)
        if samples.ndim != 2 or samples.shape[0] < 2:
            raise ValueError(f"KDEIndex: samples must have shape (n, D) with n >= 2, got {tuple(samples.shape)}")
        self.dim, self.name, self.differentiable = samples.shape[1], f"{name} (KDE)", differentiable
        self._log_prob = log_prob
        with torch.no_grad():
            values = torch.as_tensor(log_prob(samples.to(torch.float64)), dtype=torch.float64).reshape(-1)
        if values.numel() != samples.shape[0]:
            raise ValueError(f"KDEIndex: log_prob gave {values.numel()} values for {samples.shape[0]} samples")
        if not torch.isfinite(values).all():
            raise ValueError("KDEIndex: log_prob is not finite at some samples; are they drawn from the density?")
        self.log_densities = values.sort().values  # l_(1) <= ... <= l_(n)
        if bandwidth is None:
            bandwidth = silverman_bandwidth(values)
        if not isinstance(bandwidth, int | float) or not math.isfinite(bandwidth) or bandwidth < 0:
            raise ValueError(f"KDEIndex: 'bandwidth' must be a number >= 0, got {bandwidth!r}")
        self.bandwidth = float(bandwidth)

    @property
    def n_samples(self) -> int:
        return self.log_densities.numel()

    def _log_ri(self, z: Tensor) -> Tensor:
        x = torch.as_tensor(self._log_prob(z), dtype=torch.float64)
        if x.shape != z.shape[:-1]:
            raise ValueError(f"KDEIndex: log_prob gave shape {tuple(x.shape)} for points {tuple(z.shape)}")
        levels = self.log_densities.to(x.device)
        flat = x.reshape(-1)
        if self.bandwidth == 0:
            # The cdf of a point mass: the fraction of l_i <= log f(z) (no gradient: it is a step).
            count = torch.searchsorted(levels, flat.detach(), right=True).to(torch.float64)
            out = count.log() - math.log(self.n_samples)
        else:
            # log G(x) = logsumexp_i log Phi((x - l_i) / h) - log n, a chunk of points at a time.
            chunk = max(1, _KDE_CHUNK_VALUES // self.n_samples)
            parts = [
                torch.logsumexp(torch.special.log_ndtr((part[:, None] - levels) / self.bandwidth), dim=1)
                for part in flat.split(chunk)
            ]
            out = (torch.cat(parts) if parts else flat) - math.log(self.n_samples)
        # G <= 1 exactly; the clamp removes rounding above it.
        return out.reshape(x.shape).clamp_max(0.0)


def _normal_scale(prior: Prior) -> float | None:
    """s when ``prior`` is N(0, s^2 I) (the normal prior, or scaled normal), else None."""
    if isinstance(prior, _priors.Normal):
        return 1.0
    if isinstance(prior, _priors.Scaled) and isinstance(prior.base_prior, _priors.Normal) and prior.alpha > 0:
        return prior.alpha
    return None


def _constant_density(prior: Prior) -> bool:
    """The density is constant on the support (uniform, scaled uniform): its gradient is 0."""
    base = prior.base_prior if isinstance(prior, _priors.Scaled) else prior
    return isinstance(base, _priors.Uniform)


def _torch_density(prior: Prior, z: Tensor) -> bool:
    """Whether ``prior.log_prob`` is a torch function of z (autograd reaches z)."""
    probe = z[:2].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        return bool(torch.as_tensor(prior.log_prob(probe)).requires_grad)


def index_for(
    prior: Prior,
    dim: int,
    *,
    method: str = "auto",
    n_samples: int = DEFAULT_KDE_SAMPLES,
    generator: torch.Generator | None = None,
    bandwidth: float | None = None,
) -> RealismIndex:
    """The realisticity index of ``prior`` in dimension ``dim``.

    ``method``: ``"closed"`` (normal or scaled-normal prior only: :class:`NormalIndex`),
    ``"kde"`` (any prior with a density: :class:`KDEIndex` from ``n_samples`` draws made
    with ``generator``, ``bandwidth`` as there), or ``"auto"``: closed where it exists,
    KDE otherwise. Priors without a density on R^D (sphere, discrete, sparse, orthogonal)
    have no realisticity index and raise :class:`ValueError`.
    """
    if method not in ("auto", "closed", "kde"):
        raise ValueError(f"index_for: unknown method {method!r}; valid: auto, closed, kde")
    check_int("index_for", "dim", dim, 1)
    scale = _normal_scale(prior)
    if method == "closed" or (method == "auto" and scale is not None):
        if scale is None:
            raise ValueError(f"index_for: the closed form exists for the normal prior only, not {prior!r}; use 'kde'")
        return NormalIndex(dim, scale)
    if not prior.has_density:
        raise ValueError(
            f"index_for: the {prior.name} prior has no density on R^D, so it has no realisticity index "
            "(ri is defined through the density, Definition 1)"
        )
    check_int("index_for", "n_samples", n_samples, 2)
    samples = prior.sample(n_samples, dim, generator=generator, dtype=torch.float64)
    differentiable = _constant_density(prior) or _torch_density(prior, samples)
    return KDEIndex(prior.log_prob, samples, bandwidth, name=repr(prior), differentiable=differentiable)


# --------------------------------------------------------------------------- paths and their energy


def _check_endpoints(x: Tensor, y: Tensor, dim: int | None = None) -> tuple[Tensor, Tensor]:
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.shape != y.shape or x.ndim not in (1, 2):
        raise ValueError(
            f"endpoints x and y must both have shape (D,) or (B, D), got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if dim is not None and x.shape[-1] != dim:
        raise ValueError(f"endpoints have dimension {x.shape[-1]}, the realisticity index dimension {dim}")
    if not (x.is_floating_point() and y.is_floating_point()):
        raise ValueError("endpoints must be floating-point tensors")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("endpoints must be finite")
    return x, y


def linear_path(x: Tensor, y: Tensor, k: int) -> Tensor:
    """x_i = (1 - i/k) x + (i/k) y for i = 0..k: shape (..., k + 1, D) for x, y of shape
    (..., D). The first and last points are x and y exactly (copies, not recomputed)."""
    check_int("linear_path", "k", k, 2)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.shape != y.shape or x.ndim < 1:
        raise ValueError(
            f"linear_path: x and y must have one shape (..., D), got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    t = torch.arange(1, k, dtype=x.dtype, device=x.device) / k  # (k - 1,)
    inner = (1 - t)[:, None] * x[..., None, :] + t[:, None] * y[..., None, :]
    return torch.cat([x[..., None, :], inner, y[..., None, :]], dim=-2)


def farthest_pairs(
    prior: Prior, n_pairs: int, dim: int, generator: torch.Generator | None = None, candidates: int = 16
) -> tuple[Tensor, Tensor]:
    """Endpoint pairs "from different ends of the distribution" (the paper's semicircle
    experiment): for each pair, of ``candidates`` draws the two farthest apart. Each of
    shape (n_pairs, D), float64."""
    check_int("farthest_pairs", "n_pairs", n_pairs, 1)
    check_int("farthest_pairs", "candidates", candidates, 2)
    z = prior.sample(n_pairs * candidates, dim, generator=generator, dtype=torch.float64).reshape(
        n_pairs, candidates, dim
    )
    dist = torch.cdist(z, z)  # (n_pairs, candidates, candidates)
    flat = dist.reshape(n_pairs, -1).argmax(dim=1)
    i, j = flat // candidates, flat % candidates
    rows = torch.arange(n_pairs)
    return z[rows, i], z[rows, j]


def _path_and_images(path: Tensor, images: Tensor) -> tuple[Tensor, Tensor]:
    """Check a path (..., k + 1, D) against its images (..., k + 1, *image shape); return
    the images flattened to (..., k + 1, N)."""
    if path.ndim < 2 or path.shape[-2] < 3:
        raise ValueError(f"a path must have shape (..., k + 1, D) with k >= 2, got {tuple(path.shape)}")
    lead = path.shape[:-1]
    if images.shape[: len(lead)] != lead or images.ndim == len(lead):
        raise ValueError(
            f"images of a path of shape {tuple(path.shape)} must have shape {tuple(lead)} + image shape, "
            f"got {tuple(images.shape)}"
        )
    return path, images.reshape(*lead, -1)


def _log_mean_pairs(log_ri: Tensor) -> Tensor:
    """log((ri_i + ri_{i+1}) / 2) along the last axis, from log ri (exact in the tails)."""
    return torch.logaddexp(log_ri[..., :-1], log_ri[..., 1:]) - math.log(2.0)


def _sq_steps(images: Tensor) -> Tensor:
    """||G(x_{i+1}) - G(x_i)||^2 of flattened images (..., k + 1, N), in float64: (..., k)."""
    flat = images.to(torch.float64)
    return (flat[..., 1:, :] - flat[..., :-1, :]).square().sum(-1)


def path_energy(index: RealismIndex, path: Tensor, images: Tensor, alpha: float = DEFAULT_ALPHA) -> Tensor:
    """The discrete energy of the paper's eq. 3 (which is 2E/k) for a path (..., k + 1, D)
    and its decoded images (..., k + 1, *image shape):

        sum_i log^2(alpha (ri(x_i) + ri(x_{i+1})) / 2) ||G(x_{i+1}) - G(x_i)||^2,

    a float64 tensor of shape (...). Differentiable in the path through both the index and
    the images. Infinite where a point has ri = 0 (outside the prior's support)."""
    alpha = _check_alpha("path_energy", alpha)
    path, flat = _path_and_images(path, images)
    weight = (math.log(alpha) + _log_mean_pairs(index.log_ri(path))).square()
    return (weight * _sq_steps(flat)).sum(-1)


def path_log_index(index: RealismIndex, path: Tensor, images: Tensor) -> Tensor:
    """log ri(gamma), the realisticity index of a path (the paper's Definition 2),
    ri(gamma) = exp(int log ri(gamma(t)) ||(G gamma)'(t)|| dt), discretised on the path's
    k segments as

        sum_i log((ri(x_i) + ri(x_{i+1})) / 2) ||G(x_{i+1}) - G(x_i)||,

    for a path (..., k + 1, D) and its decoded images (..., k + 1, *image shape): a float64
    tensor of shape (...), in [-inf, 0]. The index (its exp) lies in [0, 1]; it is 1 only
    for a path through points of maximal density, and it falls with the decoded length
    spent in low-density regions. Unlike the energy it uses the unscaled ri (alpha = 1)."""
    path, flat = _path_and_images(path, images)
    return (_log_mean_pairs(index.log_ri(path)) * _sq_steps(flat).sqrt()).sum(-1)


@dataclass(frozen=True)
class PathProfile:
    """What the paper plots along a path of k + 1 points (Fig. 5, 8), all float64:

    Attributes:
        log_ri: (..., k + 1) log ri of each point.
        distances: (..., k) L2 distance between consecutive decoded images.
        energy: (...) the eq. 3 energy (:func:`path_energy`).
        log_index: (...) log ri(gamma), the path's index (:func:`path_log_index`).
        length: (...) the length of the decoded path, sum of ``distances``.
    """

    log_ri: Tensor
    distances: Tensor
    energy: Tensor
    log_index: Tensor
    length: Tensor

    @property
    def ri(self) -> Tensor:
        return self.log_ri.exp()


def path_profile(index: RealismIndex, path: Tensor, images: Tensor, alpha: float = DEFAULT_ALPHA) -> PathProfile:
    """The :class:`PathProfile` of a path (..., k + 1, D) from its decoded images
    (..., k + 1, *image shape), without gradients."""
    alpha = _check_alpha("path_profile", alpha)
    path, flat = _path_and_images(path, images)
    with torch.no_grad():
        log_ri = index.log_ri(path)
        sq = _sq_steps(flat)
        log_mean = _log_mean_pairs(log_ri)  # log((ri_i + ri_{i+1}) / 2)
        return PathProfile(
            log_ri=log_ri,
            distances=sq.sqrt(),
            energy=((math.log(alpha) + log_mean).square() * sq).sum(-1),
            log_index=(log_mean * sq.sqrt()).sum(-1),
            length=sq.sqrt().sum(-1),
        )


# --------------------------------------------------------------------------- ri-optimal interpolation


@dataclass(frozen=True)
class RIPath:
    """The result of :func:`optimise_path` for B endpoint pairs (no B axis for one pair).

    Attributes:
        linear: (B, k + 1, D) the linear path, the starting point.
        path: (B, k + 1, D) the optimised path: per pair, the iterate of lowest energy
            (so never above the linear path's). Its endpoints are the given x and y, bit
            for bit.
        energy_linear, energy: (B,) eq. 3 energy of the two paths (float64).
        history: (steps + 1, B) energy of every iterate, history[0] the starting path
            (the linear one unless ``init`` was given). An iterate of infinite or NaN
            energy (a step off the prior's support) is never kept.
        best_step: (B,) the step whose iterate ``path`` is.
    """

    linear: Tensor
    path: Tensor
    energy_linear: Tensor
    energy: Tensor
    history: Tensor
    best_step: Tensor


def _decode(generator: nn.Module, path: Tensor) -> Tensor:
    """All points of ``path`` (..., k + 1, D) through ``generator`` in one batched call,
    with gradients: images (..., k + 1, *image shape)."""
    out = generator(path.reshape(-1, path.shape[-1]))
    return out.reshape(*path.shape[:-1], *out.shape[1:])


def optimise_path(
    generator: nn.Module,
    index: RealismIndex,
    x: Tensor,
    y: Tensor,
    *,
    k: int = 50,
    steps: int = 200,
    lr: float = 0.05,
    optimizer: str = "adam",
    alpha: float = DEFAULT_ALPHA,
    init: Tensor | None = None,
) -> RIPath:
    """The ri-optimal interpolation from x to y (the paper's section 5): minimise the
    eq. 3 energy (:func:`path_energy`) over the k - 1 inner points by gradient descent,
    starting from the linear path (or from ``init``), with x and y fixed.

    Each step decodes every point of every path in one batched call of ``generator``
    (in eval mode, restored afterwards; its weights get no gradients), sums the energies
    of the B pairs (independent: each pair's energy depends on its own points only, and
    both optimisers act per coordinate) and takes one step:

    * ``"adam"`` (default): Adam with step size ``lr``, which moves every coordinate by
      about ``lr`` latent units per step whatever the scale of the images. The paper says
      "gradient descent" without details; Adam needs no tuning of lr to the image scale.
    * ``"gd"``: plain gradient descent, x_i <- x_i - lr dE/dx_i.

    ``steps`` steps decode ``steps + 1`` times (the last iterate is scored too); the
    result keeps, per pair, the iterate of lowest energy.

    Args:
        generator: latent (M, D) -> images (M, ...), on any device; the path is optimised
            there in the generator's floating dtype.
        index: the prior's realisticity index (:func:`index_for`), dimension D.
        x, y: endpoints, (D,) or (B, D).
        k: the path has k + 1 points, k - 1 of them free (the paper: 50).
        steps: gradient steps (0 returns the linear path and its energy).
        lr: step size (> 0).
        optimizer: "adam" or "gd".
        alpha: the rescaling ri_alpha = alpha ri, in (0, 1].
        init: optional starting inner points, (B, k - 1, D) (or (k - 1, D)).
    """
    check_int("optimise_path", "k", k, 2)
    check_int("optimise_path", "steps", steps, 0)
    if not isinstance(lr, int | float) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"optimise_path: 'lr' must be a positive number, got {lr!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimise_path: unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    alpha = _check_alpha("optimise_path", alpha)
    x, y = _check_endpoints(x, y, index.dim)
    single = x.ndim == 1
    param = next(iter(generator.parameters()), None)
    device = param.device if param is not None else x.device
    dtype = param.dtype if param is not None and param.is_floating_point() else x.dtype
    x = (x[None] if single else x).to(device, dtype)
    y = (y[None] if single else y).to(device, dtype)
    batch, dim = x.shape
    linear = linear_path(x, y, k)  # (B, k + 1, D)
    if init is None:
        start = linear[:, 1:-1]
    else:
        start = torch.as_tensor(init).to(device, dtype)
        start = start[None] if single and start.ndim == 2 else start
        if start.shape != (batch, k - 1, dim):
            expected = (k - 1, dim) if single else (batch, k - 1, dim)
            raise ValueError(
                f"optimise_path: 'init' must have shape {expected} (the inner points), got {tuple(init.shape)}"
            )
        if not torch.isfinite(start).all():
            raise ValueError("optimise_path: 'init' must be finite")
    inner = start.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([inner], lr=lr) if optimizer == "adam" else torch.optim.SGD([inner], lr=lr)

    def assemble(points: Tensor) -> Tensor:
        return torch.cat([x[:, None], points, y[:, None]], dim=1)

    history = []
    best = start.detach().clone()
    best_energy = torch.full((batch,), math.inf, dtype=torch.float64, device=device)
    best_step = torch.zeros(batch, dtype=torch.long, device=device)
    was_training = generator.training
    generator.eval()
    try:
        for step in range(steps + 1):
            path = assemble(inner)
            energy = path_energy(index, path, _decode(generator, path), alpha)  # (B,)
            if step == 0 and not torch.isfinite(energy).all():
                bad = (~torch.isfinite(energy)).nonzero().flatten().tolist()
                raise ValueError(
                    f"optimise_path: the starting path of pair(s) {bad} has infinite energy: a point with ri = 0 "
                    "(outside the prior's support, or beyond float64 range)"
                )
            detached = energy.detach()
            history.append(detached.cpu())
            better = detached < best_energy
            best_energy = torch.where(better, detached, best_energy)
            best_step = torch.where(better, torch.full_like(best_step, step), best_step)
            best = torch.where(better[:, None, None], inner.detach(), best)
            if step == steps:
                break
            opt.zero_grad(set_to_none=True)
            energy.sum().backward(inputs=[inner])
            opt.step()
        start_energy = history[0]
        if init is not None:  # the linear path was not the start: score it too
            with torch.no_grad():
                start_energy = path_energy(index, linear, _decode(generator, linear), alpha).cpu()
    finally:
        generator.train(was_training)

    path = assemble(best)
    squeeze = (lambda t: t[0]) if single else (lambda t: t)
    return RIPath(
        linear=squeeze(linear.detach()),
        path=squeeze(path.detach()),
        energy_linear=squeeze(start_energy),
        energy=squeeze(best_energy.cpu()),
        history=torch.stack(history)[:, 0] if single else torch.stack(history),
        best_step=squeeze(best_step.cpu()),
    )


def plane_coordinates(path: Tensor) -> Tensor:
    """The paper's eq. 4: each point z_i of a path (..., k + 1, D) projected onto the plane
    spanned by its endpoints z_0 and z_k (through the origin), written in that basis:
    (a_i, b_i) with a_i z_0 + b_i z_k = X (X^T X)^{-1} X^T z_i, X = [z_0, z_k].

    Returns (..., k + 1, 2) in float64. The linear path maps to (1 - t, t), the straight
    segment from (1, 0) to (0, 1); the origin is (0, 0). Raises :class:`ValueError` when the
    endpoints are (nearly) parallel, where the plane is not defined."""
    path = torch.as_tensor(path).to(torch.float64)
    if path.ndim < 2 or path.shape[-2] < 2:
        raise ValueError(f"plane_coordinates: path must have shape (..., k + 1, D), got {tuple(path.shape)}")
    basis = torch.stack([path[..., 0, :], path[..., -1, :]], dim=-1)  # (..., D, 2)
    gram = basis.transpose(-1, -2) @ basis  # (..., 2, 2)
    norms = gram.diagonal(dim1=-2, dim2=-1)
    # det / (|z_0|^2 |z_k|^2) = sin^2 of the angle between the endpoints.
    sin2 = torch.linalg.det(gram) / (norms[..., 0] * norms[..., 1])
    if not (torch.isfinite(sin2) & (sin2 > 1e-12)).all():
        raise ValueError("plane_coordinates: the endpoints are zero or (nearly) parallel, so they span no plane")
    rhs = basis.transpose(-1, -2) @ path.transpose(-1, -2)  # (..., 2, k + 1)
    return torch.linalg.solve(gram, rhs).transpose(-1, -2)

"""Latent priors of the four papers, as objects with one API, and a registry by name.

Every prior draws ``sample(n, dim, generator=None, dtype=..., device=...)`` of shape
``(n, dim)``. Where the mathematics gives them:

* i.i.d. priors (``iid = True``) give the per-coordinate law: ``cdf``, ``icdf`` and the
  frozen ``scipy.stats`` distribution ``coordinate``;
* isotropic priors (``isotropic = True``) give the law of the Euclidean norm in
  dimension ``dim``: ``norm_cdf(r, dim)`` and ``norm_icdf(u, dim)``;
* priors with a Lebesgue density give ``log_prob(z)`` (summed over the last axis).

Samples are drawn in float64 on the CPU from the caller's ``torch.Generator`` and only
then cast and moved, so a seed gives the same numbers whatever dtype or device is asked
for. The per-coordinate laws come from ``torch.distributions`` where torch implements
``cdf``/``icdf`` (normal, uniform, Cauchy: fast, differentiable, on any device) and from
``scipy.stats`` otherwise (chi, chi-squared, Poisson, half-normal), evaluated in float64.

Use :func:`get` to build a prior by name, :func:`names` to list them::

    >>> from latentspace import priors
    >>> z = priors.get("cauchy", scale=1.0).sample(16, 100)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.stats
import torch
from torch import Tensor

from latentspace import catalog as _catalog
from latentspace._checks import check_int
from latentspace._registry import accepted_parameters, construct

__all__ = [
    "Prior",
    "IIDPrior",
    "Normal",
    "Uniform",
    "Cauchy",
    "Sphere",
    "Discrete",
    "Radial",
    "Sparse",
    "Orthogonal",
    "Semicircle",
    "Poisson",
    "ChiSquared",
    "Scaled",
    "get",
    "names",
    "register",
    "square_moments",
    "observation_2_1",
    "NormLaw",
    "norm_law",
    "from_specs",
]

_REGISTRY: dict[str, type[Prior]] = {}


def register(cls: type[Prior]) -> type[Prior]:
    """Class decorator: make ``cls`` available to :func:`get` under ``cls.name``, with the
    properties (``iid``, ``continuous``, ...) of its entry in
    :data:`latentspace.catalog.PRIORS` as class attributes."""
    properties = _catalog.PRIORS[cls.name].properties
    for key in _catalog.PROPERTY_NAMES:
        setattr(cls, key, getattr(properties, key))
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """Names of all registered priors, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **params: Any) -> Prior:
    """Build the prior registered as ``name`` with keyword ``params``.

    Unknown names and unknown or invalid parameters raise :class:`ValueError` naming
    what is wrong and what is allowed, so a typo in a config never passes silently.
    ``scaled``, ``sparse`` and ``orthogonal`` take their base prior as a name (``base``)
    and its parameters as a mapping (``base_params``).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown prior {name!r}; valid priors: {', '.join(names())}")
    return construct("prior", name, _REGISTRY[name], params)


# --------------------------------------------------------------------------- helpers


def _check_params(prior: str, **params: Any) -> None:
    """Check parameters against the prior's constraints, kept once as data in
    :data:`latentspace.catalog.PRIORS`; the error names the prior, the parameter and what it
    must be."""
    _catalog.check_params(prior, params)


def _check_shape(n: int, dim: int) -> None:
    check_int("sample", "n", n)
    check_int("sample", "dim", dim)


def _uniform(n: int, dim: int, generator: torch.Generator | None) -> Tensor:
    """U(0, 1) in float64 on the CPU; never exactly 0 so icdf(u) stays finite."""
    u = torch.rand(n, dim, generator=generator, dtype=torch.float64)
    return u.clamp_min_(torch.finfo(torch.float64).tiny)


def _unit_directions(n: int, dim: int, generator: torch.Generator | None) -> Tensor:
    """Uniform directions on the unit sphere S^{dim-1}: normalised standard normals."""
    g = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    norms = g.norm(dim=-1, keepdim=True)
    # A zero Gaussian vector has probability 0; guard it so division is always defined.
    return g / norms.clamp_min(torch.finfo(torch.float64).tiny)


def _scipy_apply(fn: Callable[[np.ndarray], np.ndarray], x: Tensor) -> Tensor:
    """Evaluate a numpy/scipy function on a tensor in float64; keep dtype and device."""
    out = fn(x.detach().to("cpu", torch.float64).numpy())
    return torch.as_tensor(np.asarray(out, dtype=np.float64)).to(x.device, x.dtype)


def _log_sphere_area(dim: int, r: Tensor) -> Tensor:
    """log of the surface area of the sphere of radius r in R^dim: 2 pi^{d/2} r^{d-1} / Gamma(d/2)."""
    return (
        math.log(2.0)
        + 0.5 * dim * math.log(math.pi)
        - math.lgamma(0.5 * dim)
        + (dim - 1) * torch.log(r)
    )


# --------------------------------------------------------------------------- base classes


class Prior:
    """A latent prior on R^D. Subclasses set the class attributes and write ``_sample``.

    Attributes:
        name: registry name.
        iid: coordinates are independent and identically distributed, so
            ``cdf``/``icdf``/``coordinate`` describe one coordinate.
        isotropic: the law is invariant under rotations, so it is fixed by the law of
            the norm, given by ``norm_cdf``/``norm_icdf``.
        continuous: the per-coordinate (i.i.d.) or norm (isotropic) law has no atoms,
            so the monotone maps built from its cdf are bijections.
        has_density: ``log_prob`` is defined.
        torch_density: ``log_prob`` is a torch function (autograd differentiates it).
        symmetric: Z and -Z have the same law, so cdf(x) = 1 - cdf(-x); monotone maps
            then work on the lower half only, where probabilities are exact.

    The properties come from the prior's entry in :data:`latentspace.catalog.PRIORS`
    (:func:`register`), where the workflow reads them without torch.
    """

    name: str = ""
    iid: bool = False
    isotropic: bool = False
    continuous: bool = False
    has_density: bool = False
    torch_density: bool = False
    symmetric: bool = False

    def sample(
        self,
        n: int,
        dim: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """Draw ``n`` latent vectors of dimension ``dim``; a tensor of shape (n, dim).

        The draw is made in float64 on the CPU from ``generator`` (a CPU generator; the
        global one when None), then cast to ``dtype`` and moved to ``device``.
        """
        _check_shape(n, dim)
        z = self._sample(n, dim, generator)
        return z.to(device=device, dtype=dtype)

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    # Per-coordinate law (i.i.d. priors).
    def cdf(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"the {self.name} prior is not i.i.d.: it has no per-coordinate cdf")

    def icdf(self, u: Tensor) -> Tensor:
        raise NotImplementedError(f"the {self.name} prior is not i.i.d.: it has no per-coordinate icdf")

    # Law of the norm (isotropic priors).
    def norm_cdf(self, r: Tensor, dim: int) -> Tensor:
        raise NotImplementedError(f"the {self.name} prior is not isotropic: no closed-form norm law")

    def norm_icdf(self, u: Tensor, dim: int) -> Tensor:
        raise NotImplementedError(f"the {self.name} prior is not isotropic: no closed-form norm law")

    def log_prob(self, z: Tensor) -> Tensor:
        raise NotImplementedError(f"the {self.name} prior has no density on R^D")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({params})"

    def params(self) -> dict[str, Any]:
        """The constructor parameters, for logs and tables."""
        return {k: getattr(self, k) for k in accepted_parameters(type(self))}


class IIDPrior(Prior):
    """A product of D copies of one scalar law.

    Subclasses give ``coordinate`` (a frozen ``scipy.stats`` law) and, where torch
    implements ``cdf``/``icdf`` for it, ``_torch_law()`` (a ``torch.distributions``
    object in float64). Sampling is ``icdf(U)`` with U ~ U(0, 1) unless overridden.
    ``iid`` holds for any subclass, registered or not (a prior defined outside the package
    sets its other properties itself).
    """

    iid = True
    coordinate: Any = None

    def _torch_law(self, like: Tensor) -> torch.distributions.Distribution | None:
        return None

    def cdf(self, x: Tensor) -> Tensor:
        law = self._torch_law(x)
        return law.cdf(x) if law is not None else _scipy_apply(self.coordinate.cdf, x)

    def icdf(self, u: Tensor) -> Tensor:
        law = self._torch_law(u)
        return law.icdf(u) if law is not None else _scipy_apply(self.coordinate.ppf, u)

    def log_prob(self, z: Tensor) -> Tensor:
        if not self.has_density:
            return super().log_prob(z)
        law = self._torch_law(z)
        if law is not None:
            return law.log_prob(z).sum(-1)
        return _scipy_apply(self.coordinate.logpdf, z).sum(-1)

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        probe = torch.zeros((), dtype=torch.float64)
        if self._torch_law(probe) is not None or self.coordinate is None:
            return self.icdf(_uniform(n, dim, generator))
        # Laws without a torch icdf (chi-squared, Poisson, ...): scipy's own sampler,
        # about 50 times faster than its ppf, driven by a numpy generator whose seed is
        # drawn from the torch generator, so the torch seed still fixes every number.
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        draws = self.coordinate.rvs(size=(n, dim), random_state=np.random.default_rng(seed))
        return torch.from_numpy(np.asarray(draws, dtype=np.float64))


# --------------------------------------------------------------------------- the priors


@register
class Normal(IIDPrior):
    """Standard normal N(0, I_D): density (2 pi)^{-D/2} exp(-||z||^2 / 2).

    Both i.i.d. (coordinates N(0, 1)) and isotropic: ||Z|| follows the chi law with D
    degrees of freedom, ``scipy.stats.chi(D)``.
    """

    name = "normal"

    def __init__(self) -> None:
        self.coordinate = scipy.stats.norm()

    def _torch_law(self, like: Tensor) -> torch.distributions.Distribution:
        zero = torch.zeros((), dtype=like.dtype, device=like.device)
        return torch.distributions.Normal(zero, zero + 1, validate_args=False)

    # torch.distributions.Normal (and torch.special.ndtr) compute the cdf as
    # (1 + erf(x / sqrt 2)) / 2, which is exactly 0 below x = -8.3; exp(log_ndtr) keeps full
    # relative precision down to the smallest float (x = -37.5). ndtri is exact in the tails.
    def cdf(self, x: Tensor) -> Tensor:
        return torch.special.log_ndtr(x).exp()

    def icdf(self, u: Tensor) -> Tensor:
        return torch.special.ndtri(u)

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        return torch.randn(n, dim, generator=generator, dtype=torch.float64)

    def norm_cdf(self, r: Tensor, dim: int) -> Tensor:
        return _scipy_apply(scipy.stats.chi(dim).cdf, r)

    def norm_icdf(self, u: Tensor, dim: int) -> Tensor:
        return _scipy_apply(scipy.stats.chi(dim).ppf, u)


@register
class Uniform(IIDPrior):
    """Uniform on the hypercube [-1, 1]^D: density 2^{-D} on the cube."""

    name = "uniform"

    def __init__(self) -> None:
        self.coordinate = scipy.stats.uniform(loc=-1.0, scale=2.0)

    def _torch_law(self, like: Tensor) -> torch.distributions.Distribution:
        one = torch.ones((), dtype=like.dtype, device=like.device)
        return torch.distributions.Uniform(-one, one, validate_args=False)

    def cdf(self, x: Tensor) -> Tensor:
        # torch's Uniform.cdf does not clamp outside the support.
        return super().cdf(x).clamp(0.0, 1.0)

    def log_prob(self, z: Tensor) -> Tensor:
        inside = (z.abs() <= 1).all(-1)
        lp = torch.full(z.shape[:-1], -z.shape[-1] * math.log(2.0), dtype=z.dtype, device=z.device)
        return lp.masked_fill(~inside, -math.inf)


@register
class Cauchy(IIDPrior):
    """Product of D Cauchy laws C(0, gamma): density prod_j gamma / (pi (gamma^2 + z_j^2)).

    ``scale`` is gamma. The Cauchy law has no finite moments: its mean is undefined (NaN)
    and its variance infinite, which is why averages of Cauchy samples stay Cauchy
    (the first paper's Observation 2.3).
    """

    name = "cauchy"

    def __init__(self, scale: float = 1.0) -> None:
        _check_params(self.name, scale=scale)
        self.scale = float(scale)
        self.coordinate = scipy.stats.cauchy(scale=self.scale)

    def _torch_law(self, like: Tensor) -> torch.distributions.Distribution:
        zero = torch.zeros((), dtype=like.dtype, device=like.device)
        return torch.distributions.Cauchy(zero, zero + self.scale, validate_args=False)

    # F(x) = 1/2 + atan(x / gamma) / pi and F^-1(p) = gamma tan(pi (p - 1/2)), as torch
    # computes them, cancel catastrophically in the tails (F(-1e10) comes out with a
    # relative error of 1e-7, F^-1(1e-20) is off by three orders of magnitude). Below the
    # median we use the equivalent forms F(x) = atan(gamma / -x) / pi and
    # F^-1(p) = -gamma / tan(pi p), exact down to the smallest float; above it, symmetry.
    def cdf(self, x: Tensor) -> Tensor:
        lower = torch.atan(self.scale / x.abs()) / math.pi
        return torch.where(x < 0, lower, 1 - lower)

    def icdf(self, u: Tensor) -> Tensor:
        lower = -self.scale / torch.tan(math.pi * torch.minimum(u, 1 - u))
        return torch.where(u < 0.5, lower, -lower)


@register
class Sphere(Prior):
    """Uniform on the sphere {z : ||z|| = r} in R^D (no density on R^D).

    Isotropic with a degenerate norm law: ||Z|| = r almost surely.
    """

    name = "sphere"

    def __init__(self, radius: float = 1.0) -> None:
        _check_params(self.name, radius=radius)
        self.radius = float(radius)

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        return self.radius * _unit_directions(n, dim, generator)

    def norm_cdf(self, r: Tensor, dim: int) -> Tensor:
        return (r >= self.radius).to(r.dtype)

    def norm_icdf(self, u: Tensor, dim: int) -> Tensor:
        return torch.full_like(u, self.radius)


@register
class Discrete(IIDPrior):
    """Uniform on the vertices {-1, 1}^D of the hypercube: each coordinate is +-1 with
    probability 1/2 (a Rademacher law, ``2 * Bernoulli(1/2) - 1``)."""

    name = "discrete"

    def __init__(self) -> None:
        self.coordinate = scipy.stats.rv_discrete(values=([-1, 1], [0.5, 0.5]))

    def cdf(self, x: Tensor) -> Tensor:
        return 0.5 * (x >= -1).to(x.dtype) + 0.5 * (x >= 1).to(x.dtype)

    def icdf(self, u: Tensor) -> Tensor:
        return torch.where(u <= 0.5, -torch.ones_like(u), torch.ones_like(u))


@register
class Radial(Prior):
    """Uniform direction times a radius R whose law does not depend on D.

    This follows the idea of Kilcher et al. (2017), "Semantic interpolation in implicit
    models": a prior whose norm does not concentrate as D grows, so that the origin is
    not left empty. We could not confirm the exact radius law used there, so the law is
    a parameter: ``radius_law`` names a ``scipy.stats`` distribution on (0, inf)
    (one of halfnorm, chi, lognorm, gamma, uniform, rayleigh) and ``radius_params`` its
    keyword arguments. The default is the half-normal law with scale 1, i.e. the norm of
    a one-dimensional standard normal (chi with one degree of freedom).

    Density on R^D: f_R(||z||) / (area of the sphere of radius ||z||).
    """

    name = "radial"

    def __init__(self, radius_law: str = "halfnorm", radius_params: dict | None = None) -> None:
        _check_params(self.name, radius_law=radius_law, radius_params=radius_params)
        self.radius_law = radius_law
        self.radius_params = dict(radius_params or {})
        try:
            self._radius = getattr(scipy.stats, radius_law)(**self.radius_params)
            self._radius.cdf(1.0)
        except TypeError as exc:
            raise ValueError(f"radial prior: bad 'radius_params' for {radius_law}: {exc}") from None
        if self._radius.support()[0] < 0:
            raise ValueError(f"radial prior: radius law {radius_law} {self.radius_params} allows negative radii")

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        directions = _unit_directions(n, dim, generator)
        radii = self.norm_icdf(_uniform(n, 1, generator), dim)
        return directions * radii

    def norm_cdf(self, r: Tensor, dim: int) -> Tensor:
        return _scipy_apply(self._radius.cdf, r)

    def norm_icdf(self, u: Tensor, dim: int) -> Tensor:
        return _scipy_apply(self._radius.ppf, u)

    def log_prob(self, z: Tensor) -> Tensor:
        r = z.norm(dim=-1)
        return _scipy_apply(self._radius.logpdf, r) - _log_sphere_area(z.shape[-1], r)


def _base(base: str, base_params: dict | None) -> Prior:
    """The base prior of sparse, orthogonal and scaled (checked by the catalog: one that
    wraps no other)."""
    return get(base, **dict(base_params or {}))


@register
class Sparse(Prior):
    """A base prior with D - k coordinates, chosen at random per sample, set to zero.

    The first paper's pathological "sparse" prior (section 4, Fig. 11): each sample keeps
    exactly ``k`` non-zero coordinates. Its norms match a dense ``base`` sample multiplied
    by sqrt(k / D), which is how the paper probes it.
    """

    name = "sparse"

    def __init__(self, k: int = 50, base: str = "normal", base_params: dict | None = None) -> None:
        _check_params(self.name, k=k, base=base, base_params=base_params)
        self.k, self.base, self.base_params = k, base, dict(base_params or {})
        self._base = _base(base, base_params)

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        if self.k > dim:
            raise ValueError(f"sparse prior: parameter 'k' = {self.k} exceeds the dimension {dim}")
        z = self._base._sample(n, dim, generator)
        # Keep the k coordinates with the smallest keys of a random permutation per row.
        keys = torch.rand(n, dim, generator=generator, dtype=torch.float64)
        keep = torch.zeros(n, dim, dtype=torch.bool)
        keep.scatter_(1, keys.argsort(dim=1)[:, : self.k], True)
        return z * keep


@register
class Orthogonal(Prior):
    """A base prior whose last D - k coordinates are set to zero (first paper, Fig. 12):
    the training codes fill a k-dimensional subspace, orthogonal to the rest."""

    name = "orthogonal"

    def __init__(self, k: int = 50, base: str = "normal", base_params: dict | None = None) -> None:
        _check_params(self.name, k=k, base=base, base_params=base_params)
        self.k, self.base, self.base_params = k, base, dict(base_params or {})
        self._base = _base(base, base_params)

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        if self.k > dim:
            raise ValueError(f"orthogonal prior: parameter 'k' = {self.k} exceeds the dimension {dim}")
        z = self._base._sample(n, dim, generator)
        z[:, self.k :] = 0
        return z


# Section 6 of "Interpolation in generative models": means and covariances on (z_1, z_2).
_SEMICIRCLE_MEANS = ((2.0, 6.0), (0.0, 0.0), (2.0, -6.0))
_SEMICIRCLE_COVS = (((5.0, 2.0), (2.0, 2.0)), ((1.0, 0.0), (0.0, 3.0)), ((5.0, -2.0), (-2.0, 2.0)))


@register
class Semicircle(Prior):
    """The "semicircle" prior of Struski et al., section 6: an equal-weight mixture of
    three Gaussians N(mu_i, Sigma_i), i = 1..3, whose first two coordinates have means
    (2, 6), (0, 0), (2, -6) and covariances [[5, 2], [2, 2]], [[1, 0], [0, 3]],
    [[5, -2], [-2, 2]], and whose remaining coordinates are independent with variance
    ``tail_variance`` (0.5 in the paper, which uses D = 20). In two dimensions it looks
    like a horseshoe. Needs D >= 2.
    """

    name = "semicircle"

    def __init__(self, tail_variance: float = 0.5) -> None:
        _check_params(self.name, tail_variance=tail_variance)
        self.tail_variance = float(tail_variance)

    def mixture(self, dim: int, dtype: torch.dtype = torch.float64) -> torch.distributions.MixtureSameFamily:
        """The mixture as a ``torch.distributions`` object in dimension ``dim``."""
        if dim < 2:
            raise ValueError(f"semicircle prior needs dim >= 2, got {dim}")
        means = torch.zeros(3, dim, dtype=dtype)
        means[:, :2] = torch.tensor(_SEMICIRCLE_MEANS, dtype=dtype)
        covs = torch.eye(dim, dtype=dtype).repeat(3, 1, 1) * self.tail_variance
        covs[:, :2, :2] = torch.tensor(_SEMICIRCLE_COVS, dtype=dtype)
        weights = torch.distributions.Categorical(probs=torch.full((3,), 1 / 3, dtype=dtype))
        components = torch.distributions.MultivariateNormal(means, covariance_matrix=covs)
        return torch.distributions.MixtureSameFamily(weights, components)

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        if dim < 2:
            raise ValueError(f"semicircle prior needs dim >= 2, got {dim}")
        # The covariances are block diagonal: a 2 x 2 block per component on (z_1, z_2)
        # and tail_variance * I elsewhere, so only the 2 x 2 Cholesky factors are needed
        # (a full (n, D, D) batch would take n D^2 floats).
        comp = torch.randint(0, 3, (n,), generator=generator)
        eps = torch.randn(n, dim, generator=generator, dtype=torch.float64)
        means = torch.tensor(_SEMICIRCLE_MEANS, dtype=torch.float64)
        chol = torch.linalg.cholesky(torch.tensor(_SEMICIRCLE_COVS, dtype=torch.float64))
        z = eps * math.sqrt(self.tail_variance)
        z[:, :2] = means[comp] + (chol[comp] @ eps[:, :2, None]).squeeze(-1)
        return z

    def log_prob(self, z: Tensor) -> Tensor:
        return self.mixture(z.shape[-1], torch.float64).log_prob(z.to(torch.float64)).to(z.dtype)


@register
class Poisson(IIDPrior):
    """i.i.d. Poisson(lam) coordinates: a non-symmetric, discrete sampling law used by the
    spherical auto-encoder paper to show that spherized sampling does not care about the
    noise law."""

    name = "poisson"

    def __init__(self, lam: float = 1.0) -> None:
        _check_params(self.name, lam=lam)
        self.lam = float(lam)
        self.coordinate = scipy.stats.poisson(self.lam)


@register
class ChiSquared(IIDPrior):
    """i.i.d. chi-squared coordinates with ``k`` degrees of freedom (non-symmetric, used
    with Poisson by the spherical auto-encoder paper)."""

    name = "chi2"

    def __init__(self, k: float = 1.0) -> None:
        _check_params(self.name, k=k)
        self.k = k
        self.coordinate = scipy.stats.chi2(k)


def _scaled_law(law: Any, alpha: float) -> Any:
    """The frozen ``scipy.stats`` law of alpha X for X ~ ``law`` (alpha > 0): the same
    distribution with loc and scale multiplied by alpha. None where scipy cannot express
    it: discrete laws (no scale parameter) and alpha = 0 (a point mass)."""
    if alpha == 0 or not isinstance(getattr(law, "dist", None), scipy.stats.rv_continuous):
        return None
    n_shapes = law.dist.numargs
    args, kwds = list(law.args), dict(law.kwds)
    loc = kwds.pop("loc", args[n_shapes] if len(args) > n_shapes else 0.0)
    scale = kwds.pop("scale", args[n_shapes + 1] if len(args) > n_shapes + 1 else 1.0)
    return law.dist(*args[:n_shapes], loc=alpha * loc, scale=alpha * scale, **kwds)


@register
class Scaled(Prior):
    """``alpha`` times a base prior: the "test" distribution of the void probes (first
    paper, section 4: the same prior with lower variance, alpha < 1).

    Inherits the structure of the base: i.i.d. with cdf(x) = F_base(x / alpha), isotropic
    with norm law scaled by alpha; ``coordinate`` is the base's scipy law with loc and
    scale times alpha (None for a discrete base, which scipy cannot rescale). ``alpha = 0``
    is the point mass at the origin, which can be sampled but has no cdf.
    """

    name = "scaled"

    def __init__(self, base: str = "normal", alpha: float = 1.0, base_params: dict | None = None) -> None:
        _check_params(self.name, base=base, alpha=alpha, base_params=base_params)
        self.base, self.alpha, self.base_params = base, float(alpha), dict(base_params or {})
        self._base = _base(base, base_params)
        properties = _catalog.prior_properties(self.name, {"base": base, "alpha": alpha, "base_params": base_params})
        for key in _catalog.PROPERTY_NAMES:  # the base's, except at alpha = 0
            setattr(self, key, getattr(properties, key))
        # The law of one coordinate of alpha * Z, not of Z: loc and scale times alpha.
        self.coordinate = _scaled_law(getattr(self._base, "coordinate", None), self.alpha)

    @property
    def base_prior(self) -> Prior:
        """The prior that is scaled (an object; ``base`` is its name)."""
        return self._base

    def _need_alpha(self) -> None:
        if self.alpha == 0:
            raise ValueError("scaled prior with alpha = 0 is a point mass: it has no cdf, icdf or density")

    def _sample(self, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
        return self.alpha * self._base._sample(n, dim, generator)

    def cdf(self, x: Tensor) -> Tensor:
        self._need_alpha()
        return self._base.cdf(x / self.alpha)

    def icdf(self, u: Tensor) -> Tensor:
        self._need_alpha()
        return self.alpha * self._base.icdf(u)

    def norm_cdf(self, r: Tensor, dim: int) -> Tensor:
        self._need_alpha()
        return self._base.norm_cdf(r / self.alpha, dim)

    def norm_icdf(self, u: Tensor, dim: int) -> Tensor:
        self._need_alpha()
        return self.alpha * self._base.norm_icdf(u, dim)

    def log_prob(self, z: Tensor) -> Tensor:
        self._need_alpha()
        return self._base.log_prob(z / self.alpha) - z.shape[-1] * math.log(self.alpha)


# --------------------------------------------------------------------------- moments


def square_moments(prior: Prior) -> tuple[float, float]:
    """(mu, sigma^2): mean and variance of Z^2 for one coordinate Z of an i.i.d. prior.

    Computed by ``scipy.stats`` from the coordinate law. For the Cauchy law E[Z^2] is
    infinite and Var[Z^2] undefined, returned as ``(inf, nan)``.
    """
    # A scaled prior: the moments of its base law times alpha^2 and alpha^4 (its own
    # ``coordinate`` is None for discrete bases and alpha = 0).
    scaled = isinstance(prior, Scaled)
    law = getattr(prior.base_prior if scaled else prior, "coordinate", None)
    if not prior.iid or law is None:
        raise ValueError(f"square_moments needs an i.i.d. prior, got {prior.name}")
    m2, m4 = float(law.moment(2)), float(law.moment(4))
    if scaled:
        m2, m4 = prior.alpha**2 * m2, prior.alpha**4 * m4
    if not math.isfinite(m2):
        return math.inf, math.nan
    return m2, m4 - m2 * m2


def observation_2_1(prior: Prior, dim: int) -> tuple[float, float]:
    """Mean and variance that Observation 2.1 of the first paper predicts for ||Z||.

    If Z^2 has mean mu and variance sigma^2, ||Z|| is approximately
    N(sqrt(D mu), sigma^2 / (4 mu)) for large D. For the normal prior mu = 1,
    sigma^2 = 2, so the variance is 1/2. The paper's text writes N(sqrt(D), 1) there,
    which contradicts its own formula; we follow the formula (and the chi law agrees:
    Var ||Z|| -> 1/2). For the uniform prior on [-1, 1], mu = 1/3, sigma^2 = 4/45 and
    the variance is 1/15, as the paper says.
    """
    mu, sigma2 = square_moments(prior)
    if not math.isfinite(mu):
        raise ValueError(f"Observation 2.1 needs E[Z^2] finite; the {prior.name} prior has none")
    return math.sqrt(dim * mu), sigma2 / (4 * mu)


# --------------------------------------------------------------------------- norm laws


class NormLaw:
    """The law of ||Z|| in dimension ``dim`` as a pair of maps ``cdf``/``icdf`` on tensors.

    Exact for isotropic priors (their ``norm_cdf``/``norm_icdf``). For any other prior
    it is estimated from ``n`` Monte Carlo norms drawn with ``seed``: a piecewise linear
    cdf through the sorted norms at plotting positions (i + 1/2) / n, and its inverse.
    Its error in probability is then of order n^{-1/2} (Dvoretzky-Kiefer-Wolfowitz).
    """

    def __init__(self, prior: Prior, dim: int, n: int = 1 << 16, seed: int = 0) -> None:
        self.prior, self.dim, self.exact = prior, dim, prior.isotropic
        if not self.exact:
            g = torch.Generator().manual_seed(seed)
            norms = prior.sample(n, dim, generator=g, dtype=torch.float64).norm(dim=-1)
            self._norms = np.sort(norms.numpy())
            self._probs = (np.arange(n) + 0.5) / n

    def cdf(self, r: Tensor) -> Tensor:
        if self.exact:
            return self.prior.norm_cdf(r, self.dim)
        return _scipy_apply(lambda x: np.interp(x, self._norms, self._probs, left=0.0, right=1.0), r)

    def icdf(self, u: Tensor) -> Tensor:
        if self.exact:
            return self.prior.norm_icdf(u, self.dim)
        return _scipy_apply(lambda p: np.interp(p, self._probs, self._norms), u)


_NORM_LAWS: dict[tuple[str, int], NormLaw] = {}


def norm_law(prior: Prior, dim: int) -> NormLaw:
    """The (cached) law of ||Z|| for ``prior`` in dimension ``dim``; see :class:`NormLaw`."""
    key = (repr(prior), dim)
    if key not in _NORM_LAWS:
        _NORM_LAWS[key] = NormLaw(prior, dim)
    return _NORM_LAWS[key]


def from_specs(specs: dict[str, dict]) -> dict[str, Prior]:
    """Build priors from config entries ``{label: {"prior": name, "params": {...}}}``."""
    return {label: get(spec["prior"], **dict(spec.get("params") or {})) for label, spec in specs.items()}

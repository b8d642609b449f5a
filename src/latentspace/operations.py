"""Latent-space operations of the four papers, each a named, registered function.

Shapes: latent codes are tensors of shape (..., D) and broadcast against each other.
The interpolation parameter ``t`` is a float, giving a result of the endpoints' shape,
or a 1-D tensor (or sequence) of k values, adding a leading axis of length k. At
``t = 0`` every interpolation returns ``z1`` and at ``t = 1`` it returns ``z2``.

The 2-point interpolations share one signature, ``f(z1, z2, t, prior=None)``, so a
table can run every prior against every one of them:

=========================  ===============================================================
``linear``                 (1 - t) z1 + t z2
``slerp``                  spherical linear interpolation (Shoemake; White 2016)
``normalized``             linear / sqrt((1 - t)^2 + t^2) (Agustsson et al.)
``cauchy_linear``          g((1 - t) g^-1(z1) + t g^-1(z2)), g = F_Z^-1 o F_C per coordinate
``spherical_cauchy_linear``  slerp of directions, Cauchy-linear of norms
``ot_matched``             the monotone (optimal transport) map of the linear result
=========================  ===============================================================

The other operations (n-point and 4-point grid interpolation, vicinity sampling, random
walk, analogy, each with a ``matched`` form, and centerization + spherization) are
registered too; :func:`get` looks any of them up by name and :func:`names` lists them.

The monotone transport map of any linear combination y = sum_i w_i z_i back to an
i.i.d. prior (:func:`matched_map`) has closed forms for the normal prior
(y / ||w||_2, the matched-operations paper's Table 1), the uniform prior (the exact
piecewise-polynomial cdf of a weighted sum of uniforms; its appendix Example 1 is the
two-term case) and the Cauchy prior (y / ||w||_1); any other i.i.d. prior gets a
numerical map from a Monte Carlo estimate of the law of y.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from latentspace import priors as _priors
from latentspace.priors import Prior

__all__ = [
    "Operation",
    "get",
    "names",
    "interpolation_names",
    "linear",
    "slerp",
    "normalized",
    "cauchy_linear",
    "spherical_cauchy_linear",
    "ot_matched",
    "to_cauchy",
    "from_cauchy",
    "matched_map",
    "n_point",
    "four_point_grid",
    "vicinity",
    "random_walk",
    "analogy",
    "centerize",
    "spherize",
    "centerize_spherize",
]

TLike = float | Sequence[float] | Tensor

_STANDARD_CAUCHY = _priors.Cauchy(1.0)
_TINY = torch.finfo(torch.float64).tiny
_ONE_MINUS = 1.0 - torch.finfo(torch.float64).eps / 2


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Operation:
    """A registered operation: its name, its kind and the function itself.

    ``kind`` is one of "interpolation" (2-point, signature ``f(z1, z2, t, prior=None)``),
    "n_point", "grid", "vicinity", "random_walk", "analogy", "transform".
    """

    name: str
    kind: str
    fn: Callable[..., Tensor]

    def __call__(self, *args, **kwargs) -> Tensor:
        return self.fn(*args, **kwargs)


_REGISTRY: dict[str, Operation] = {}


def _register(name: str, kind: str, fn: Callable[..., Tensor]) -> None:
    _REGISTRY[name] = Operation(name, kind, fn)


def get(name: str) -> Operation:
    """The operation registered as ``name``; unknown names list the valid ones."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown operation {name!r}; valid operations: {', '.join(names())}")
    return _REGISTRY[name]


def names(kind: str | None = None) -> list[str]:
    """Registered operation names (of one ``kind`` if given), in registration order."""
    return [n for n, op in _REGISTRY.items() if kind is None or op.kind == kind]


def interpolation_names() -> list[str]:
    """The 2-point interpolations, all callable as ``f(z1, z2, t, prior=None)``."""
    return names("interpolation")


# --------------------------------------------------------------------------- shape helpers


def _check_latent(label: str, z: Tensor) -> None:
    if not isinstance(z, Tensor):
        raise TypeError(f"{label} must be a torch.Tensor, got {type(z).__name__}")
    if not z.is_floating_point():
        raise TypeError(f"{label} must be a floating-point tensor, got {z.dtype}")
    if z.ndim < 1:
        raise ValueError(f"{label} must have shape (..., D), got a scalar")


def _check_pair(z1: Tensor, z2: Tensor) -> None:
    _check_latent("z1", z1)
    _check_latent("z2", z2)
    if z1.shape[-1] != z2.shape[-1]:
        raise ValueError(f"z1 and z2 must have the same latent dimension, got {z1.shape[-1]} and {z2.shape[-1]}")
    try:
        torch.broadcast_shapes(z1.shape, z2.shape)
    except RuntimeError:
        raise ValueError(f"z1 and z2 shapes {tuple(z1.shape)} and {tuple(z2.shape)} do not broadcast") from None


def _as_t(t: TLike, like: Tensor, ndim: int) -> Tensor:
    """``t`` as a tensor that broadcasts against latents of ``ndim`` dimensions: a scalar
    for a float, shape (k, 1, ..., 1) for k values."""
    tt = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if tt.ndim == 0:
        return tt
    if tt.ndim != 1:
        raise ValueError(f"t must be a float or a 1-D sequence of values, got shape {tuple(tt.shape)}")
    return tt.reshape(-1, *([1] * ndim))


def _need_prior(op: str, prior: Prior | None, *, iid: bool = False, continuous: bool = False) -> Prior:
    if prior is None:
        raise ValueError(f"{op} needs the latent prior: pass prior=latentspace.priors.get(...)")
    if iid and not prior.iid:
        raise ValueError(f"{op} needs an i.i.d. prior (per-coordinate cdf); the {prior.name} prior is not")
    if continuous and not prior.continuous:
        raise ValueError(f"{op} needs a prior with a continuous law; the {prior.name} prior has atoms")
    return prior


# --------------------------------------------------------------------------- interpolations


def linear(z1: Tensor, z2: Tensor, t: TLike, prior: Prior | None = None) -> Tensor:
    """Linear interpolation (1 - t) z1 + t z2: the shortest path, which preserves a prior
    only if the prior has no finite mean (the Cauchy prior; first paper, Obs. 2.2-2.3)."""
    _check_pair(z1, z2)
    tt = _as_t(t, z1, max(z1.ndim, z2.ndim))
    return (1 - tt) * z1 + tt * z2


def _unit(z: Tensor) -> tuple[Tensor, Tensor]:
    norm = z.norm(dim=-1, keepdim=True)
    return z / norm.clamp_min(torch.finfo(z.dtype).tiny), norm


def _orthogonal_to(u: Tensor) -> Tensor:
    """A unit vector orthogonal to each unit vector u (Gram-Schmidt of the coordinate
    axis least aligned with u), deterministic so antiparallel slerp is reproducible."""
    axis = torch.zeros_like(u).scatter_(-1, u.abs().argmin(dim=-1, keepdim=True), 1.0)
    v = axis - (axis * u).sum(-1, keepdim=True) * u
    return v / v.norm(dim=-1, keepdim=True)


def slerp(z1: Tensor, z2: Tensor, t: TLike, prior: Prior | None = None) -> Tensor:
    """Spherical linear interpolation
    sin((1 - t) Omega) / sin(Omega) z1 + sin(t Omega) / sin(Omega) z2, Omega = angle(z1, z2).

    Preserves the uniform law on a centred sphere (first paper, Obs. 3.1). The formula is
    0/0 where sin(Omega) = 0; there we return a finite path instead of NaN:
    * parallel endpoints, or a zero endpoint: the linear path (the formula's limit);
    * antiparallel endpoints: the half great circle through a fixed orthogonal direction,
      with the norm moving linearly from ||z1|| to ||z2||.
    """
    _check_pair(z1, z2)
    z1, z2 = torch.broadcast_tensors(z1, z2)
    tt = _as_t(t, z1, z1.ndim)
    u1, n1 = _unit(z1)
    u2, n2 = _unit(z2)
    cos = (u1 * u2).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    tol = 10 * math.sqrt(torch.finfo(z1.dtype).eps)
    zero = (n1 == 0) | (n2 == 0)
    flat = (sin < tol) | zero
    safe_sin = torch.where(flat, torch.ones_like(sin), sin)
    regular = (torch.sin((1 - tt) * omega) / safe_sin) * z1 + (torch.sin(tt * omega) / safe_sin) * z2
    if not bool(flat.any()):
        return regular
    lin = (1 - tt) * z1 + tt * z2
    antiparallel = flat & (cos < 0) & ~zero
    if bool(antiparallel.any()):
        v = _orthogonal_to(u1)
        arc = torch.cos(math.pi * tt) * u1 + torch.sin(math.pi * tt) * v
        lin = torch.where(antiparallel, arc * ((1 - tt) * n1 + tt * n2), lin)
    return torch.where(flat, lin, regular)


def normalized(z1: Tensor, z2: Tensor, t: TLike, prior: Prior | None = None) -> Tensor:
    """Normalized interpolation ((1 - t) z1 + t z2) / sqrt((1 - t)^2 + t^2): preserves the
    standard normal prior (first paper, Obs. 3.2; "distribution matched" in Agustsson et al.)."""
    _check_pair(z1, z2)
    tt = _as_t(t, z1, max(z1.ndim, z2.ndim))
    return ((1 - tt) * z1 + tt * z2) / torch.sqrt((1 - tt) ** 2 + tt**2)


def _monotone_map(x: Tensor, cdf_from, icdf_to, symmetric: bool) -> Tensor:
    """icdf_to(cdf_from(x)) in float64 with probabilities kept inside (0, 1).

    When both laws are symmetric about 0 the map is odd, so it is evaluated at -|x|,
    where probabilities are below 1/2 and exact even deep in the tails; otherwise the
    probability is clamped to [tiny, 1 - eps/2] so tails stay finite.
    """
    if symmetric:
        p = cdf_from(-x.abs()).clamp(_TINY, 0.5)
        return torch.sign(x) * icdf_to(p).neg()
    return icdf_to(cdf_from(x).clamp(_TINY, _ONE_MINUS))


def to_cauchy(z: Tensor, prior: Prior) -> Tensor:
    """g^-1 = F_C^-1 o F_Z per coordinate: maps a sample of the i.i.d. prior Z to a standard
    Cauchy sample. Returns float64."""
    _need_prior("to_cauchy", prior, iid=True, continuous=True)
    return _monotone_map(z.to(torch.float64), prior.cdf, _STANDARD_CAUCHY.icdf, prior.symmetric)


def from_cauchy(c: Tensor, prior: Prior) -> Tensor:
    """g = F_Z^-1 o F_C per coordinate: maps a standard Cauchy sample to the i.i.d. prior Z.
    Returns float64."""
    _need_prior("from_cauchy", prior, iid=True, continuous=True)
    return _monotone_map(c.to(torch.float64), _STANDARD_CAUCHY.cdf, prior.icdf, prior.symmetric)


def cauchy_linear(z1: Tensor, z2: Tensor, t: TLike, prior: Prior | None = None) -> Tensor:
    """Cauchy-linear interpolation (first paper, section 3.4):
    g((1 - t) g^-1(z1) + t g^-1(z2)) with g = F_Z^-1 o F_C applied per coordinate.

    The endpoints go to Cauchy space first (F_C^-1 o F_Z), are interpolated linearly there,
    where linear interpolation preserves the law, and come back (F_Z^-1 o F_C); so every
    point of the path has the prior's law (Obs. 3.3). Needs an i.i.d. prior with a
    continuous coordinate law; computed in float64, returned in the endpoints' dtype.
    """
    _check_pair(z1, z2)
    prior = _need_prior("cauchy_linear", prior, iid=True, continuous=True)
    tt = _as_t(t, z1.to(torch.float64), max(z1.ndim, z2.ndim))
    c = (1 - tt) * to_cauchy(z1, prior) + tt * to_cauchy(z2, prior)
    return from_cauchy(c, prior).to(torch.promote_types(z1.dtype, z2.dtype))


def spherical_cauchy_linear(z1: Tensor, z2: Tensor, t: TLike, prior: Prior | None = None) -> Tensor:
    """Spherical Cauchy-linear interpolation (first paper, section 3.5): slerp of the unit
    directions times the Cauchy-linear interpolation of the norms, through the law of
    ||Z|| (g = F_||Z||^-1 o F_C).

    Preserves isotropic priors (Obs. 3.4); for those the norm law is exact (chi_D for the
    normal prior). For any other prior a Monte Carlo norm law is used
    (:func:`latentspace.priors.norm_law`), and the result is isotropic, not the prior.
    """
    _check_pair(z1, z2)
    prior = _need_prior("spherical_cauchy_linear", prior)
    dim = z1.shape[-1]
    law = _priors.norm_law(prior, dim)
    dtype = torch.promote_types(z1.dtype, z2.dtype)
    # Directions stay in the endpoints' dtype (unit vectors need no more); only the
    # norms, which go through cdfs with tails, are mapped in float64.
    u1, n1 = _unit(z1.to(dtype))
    u2, n2 = _unit(z2.to(dtype))
    r1, r2 = n1.to(torch.float64), n2.to(torch.float64)
    tt = _as_t(t, r1, max(z1.ndim, z2.ndim))
    c1 = _monotone_map(r1, law.cdf, _STANDARD_CAUCHY.icdf, symmetric=False)
    c2 = _monotone_map(r2, law.cdf, _STANDARD_CAUCHY.icdf, symmetric=False)
    r = _monotone_map((1 - tt) * c1 + tt * c2, _STANDARD_CAUCHY.cdf, law.icdf, symmetric=False)
    direction = slerp(u1, u2, t)
    return direction * r.to(dtype)


# --------------------------------------------------------------------------- transport maps


def _uniform_sum_cdf(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact cdf of Y = sum_i w_i U_i with U_i i.i.d. U(-1, 1).

    By symmetry only |w_i| matters. With c_i = 2|w_i|, Y + sum|w_i| = sum_i c_i V_i,
    V_i ~ U(0, 1), whose cdf is the spline
    (1 / (n! prod c_i)) sum_{S subset [n]} (-1)^{|S|} (x - sum_{i in S} c_i)_+^n.
    For n = 2 this is the matched-operations paper's appendix Example 1.
    """
    a = np.abs(weights)
    a = a[a > 1e-12 * a.max()]
    c, n = 2 * a, len(a)
    x = y + a.sum()
    total = np.zeros_like(x)
    for subset in itertools.product((0, 1), repeat=n):
        shift = float(np.dot(subset, c))
        total += (-1) ** sum(subset) * np.clip(x - shift, 0, None) ** n
    return np.clip(total / (math.factorial(n) * float(np.prod(c))), 0.0, 1.0)


_MC_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _mc_law(prior: Prior, weights: tuple[float, ...], n: int = 1 << 21, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted Monte Carlo draws of sum_i w_i Z_i and their plotting positions (cached)."""
    key = (repr(prior), weights, n, seed)
    if key not in _MC_CACHE:
        g = torch.Generator().manual_seed(seed)
        z = prior.sample(n, len(weights), generator=g, dtype=torch.float64)
        y = np.sort((z @ torch.tensor(weights, dtype=torch.float64)).numpy())
        _MC_CACHE[key] = (y, (np.arange(n) + 0.5) / n)
    return _MC_CACHE[key]


def matched_map(y: Tensor, weights: Sequence[float] | Tensor, prior: Prior) -> Tensor:
    """The monotone transport map T(y) = F_Z^-1(F_Y(y)), per coordinate, that brings
    y = sum_i w_i z_i (z_i i.i.d. from ``prior``) back to the prior's law.

    By the matched-operations paper's Theorems 1-2 this per-coordinate map is the optimal
    transport map for any cost sum_j h(x_j - y_j) with h convex. Closed forms:
    normal y / ||w||_2; uniform the exact cdf of a weighted sum of uniforms; Cauchy
    y / ||w||_1. Any other continuous i.i.d. prior: F_Y is estimated from 2^21 Monte Carlo draws
    (cdf error about 1e-3), then mapped through the prior's icdf.
    """
    prior = _need_prior("matched_map", prior, iid=True, continuous=True)
    w = tuple(float(v) for v in torch.as_tensor(weights, dtype=torch.float64).reshape(-1).tolist())
    if not w or all(v == 0 for v in w):
        raise ValueError(f"matched_map needs at least one non-zero weight, got {w}")
    nonzero = [v for v in w if v != 0]
    if len(nonzero) == 1 and nonzero[0] > 0:
        # y = w Z: the map is y / w for every prior, exactly (so ot_matched returns its
        # endpoints at t = 0 and 1 without the Monte Carlo estimate and its 1e-3 error).
        return y / nonzero[0]
    base, alpha = (prior.base_prior, prior.alpha) if isinstance(prior, _priors.Scaled) else (prior, 1.0)
    if isinstance(base, _priors.Normal):
        return y / math.sqrt(sum(v * v for v in w))
    if isinstance(base, _priors.Cauchy):
        return y / sum(abs(v) for v in w)
    if isinstance(base, _priors.Uniform):
        yy = y.detach().to("cpu", torch.float64).numpy() / alpha
        p = torch.as_tensor(_uniform_sum_cdf(yy, np.asarray(w)))
        return (alpha * (2 * p - 1)).to(y.device, y.dtype)
    ys, probs = _mc_law(prior, w)
    p = torch.as_tensor(np.interp(y.detach().to("cpu", torch.float64).numpy(), ys, probs))
    p = p.clamp(_TINY, _ONE_MINUS)
    return prior.icdf(p).to(y.device, y.dtype)


def ot_matched(z1: Tensor, z2: Tensor, t: TLike, prior: Prior | None = None) -> Tensor:
    """Matched linear interpolation: T_t((1 - t) z1 + t z2), with T_t the monotone transport
    map of :func:`matched_map` for the weights (1 - t, t). For the normal prior this is the
    normalized interpolation. Needs an i.i.d. prior with a continuous coordinate law: from
    a law with atoms no deterministic map reaches the prior (a transport plan would have
    to split the atoms)."""
    _check_pair(z1, z2)
    prior = _need_prior("ot_matched", prior, iid=True, continuous=True)
    y = linear(z1, z2, t)
    tt = torch.as_tensor(t, dtype=torch.float64)
    if tt.ndim == 0:
        return matched_map(y, (1 - float(tt), float(tt)), prior)
    return torch.stack([matched_map(y[i], (1 - float(v), float(v)), prior) for i, v in enumerate(tt)])


# --------------------------------------------------------------------------- other operations


def n_point(zs: Tensor, weights: Sequence[float] | Tensor, prior: Prior | None = None, matched: bool = False) -> Tensor:
    """Weighted combination sum_i w_i z_i of n latent codes ``zs`` of shape (n, ..., D),
    with weights on the simplex (w_i >= 0, sum w_i = 1); ``matched`` applies the transport
    map back to ``prior``."""
    _check_latent("zs", zs)
    w = torch.as_tensor(weights, dtype=torch.float64)
    if w.ndim != 1 or len(w) != zs.shape[0]:
        raise ValueError(f"weights must be a 1-D sequence of {zs.shape[0]} values (one per point), got {tuple(w.shape)}")
    if (w < 0).any() or abs(float(w.sum()) - 1) > 1e-9:
        raise ValueError(f"weights must lie on the simplex (non-negative, sum 1), got {w.tolist()}")
    y = torch.tensordot(w.to(zs.dtype), zs, dims=1)
    return matched_map(y, w, _need_prior("n_point(matched=True)", prior)) if matched else y


def four_point_grid(corners: Tensor, k: int, prior: Prior | None = None, matched: bool = False) -> Tensor:
    """A k x k grid between 4 corners (matched-operations paper, Fig. 7, 8, 12).

    ``corners`` has shape (4, ..., D), ordered top-left, top-right, bottom-left,
    bottom-right; grid point (i, j) has bilinear weights
    ((1 - a)(1 - b), b(1 - a), a(1 - b), ab) with a = i / (k - 1), b = j / (k - 1).
    Returns shape (k, k, ..., D); the corners of the grid are the corners given.
    """
    if corners.shape[0] != 4:
        raise ValueError(f"corners must have shape (4, ..., D), got {tuple(corners.shape)}")
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    s = [i / (k - 1) for i in range(k)]
    rows = []
    for a in s:
        row = [n_point(corners, ((1 - a) * (1 - b), b * (1 - a), a * (1 - b), a * b), prior, matched) for b in s]
        rows.append(torch.stack(row))
    return torch.stack(rows)


def vicinity(
    z: Tensor,
    eps: float,
    prior: Prior,
    k: int = 8,
    generator: torch.Generator | None = None,
    matched: bool = False,
) -> Tensor:
    """k samples in the vicinity of z: y_j = z + eps u_j with u_j drawn from ``prior``
    (matched-operations paper, Table 1); ``matched`` maps them back to the prior
    (for the normal prior y / sqrt(1 + eps^2)). Returns shape (k, ..., D)."""
    _check_latent("z", z)
    if not (isinstance(eps, int | float) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    batch = int(np.prod(z.shape[:-1], dtype=np.int64)) if z.ndim > 1 else 1
    u = prior.sample(k * batch, z.shape[-1], generator=generator, dtype=z.dtype, device=z.device)
    y = z + eps * u.reshape(k, *z.shape)
    return matched_map(y, (1.0, float(eps)), prior) if matched else y


def random_walk(
    z0: Tensor,
    steps: int,
    eps: float,
    prior: Prior,
    generator: torch.Generator | None = None,
    matched: bool = False,
) -> Tensor:
    """A random walk of repeated vicinity steps from z0 (matched-operations paper, Fig. 11).

    Returns shape (steps + 1, ..., D), starting with z0. Unmatched, the spread grows at
    every step (by sqrt(1 + eps^2) for the normal prior); matched, every step is again
    distributed as the prior. With the same generator state, matched and unmatched walks
    use the same directions u.
    """
    path = [z0]
    for _ in range(steps):
        path.append(vicinity(path[-1], eps, prior, k=1, generator=generator, matched=matched)[0])
    return torch.stack(path)


def analogy(z1: Tensor, z2: Tensor, z3: Tensor, prior: Prior | None = None, matched: bool = False) -> Tensor:
    """Analogy z3 + (z2 - z1) (Radford et al.); ``matched`` maps it back to the prior
    (for the normal prior y / sqrt(3))."""
    _check_pair(z1, z2)
    _check_pair(z2, z3)
    y = z3 + (z2 - z1)
    return matched_map(y, (-1.0, 1.0, 1.0), _need_prior("analogy(matched=True)", prior)) if matched else y


def centerize(z: Tensor) -> Tensor:
    """Subtract from each latent vector the mean of its own coordinates (Algorithm 1, step 2
    of the spherical auto-encoder paper)."""
    _check_latent("z", z)
    return z - z.mean(dim=-1, keepdim=True)


def spherize(z: Tensor, radius: float = 1.0) -> Tensor:
    """Project each latent vector on the sphere of ``radius`` (Algorithm 1, step 3)."""
    _check_latent("z", z)
    u, norm = _unit(z)
    if bool((norm == 0).any()):
        raise ValueError("spherize: a zero vector has no direction")
    return radius * u


def centerize_spherize(z: Tensor, radius: float = 1.0) -> Tensor:
    """Distribution-robust sampling (spherical auto-encoder paper, Algorithm 1): centerize,
    then project on the sphere of ``radius`` (1 in the paper; sqrt(D) matches the norm
    a N(0, I) generator was trained on)."""
    return spherize(centerize(z), radius)


for _name, _fn in (
    ("linear", linear),
    ("slerp", slerp),
    ("normalized", normalized),
    ("cauchy_linear", cauchy_linear),
    ("spherical_cauchy_linear", spherical_cauchy_linear),
    ("ot_matched", ot_matched),
):
    _register(_name, "interpolation", _fn)
_register("n_point", "n_point", n_point)
_register("four_point_grid", "grid", four_point_grid)
_register("vicinity", "vicinity", vicinity)
_register("random_walk", "random_walk", random_walk)
_register("analogy", "analogy", analogy)
_register("centerize", "transform", centerize)
_register("spherize", "transform", spherize)
_register("centerize_spherize", "transform", centerize_spherize)

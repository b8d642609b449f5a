"""Distribution-mismatch statistics in latent space.

The quantitative form of the first paper's property 4 ("every point of an interpolation
is distributed as the prior"): compare the law of an operation's output with the prior
by a family of two-sample Kolmogorov-Smirnov tests, on coordinates, random unit
projections and norms, combined by Holm's step-down correction so that the verdict holds
at a stated family-wise level, and by the 1-Wasserstein distance between norm
distributions (``scipy.stats``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import scipy.stats
import torch

from latentspace import operations
from latentspace.priors import Prior

__all__ = ["ks_critical", "ks_2samp", "holm", "random_directions", "Mismatch", "mismatch", "interpolation_mismatch"]


def ks_critical(n: int, m: int, alpha: float = 1e-3) -> float:
    """Critical value of the two-sample KS statistic for samples of sizes n and m at level
    alpha, from the asymptotic (Kolmogorov) law of sqrt(n m / (n + m)) D: the inverse of
    the p-value of :func:`ks_2samp`, so statistic > critical exactly when p < alpha. It is
    about c(alpha) sqrt((n + m) / (n m)), c(alpha) = sqrt(-ln(alpha / 2) / 2), and lies
    0.2 % above the finite-sample value at n = m = 5000 (conservative)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return float(scipy.stats.kstwobign.isf(alpha) * math.sqrt((n + m) / (n * m)))


def ks_2samp(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sample KS statistics and p-values of x (n, ...) against y (m, ...) along axis
    0, one test per trailing index (a 1-D pair gives 0-d arrays).

    The statistic is sup |F_x - F_y| over the pooled values, evaluated after the last of
    any tied values, as in ``scipy.stats.ks_2samp``, with all columns sorted at once. The
    p-value is the asymptotic (Kolmogorov) one, P(K > sqrt(n m / (n + m)) D), accurate for
    the hundreds of points or more used here and inverted by :func:`ks_critical`; scipy's
    finite-sample ``kstwo`` law, which ``scipy.stats.ks_2samp`` uses for large samples,
    costs about a millisecond per test, too much for hundreds of tests per table row."""
    x, y = np.asarray(x), np.asarray(y)
    n, m = len(x), len(y)
    z = np.ascontiguousarray(np.concatenate([x, y]).reshape(n + m, -1).T)  # one row per test
    order = np.argsort(z, axis=1)
    values = np.take_along_axis(z, order, axis=1)
    from_x = order < n
    gap = np.cumsum(from_x, axis=1) / n - np.cumsum(~from_x, axis=1) / m
    last_of_ties = np.ones_like(from_x)
    last_of_ties[:, :-1] = values[:, 1:] != values[:, :-1]
    stat = np.where(last_of_ties, np.abs(gap), 0.0).max(axis=1).reshape(x.shape[1:])
    pvalue = scipy.stats.kstwobign.sf(stat * math.sqrt(n * m / (n + m)))
    return stat.astype(np.float64), np.asarray(pvalue, dtype=np.float64)


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979): with p_(1) <= ... <= p_(m),
    p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)). Rejecting the tests whose adjusted
    p-value is <= alpha controls the family-wise error rate at alpha under any dependence
    between the tests, which is why it is used here: the tests of one table row share
    their samples. (Whether the family rejects at all depends only on the smallest
    adjusted p-value, m p_(1), as for Bonferroni; Holm adds which tests reject.)"""
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty_like(p)
    adjusted[order] = stepped
    return adjusted


def random_directions(k: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``k`` independent directions uniform on the unit sphere of R^dim, shape (k, dim),
    float64: normalized standard normal vectors, drawn from ``generator``."""
    g = torch.randn(k, dim, generator=generator, dtype=torch.float64)
    return g / g.norm(dim=-1, keepdim=True)


@dataclass(frozen=True)
class Mismatch:
    """The family of KS tests of one output against the prior and its Holm verdict.

    ``ks_coords`` is the pooled-coordinate statistic (i.i.d. priors) or the largest
    per-coordinate statistic (other priors), ``ks_projections`` the largest statistic
    over random unit projections (NaN for i.i.d. priors, which take none), ``ks_norms``
    the norm statistic. Each ``*_critical`` is the critical value at level
    ``alpha / n_tests``, the first step of Holm's procedure, so a statistic above it
    rejects. ``p_adjusted_min`` is the smallest Holm-adjusted p-value of the
    ``n_tests`` tests, ``worst_test`` the test it belongs to; ``alpha`` is the
    family-wise level.
    """

    ks_coords: float
    ks_coords_critical: float
    ks_projections: float
    ks_projections_critical: float
    ks_norms: float
    ks_norms_critical: float
    n_tests: int
    p_adjusted_min: float
    worst_test: str
    alpha: float
    w1_norms: float
    mean_norm: float
    prior_mean_norm: float

    @property
    def preserved(self) -> bool:
        """Holm's procedure rejects none of the tests at family-wise level ``alpha``:
        "same law as the prior" is not rejected."""
        return self.p_adjusted_min > self.alpha

    def as_dict(self) -> dict:
        return {**asdict(self), "preserved": self.preserved}


def mismatch(
    y: torch.Tensor,
    reference: torch.Tensor,
    alpha: float = 1e-3,
    pooled: bool = True,
    max_coords: int = 200_000,
    finite_mean: bool = True,
    directions: torch.Tensor | None = None,
) -> Mismatch:
    """Test whether samples ``y`` (n, D) have the law of prior samples ``reference``
    (m, D), by two-sample KS tests combined with Holm's correction at family-wise level
    ``alpha``.

    The two-sample KS test needs independent draws under the null hypothesis. With
    ``pooled`` (right for an i.i.d. prior, whose coordinates are independent draws of one
    law) the family is two tests: all coordinates of at most ``max_coords // D`` rows
    pooled, and the norms. A non-i.i.d. prior's coordinates within a row depend on each
    other and need not share a law, so pooling them is invalid and one coordinate alone
    cannot see a law that differs between coordinates (a non-isotropic prior such as the
    semicircle mixture). Its family is therefore: each of the D coordinates across rows,
    the projections of the rows onto each of the unit ``directions`` (k, D) (which see the
    joint law, not only the marginals), and the norms, D + k + 1 tests, all on the same
    rows. Holm's procedure is valid under that dependence, and, as with Bonferroni, the
    family rejects exactly when its smallest p-value is below alpha / (number of tests).

    Values are compared in float32, so that float64 round-off does not split a degenerate
    law (the sphere's single norm) into distinct values. ``finite_mean = False`` (the
    Cauchy prior) reports W1 of norms as NaN: the norms have no finite mean, so their W1
    distance is not defined and its estimate never settles.
    """
    y = y.detach().to("cpu", torch.float64)
    reference = reference.detach().to("cpu", torch.float64)
    n, dim = y.shape
    m = len(reference)
    ny = y.norm(dim=-1).numpy().astype(np.float32)
    nr = reference.norm(dim=-1).numpy().astype(np.float32)
    ks_n, p_n = ks_2samp(ny, nr)
    if pooled:
        rows = max(1, max_coords // dim)
        cy = y[: min(n, rows)].reshape(-1).numpy().astype(np.float32)
        cr = reference[: min(m, rows)].reshape(-1).numpy().astype(np.float32)
        ks_c, p_c = ks_2samp(cy, cr)
        names = ["pooled coordinates", "norms"]
        stat, p = np.array([ks_c, ks_n]), np.array([p_c, p_n])
        coords_sizes = (len(cy), len(cr))
        ks_coords, ks_proj = float(ks_c), math.nan
    else:
        ks_c, p_c = ks_2samp(y.numpy().astype(np.float32), reference.numpy().astype(np.float32))
        names = [f"coordinate {j}" for j in range(dim)]
        stat, p = [ks_c, [ks_n]], [p_c, [p_n]]
        ks_proj = math.nan
        if directions is not None and len(directions):
            d = directions.detach().to("cpu", torch.float64).T
            ks_p, p_p = ks_2samp((y @ d).numpy().astype(np.float32), (reference @ d).numpy().astype(np.float32))
            names += [f"projection {i}" for i in range(len(ks_p))]
            stat.insert(1, ks_p)
            p.insert(1, p_p)
            ks_proj = float(ks_p.max())
        names.append("norms")
        stat, p = np.concatenate(stat), np.concatenate(p)
        coords_sizes = (n, m)
        ks_coords = float(ks_c.max())
    adjusted = holm(p)
    level = alpha / len(p)
    # The worst test: the smallest p-value, ties (p-values that underflow to 0) broken
    # by the larger statistic.
    worst = int(np.lexsort((-stat, p))[0])
    return Mismatch(
        ks_coords=ks_coords,
        ks_coords_critical=ks_critical(*coords_sizes, level),
        ks_projections=ks_proj,
        ks_projections_critical=ks_critical(n, m, level) if not math.isnan(ks_proj) else math.nan,
        ks_norms=float(ks_n),
        ks_norms_critical=ks_critical(n, m, level),
        n_tests=len(p),
        p_adjusted_min=float(adjusted.min()),
        worst_test=names[worst],
        alpha=alpha,
        w1_norms=float(scipy.stats.wasserstein_distance(ny, nr)) if finite_mean else math.nan,
        mean_norm=float(np.mean(ny, dtype=np.float64)),
        prior_mean_norm=float(np.mean(nr, dtype=np.float64)),
    )


def _finite_mean(prior: Prior) -> bool:
    law = getattr(prior, "coordinate", None)
    return not (prior.iid and law is not None and not np.isfinite(law.mean()))


def interpolation_mismatch(
    op: str,
    prior: Prior,
    dim: int,
    n: int,
    t: float = 0.5,
    generator: torch.Generator | None = None,
    alpha: float = 1e-3,
    projections: int = 100,
) -> Mismatch:
    """Mismatch between the prior and the points at ``t`` of the interpolation ``op``
    between n independent pairs of prior samples; the reference is n fresh samples. An
    i.i.d. prior gets the pooled test; any other prior is tested on every coordinate, on
    ``projections`` random unit directions (drawn from ``generator`` after the samples)
    and on norms, at family-wise level ``alpha`` (see :func:`mismatch`)."""
    fn = operations.get(op)
    z1 = prior.sample(n, dim, generator=generator, dtype=torch.float64)
    z2 = prior.sample(n, dim, generator=generator, dtype=torch.float64)
    reference = prior.sample(n, dim, generator=generator, dtype=torch.float64)
    y = fn(z1, z2, t, prior=prior)
    directions = None if prior.iid else random_directions(projections, dim, generator)
    return mismatch(y, reference, alpha=alpha, pooled=prior.iid, finite_mean=_finite_mean(prior),
                    directions=directions)


# Which (prior, operation) pairs the papers prove preserve the prior (property 4).
CLAIMED = {
    ("cauchy", "linear"),  # first paper, Obs. 2.3
    ("sphere", "slerp"),  # Obs. 3.1
    ("normal", "normalized"),  # Obs. 3.2; Agustsson et al. Table 1
}


def claimed(prior: Prior, op: str) -> bool:
    """Whether the papers prove that ``op`` preserves ``prior`` (property 4)."""
    if op in ("cauchy_linear", "ot_matched"):
        return prior.iid and prior.continuous  # Obs. 3.3; Agustsson et al. Theorem 2
    if op == "spherical_cauchy_linear":
        return prior.isotropic  # Obs. 3.4; for the sphere it reduces to slerp
    return (prior.name, op) in CLAIMED


def mismatch_table(priors: dict, ops: list[str], dim: int, n: int, t: float, seed: int, alpha: float = 1e-3,
                   projections: int = 100):
    """The distribution-mismatch table: for every prior x operation at ``t``, the family
    of KS tests of :func:`interpolation_mismatch` against fresh prior samples (largest
    statistics of coordinates, projections and norms, their critical values at Holm's
    first-step level ``alpha / n_tests``, the number of tests, the smallest Holm-adjusted
    p-value and its test), the W1 distance of norms, whether the prior is preserved
    (Holm rejects nothing at family-wise level ``alpha``) and whether the papers claim it.
    Pairs an operation cannot take (e.g. Cauchy-linear on a non-i.i.d. prior) are listed
    with ``applicable = False``."""
    import pandas as pd

    from latentspace.runlog import generator

    rows = []
    for label, prior in priors.items():
        for op in ops:
            row = {"prior": label, "operation": op, "t": t, "dim": dim, "n": n, "claimed": claimed(prior, op)}
            try:
                m = interpolation_mismatch(op, prior, dim, n, t, generator=generator(seed, "mismatch", label, op),
                                           alpha=alpha, projections=projections)
            except (ValueError, NotImplementedError) as exc:
                rows.append({**row, "applicable": False, "note": str(exc)})
                continue
            rows.append({**row, "applicable": True, **m.as_dict(), "note": ""})
    df = pd.DataFrame(rows)
    if "n_tests" in df:
        df["n_tests"] = df["n_tests"].astype("Int64")  # integers, empty where not applicable
    return df


def mismatch_latex_frame(df):
    """The mismatch table as shown in LaTeX: one row per pair, statistics to 3 decimals,
    "n/a" where the operation does not apply, "undefined" for W1 of norms without a finite
    mean, "--" for projections of i.i.d. priors (which take none); "tests" is the size of
    the family, "min adj. p" its smallest Holm-adjusted p-value, "not rejected" says that
    Holm's procedure rejects none of the tests at the family-wise level, "claimed" whether
    a paper proves preservation."""
    import pandas as pd

    def fmt(row, col, missing="undefined"):
        if not row["applicable"]:
            return "n/a"
        return missing if pd.isna(row[col]) else f"{row[col]:.3f}"

    rows = []
    for _, r in df.iterrows():
        applicable = bool(r["applicable"])
        preserved = bool(r.get("preserved")) if applicable else None
        rows.append({
            "prior": r["prior"],
            "operation": r["operation"],
            "KS coords": fmt(r, "ks_coords"),
            "KS proj.": fmt(r, "ks_projections", missing="--"),
            "KS norms": fmt(r, "ks_norms"),
            "W1 norms": fmt(r, "w1_norms"),
            "tests": str(int(r["n_tests"])) if applicable else "n/a",
            "min adj. p": f"{r['p_adjusted_min']:.2g}" if applicable else "n/a",
            "not rejected": "n/a" if preserved is None else ("yes" if preserved else "no"),
            "claimed": "yes" if r["claimed"] else "no",
        })
    return pd.DataFrame(rows)

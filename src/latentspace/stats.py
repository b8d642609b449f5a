"""Distribution-mismatch statistics in latent space.

The quantitative form of the first paper's property 4 ("every point of an interpolation
is distributed as the prior"): compare the law of an operation's output with the prior
by two-sample Kolmogorov-Smirnov statistics, on pooled coordinates and on norms, and by
the 1-Wasserstein distance between norm distributions (``scipy.stats``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import scipy.stats
import torch

from latentspace import operations
from latentspace.priors import Prior

__all__ = ["ks_critical", "Mismatch", "mismatch", "interpolation_mismatch"]


def ks_critical(n: int, m: int, alpha: float = 1e-3) -> float:
    """Critical value of the two-sample KS statistic at level alpha (asymptotic form):
    c(alpha) sqrt((n + m) / (n m)) with c(alpha) = sqrt(-ln(alpha / 2) / 2)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


@dataclass(frozen=True)
class Mismatch:
    """KS statistics of coordinates and norms, their critical values, W1 of norms."""

    ks_coords: float
    ks_coords_critical: float
    ks_norms: float
    ks_norms_critical: float
    w1_norms: float
    mean_norm: float
    prior_mean_norm: float

    @property
    def preserved(self) -> bool:
        """Neither KS test rejects "same law as the prior" at the chosen level."""
        return self.ks_coords <= self.ks_coords_critical and self.ks_norms <= self.ks_norms_critical

    def as_dict(self) -> dict:
        return {**asdict(self), "preserved": self.preserved}


def mismatch(
    y: torch.Tensor,
    reference: torch.Tensor,
    alpha: float = 1e-3,
    pooled: bool = True,
    max_coords: int = 200_000,
    finite_mean: bool = True,
) -> Mismatch:
    """Compare samples ``y`` (n, D) with prior samples ``reference`` (m, D).

    The two-sample KS test needs independent draws under the null hypothesis. With
    ``pooled`` (right for an i.i.d. prior, whose coordinates are independent draws of one
    law) all coordinates of at most ``max_coords // D`` rows are pooled; otherwise one
    coordinate per row is used, at position ``row mod D`` on both sides, since the
    coordinates of one row of a non-i.i.d. prior depend on each other (a radial prior's
    share its radius). Values are compared in float32, so that float64 round-off does not
    split a degenerate law (the sphere's single norm) into distinct values.
    ``finite_mean = False`` (the Cauchy prior) reports W1 of norms as NaN: the norms have
    no finite mean, so their W1 distance is not defined and its estimate never settles.
    """
    y = y.detach().to("cpu", torch.float64)
    reference = reference.detach().to("cpu", torch.float64)
    dim = y.shape[-1]

    def coords(x: torch.Tensor) -> np.ndarray:
        if pooled:
            return x[: max(1, min(len(x), max_coords // dim))].reshape(-1).numpy().astype(np.float32)
        rows = torch.arange(len(x))
        return x[rows, rows % dim].numpy().astype(np.float32)

    cy, cr = coords(y), coords(reference)
    ny = y.norm(dim=-1).numpy().astype(np.float32)
    nr = reference.norm(dim=-1).numpy().astype(np.float32)
    return Mismatch(
        ks_coords=float(scipy.stats.ks_2samp(cy, cr).statistic),
        ks_coords_critical=ks_critical(len(cy), len(cr), alpha),
        ks_norms=float(scipy.stats.ks_2samp(ny, nr).statistic),
        ks_norms_critical=ks_critical(len(ny), len(nr), alpha),
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
) -> Mismatch:
    """Mismatch between the prior and the points at ``t`` of the interpolation ``op``
    between n independent pairs of prior samples; the reference is n fresh samples."""
    fn = operations.get(op)
    z1 = prior.sample(n, dim, generator=generator, dtype=torch.float64)
    z2 = prior.sample(n, dim, generator=generator, dtype=torch.float64)
    reference = prior.sample(n, dim, generator=generator, dtype=torch.float64)
    return mismatch(fn(z1, z2, t, prior=prior), reference, alpha=alpha, pooled=prior.iid,
                    finite_mean=_finite_mean(prior))


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


def mismatch_table(priors: dict, ops: list[str], dim: int, n: int, t: float, seed: int, alpha: float = 1e-3):
    """The distribution-mismatch table: for every prior x operation at ``t``, KS statistics
    of coordinates and norms against fresh prior samples, their critical values at level
    ``alpha``, the W1 distance of norms, whether the prior is empirically preserved and
    whether the papers claim it. Pairs an operation cannot take (e.g. Cauchy-linear on a
    non-i.i.d. prior) are listed with ``applicable = False``."""
    import pandas as pd

    from latentspace.runlog import generator

    rows = []
    for label, prior in priors.items():
        for op in ops:
            row = {"prior": label, "operation": op, "t": t, "dim": dim, "n": n, "claimed": claimed(prior, op)}
            try:
                m = interpolation_mismatch(op, prior, dim, n, t, generator=generator(seed, "mismatch", label, op), alpha=alpha)
            except (ValueError, NotImplementedError) as exc:
                rows.append({**row, "applicable": False, "note": str(exc)})
                continue
            rows.append({**row, "applicable": True, **m.as_dict(), "note": ""})
    return pd.DataFrame(rows)


def mismatch_latex_frame(df):
    """The mismatch table as shown in LaTeX: one row per pair, statistics to 3 decimals,
    "n/a" where the operation does not apply, "undefined" for W1 of norms without a finite
    mean; "not rejected" says that neither KS test rejects "same law as the prior" (a
    non-rejection, whose power for non-i.i.d. priors rests on one coordinate per row),
    "claimed" whether a paper proves preservation."""
    import pandas as pd

    def fmt(row, col):
        if not row["applicable"]:
            return "n/a"
        return "undefined" if pd.isna(row[col]) else f"{row[col]:.3f}"

    rows = []
    for _, r in df.iterrows():
        preserved = bool(r.get("preserved")) if r["applicable"] else None
        rows.append({
            "prior": r["prior"],
            "operation": r["operation"],
            "KS coords": fmt(r, "ks_coords"),
            "KS norms": fmt(r, "ks_norms"),
            "W1 norms": fmt(r, "w1_norms"),
            "not rejected": "n/a" if preserved is None else ("yes" if preserved else "no"),
            "claimed": "yes" if r["claimed"] else "no",
        })
    return pd.DataFrame(rows)

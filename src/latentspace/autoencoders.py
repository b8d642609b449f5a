"""The auto-encoder experiments of "Latent variables on spheres": reconstructions, the
decoders fed other noise laws, the comparison table and the t-SNE view of the codes.

The models are :class:`latentspace.models.SphericalAutoEncoder` (SAE) and
:class:`latentspace.models.GaussianVAE` (VAE), trained by
:func:`latentspace.training.train_autoencoder`. Everything here takes trained models and
images (N, C, H, W) in [-1, 1] and returns numbers, tables or
:class:`~latentspace.grids.Grid` objects; the workflow saves them and draws them
elsewhere.

* :func:`encode`, :func:`reconstruct`: batched, without gradients, in eval mode. The
  SAE's code is its centerized and spherized encoder output, the VAE's the posterior mean.
* :func:`decoder_inputs`: what a decoder is fed for prior samples. The SAE gets them
  centerized and spherized (the paper's Algorithm 1: its decoder only ever saw codes on
  the unit sphere); the VAE gets them as drawn, as the paper's section 5.2 feeds "random
  vectors sampled from the four probability priors" to both decoders.
* :func:`sliced_wasserstein`: POT's Monte Carlo sliced 2-Wasserstein distance between
  two image sets, flattened to pixel vectors.
* :func:`evaluate`: the paper's Table 2 (MSE, FID, SWD of the test reconstructions) plus
  the same FID and SWD for decoded prior samples (the numbers behind its Fig. 5).
* :func:`reconstruction_grid`, :func:`decoder_prior_grid`: the image grids of Fig. 4 and
  Fig. 5 (7, 8, 10, 12); :func:`latent_tsne`: the 2-D embedding of Fig. 13 and 14.

The paper defines neither its SWD nor the features of its FID for this table. Here the
SWD is taken between pixel vectors (not the multi-scale patch SWD of Karras et al.),
and the FID uses whatever extractors the caller passes (the workflow: those
``metrics.extractors`` names, the dataset classifier of :mod:`latentspace.classifier` by
default, InceptionV3 at paper scale), so the numbers compare the two models with each
other, not with the paper's face numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from . import metrics, render
from ._checks import check_int
from .grids import Grid
from .priors import Prior

__all__ = [
    "MODEL_LABELS",
    "INPUT_LABELS",
    "encode",
    "reconstruct",
    "decoder_inputs",
    "sliced_wasserstein",
    "evaluate",
    "reconstruction_grid",
    "decoder_prior_grid",
    "balanced_subset",
    "latent_tsne",
]

MODEL_LABELS = {"sae": "SAE", "vae": "VAE"}
# How each decoder is fed prior samples (see decoder_inputs).
INPUT_LABELS = {"sae": "centerized + spherized", "vae": "as drawn"}


def _batches(images: Tensor, batch_size: int):
    check_int("autoencoders", "batch_size", batch_size)
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]


def _run(model: nn.Module, fn, images: Tensor, batch_size: int) -> Tensor:
    """``fn(batch)`` over ``images`` in batches on the model's device, in eval mode
    without gradients; the results concatenated as a CPU float32 tensor."""
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = [fn(x.to(device, torch.float32)).float().cpu() for x in _batches(images, batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def encode(model: nn.Module, images: Tensor, batch_size: int = 256) -> Tensor:
    """The codes (N, D) of ``images``: on the unit sphere for the SAE, the posterior
    means for the VAE."""
    return _run(model, model.encode, images, batch_size)


def reconstruct(model: nn.Module, images: Tensor, batch_size: int = 256) -> Tensor:
    """The reconstructions g(encode(x)) of ``images``, (N, C, H, W) in [-1, 1]."""
    return _run(model, model, images, batch_size)


def decoder_inputs(model: nn.Module, prior: Prior, n: int, generator: torch.Generator | None = None) -> Tensor:
    """n draws of ``prior`` in the model's latent dimension, as its decoder is fed them
    (float32, (n, D)): centerized and spherized for the SAE, as drawn for the VAE.

    Algorithm 1 is undefined for a draw whose coordinates are all equal (centerized, it
    is the zero vector); discrete laws in low dimension give such draws (Poisson(1) in
    D = 8: about one in 400), so they are drawn again, for either model, and the draws
    depend only on ``prior`` and ``generator``: every model sees the same ones."""
    z = prior.sample(n, model.latent_dim, generator=generator, dtype=torch.float64)
    while bool((constant := (z == z[:, :1]).all(dim=1)).any()):
        z[constant] = prior.sample(int(constant.sum()), model.latent_dim, generator=generator, dtype=torch.float64)
    return model.sampling_input(z).float()


def sliced_wasserstein(
    x: Tensor | np.ndarray, y: Tensor | np.ndarray, n_projections: int = 200, seed: int = 0
) -> float:
    """Sliced 2-Wasserstein distance between the sets ``x`` (N, ...) and ``y`` (M, ...)
    of equal trailing shape, each item flattened to a vector of dimension d:

        SW_2(x, y) = ( E_{theta ~ U(S^(d-1))} W_2^2(<theta, x>, <theta, y>) )^(1/2)

    estimated with ``n_projections`` random directions drawn from ``seed``
    (``ot.sliced_wasserstein_distance``; the 1-D W_2 of each projection is exact, from
    sorted samples). 0 for identical sets; it grows as the sets move apart."""
    import ot

    # float32, the images' own precision: the projections (the cost) run twice as fast.
    a = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    b = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"sliced_wasserstein: items differ in size, {a.shape[1]} vs {b.shape[1]}")
    check_int("sliced_wasserstein", "n_projections", n_projections)
    return float(ot.sliced_wasserstein_distance(a, b, n_projections=n_projections, p=2, seed=seed))


def _swd_row(images: Tensor, test: Tensor, splits: int, n_projections: int, seed: int) -> dict[str, float]:
    """SWD of all images against the test images, and its std over ``splits`` parts."""
    value = sliced_wasserstein(images, test, n_projections, seed)
    parts = [sliced_wasserstein(part, test, n_projections, seed) for part in torch.tensor_split(images, splits)]
    return {"swd": value, "swd_std": float(np.std(parts)) if splits > 1 else float("nan")}


def evaluate(
    models: Mapping[str, nn.Module],
    test: Tensor,
    priors: Mapping[str, Prior],
    extractor: metrics.FeatureExtractor | Mapping[str, metrics.FeatureExtractor],
    *,
    splits: int = 5,
    n_projections: int = 200,
    seed: int = 0,
    generator: torch.Generator | None = None,
    batch_size: int = 256,
    baseline: Tensor | None = None,
    log: Any = None,
    metric_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Score each model (name -> SAE or VAE) against the test images ``test``
    (N, C, H, W): one row for its reconstructions of ``test`` (the paper's Table 2:
    MSE, FID, SWD) and one per prior of ``priors`` (label -> prior) for N decoded
    samples (:func:`decoder_inputs`; FID and SWD, no MSE).

    Columns: ``model``, ``images`` ("reconstructions" or the prior's label), ``input``
    (how the decoder was fed), ``mse`` and ``mse_std`` (the mean and std over images of
    the per-image MSE), ``fid`` and ``fid_std`` (of all N images against the test images'
    features, and the std over ``splits`` parts, :func:`latentspace.metrics.evaluate`),
    ``swd`` and ``swd_std`` (likewise, in pixel space), ``n``. ``extractor`` is one
    feature extractor or several by name (e.g. inception and classifier); ``fid`` is the
    first one's, and with several each adds ``fid_<name>`` and ``fid_<name>_std`` after
    ``fid_std``. Every model is fed the
    same prior draws (``generator`` is forked per prior). A ``baseline`` image set (e.g.
    N training images) adds a row ``model`` = "data" that shows the floor of FID and SWD
    at this N. ``log`` (a callable taking a message) hears each row.

    With a first extractor that has features (classifier or inception), ``kid``,
    ``precision``, ``recall`` and their ``_std`` follow the FID columns: KID and
    precision/recall of its features against the test images' (``metric_options`` go to
    :func:`latentspace.metrics.evaluate`: KID's subsets, precision/recall's k and sample
    count, their seed).
    """
    n = len(test)
    extractors = dict(extractor) if isinstance(extractor, Mapping) else {extractor.name: extractor}
    if not extractors:
        raise ValueError("evaluate: no feature extractor")
    reference = {
        name: metrics.FeatureStats.from_features(metrics.extract(e, test), keep_features=True)
        for name, e in extractors.items()
    }
    names = [f"fid_{name}" for name in extractors]
    first_extractor = next(iter(extractors))
    sample_metrics = (
        [f"{kind}_{first_extractor}" for kind in ("kid", "precision", "recall")]
        if f"kid_{first_extractor}" in metrics.METRICS else []
    )
    seeds = {label: int(torch.randint(0, 2**62, (1,), generator=generator)) for label in priors}

    def score(x: Tensor, **labels: Any) -> dict[str, Any]:
        results = metrics.evaluate(
            x, names + sample_metrics, extractors, reference, splits=splits, **dict(metric_options or {})
        )
        first = results[names[0]]
        row = {**labels, "fid": first.value, "fid_std": first.std}
        for name in names if len(names) > 1 else []:
            row[name], row[f"{name}_std"] = results[name].value, results[name].std
        for name in sample_metrics:
            kind = name.split("_")[0]
            row[kind], row[f"{kind}_std"] = results[name].value, results[name].std
        row.update(_swd_row(x, test, splits, n_projections, seed))
        row["n"] = len(x)
        if log is not None:
            log(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        return row

    rows = []
    if baseline is not None:
        rows.append(score(baseline, model="data", images="train split", input="", mse=np.nan, mse_std=np.nan))
    for name, model in models.items():
        recon = reconstruct(model, test, batch_size)
        err = metrics.mse(recon, test)  # (N,)
        rows.append(
            score(
                recon,
                model=name,
                images="reconstructions",
                input="encoded",
                mse=float(err.mean()),
                mse_std=float(err.std()),
            )
        )
        for label, prior in priors.items():
            z = decoder_inputs(model, prior, n, torch.Generator().manual_seed(seeds[label]))
            images = render.decode(model.decoder, z, batch_size)
            rows.append(
                score(images, model=name, images=label, input=INPUT_LABELS[model.kind], mse=np.nan, mse_std=np.nan)
            )
    return pd.DataFrame(rows)


def reconstruction_grid(models: Mapping[str, nn.Module], images: Tensor, batch_size: int = 256) -> Grid:
    """Fig. 4: a row of test images, then each model's reconstructions of them. The grid's
    latents are each row's codes (NaN for the test row, which has none)."""
    images = images.float()
    dim = max(m.latent_dim for m in models.values())
    latents = [np.full((len(images), dim), np.nan, np.float32)]
    rows, mse = [images], {}
    for name, model in models.items():
        code = encode(model, images, batch_size)  # (n, D)
        latents.append(np.pad(code.numpy(), ((0, 0), (0, dim - code.shape[1])), constant_values=np.nan))
        rows.append(render.decode(model.decoder, code, batch_size))
        mse[name] = float(metrics.mse(rows[-1], images).mean())
    return Grid(
        latents=np.stack(latents),
        images=torch.stack(rows).numpy(),
        row_labels=["test image", *(MODEL_LABELS.get(m.kind, name) for name, m in models.items())],
        col_labels=[str(i + 1) for i in range(len(images))],
        col_name="test image",
        title="reconstructions of test images",
        extra={"mse": mse},
    )


def decoder_prior_grid(
    models: Mapping[str, nn.Module],
    priors: Mapping[str, Prior],
    n_samples: int,
    generator: torch.Generator | None = None,
) -> Grid:
    """Fig. 5 (7, 8, 10, 12): each model's decoder fed ``n_samples`` draws of each prior,
    one row per prior, one row group per model (:func:`decoder_inputs`: spherized for the
    SAE, as drawn for the VAE). Every model gets the same draws of each prior."""
    seeds = {label: int(torch.randint(0, 2**62, (1,), generator=generator)) for label in priors}
    dim = max(m.latent_dim for m in models.values())
    latents, images, row_labels, groups = [], [], [], []
    for name, model in models.items():
        for label, prior in priors.items():
            z = decoder_inputs(model, prior, n_samples, torch.Generator().manual_seed(seeds[label]))
            latents.append(np.pad(z.numpy(), ((0, 0), (0, dim - z.shape[1])), constant_values=np.nan))
            images.append(render.decode(model.decoder, z).numpy())
            row_labels.append(label)
            groups.append(f"{MODEL_LABELS.get(model.kind, name)} ({INPUT_LABELS[model.kind]})")
    return Grid(
        latents=np.stack(latents),
        images=np.stack(images),
        row_labels=row_labels,
        col_labels=[str(i + 1) for i in range(n_samples)],
        row_name="noise law",
        col_name="sample",
        title="decoders fed samples of other laws",
        row_groups=groups,
    )


def balanced_subset(labels: Tensor | None, n: int, per_class: int, generator: torch.Generator | None = None) -> Tensor:
    """Indices of up to ``per_class`` random items of each class (sorted by class), or of
    ``per_class`` random items when there are no ``labels`` (e.g. CelebA)."""
    if labels is None:
        return torch.randperm(n, generator=generator)[:per_class].sort().values
    perm = torch.randperm(n, generator=generator)
    shuffled = labels[perm]
    return torch.cat([perm[shuffled == c][:per_class].sort().values for c in torch.unique(labels)])


def latent_tsne(
    models: Mapping[str, nn.Module],
    images: Tensor,
    labels: Sequence[int] | Tensor | None,
    *,
    perplexity: float = 30.0,
    seed: int = 0,
    batch_size: int = 256,
) -> pd.DataFrame:
    """Fig. 13 and 14: scikit-learn's t-SNE (2-D, PCA initialisation, Euclidean
    distances) of each model's codes of ``images``. Columns ``model``, ``label`` (-1 when
    there are no labels), ``x``, ``y``, ``norm`` (the norm of the code: 1 for the SAE)."""
    from sklearn.manifold import TSNE

    n = len(images)
    if n < 5:
        raise ValueError(f"latent_tsne: need at least 5 images, got {n}")
    label_array = np.full(n, -1) if labels is None else np.asarray(labels, dtype=np.int64)
    frames = []
    for name, model in models.items():
        z = encode(model, images, batch_size).double().numpy()
        tsne = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), init="pca", random_state=seed)
        xy = tsne.fit_transform(z)
        frames.append(
            pd.DataFrame(
                {"model": name, "label": label_array, "x": xy[:, 0], "y": xy[:, 1], "norm": np.linalg.norm(z, axis=1)}
            )
        )
    return pd.concat(frames, ignore_index=True)

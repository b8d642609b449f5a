"""The papers' GAN models: the DCGAN of Lesniak et al. (2018), appendix A, and its
fully connected generator variant (their Fig. 7c).

Appendix A: "the generator network consists of a linear layer with 8192 neurons, followed
by four convolution transposition layers, each using 5x5 filters and strides of 2 with
number of filters in order of layers: 256, 128, 64, 3. Except the output layer where tanh
activation is used, all previous layers use ReLU. Discriminator's architecture mirrors the
one from the generator with a single exception of using leaky ReLU instead of vanilla ReLU
function for all except the last layer. No batch normalization is used in both networks."

Here that network is sized by two numbers:

* ``image_size`` (a power of two, at least 8): the number of up-sampling layers is
  ``log2(image_size / 4)``, so 64 gives the paper's four layers and 32 gives three;
* ``width`` (the paper's 64): the last hidden layer has ``width`` channels and each layer
  before it twice as many, so the 4 x 4 maps have ``width * 2**(n_up - 1)`` channels and
  the linear layer ``16 * width * 2**(n_up - 1)`` units (8192 at 64 x 64, width 64).

Transposed convolutions use padding 2 and output padding 1, so each exactly doubles the
side (the TensorFlow "SAME" padding of the original implementation). Weights start from
N(0, 0.02) and biases from zero, as in Radford et al. (2015) and the TensorFlow DCGAN code
whose layer sizes appendix A describes; :func:`init_weights` applies it with an explicit
``torch.Generator``.

Build models by name with :func:`build_generator` / :func:`build_discriminator`::

    >>> from latentspace import models
    >>> g = models.build_generator("dcgan", latent_dim=100, image_size=64, channels=3)
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from latentspace._registry import construct

__all__ = [
    "DCGANGenerator",
    "DCGANDiscriminator",
    "FCGenerator",
    "build_generator",
    "build_discriminator",
    "generator_kinds",
    "discriminator_kinds",
    "init_weights",
]

LEAKY_SLOPE = 0.2  # leaky ReLU slope of the DCGAN discriminator (Radford et al., 2015)
INIT_STD = 0.02  # standard deviation of the initial weights


def _check_int(model: str, name: str, value: Any, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{model}: parameter {name!r} must be an integer >= {minimum}, got {value!r}")


def _n_up(model: str, image_size: int) -> int:
    """Number of stride-2 layers between 4 x 4 maps and ``image_size``; checks the size."""
    _check_int(model, "image_size", image_size, 8)
    n = round(math.log2(image_size / 4))
    if 4 * 2**n != image_size:
        raise ValueError(
            f"{model}: parameter 'image_size' must be a power of two >= 8 (8, 16, 32, 64, ...), got {image_size}"
        )
    return n


def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """DCGAN initialisation in place: weights of linear and (transposed) convolution
    layers from N(0, 0.02), biases zero. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, INIT_STD, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, channels, image_size, image_size) in [-1, 1].

    At image_size 64, width 64, channels 3 (the paper's CelebA model), with N the batch:

    ========================================  ==================
    layer                                     output shape
    ========================================  ==================
    Linear(100, 8192) + ReLU, view            (N, 512, 4, 4)
    ConvTranspose2d(512, 256, 5, 2) + ReLU    (N, 256, 8, 8)
    ConvTranspose2d(256, 128, 5, 2) + ReLU    (N, 128, 16, 16)
    ConvTranspose2d(128, 64, 5, 2) + ReLU     (N, 64, 32, 32)
    ConvTranspose2d(64, 3, 5, 2) + tanh       (N, 3, 64, 64)
    ========================================  ==================

    At image_size 32 the first row becomes Linear(100, 4096) -> (N, 256, 4, 4) and the
    512 -> 256 layer is dropped: three up-sampling layers.
    """

    def __init__(self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64) -> None:
        super().__init__()
        name = type(self).__name__
        n_up = _n_up(name, image_size)
        for key, value in (("latent_dim", latent_dim), ("channels", channels), ("width", width)):
            _check_int(name, key, value)
        self.latent_dim, self.image_size, self.channels, self.width = latent_dim, image_size, channels, width
        self.base_channels = width * 2 ** (n_up - 1)  # channels of the 4 x 4 maps
        self.project = nn.Linear(latent_dim, self.base_channels * 4 * 4)  # (N, C0 * 16)
        layers: list[nn.Module] = []
        c_in, side = self.base_channels, 4
        for i in range(n_up):
            last = i == n_up - 1
            c_out = channels if last else c_in // 2
            side *= 2
            # (N, c_in, side / 2, side / 2) -> (N, c_out, side, side)
            layers.append(nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=1))
            layers.append(nn.Tanh() if last else nn.ReLU())
            c_in = c_out
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: Tensor) -> Tensor:
        h = torch.relu(self.project(z))  # (N, C0 * 16)
        h = h.view(-1, self.base_channels, 4, 4)  # (N, C0, 4, 4)
        return self.net(h)  # (N, channels, image_size, image_size)


class FCGenerator(nn.Module):
    """Fully connected generator (the paper's Fig. 7c, "fully connected layers"):
    z (N, latent_dim) -> images (N, channels, image_size, image_size) in [-1, 1].

    The paper gives no sizes for it; we use ``depth`` hidden layers of ``16 * width``
    units (1024 at the default width 64) with ReLU and no batch normalization, like the
    DCGAN, and a tanh output layer:

    ==================================================  =============================
    layer                                               output shape
    ==================================================  =============================
    Linear(latent_dim, 16 width) + ReLU                 (N, 16 width)
    (depth - 1) x [Linear(16 width, 16 width) + ReLU]   (N, 16 width)
    Linear(16 width, C H W) + tanh, view                (N, channels, H, W)
    ==================================================  =============================
    """

    def __init__(
        self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64, depth: int = 3
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for key, value in (
            ("latent_dim", latent_dim),
            ("image_size", image_size),
            ("channels", channels),
            ("width", width),
            ("depth", depth),
        ):
            _check_int(name, key, value)
        self.latent_dim, self.image_size, self.channels, self.width = latent_dim, image_size, channels, width
        hidden = 16 * width
        layers: list[nn.Module] = []
        n_in = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(n_in, hidden), nn.ReLU()]  # (N, hidden)
            n_in = hidden
        layers += [nn.Linear(n_in, channels * image_size * image_size), nn.Tanh()]  # (N, C H W)
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, self.channels, self.image_size, self.image_size)  # (N, C, H, W)


class DCGANDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) -> one logit per image, shape (N,).

    The generator mirrored; at image_size 64, width 64, channels 3:

    ======================================  ===============
    layer                                   output shape
    ======================================  ===============
    Conv2d(3, 64, 5, 2) + leaky ReLU        (N, 64, 32, 32)
    Conv2d(64, 128, 5, 2) + leaky ReLU      (N, 128, 16, 16)
    Conv2d(128, 256, 5, 2) + leaky ReLU     (N, 256, 8, 8)
    Conv2d(256, 512, 5, 2) + leaky ReLU     (N, 512, 4, 4)
    flatten, Linear(8192, 1)                (N,)
    ======================================  ===============

    The output is a logit (no sigmoid): the losses use ``binary_cross_entropy_with_logits``,
    which is the numerically stable form of the sigmoid + BCE of the original.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64) -> None:
        super().__init__()
        name = type(self).__name__
        n_up = _n_up(name, image_size)
        for key, value in (("channels", channels), ("width", width)):
            _check_int(name, key, value)
        self.image_size, self.channels, self.width = image_size, channels, width
        layers: list[nn.Module] = []
        c_in, c_out, side = channels, width, image_size
        for _ in range(n_up):
            side //= 2
            # (N, c_in, 2 side, 2 side) -> (N, c_out, side, side)
            layers += [nn.Conv2d(c_in, c_out, 5, stride=2, padding=2), nn.LeakyReLU(LEAKY_SLOPE)]
            c_in, c_out = c_out, 2 * c_out
        self.net = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * 4 * 4, 1)  # (N, 1)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        h = self.net(x)  # (N, C0, 4, 4)
        return self.head(h.flatten(1)).squeeze(1)  # (N,)


_GENERATORS: dict[str, type[nn.Module]] = {"dcgan": DCGANGenerator, "fc": FCGenerator}
_DISCRIMINATORS: dict[str, type[nn.Module]] = {"dcgan": DCGANDiscriminator}


def generator_kinds() -> list[str]:
    """Names accepted by :func:`build_generator`."""
    return sorted(_GENERATORS)


def discriminator_kinds() -> list[str]:
    """Names accepted by :func:`build_discriminator`."""
    return sorted(_DISCRIMINATORS)


def _build(registry: dict[str, type[nn.Module]], what: str, kind: str, params: dict[str, Any]) -> nn.Module:
    if kind not in registry:
        raise ValueError(f"unknown {what} kind {kind!r}; valid kinds: {', '.join(sorted(registry))}")
    return construct(what, kind, registry[kind], params)


def build_generator(kind: str = "dcgan", **params: Any) -> nn.Module:
    """Build the generator ``kind`` ("dcgan" or "fc") with keyword ``params``
    (``latent_dim``, ``image_size``, ``channels``, ``width``; "fc" also ``depth``).
    Unknown kinds or parameters raise :class:`ValueError` listing what is allowed."""
    return _build(_GENERATORS, "generator", kind, params)


def build_discriminator(kind: str = "dcgan", **params: Any) -> nn.Module:
    """Build the discriminator ``kind`` ("dcgan") with keyword ``params`` (``image_size``,
    ``channels``, ``width``). Unknown kinds or parameters raise :class:`ValueError`."""
    return _build(_DISCRIMINATORS, "discriminator", kind, params)

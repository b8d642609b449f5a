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
Glorot's normal law scaled for ReLU, N(0, 2 * 2 / (fan_in + fan_out)), and biases from
zero; :func:`init_weights` applies it with an explicit ``torch.Generator``. The paper does
not state its initialisation. The DCGAN default N(0, 0.02) of Radford et al. (2015)
assumes batch normalization: without it, at our CPU width of 16 the activations shrink
layer by layer, the generator starts with vanishing gradients and the discriminator wins
(with the default config's seed, D(G(z)) fell below 0.01 by step 400 and every sample
was the same black image); with Glorot-ReLU weights the same run stays balanced
(D(x) about 0.7, D(G(z)) about 0.3 from step 300 on) and its samples look like clothes.

Build models by name with :func:`build_generator` / :func:`build_discriminator`::

    >>> from latentspace import models
    >>> g = models.build_generator("dcgan", latent_dim=100, image_size=64, channels=3)
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from latentspace._checks import check_int
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
INIT_GAIN = math.sqrt(2.0)  # the ReLU gain of Glorot's initialisation


def _n_up(model: str, image_size: int) -> int:
    """Number of stride-2 layers between 4 x 4 maps and ``image_size``; checks the size."""
    check_int(model, "image_size", image_size, 8)
    n = round(math.log2(image_size / 4))
    if 4 * 2**n != image_size:
        raise ValueError(
            f"{model}: parameter 'image_size' must be a power of two >= 8 (8, 16, 32, 64, ...), got {image_size}"
        )
    return n


def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Initialisation in place: weights of linear and (transposed) convolution layers from
    Glorot's normal law with the ReLU gain, N(0, 2 * 2 / (fan_in + fan_out)), biases zero
    (see the module docstring for why not DCGAN's N(0, 0.02)). Returns ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_normal_(m.weight, gain=INIT_GAIN, generator=generator)
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
            check_int(name, key, value)
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
    units (1024 at the default width 64), each with batch normalization and ReLU, and a
    tanh output layer:

    =======================================================  =======================
    layer                                                    output shape
    =======================================================  =======================
    Linear(latent_dim, 16 width) + BN + ReLU                 (N, 16 width)
    (depth - 1) x [Linear(16 width, 16 width) + BN + ReLU]   (N, 16 width)
    Linear(16 width, C H W) + tanh, view                     (N, channels, H, W)
    =======================================================  =======================

    Unlike the DCGAN, this network needs the batch normalization: without it
    (``batch_norm=False``) it collapsed to a single image against the DCGAN discriminator
    on Fashion-MNIST, at width 16 and 32 (1,000 steps); with it, it trained without
    collapsing (D(x) 0.65-0.74, D(G(z)) 0.27-0.36 in two runs at width 16). In eval mode
    the layers use their running statistics, so a code decodes to the same image whatever
    its batch.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 64,
        channels: int = 3,
        width: int = 64,
        depth: int = 3,
        batch_norm: bool = True,
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
            check_int(name, key, value)
        self.latent_dim, self.image_size, self.channels, self.width = latent_dim, image_size, channels, width
        hidden = 16 * width
        layers: list[nn.Module] = []
        n_in = latent_dim
        for _ in range(depth):
            layers.append(nn.Linear(n_in, hidden))  # (N, hidden)
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU())
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
            check_int(name, key, value)
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


# --------------------------------------------------------------------------- auto-encoders
# The spherical auto-encoder (SAE) of "Latent variables on spheres" (section 3.2) and the
# Gaussian VAE it is compared with (its section 5.2), on the DCGAN backbone above: the
# encoder is the discriminator's convolutions with a linear head of ``latent_dim`` (SAE)
# or ``2 latent_dim`` (VAE: mean and log-variance) outputs, the decoder is the DCGAN
# generator. The paper states no architecture for its auto-encoders; sharing one between
# SAE and VAE makes the latent constraint the only difference.

from latentspace import operations as _operations  # noqa: E402

__all__ += ["ConvEncoder", "SphericalAutoEncoder", "GaussianVAE", "build_autoencoder", "autoencoder_kinds"]


class ConvEncoder(DCGANDiscriminator):
    """images (N, channels, image_size, image_size) -> (N, out_features): the DCGAN
    discriminator's convolutions (5 x 5, stride 2, leaky ReLU, no batch normalisation)
    and a linear head. At image_size 32, width 16, channels 1:

    ======================================  ===============
    layer                                   output shape
    ======================================  ===============
    Conv2d(1, 16, 5, 2) + leaky ReLU        (N, 16, 16, 16)
    Conv2d(16, 32, 5, 2) + leaky ReLU       (N, 32, 8, 8)
    Conv2d(32, 64, 5, 2) + leaky ReLU       (N, 64, 4, 4)
    flatten, Linear(1024, out_features)     (N, out_features)
    ======================================  ===============
    """

    def __init__(self, out_features: int = 100, image_size: int = 64, channels: int = 3, width: int = 64) -> None:
        super().__init__(image_size=image_size, channels=channels, width=width)
        check_int(type(self).__name__, "out_features", out_features)
        self.out_features = out_features
        self.head = init_weights(nn.Linear(self.head.in_features, out_features))  # (N, out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.net(x).flatten(1))  # (N, out_features)


class _AutoEncoder(nn.Module):
    """Encoder f and decoder g (the DCGAN generator) of one latent dimension D."""

    def __init__(self, encoder_outputs: int, latent_dim: int, image_size: int, channels: int, width: int) -> None:
        super().__init__()
        check_int(type(self).__name__, "latent_dim", latent_dim)
        self.latent_dim, self.image_size, self.channels, self.width = latent_dim, image_size, channels, width
        self.encoder = ConvEncoder(encoder_outputs * latent_dim, image_size, channels, width)
        self.decoder = DCGANGenerator(latent_dim, image_size, channels, width)

    def encode(self, x: Tensor) -> Tensor:
        """The latent code of each image, (N, D)."""
        raise NotImplementedError

    def decode(self, z: Tensor) -> Tensor:
        """Images g(z), (N, C, H, W) in [-1, 1], for codes z (N, D)."""
        return self.decoder(z)

    def sampling_input(self, z: Tensor) -> Tensor:
        """What the decoder is fed for raw prior samples z (N, D) when sampling."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """The (deterministic) reconstruction g(encode(x)), (N, C, H, W)."""
        return self.decode(self.encode(x))


class SphericalAutoEncoder(_AutoEncoder):
    """The spherical auto-encoder (SAE), "Latent variables on spheres", eq. (10):

        x -f-> z -> z - mean_j(z^j) 1 -> z / ||z|| -g-> x~

    the encoder's output is centerized (each code minus the mean of its own coordinates)
    and spherized (projected on the unit sphere S^(D-1)), so every code lies on the unit
    sphere inside the hyperplane sum_j z^j = 0. Training minimises the reconstruction
    error alone (eq. 11), with no prior and no KL term. Sampling feeds the decoder prior
    samples after the same two steps (Algorithm 1), whatever their law.
    """

    kind = "sae"

    def __init__(self, latent_dim: int = 512, image_size: int = 64, channels: int = 3, width: int = 64) -> None:
        super().__init__(1, latent_dim, image_size, channels, width)

    def encode(self, x: Tensor) -> Tensor:
        return _operations.centerize_spherize(self.encoder(x))  # (N, D), unit norm, zero coordinate mean

    def sampling_input(self, z: Tensor) -> Tensor:
        return _operations.centerize_spherize(z)  # Algorithm 1


class GaussianVAE(_AutoEncoder):
    """The VAE of Kingma & Welling (2013) with a Gaussian posterior
    q(z|x) = N(mu(x), diag exp(logvar(x))) and the prior N(0, I): the encoder outputs
    (mu, logvar), training samples z = mu + exp(logvar / 2) eps with eps ~ N(0, I) (the
    reparameterisation) and minimises ||x - g(z)||^2 + beta KL(q(z|x) || N(0, I))
    (:func:`kl_divergence`). :meth:`encode` and :meth:`forward` use the posterior mean, so
    reconstructions are deterministic. Sampling feeds the decoder prior samples as drawn.
    """

    kind = "vae"

    def __init__(self, latent_dim: int = 512, image_size: int = 64, channels: int = 3, width: int = 64) -> None:
        super().__init__(2, latent_dim, image_size, channels, width)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x), each (N, D)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: Tensor) -> Tensor:
        return self.posterior(x)[0]  # (N, D), the posterior mean

    def sampling_input(self, z: Tensor) -> Tensor:
        return z

    @staticmethod
    def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
        """KL(N(mu, diag exp(logvar)) || N(0, I)) per row, (N,):
        1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)."""
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


_AUTOENCODERS: dict[str, type[nn.Module]] = {"sae": SphericalAutoEncoder, "vae": GaussianVAE}


def autoencoder_kinds() -> list[str]:
    """Names accepted by :func:`build_autoencoder`."""
    return sorted(_AUTOENCODERS)


def build_autoencoder(kind: str = "sae", **params: Any) -> nn.Module:
    """Build the auto-encoder ``kind`` ("sae" or "vae") with keyword ``params``
    (``latent_dim``, ``image_size``, ``channels``, ``width``). Unknown kinds or
    parameters raise :class:`ValueError`."""
    return _build(_AUTOENCODERS, "auto-encoder", kind, params)

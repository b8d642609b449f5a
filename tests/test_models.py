"""The DCGAN of appendix A and its fully connected variant: shapes, sizes, errors."""

import math

import pytest
import torch
from torch import nn

from latentspace import models


@pytest.mark.parametrize(
    ("image_size", "channels", "n_up"),
    [(16, 1, 2), (32, 1, 3), (64, 3, 4)],
)
def test_dcgan_shapes(image_size, channels, n_up):
    g = models.build_generator("dcgan", latent_dim=10, image_size=image_size, channels=channels, width=8)
    d = models.build_discriminator("dcgan", image_size=image_size, channels=channels, width=8)
    x = g(torch.randn(3, 10))
    assert x.shape == (3, channels, image_size, image_size)
    assert x.abs().max() <= 1  # tanh output
    assert d(x).shape == (3,)
    ups = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    downs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(ups) == len(downs) == n_up
    assert all(m.kernel_size == (5, 5) and m.stride == (2, 2) for m in ups + downs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in list(g.modules()) + list(d.modules()))


def test_paper_sizes_at_64():
    """Appendix A: a linear layer of 8192 units, then 256, 128, 64, 3 filters."""
    g = models.build_generator("dcgan", latent_dim=100, image_size=64, channels=3, width=64)
    assert g.project.out_features == 8192
    assert [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)] == [256, 128, 64, 3]
    d = models.build_discriminator("dcgan", image_size=64, channels=3, width=64)
    assert [m.out_channels for m in d.modules() if isinstance(m, nn.Conv2d)] == [64, 128, 256, 512]
    assert d.head.in_features == 8192


def test_fc_generator_shape():
    g = models.build_generator("fc", latent_dim=12, image_size=32, channels=1, width=4, depth=2)
    assert g(torch.randn(5, 12)).shape == (5, 1, 32, 32)
    assert not any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in g.modules())


def test_fc_generator_normalizes_each_hidden_layer_and_decodes_per_code_in_eval():
    g = models.build_generator("fc", latent_dim=12, image_size=32, channels=1, width=4, depth=3)
    assert [type(m) for m in g.net][:3] == [nn.Linear, nn.BatchNorm1d, nn.ReLU]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in g.modules()) == 3
    g(torch.randn(64, 12) * 3)  # train mode: moves the running statistics
    g.eval()
    z = torch.randn(6, 12)
    with torch.no_grad():
        torch.testing.assert_close(g(z[:1]), g(z)[:1])  # one code, same image, whatever the batch
    plain = models.FCGenerator(latent_dim=12, image_size=32, channels=1, width=4, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in plain.modules())


def test_init_is_glorot_relu_normal():
    g = models.build_generator("dcgan", latent_dim=100, image_size=32, channels=1, width=32)
    layers = [m for m in g.modules() if isinstance(m, nn.Linear | nn.ConvTranspose2d)]
    for m in layers:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
        expected = math.sqrt(2.0) * math.sqrt(2.0 / (fan_in + fan_out))
        n = m.weight.numel()
        # The sample std of n normal draws has standard error about std / sqrt(2n); 5 of them.
        assert abs(m.weight.std().item() - expected) < 5 * expected / math.sqrt(2 * n)
        assert abs(m.weight.mean().item()) < 5 * expected / math.sqrt(n)
    assert all((m.bias == 0).all() for m in layers)


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="unknown generator kind 'resnet'; valid kinds: dcgan, fc"):
        models.build_generator("resnet")
    with pytest.raises(ValueError, match="unknown discriminator kind"):
        models.build_discriminator("fc")
    with pytest.raises(ValueError, match="unknown parameter.*depth"):
        models.build_generator("dcgan", depth=3)
    with pytest.raises(ValueError, match="power of two"):
        models.build_generator("dcgan", image_size=48)
    with pytest.raises(ValueError, match="'width'"):
        models.build_discriminator("dcgan", width=0)

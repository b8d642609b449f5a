"""The spherical auto-encoder and the Gaussian VAE ("Latent variables on spheres"):
model shapes, the spherical constraint, training on digits (loss falls, bitwise resume,
the non-finite guard, option checks), the sliced Wasserstein distance and the evaluation
helpers behind the table and figures."""

import csv
import json
import math

import numpy as np
import pytest
import torch
from conftest import TINY_RUN, Interrupt, interrupt_at
from torch import nn

from latentspace import autoencoders, data, models, operations, priors, training

KINDS = ("sae", "vae")


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", size=16, limit=300)


def tiny(kind="sae", **overrides):
    return training.AEConfig(**{**TINY_RUN, "kind": kind, "width": 4, "seed": 5, **overrides})


# --------------------------------------------------------------------------- models


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("image_size", "channels"), [(16, 1), (32, 1), (64, 3)])
def test_shapes(kind, image_size, channels):
    model = models.build_autoencoder(kind, latent_dim=10, image_size=image_size, channels=channels, width=4)
    x = torch.rand(3, channels, image_size, image_size) * 2 - 1
    assert model.encode(x).shape == (3, 10)
    out = model(x)
    assert out.shape == x.shape and out.abs().max() <= 1  # the DCGAN decoder's tanh
    assert model.decode(torch.randn(3, 10)).shape == x.shape
    # The encoder mirrors the DCGAN discriminator: the same convolutions, another head.
    d = models.build_discriminator("dcgan", image_size=image_size, channels=channels, width=4)
    convs = [(m.in_channels, m.out_channels) for m in model.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [(m.in_channels, m.out_channels) for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert model.encoder.head.out_features == (10 if kind == "sae" else 20)
    if kind == "vae":
        mu, logvar = model.posterior(x)
        assert mu.shape == logvar.shape == (3, 10)
        assert torch.equal(model.encode(x), mu)


def test_unknown_kind_and_parameter():
    with pytest.raises(ValueError, match="unknown auto-encoder kind 'wae'.*sae, vae"):
        models.build_autoencoder("wae")
    with pytest.raises(ValueError, match="unknown parameter.*depth"):
        models.build_autoencoder("sae", depth=3)
    with pytest.raises(ValueError, match="'latent_dim' must be an integer >= 1"):
        models.build_autoencoder("vae", latent_dim=0)


def test_sae_codes_lie_on_the_unit_sphere_in_the_centred_hyperplane():
    """Eq. (10): each code minus the mean of its own coordinates, divided by its norm, so
    ||z|| = 1 and sum_j z^j = 0 for every code, whatever the encoder outputs."""
    torch.manual_seed(0)
    model = models.build_autoencoder("sae", latent_dim=32, image_size=16, channels=1, width=4)
    with torch.no_grad():
        model.encoder.head.bias.fill_(3.0)  # an encoder output far off centre
        z = model.encode(torch.rand(64, 1, 16, 16) * 2 - 1)
    assert torch.allclose(z.norm(dim=1), torch.ones(64), atol=1e-6)
    # The mean is removed in float32 from outputs near 3, whose rounding (3 * 2^-24 per
    # coordinate) the division by the small centred norm magnifies: zero up to 1e-4.
    assert z.mean(dim=1).abs().max() < 1e-4
    assert (model.encoder(torch.rand(8, 1, 16, 16)).mean(dim=1) > 2).all()  # far from centred before
    # Algorithm 1 on prior samples: the same constraint for any law, here Poisson(1).
    raw = priors.get("poisson").sample(100, 32, generator=torch.Generator().manual_seed(1))
    fed = model.sampling_input(raw)
    assert torch.allclose(fed.norm(dim=1), torch.ones(100, dtype=fed.dtype))
    assert torch.allclose(fed, operations.centerize_spherize(raw))
    vae = models.build_autoencoder("vae", latent_dim=32, image_size=16, channels=1, width=4)
    assert torch.equal(vae.sampling_input(raw), raw)  # the VAE takes samples as drawn


def test_kl_divergence_matches_torch_distributions():
    mu, logvar = torch.randn(5, 7, dtype=torch.float64), torch.randn(5, 7, dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1)
    assert torch.allclose(models.GaussianVAE.kl_divergence(mu, logvar), expected)
    assert torch.equal(models.GaussianVAE.kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize("kind", KINDS)
def test_training_lowers_the_reconstruction_error(digits, tmp_path, kind):
    state_before = torch.get_rng_state()
    config = tiny(kind, steps=60, log_every=10, checkpoint_every=60, width=8, lr=2e-3)
    result = training.train_autoencoder(config, digits, tmp_path, progress=False)
    assert torch.equal(torch.get_rng_state(), state_before)  # the global RNG is left alone
    with open(tmp_path / "losses.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(training.AE_CSV_COLUMNS)
    assert [int(r[0]) for r in rows[1:]] == list(range(10, 61, 10))
    mse = [float(r[2]) for r in rows[1:]]
    assert mse[-1] < 0.6 * mse[0], mse
    kl = [float(r[3]) for r in rows[1:]]
    assert all(k == 0 for k in kl) if kind == "sae" else all(k > 0 for k in kl)

    # The saved model reconstructs like the trained one, and better than at the start.
    model = training.load_autoencoder(tmp_path / "autoencoder.pt")
    test = data.load("digits", split="test", size=16).images()
    for p, q in zip(model.parameters(), result.model.parameters(), strict=True):
        assert torch.equal(p, q)
    fresh = models.build_autoencoder(kind, latent_dim=8, image_size=16, channels=1, width=8)
    err = autoencoders.reconstruct(model, test).sub(test).pow(2).mean()
    assert err < 0.6 * autoencoders.reconstruct(fresh, test).sub(test).pow(2).mean()

    saved = torch.load(tmp_path / "autoencoder.pt", weights_only=True)
    assert saved["kind"] == kind and saved["step"] == 60
    assert saved["params"] == {"latent_dim": 8, "image_size": 16, "channels": 1, "width": 8}
    for name in ("reconstructions.png", "samples.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    resolved = json.loads((tmp_path / "config.json").read_text())
    assert resolved["config"]["kind"] == kind and resolved["data"]["shape"] == [300, 1, 16, 16]
    status = [json.loads(line) for line in (tmp_path / "status.jsonl").read_text().splitlines()]
    assert [s["step"] for s in status] == list(range(10, 61, 10))
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary files left


@pytest.mark.parametrize("kind", KINDS)
def test_resume_is_bitwise_identical(digits, tmp_path, kind):
    config = tiny(kind)
    straight = training.train_autoencoder(config, digits, tmp_path / "a", progress=False)
    with pytest.raises(Interrupt):
        training.train_autoencoder(config, digits, tmp_path / "b", progress=False, on_step=interrupt_at(5))
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"] == 3
    resumed = training.train_autoencoder(config, digits, tmp_path / "b", progress=False)
    assert resumed.resumed_from == 3

    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "a" / "losses.csv").read_text() == (tmp_path / "b" / "losses.csv").read_text()
    again = training.train_autoencoder(config, digits, tmp_path / "b", progress=False)
    assert again.resumed_from == 8 and math.isnan(again.images_per_second)


def test_non_finite_loss_keeps_last_good_checkpoint(digits, tmp_path, monkeypatch):
    """From step 7 on the batches are NaN: training stops at step 7 with an error naming
    it, and the checkpoint of step 5 (the last good one) is kept."""
    real_step, calls = training.ae_step, []

    def poisoned(model, opt, x, *args, **kwargs):
        calls.append(1)
        return real_step(model, opt, x * math.nan if len(calls) >= 7 else x, *args, **kwargs)

    monkeypatch.setattr(training, "ae_step", poisoned)
    config = tiny("vae", steps=12, checkpoint_every=5, log_every=4)
    with pytest.raises(training.NonFiniteLossError, match=r"step 7 .*last good checkpoint \(step 5\)") as err:
        training.train_autoencoder(config, digits, tmp_path, progress=False)
    assert err.value.step == 7
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 5 and all(t.isfinite().all() for t in ckpt["model"].values())
    assert not (tmp_path / "autoencoder.pt").exists()


def test_config_checks(digits, tmp_path):
    with pytest.raises(ValueError, match="unknown option.*prior"):
        training.AEConfig.from_dict({"prior": "normal"})
    with pytest.raises(ValueError, match="unknown kind 'ae'"):
        training.AEConfig(kind="ae")
    with pytest.raises(ValueError, match="'kl_weight' must be a number in"):
        training.AEConfig(kl_weight=-1.0)
    with pytest.raises(ValueError, match="'lr' must be a number in"):
        training.AEConfig(lr=0)
    with pytest.raises(ValueError, match="SAE needs 'latent_dim' >= 2"):
        training.AEConfig(kind="sae", latent_dim=1)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        training.train_autoencoder(tiny(batch_size=500), digits, tmp_path / "big", progress=False)
    training.train_autoencoder(tiny(steps=2), digits, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match=r"different configuration \(kind: 'sae' -> 'vae'"):
        training.train_autoencoder(tiny("vae", steps=2), digits, tmp_path / "run", progress=False)


@pytest.mark.parametrize("kind", KINDS)
def test_bfloat16_autocast_runs(digits, tmp_path, kind):
    result = training.train_autoencoder(tiny(kind, steps=2, precision="bfloat16"), digits, tmp_path, progress=False)
    assert all(p.dtype == torch.float32 and p.isfinite().all() for p in result.model.parameters())


# --------------------------------------------------------------------------- evaluation


def test_sliced_wasserstein_is_zero_on_itself_and_grows_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 1, 8, 8, generator=g) * 2 - 1
    noise = torch.randn(x.shape, generator=g)
    assert autoencoders.sliced_wasserstein(x, x) == 0
    d = [autoencoders.sliced_wasserstein(x, x + s * noise, n_projections=200) for s in (0.05, 0.2, 0.5, 1.0)]
    assert all(a < b for a, b in zip(d, d[1:], strict=False)), d
    # A shift by c along every pixel moves each projection <theta, x> by c sum(theta);
    # for d pixels E[(sum theta)^2] = 1, so SW_2 is about |c|.
    shift = autoencoders.sliced_wasserstein(x, x + 0.3, n_projections=2000)
    assert 0.25 < shift < 0.35
    with pytest.raises(ValueError, match="items differ in size"):
        autoencoders.sliced_wasserstein(x, x[:, :, :4])


class PixelFeatures:
    """A stand-in for the dataset classifier: 4 x 4 average-pooled pixels as features."""

    name = "classifier"
    fingerprint = ""
    device = torch.device("cpu")

    def __call__(self, images):
        return nn.functional.adaptive_avg_pool2d(images, 4).flatten(1), None


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    root = tmp_path_factory.mktemp("ae")
    out = {}
    for kind in KINDS:
        config = tiny(kind, steps=40, checkpoint_every=40, width=8, lr=2e-3)
        out[kind] = training.train_autoencoder(config, digits, root / kind, progress=False).model.eval()
    return out


def test_evaluate_table_rows(trained):
    test = data.load("digits", split="test", size=16).images()[:100]
    train = data.load("digits", split="train", size=16).images()[:100]
    laws = {"normal": priors.get("normal"), "poisson": priors.get("poisson")}
    df = autoencoders.evaluate(
        trained,
        test,
        laws,
        PixelFeatures(),
        splits=2,
        n_projections=50,
        baseline=train,
        generator=torch.Generator().manual_seed(0),
    )
    assert list(df["model"]) == ["data", "sae", "sae", "sae", "vae", "vae", "vae"]
    assert list(df["images"]) == ["train split", *["reconstructions", "normal", "poisson"] * 2]
    recon = df[df["images"] == "reconstructions"]
    assert recon["mse"].between(0, 4).all() and recon["mse_std"].gt(0).all()
    assert df[df["images"].isin(laws)]["mse"].isna().all()
    assert np.isfinite(df[["fid", "fid_std", "swd", "swd_std"]].to_numpy()).all()
    assert (df["n"] == 100).all()
    # Real training images are the closest set to the test images (the floor of both).
    assert df["fid"].idxmin() == 0 and df["swd"].idxmin() == 0


class PooledInception(PixelFeatures):
    """A second stand-in extractor, named as the Inception one: 2 x 2 pooled pixels."""

    name = "inception"

    def __call__(self, images):
        return nn.functional.adaptive_avg_pool2d(images, 2).flatten(1), None


def test_evaluate_with_several_extractors(trained):
    # The workflow passes every FID extractor of metrics.extractors, Inception's first:
    # "fid" is the first one's, and each gets its own fid_<name> columns.
    test = data.load("digits", split="test", size=16).images()[:60]
    laws = {"normal": priors.get("normal")}
    def kwargs():  # the same prior draws in every call
        return dict(splits=2, n_projections=20, generator=torch.Generator().manual_seed(0))

    both = autoencoders.evaluate(trained, test, laws, {"inception": PooledInception(), "classifier": PixelFeatures()},
                                 **kwargs())
    assert list(both.columns[5:11]) == ["fid", "fid_std", "fid_inception", "fid_inception_std", "fid_classifier",
                                        "fid_classifier_std"]
    assert (both["fid"] == both["fid_inception"]).all() and not (both["fid"] == both["fid_classifier"]).all()
    alone = autoencoders.evaluate(trained, test, laws, PixelFeatures(), **kwargs())
    np.testing.assert_allclose(alone["fid"], both["fid_classifier"])
    with pytest.raises(ValueError, match="no feature extractor"):
        autoencoders.evaluate(trained, test, laws, {}, **kwargs())


def test_grids(trained):
    test = data.load("digits", split="test", size=16).images()[:6]
    grid = autoencoders.reconstruction_grid(trained, test)
    assert grid.shape == (3, 6) and grid.images.shape == (3, 6, 1, 16, 16)
    assert grid.row_labels == ["test image", "SAE", "VAE"]
    assert np.isnan(grid.latents[0]).all()
    assert np.allclose(np.linalg.norm(grid.latents[1], axis=1), 1, atol=1e-5)  # SAE codes
    assert np.allclose(grid.images[0], test.numpy(), atol=1e-3)  # float16 storage

    laws = {"normal": priors.get("normal"), "uniform": priors.get("uniform"), "chi2": priors.get("chi2")}
    grid = autoencoders.decoder_prior_grid(trained, laws, 5, torch.Generator().manual_seed(0))
    assert grid.shape == (6, 5) and grid.images.shape == (6, 5, 1, 16, 16)
    assert grid.row_labels == ["normal", "uniform", "chi2"] * 2
    sae, vae = grid.latents[:3], grid.latents[3:]
    assert np.allclose(np.linalg.norm(sae, axis=2), 1, atol=1e-5)
    # Both decoders get the same draws: the SAE's input is the VAE's, centerized and spherized.
    expected = operations.centerize_spherize(torch.from_numpy(vae).double()).numpy()
    assert np.allclose(sae, expected, atol=1e-6)
    assert (vae[2] > 0).all()  # chi-squared draws, fed to the VAE as drawn


def test_latent_tsne_and_balanced_subset(trained):
    test = data.load("digits", split="test", size=16)
    idx = autoencoders.balanced_subset(test.labels, len(test), 4, torch.Generator().manual_seed(0))
    assert torch.bincount(test.labels[idx]).tolist() == [4] * 10
    assert len(autoencoders.balanced_subset(None, 50, 7)) == 7
    df = autoencoders.latent_tsne(trained, test.images(idx), test.labels[idx], perplexity=5, seed=0)
    assert list(df.columns) == ["model", "label", "x", "y", "norm"]
    assert len(df) == 2 * 40 and set(df["model"]) == set(KINDS)
    assert np.isfinite(df[["x", "y"]].to_numpy()).all()
    assert np.allclose(df[df["model"] == "sae"]["norm"], 1, atol=1e-6)

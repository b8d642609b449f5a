"""The latent sets the metric tables score (latentspace.evaluation): shared endpoints and
draws, the laws of matched and linear midpoints, centerization and spherization, the
near-origin points, and scoring a generator against reference statistics."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from latentspace import display, evaluation, metrics, priors, runlog
from latentspace.classifier import SmallCNN

N, D = 4000, 50


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def normal():
    return priors.get("normal")


@pytest.fixture(scope="module")
def uniform():
    return priors.get("uniform")


def test_two_point_midpoints_share_endpoints_across_operations(normal):
    z = normal.sample(2 * N, D, generator=gen(3), dtype=torch.float64).reshape(2, N, D)
    linear = evaluation.midpoints("linear", normal, N, D, 2, gen(3))
    torch.testing.assert_close(linear, 0.5 * (z[0] + z[1]), rtol=0, atol=1e-12)
    # The normal prior's matched midpoint is the linear one divided by ||(1/2, 1/2)|| = 1/sqrt(2).
    matched = evaluation.midpoints("ot_matched", normal, N, D, 2, gen(3))
    torch.testing.assert_close(matched, linear * math.sqrt(2), rtol=1e-10, atol=1e-12)


def test_four_point_midpoints(normal, uniform):
    z = normal.sample(4 * N, D, generator=gen(4), dtype=torch.float64).reshape(4, N, D)
    linear = evaluation.midpoints("linear", normal, N, D, 4, gen(4))
    torch.testing.assert_close(linear, z.mean(dim=0), rtol=0, atol=1e-12)
    # Matched, the centre has weights (1/4,) * 4, whose 2-norm is 1/2: the mean times 2.
    matched = evaluation.midpoints("ot_matched", normal, N, D, 4, gen(4))
    torch.testing.assert_close(matched, 2 * z.mean(dim=0), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("points", [2, 4])
def test_matched_midpoints_keep_the_prior_and_linear_ones_do_not(uniform, points, stats):
    cdf = uniform.coordinate.cdf
    matched = evaluation.midpoints("ot_matched", uniform, N, D, points, gen(5)).numpy()
    stat, crit = stats.ks_1samp(matched[:, 0], cdf)  # one coordinate per code: independent draws
    assert stat < crit
    linear = evaluation.midpoints("linear", uniform, N, D, points, gen(5)).numpy()
    stat, crit = stats.ks_1samp(linear[:, 0], cdf)
    assert stat > 3 * crit


def test_midpoints_check_points(normal):
    with pytest.raises(ValueError, match="points must be 2 or 4"):
        evaluation.midpoints("linear", normal, 10, D, 3)
    with pytest.raises(ValueError, match="not a 2-point interpolation"):
        evaluation.midpoints("vicinity", normal, 10, D, 2)


def test_scaled_shares_draws_across_alphas(normal):
    one = evaluation.scaled(normal, 1.0, N, D, gen(6))
    torch.testing.assert_close(evaluation.scaled(normal, 2.5, N, D, gen(6)), 2.5 * one)
    assert not evaluation.scaled(normal, 0, N, D, gen(6)).any()
    with pytest.raises(ValueError, match="alpha"):
        evaluation.scaled(normal, -1.0, N, D)


@pytest.mark.parametrize("noise", ["normal", "uniform", "poisson", "chi2"])
def test_treatments(noise):
    prior = priors.get(noise)
    drawn = evaluation.treated(prior, "as drawn", N, D, gen(7))
    torch.testing.assert_close(drawn, prior.sample(N, D, generator=gen(7), dtype=torch.float64))
    centered = evaluation.treated(prior, "centered", N, D, gen(7))
    torch.testing.assert_close(centered.mean(dim=1), torch.zeros(N, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(centered, drawn - drawn.mean(dim=1, keepdim=True))
    for treatment in ("spherized", "centered and spherized"):
        z = evaluation.treated(prior, treatment, N, D, gen(7))
        torch.testing.assert_close(z.norm(dim=1), torch.full((N,), math.sqrt(D), dtype=torch.float64))
    both = evaluation.treated(prior, "centered and spherized", N, D, gen(7), radius=1.0)
    torch.testing.assert_close(both, centered / centered.norm(dim=1, keepdim=True))
    with pytest.raises(ValueError, match="unknown treatment"):
        evaluation.treated(prior, "whitened", N, D)


def test_near_origin_points_lie_on_opposite_point_paths(normal, stats):
    y = evaluation.near_origin(normal, N, D, gen(8), half_width=0.1)
    z = normal.sample(N, D, generator=gen(8), dtype=torch.float64)
    ratio = (y / z).numpy()  # 1 - 2t per code, the same for every coordinate
    np.testing.assert_allclose(ratio, ratio[:, :1].repeat(D, axis=1), rtol=1e-9)
    stat, crit = stats.ks_1samp(ratio[:, 0], lambda x: np.clip((x + 0.2) / 0.4, 0, 1))  # 1 - 2t ~ U(-0.2, 0.2)
    assert stat < crit


def test_latent_sets_labels_and_shared_endpoints(normal):
    sets = list(evaluation.latent_sets("midpoints", normal, D, 100, seed=1, ops=["linear", "slerp"]))
    assert [(s["set"], s["op"]) for s, _ in sets] == [
        ("random", "none"),
        ("2-point midpoint", "linear"),
        ("2-point midpoint", "slerp"),
        ("4-point midpoint", "linear"),
        ("4-point midpoint", "slerp"),
    ]
    expected = evaluation.midpoints("slerp", normal, 100, D, 2, runlog.generator(1, "quality", "midpoints"))
    torch.testing.assert_close(sets[2][1], expected)
    treated = list(evaluation.latent_sets("treated", normal, D, 10, seed=1, noises={"u": {"prior": "uniform"}}))
    assert [s["treatment"] for s, _ in treated] == list(evaluation.TREATMENTS)
    with pytest.raises(ValueError, match="unknown option"):
        list(evaluation.latent_sets("scaled", normal, D, 10, seed=1, alphas=[1], ops=["linear"]))
    with pytest.raises(ValueError, match="unknown kind"):
        list(evaluation.latent_sets("walks", normal, D, 10, seed=1))


class Decoder(nn.Module):
    """A fixed stand-in generator: z (n, D) -> images (n, 1, 8, 8) in [-1, 1]."""

    def __init__(self, dim):
        super().__init__()
        self.lin = nn.Linear(dim, 64)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            nn.init.normal_(self.lin.weight, 0, 1 / math.sqrt(dim))

    def forward(self, z):
        return torch.tanh(self.lin(z)).view(-1, 1, 8, 8)


def test_score_is_zero_against_its_own_images_and_grows_off_the_prior(normal):
    torch.manual_seed(0)
    extractor = metrics.ClassifierExtractor(SmallCNN(1, 8, 10, 4, 16).eval(), device="cpu")
    decoder = Decoder(D)
    z = normal.sample(2000, D, generator=gen(9), dtype=torch.float64)
    with torch.no_grad():
        real = decoder(z.float())
    ref = {"classifier": metrics.reference_stats(extractor, real)}
    names = ["fid_classifier", "is_classifier"]
    own = evaluation.score(decoder, z, names, {"classifier": extractor}, ref, splits=4)
    assert own["fid_classifier"].value == pytest.approx(0, abs=1e-6)
    assert 1 <= own["is_classifier"].value <= 10
    fresh = evaluation.score(decoder, normal.sample(2000, D, generator=gen(10)), names, {"classifier": extractor}, ref)
    shrunk = evaluation.score(decoder, 0.25 * z, names, {"classifier": extractor}, ref)
    assert fresh["fid_classifier"].value < shrunk["fid_classifier"].value / 5
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluation.score(decoder, z * math.inf, names, {"classifier": extractor}, ref)


def test_display_tables():
    rows = []
    for model, base in (("a", 10.0), ("b", 20.0)):
        rows.append({"model": model, "set": "random", "op": "none", "fid_classifier": base, "fid_classifier_std": 1.0})
        rows.append(
            {"model": model, "set": "2-point midpoint", "op": "linear", "fid_classifier": 1.5 * base,
             "fid_classifier_std": 2.0}
        )
    shown = display.display_table("midpoints", pd.DataFrame(rows))
    assert list(shown["FID (classifier) change (%)"]) == ["+0.0", "+50.0", "+0.0", "+50.0"]
    assert shown["FID (classifier)"].iloc[1] == "15.00 $\\pm$ 2.00"
    treated = pd.DataFrame(
        [{"noise": n, "treatment": t, "fid_classifier": i, "fid_classifier_std": 0.5}
         for i, (n, t) in enumerate((n, t) for n in ("normal", "poisson") for t in evaluation.TREATMENTS)]
    )
    wide = display.display_table("treated", treated)
    assert list(wide.columns) == ["metric", "noise law", *evaluation.TREATMENTS]
    assert wide.loc[1, "centered"] == "6.00 $\\pm$ 0.50"


def test_extractors_named_clearly():
    assert evaluation.metrics_for(["classifier", "inception"]) == [
        "fid_classifier", "is_classifier", "kid_classifier", "precision_classifier", "recall_classifier",
        "fid_inception", "kid_inception", "precision_inception", "recall_inception",
    ]
    with pytest.raises(ValueError, match="unknown extractor"):
        evaluation.metrics_for(["vgg"])
    with pytest.raises(FileNotFoundError, match="metrics.inception_weights"):
        evaluation.load_extractors(["inception"])
    with pytest.raises(FileNotFoundError, match="InceptionV3 weights not found"):
        evaluation.load_extractors(["inception"], inception="/nonexistent/default_1.pt")

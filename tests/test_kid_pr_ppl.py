"""KID, precision/recall and perceptual path length (latentspace.metrics): against closed
forms, against torch-fidelity (an independent implementation, test-only dependency of the
dev extra) on the same features, and against the analytic path length of linear
generators. Also the 8-bit quantization that every scored image goes through."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from latentspace import data, display, evaluation, metrics, priors, realism, render, runlog

# --------------------------------------------------------------------------- KID


def cubic_kernel_mean(a: np.ndarray, b: np.ndarray, d: int, gamma: float, coef0: float) -> float:
    """E (gamma X.Y + coef0)^3 for independent X ~ N(a, I_d), Y ~ N(b, I_d).

    With s = X.Y: given Y, s ~ N(a.Y, |Y|^2), so E s = a.b, E s^2 = (a.b)^2 + |a|^2 + |b|^2 + d,
    E s^3 = (a.b)^3 + 3 (a.b)(|a|^2 + |b|^2 + d + 2); expand the cube."""
    mu, aa, bb = a @ b, a @ a, b @ b
    s1, s2 = mu, mu**2 + aa + bb + d
    s3 = mu**3 + 3 * mu * (aa + bb + d + 2)
    return gamma**3 * s3 + 3 * gamma**2 * coef0 * s2 + 3 * gamma * coef0**2 * s1 + coef0**3


def test_kid_of_shifted_gaussians_matches_the_cubic_kernel_mmd(stats):
    """MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y) in closed form (0.4459 here) against
    the unbiased estimate on whole sets of n = 2000. The estimate's standard error is
    taken from the spread over subsets of m = 400 (a U-statistic's variance falls like
    1/n at leading order, so se(n) = std(m) sqrt(m / n)); the check is at level ALPHA."""
    d, n, m = 4, 2000, 400
    shift = np.array([0.5, -0.3, 0.2, 0.1])
    zero = np.zeros(d)
    gamma = 1.0 / d
    exact = (
        cubic_kernel_mean(zero, zero, d, gamma, 1.0)
        + cubic_kernel_mean(shift, shift, d, gamma, 1.0)
        - 2 * cubic_kernel_mean(zero, shift, d, gamma, 1.0)
    )
    assert exact == pytest.approx(0.445892484375)
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d)) + shift
    whole = metrics.kid(x, y, subset_size=n)
    assert len(whole.per_split) == 1 and math.isnan(whole.std)
    spread = metrics.kid(x, y, subsets=50, subset_size=m, seed=1)
    se = spread.std * math.sqrt(m / n)
    assert abs(whole.mean - exact) < stats.z_critical() * se, (whole.mean, exact, se)
    # The biased estimator (diagonals kept) is off by 2 (E k(X, X) - E k(X, X')) / n on
    # average: what the unbiased one removes (checked here on the same data).
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(whole.mean, rel=1e-12)


def test_kid_of_one_law_is_zero_within_its_spread():
    """Two independent samples of N(0, I_4): the mean over 50 subsets of 500 is 0 up to
    noise, well inside the per-subset spread; the biased V-statistic on a subset sits
    above that spread (about 0.04 against a spread of about 0.015), so a biased
    implementation fails this test."""
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((3000, 4)), rng.standard_normal((3000, 4))
    s = metrics.kid(x, y, subsets=50, subset_size=500, seed=0)
    assert len(s.per_split) == 50 and s.std > 0
    assert abs(s.mean) < s.std
    xs, ys = x[:500], y[:500]

    def k(a, b):
        return (a @ b.T / 4 + 1) ** 3

    biased = k(xs, xs).mean() + k(ys, ys).mean() - 2 * k(xs, ys).mean()
    assert biased > s.std
    assert metrics.kid(x, y, subsets=50, subset_size=500, seed=0) == s  # seeded
    assert metrics.kid(x, y, subsets=50, subset_size=500, seed=1) != s
    with pytest.raises(ValueError, match="exceeds the smaller set"):
        metrics.kid(x, y[:100], subset_size=500)
    with pytest.raises(ValueError, match="dimensions differ"):
        metrics.kid(x, y[:, :3], subset_size=100)


def test_kid_agrees_with_torch_fidelity():
    """Whole sets (subset_size = N): our KID equals torch-fidelity's kernel_mmd (the MMD-GAN
    code that torch-fidelity adapts) to round-off, with default and other kernel options."""
    metric_kid = pytest.importorskip("torch_fidelity.metric_kid")
    rng = np.random.default_rng(12)
    for n, d, options in [(300, 16, {}), (500, 64, {"degree": 2, "gamma": 0.1, "coef0": 0.5})]:
        x, y = rng.standard_normal((n, d)), 1.2 * rng.standard_normal((n, d)) + 0.1
        ours = metrics.kid(x, y, subset_size=n, **options).mean
        theirs = metric_kid.kernel_mmd(
            x,
            y,
            kid_kernel="poly",
            kid_kernel_poly_degree=options.get("degree", 3),
            kid_kernel_poly_gamma=options.get("gamma"),
            kid_kernel_poly_coef0=options.get("coef0", 1.0),
        )
        assert ours == pytest.approx(float(theirs), rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- precision and recall


def test_precision_recall_closed_cases():
    rng = np.random.default_rng(13)
    a = rng.standard_normal((400, 8))
    b = rng.standard_normal((300, 8)) + 100.0  # far apart: no ball reaches the other cluster
    pr = metrics.precision_recall(a, a, k=3)
    assert (pr.precision, pr.recall) == (1.0, 1.0)
    pr = metrics.precision_recall(a, b, k=3)
    assert (pr.precision, pr.recall) == (0.0, 0.0)
    # Real = both clusters, fake = cluster a: every fake sample is a real one (precision
    # 1), the real samples of a are covered and those of b are not (recall 400 / 700).
    pr = metrics.precision_recall(np.concatenate([a, b]), a, k=3)
    assert pr.precision == 1.0 and pr.recall == pytest.approx(400 / 700, abs=1e-15)
    assert (pr.k, pr.n_real, pr.n_fake) == (3, 700, 400)
    with pytest.raises(ValueError, match="needs more than k"):
        metrics.precision_recall(a[:3], a, k=3)


def test_precision_recall_is_the_same_in_small_blocks(monkeypatch):
    """The blocked computation (rows at a time, 2^22 distances per block by default) gives
    the same fractions with blocks of 7 rows as in one block."""
    rng = np.random.default_rng(14)
    real, fake = rng.standard_normal((600, 5)), 0.8 * rng.standard_normal((500, 5)) + 0.3
    whole = metrics.precision_recall(real, fake, k=5)
    assert 0.05 < whole.precision < 0.999 and 0.05 < whole.recall < 0.999  # not a trivial case
    monkeypatch.setattr(metrics, "_BLOCK_VALUES", 7 * 600)
    assert metrics.precision_recall(real, fake, k=5) == whole


def test_precision_recall_agrees_with_torch_fidelity():
    """The same counts as torch-fidelity's calculate_precision_recall_full (fake first,
    real second) on the same float64 features, for partly overlapping laws."""
    metric_prc = pytest.importorskip("torch_fidelity.metric_prc")
    rng = np.random.default_rng(15)
    for n_real, n_fake, d, k in [(500, 400, 16, 3), (800, 800, 64, 5)]:
        real = rng.standard_normal((n_real, d))
        fake = 1.1 * rng.standard_normal((n_fake, d)) + 0.2
        ours = metrics.precision_recall(real, fake, k=k)
        p, r = metric_prc.calculate_precision_recall_full(
            torch.from_numpy(fake), torch.from_numpy(real), neighborhood=k
        )
        assert round(ours.precision * n_fake) == round(p * n_fake)
        assert round(ours.recall * n_real) == round(r * n_real)
        assert 0 < ours.precision < 1 and 0 < ours.recall < 1


# --------------------------------------------------------------------------- quantization


def test_quantize_keeps_real_images_and_rounds_generated_ones():
    pixels = torch.randint(0, 256, (16, 1, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    real = data.ImageDataset(pixels).images()  # p / 127.5 - 1, as Fashion-MNIST, MNIST and CelebA are stored
    assert torch.equal(metrics.quantize(real), real)  # unchanged, bit for bit
    # (The 8 x 8 digits have 17 grey levels, not bytes: quantizing moves them by up to 1/255.)
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2.2 - 1.1
    q = metrics.quantize(x)
    assert q.min() >= -1 and q.max() <= 1
    levels = (q + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)  # on the 256-level grid
    inside = x.abs() <= 1
    assert (q - x)[inside].abs().max() <= 1 / 255 + 1e-6  # rounding: at most half a level (1/127.5 / 2)


# --------------------------------------------------------------------------- path length


D = 8


class LinearGenerator(nn.Module):
    """G(z) = A z as a 1 x 4 x 4 image: the path length of a path p is ||A p'(t)||^2."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(D, 16, bias=False)
        nn.init.normal_(self.fc.weight, generator=torch.Generator().manual_seed(0))

    def forward(self, z):
        return self.fc(z).view(-1, 1, 4, 4)


class Pixels:
    """The identity extractor: features are the pixels."""

    name, fingerprint, device = "pixels", "", torch.device("cpu")

    def __call__(self, images):
        return images.flatten(1), None


@pytest.fixture(scope="module")
def linear_setup():
    g = torch.Generator().manual_seed(1)
    prior = priors.get("normal")
    n = 1000
    z1, z2 = prior.sample(n, D, generator=g, dtype=torch.float64), prior.sample(n, D, generator=g, dtype=torch.float64)
    generator = LinearGenerator()
    return generator, generator.fc.weight.detach().double(), prior, z1, z2


def test_path_length_of_a_linear_generator_on_linear_paths(linear_setup, stats):
    """Linear paths: d_i = ||A (z2 - z1)||^2 for every t, exactly up to the float32
    generator (relative error of the finite difference about 1e-3 at most); the PPL is the
    trimmed mean of these values, and the untrimmed mean estimates 2 ||A||_F^2."""
    generator, a, prior, z1, z2 = linear_setup
    r = metrics.path_length(generator, Pixels(), metrics.interpolation_paths("linear", z1, z2, prior))
    exact = ((z2 - z1) @ a.T).pow(2).sum(dim=1).numpy()
    assert r.n == len(z1) and r.extractor == "pixels" and r.epsilon == 1e-4
    assert np.allclose(r.distances, exact, rtol=1e-2)
    trimmed = metrics._trimmed(exact)
    assert len(trimmed) < len(exact)  # the 1 and 99 percentiles cut something
    assert r.value == pytest.approx(trimmed.mean(), rel=1e-3)
    assert r.std == pytest.approx(trimmed.std(ddof=1) / math.sqrt(len(trimmed)), rel=1e-2)
    expected = 2 * float(a.pow(2).sum())
    assert abs(r.distances.mean() - expected) < stats.z_critical() * r.distances.std() / math.sqrt(r.n)
    # t is uniform on [0, 1], one draw per path by default; the bins partition the paths.
    assert len(np.unique(r.t)) == r.n and 0 <= r.t.min() and r.t.max() < 1
    assert sum(r.bin_counts) == r.n and len(r.bin_values) == 10 and r.bin_edges[0] == 0 and r.bin_edges[-1] == 1
    again = metrics.path_length(generator, Pixels(), metrics.interpolation_paths("linear", z1, z2, prior))
    assert np.array_equal(again.distances, r.distances)  # seeded


def test_path_length_of_normalized_and_matched_paths(linear_setup):
    """Normalized paths p(t) = u(t) / s(t), u = (1 - t) z1 + t z2, s = sqrt((1 - t)^2 + t^2):
    p' = (z2 - z1) / s - u (2t - 1) / s^3 and d_i = ||A p'(t_i)||^2 (finite-difference
    error O(epsilon)). For the normal prior ot_matched is the normalized interpolation,
    so its path lengths are the same numbers."""
    generator, a, prior, z1, z2 = linear_setup
    r = metrics.path_length(generator, Pixels(), metrics.interpolation_paths("normalized", z1, z2, prior))
    t = torch.from_numpy(r.t)[:, None]
    s = torch.sqrt((1 - t) ** 2 + t**2)
    u = (1 - t) * z1 + t * z2
    derivative = (z2 - z1) / s - u * (2 * t - 1) / s**3
    assert np.allclose(r.distances, (derivative @ a.T).pow(2).sum(dim=1).numpy(), rtol=1e-2)
    matched = metrics.path_length(generator, Pixels(), metrics.interpolation_paths("ot_matched", z1, z2, prior))
    assert np.allclose(matched.distances, r.distances, rtol=1e-3)


def test_path_length_of_slerp_between_orthogonal_codes(linear_setup):
    """slerp between orthogonal codes of equal norm r runs along a great circle at speed
    r pi / 2; with an orthonormal A (a rotation), d = (r pi / 2)^2 in every bin."""
    q, _ = torch.linalg.qr(torch.randn(16, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    generator = LinearGenerator()
    with torch.no_grad():
        generator.fc.weight.copy_(q.float())
    e = torch.eye(D, dtype=torch.float64)
    z1, z2 = 3.0 * e[:4], 3.0 * e[4:]
    r = metrics.path_length(generator, Pixels(), metrics.interpolation_paths("slerp", z1, z2), bins=2)
    assert np.allclose(r.distances, (3.0 * math.pi / 2) ** 2, rtol=1e-2)
    assert r.value == pytest.approx((3.0 * math.pi / 2) ** 2, rel=1e-2)


def test_path_length_of_polylines_and_ri_optimal_paths(linear_setup):
    """A polyline through points of the straight line is the linear path; a bent one
    (x0 -> x1 -> x2, each half of [0, 1]) has speed 2 ||A (x1 - x0)|| on the first half,
    2 ||A (x2 - x1)|| on the second: the two bins show the two values. ri-optimal paths of
    latentspace.realism are polylines (their ``path``)."""
    generator, a, prior, z1, z2 = linear_setup
    ts = torch.linspace(0, 1, 6, dtype=torch.float64)
    straight = (1 - ts)[None, :, None] * z1[:, None] + ts[None, :, None] * z2[:, None]  # (n, 6, D)
    lin = metrics.path_length(generator, Pixels(), metrics.interpolation_paths("linear", z1, z2, prior))
    poly = metrics.path_length(generator, Pixels(), metrics.polyline_paths(straight))
    assert np.allclose(poly.distances, lin.distances, rtol=1e-2)
    mid = torch.randn(len(z1), D, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    bent = torch.stack([z1, mid, z2], dim=1)
    r = metrics.path_length(generator, Pixels(), metrics.polyline_paths(bent), bins=2)
    first = (4 * ((mid - z1) @ a.T).pow(2).sum(dim=1)).numpy()
    second = (4 * ((z2 - mid) @ a.T).pow(2).sum(dim=1)).numpy()
    # t within epsilon of the corner at 1/2 straddles both segments; there are none here.
    assert not np.any(np.abs(r.t - 0.5) < 1e-4)
    assert np.allclose(r.distances, np.where(r.t < 0.5, first, second), rtol=1e-2)
    assert r.bin_values[0] == pytest.approx(metrics._trimmed(first[r.t < 0.5]).mean(), rel=1e-3)
    assert r.bin_values[1] == pytest.approx(metrics._trimmed(second[r.t >= 0.5]).mean(), rel=1e-3)

    index = realism.index_for(prior, D)
    ri = realism.optimise_path(generator, index, z1[:4], z2[:4], k=8, steps=3)
    r = metrics.path_length(generator, Pixels(), metrics.polyline_paths(ri.path))
    assert r.n == 4 and math.isfinite(r.value)


@pytest.mark.parametrize("op", ["slerp", "cauchy_linear", "spherical_cauchy_linear", "ot_matched"])
def test_path_length_runs_for_every_interpolation(linear_setup, op):
    """Every 2-point interpolation of latentspace.operations, with few t draws (one call of
    the operation per draw): the t values repeat as drawn, every bin of t gets its share,
    the value is finite and positive, and z to -z paths run too."""
    generator, _, prior, z1, z2 = linear_setup
    r = metrics.path_length(generator, Pixels(), metrics.interpolation_paths(op, z1[:200], z2[:200], prior),
                            t_draws=20)
    assert len(np.unique(r.t)) == 20 and r.value > 0 and math.isfinite(r.value)
    assert r.bin_counts == (20,) * 10  # stratified draws: two of the 20 strata per bin, 10 paths each
    r = metrics.path_length(generator, Pixels(), metrics.interpolation_paths(op, z1[:50], -z1[:50], prior),
                            t_draws=10)
    assert math.isfinite(r.value)


def test_path_length_checks_its_arguments(linear_setup):
    generator, _, prior, z1, z2 = linear_setup
    paths = metrics.interpolation_paths("linear", z1, z2, prior)
    with pytest.raises(ValueError, match="epsilon"):
        metrics.path_length(generator, Pixels(), paths, epsilon=0)
    with pytest.raises(ValueError, match="not a 2-point interpolation"):
        metrics.interpolation_paths("vicinity", z1, z2, prior)
    with pytest.raises(ValueError, match="'n'"):
        metrics.path_length(generator, Pixels(), lambda t, i: z1[i].expand(len(t), -1, -1))


class PixelClassifier:
    """A stand-in "classifier" extractor: pixels as features, the first 3 pixels as logits."""

    name, fingerprint, device = "classifier", "", torch.device("cpu")

    def __call__(self, images):
        x = images.flatten(1)
        return x, x[:, :3]


def test_evaluate_scores_images_quantized_to_8_bits():
    """metrics.evaluate rounds image tensors to 8 bits before extracting features (the one
    place every scored image passes); quantize_8bit=False scores the float images."""
    x = torch.rand(40, 1, 4, 4, generator=torch.Generator().manual_seed(4)) * 2 - 1
    ref = {"classifier": metrics.FeatureStats.from_features(np.random.default_rng(5).standard_normal((50, 16)))}
    extractors = {"classifier": PixelClassifier()}
    names = ["fid_classifier", "is_classifier"]
    out = metrics.evaluate(x, names, extractors, ref, splits=2)
    same = metrics.evaluate(metrics.quantize(x), names, extractors, ref, splits=2, quantize_8bit=False)
    raw = metrics.evaluate(x, names, extractors, ref, splits=2, quantize_8bit=False)
    for name in names:
        assert out[name].value == same[name].value
        assert out[name].value != raw[name].value
        assert out[name].value == pytest.approx(raw[name].value, rel=1e-2)  # a small shift


def test_evaluate_gives_kid_and_precision_recall_against_the_reference_features(tmp_path):
    """The registry's kid_/precision_/recall_ metrics: the same numbers as the functions
    on the (quantized) images' features against the reference features that the
    reference statistics keep (and save); a reference without them is refused."""
    g = torch.Generator().manual_seed(6)
    real = data.ImageDataset(torch.randint(0, 256, (300, 1, 4, 4), generator=g, dtype=torch.uint8))
    fake = (torch.rand(200, 1, 4, 4, generator=g) * 1.6 - 0.9)
    extractor = PixelClassifier()
    ref = metrics.reference_stats(extractor, real, cache=tmp_path / "ref.npz")
    assert ref.features.shape == (300, 16)
    assert np.array_equal(metrics.FeatureStats.load(tmp_path / "ref.npz").features, ref.features)
    names = ["kid_classifier", "precision_classifier", "recall_classifier"]
    out = metrics.evaluate(fake, names, {"classifier": extractor}, {"classifier": ref}, splits=4,
                           kid_subsets=10, kid_subset_size=150, seed=3)
    feats = metrics.quantize(fake).flatten(1).double().numpy()
    k = metrics.kid(ref.features, feats, subsets=10, subset_size=150, seed=3)
    assert out["kid_classifier"].value == k.mean and out["kid_classifier"].std == k.std
    chosen = ref.features[np.sort(np.random.default_rng(3).choice(300, 200, replace=False))]
    pr = metrics.precision_recall(chosen, feats, k=3)
    assert out["precision_classifier"].value == pr.precision and out["recall_classifier"].value == pr.recall
    assert len(out["recall_classifier"].per_split) == 4 and out["recall_classifier"].std >= 0
    assert out["precision_classifier"].n == 200 and out["precision_classifier"].n_reference == 200
    moments_only = metrics.FeatureStats(ref.mu, ref.sigma, ref.n, ref.extractor, ref.fingerprint)
    with pytest.raises(ValueError, match="reference features"):
        metrics.evaluate(fake, ["kid_classifier"], {"classifier": extractor}, {"classifier": moments_only})


def test_score_paths_rows_and_their_table(linear_setup):
    """evaluation.score_paths: per endpoint kind and operation one whole-path row and one
    row per bin, the same pairs for every operation (linear and normalized agree at t = 0
    and 1 only, so their values differ); the table shows one line per (model, endpoints, op).
    For a linear generator a z to -z linear path has d = ||A (2 z)||^2 at every t."""
    generator, a, prior, _, _ = linear_setup
    model = render.Model(generator, prior, D, 0, "normal", {})
    df = evaluation.score_paths(model, Pixels(), ["linear", "normalized"], n=40, seed=0, t_draws=8, bins=4)
    assert len(df) == 2 * 2 * (1 + 4)
    assert list(df.columns) == ["endpoints", "op", "extractor", "n", "scope", "t_lo", "t_hi", "ppl", "ppl_std", "count"]
    whole = df[df["scope"] == "path"].set_index(["endpoints", "op"])["ppl"]
    assert whole[("random", "linear")] != whole[("random", "normalized")]
    z1, z2 = render.endpoint_pairs(prior, 40, D, runlog.generator(0, "path-length", "opposite"), kind="opposite")
    exact = metrics._trimmed(((z2 - z1) @ a.T).pow(2).sum(dim=1).numpy())
    assert whole[("opposite", "linear")] == pytest.approx(exact.mean(), rel=1e-3)
    assert (df[df["scope"] == "bin"]["count"] == 10).all()  # 8 stratified draws, 2 per bin, 5 paths each
    shown = display.display_path_lengths(df.assign(model="lin"))
    assert len(shown) == 4 and list(shown.columns) == [
        "model", "endpoints", "operation", "PPL (pixels)", "largest at t in", "largest / whole"]
    assert set(shown["endpoints"]) == {"random pairs", "z to -z"}


# --------------------------------------------------------------------------- workflow


@pytest.mark.slow
def test_workflow_path_length_and_kid_columns(built):
    """config/test.yaml: table path-length (whole path and per bin of t, per midpoint-quality
    model, operation and endpoint kind) with its profile figure, and KID and
    precision/recall columns beside FID and IS in midpoint-quality."""
    import pandas as pd
    import yaml

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "test.yaml").read_text())["metrics"]
    ops, models = cfg["midpoint_quality"]["ops"], cfg["midpoint_quality"]["models"]
    pl = cfg["path_length"]
    df = pd.read_csv(built / "results/tables/path-length.csv")
    assert len(df) == len(models) * len(ops) * 2 * (1 + pl["bins"])
    whole = df[df["scope"] == "path"]
    assert (whole["n"] == pl["n_paths"]).all() and (whole["ppl"] > 0).all() and whole["ppl"].notna().all()
    assert df[df["scope"] == "bin"]["ppl"].notna().all()  # stratified draws fill every bin
    tex = (built / "results/tables/path-length.tex").read_text()
    assert "PPL (classifier)" in tex and "z to -z" in tex
    assert (built / "results/figures/path-length-profile.pdf").stat().st_size > 0
    quality = pd.read_csv(built / "results/tables/midpoint-quality.csv")
    for name in ("kid_classifier", "precision_classifier", "recall_classifier"):
        assert quality[name].notna().all() and quality[f"{name}_std"].notna().all()
    assert quality[["precision_classifier", "recall_classifier"]].apply(lambda c: c.between(0, 1).all()).all()
    assert "KID (classifier)" in (built / "results/tables/midpoint-quality.tex").read_text()

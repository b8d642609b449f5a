"""GAN training on a tiny setting (digits at 16 x 16, width 8): outputs, bitwise resume,
the non-finite guard, option checks."""

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
    with pytest.raises(ValueError, match="'batch_size' must be a positive integer"):
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
    with pytest.raises(ValueError, match="'precision' must be one of float32, bfloat16"):
        tiny(precision="half")

"""GAN training: a plain loop that is seeded, checkpointed, resumable and guarded.

The loop is the DCGAN recipe of Lesniak et al. (2018), appendix A: Adam (learning rate
2e-4, betas (0.5, 0.999)), batches of 64, the non-saturating GAN loss (binary cross
entropy on the discriminator's logits; the generator maximises log D(G(z))), latents
from any prior of :mod:`latentspace.priors`.

A run lives in one directory::

    config.json                      the resolved configuration (checked on resume)
    checkpoint.pt                    latest state: both models, both optimizers, step,
                                     random-number states, data order, unlogged losses
    losses.csv                       step, d_loss, g_loss, d_real, d_fake (window means)
    status.jsonl                     one line per log tick: time, speed, memory
    snapshots/generator-step*.pt     generator weights at the configured snapshot steps
    snapshots/samples-step*.png      sample grid (fixed noise) at those steps
    generator.pt, samples.png        the final generator and its sample grid

Every file is written to a temporary name and renamed, so a killed run never leaves a
half-written checkpoint. Running again in the same directory resumes from
``checkpoint.pt``; on the CPU an interrupted and resumed run ends with the same weights,
bit for bit, as an uninterrupted one. A non-finite loss stops training with
:class:`NonFiniteLossError` naming the step; the last good checkpoint is kept. A
checkpoint that cannot be used (cut short, damaged, or of a network this code no longer
builds) raises :class:`latentspace.files.DamagedFileError` naming it and saying what to
do; it is never deleted or overwritten automatically.

Speed: the dataset is one tensor on the training device and a batch is one indexing
operation; the discriminator sees real and fake images in one pass (there is no batch
normalisation, so this equals two passes); its weights are frozen during the generator
step, so their gradients are not computed; losses stay on the device and are read back
once per log window, not once per step.

    >>> from latentspace import data, training
    >>> ds = data.load("digits", size=32)
    >>> cfg = training.GANConfig(steps=200, width=16)
    >>> result = training.train_gan(cfg, ds, "runs/digits-normal")
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import logging
import math
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import files, models, priors
from ._checks import check_int, is_int
from ._registry import from_options
from .atomic import write_atomic as _write_atomic
from .checkpoints import (
    CHECKPOINT_FORMAT,
    RESTART,
    load_autoencoder,
    load_generator,
    model_file,
    read_checkpoint,
    read_generator_file,
)
from .checkpoints import save as _save
from .data import ImageDataset
from .device import PRECISIONS, num_threads, resolve_device, resolve_precision

__all__ = [
    "GANConfig",
    "TrainResult",
    "NonFiniteLossError",
    "train_gan",
    "gan_step",
    "load_generator",
    "read_generator_file",
    "sample_grid",
    "CSV_COLUMNS",
]

CSV_COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake")
# Options that may change between a run and its resumption (they do not change the maths).
_PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}
_log = logging.getLogger(__name__)
RESUMABLE_CHANGES = frozenset({"steps", "checkpoint_every", "snapshot_steps", "grid_size", "device", "num_threads"})


class NonFiniteLossError(FloatingPointError):
    """A loss (or a weight) became NaN or infinite; ``step`` is the first bad step."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class GANConfig:
    """Options of one GAN training run; checked on construction.

    Attributes:
        steps: total number of training steps (one discriminator and one generator update).
        batch_size: images per step (the paper: 64).
        latent_dim: dimension D of the latent space (the paper: 100).
        prior, prior_params: the latent prior, by name, for :func:`latentspace.priors.get`.
        generator: "dcgan" or "fc" (the fully connected variant), see
            :func:`latentspace.models.build_generator`; the discriminator is the DCGAN one.
        width: channels of the last hidden layer (the paper: 64).
        lr, beta1, beta2: Adam (the paper: 2e-4, 0.5, 0.999).
        seed: seeds model initialisation, latents, data order and the fixed noise of the
            sample grids (four independent streams derived from it).
        log_every: steps per row of losses.csv (window means) and per status line.
        checkpoint_every: steps between checkpoints (also written at snapshot steps and
            at the end).
        snapshot_steps: steps at which the generator and a sample grid are kept as
            separate files named by step.
        grid_size: images in each sample grid (from the same fixed noise).
        device: "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...
        num_threads: CPU threads (None: one per CPU this process may use).
        precision: "float32"; "bfloat16" to run the forward passes under
            ``torch.autocast`` (weights, gradients, losses and Adam stay float32); or
            "auto": bfloat16 on CPUs with bfloat16 hardware (AMX, AVX512-BF16),
            float32 elsewhere, CUDA included (:func:`latentspace.device.resolve_precision`).
            With bfloat16 hardware a width-16 step is 1.2-1.3x faster (1.7x at width 64)
            and the samples as good at equal steps (benchmarks/README.md); emulated
            bfloat16 is slower. A run records the precision it resolved to in config.json
            and resumes only with the same one (bit for bit holds within one precision
            and one kind of CPU kernel, not across them).
        channels_last: keep weights and images in the channels-last memory layout,
            which oneDNN's convolutions prefer: 3-13% faster steps on a CPU at widths
            16-64 (measured with benchmarks/train_throughput.py), the same mathematics.
    """

    steps: int = 2000
    batch_size: int = 64
    latent_dim: int = 100
    prior: str = "normal"
    prior_params: dict[str, Any] = field(default_factory=dict)
    generator: str = "dcgan"
    width: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 500
    snapshot_steps: tuple[int, ...] = ()
    grid_size: int = 64
    device: str = "auto"
    num_threads: int | None = None
    precision: str = "float32"
    channels_last: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "snapshot_steps", tuple(sorted(set(self.snapshot_steps))))
        object.__setattr__(self, "prior_params", dict(self.prior_params))
        for key in ("steps", "batch_size", "latent_dim", "width", "log_every", "checkpoint_every", "grid_size"):
            value = getattr(self, key)
            check_int("GANConfig", key, value)
        if not is_int(self.seed) or self.seed < 0:
            raise ValueError(f"GANConfig: 'seed' must be a non-negative integer, got {self.seed!r}")
        if not all(is_int(s) and s >= 1 for s in self.snapshot_steps):
            raise ValueError(f"GANConfig: 'snapshot_steps' must be positive integers, got {self.snapshot_steps!r}")
        for key, lo, hi in (("lr", 0.0, math.inf), ("beta1", 0.0, 1.0), ("beta2", 0.0, 1.0)):
            value = getattr(self, key)
            if not isinstance(value, int | float) or not lo <= value < hi or (key == "lr" and value == 0):
                raise ValueError(
                    f"GANConfig: {key!r} must be a number in ({lo}, {hi}) for lr, [0, 1) for betas; got {value!r}"
                )
        if self.generator not in models.generator_kinds():
            raise ValueError(
                f"GANConfig: unknown generator {self.generator!r}; valid kinds: {', '.join(models.generator_kinds())}"
            )
        check_int("GANConfig", "num_threads", self.num_threads, allow_none=True)
        priors.get(self.prior, **self.prior_params)  # raises ValueError naming a bad prior or parameter
        if self.precision not in PRECISIONS:
            raise ValueError(f"GANConfig: 'precision' must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"GANConfig: 'channels_last' must be true or false, got {self.channels_last!r}")
        if not isinstance(self.device, str):
            raise ValueError(f"GANConfig: 'device' must be a string, got {self.device!r}")

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> GANConfig:
        """Build from a mapping (a config file's section); unknown keys raise ValueError."""
        return from_options(cls, options)  # __post_init__ turns snapshot_steps into a sorted tuple

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["snapshot_steps"] = list(self.snapshot_steps)
        return d


class _Summarised:
    """The one-line summary of a training call's result."""

    step: int
    images_per_second: float
    precision: str
    losses: dict[str, str]

    def summary(self) -> str:
        """Steps, speed, precision and the final losses, e.g. for the console."""
        losses = "".join(f", {k} {v}" for k, v in self.losses.items())
        return f"{self.step} steps, {self.images_per_second:.0f} images/s ({self.precision}){losses}"


@dataclass
class TrainResult(_Summarised):
    """What :func:`train_gan` returns."""

    run_dir: Path
    step: int
    generator: nn.Module
    discriminator: nn.Module
    resumed_from: int | None  # the checkpoint step a run resumed from, None for a fresh run
    images_per_second: float  # over the steps this call ran (nan when it ran none)
    precision: str = "float32"  # what config.precision resolved to
    losses: dict[str, str] = field(default_factory=dict)  # the last log window's mean losses (none if it ran none)


# --------------------------------------------------------------------------- small helpers


def _seeds(seed: int) -> dict[str, int]:
    """Four independent 32-bit seeds derived from ``seed`` (numpy's SeedSequence)."""
    state = np.random.SeedSequence(seed).generate_state(4).tolist()
    return dict(zip(("init", "latent", "data", "fixed"), state, strict=True))


def _stopped(exc: NonFiniteLossError, last_good: int, checkpoint_path: Path) -> NonFiniteLossError:
    """The error a training loop raises on a non-finite loss: what happened, and which
    checkpoint survives."""
    kept = (
        f"the last good checkpoint (step {last_good}) is kept in {checkpoint_path}"
        if last_good
        else "no checkpoint was written"
    )
    return NonFiniteLossError(f"{exc}; training stopped, {kept}", exc.step)


def _resume(checkpoint_path: Path, steps: int, run_dir: Path, losses: Any, stateful: Mapping[str, Any],
            rngs: Mapping[str, torch.Generator]) -> int:
    """Restore a run from ``checkpoint_path`` when it exists: each object of ``stateful``
    from the entry of its name (``load_state_dict``), each generator of ``rngs`` from its
    state, and ``losses``. Returns the step to start from (0 for a fresh run, which also
    clears an old status.jsonl)."""
    start = 0
    if checkpoint_path.exists():
        state = read_checkpoint(checkpoint_path, ("step", "losses", *stateful, *rngs))
        start = int(state["step"])
        if start > steps:
            raise ValueError(f"{checkpoint_path} is at step {start}, beyond steps = {steps}")
        for name, obj in stateful.items():
            files.load_state(obj, state[name], checkpoint_path, name, RESTART)
        for name, rng in rngs.items():
            try:
                rng.set_state(state[name])
            except (RuntimeError, TypeError) as exc:
                raise files.DamagedFileError(
                    checkpoint_path, f"holds no valid random-number state {name!r} ({exc})", RESTART
                ) from None
        files.load_state(losses, state["losses"], checkpoint_path, "loss log", RESTART)
    losses.restart(start)
    if start == 0:
        (run_dir / "status.jsonl").unlink(missing_ok=True)
    return start


def _all_finite(module: nn.Module) -> bool:
    return bool(torch.stack([p.detach().isfinite().all() for p in module.parameters()]).all())


class _BatchOrder:
    """Data order: each epoch a random permutation (from its own generator) cut into
    batches; an epoch's last incomplete batch is skipped. Its state is checkpointed."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device) -> None:
        self.n, self.batch_size, self.device = n, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.empty(0, dtype=torch.long)
        self.cursor = 0
        self.epoch = 0
        self._perm_device = self.perm.to(device)

    def next(self) -> Tensor:
        if self.cursor + self.batch_size > len(self.perm):
            self.perm = torch.randperm(self.n, generator=self.generator)
            self._perm_device = self.perm.to(self.device)
            self.cursor, self.epoch = 0, self.epoch + 1
        idx = self._perm_device[self.cursor : self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return idx

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "perm": self.perm, "cursor": self.cursor, "epoch": self.epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.perm, self.cursor, self.epoch = state["perm"], int(state["cursor"]), int(state["epoch"])
        self._perm_device = self.perm.to(self.device)


def _build_models(config: GANConfig, image_size: int, channels: int, seed: int) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator initialised from ``seed`` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = models.build_generator(
            config.generator, latent_dim=config.latent_dim, image_size=image_size, channels=channels, width=config.width
        )
        d = models.build_discriminator("dcgan", image_size=image_size, channels=channels, width=config.width)
    return g, d


# --------------------------------------------------------------------------- one step


def _autocast(device_type: str, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type, dtype=dtype)


def gan_step(
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    z: Tensor,
    autocast_dtype: torch.dtype | None = None,
) -> Tensor:
    """One training step: a discriminator update, then a generator update.

    ``autocast_dtype`` (e.g. ``torch.bfloat16``) runs the forward passes under
    ``torch.autocast``: weights, gradients, losses and Adam stay float32.
    Returns, without synchronising, a tensor (4,) on the device: discriminator loss,
    generator loss, mean D(x) on real images, mean D(G(z)) before the update.
    """
    n = real.shape[0]
    with _autocast(real.device.type, autocast_dtype):
        fake = generator(z)  # (B, C, H, W)
        # Discriminator: real images -> 1, generated -> 0. One pass over the 2B images.
        logits = discriminator(torch.cat([real, fake.detach().to(real.dtype)])).float()  # (2B,)
    d_real, d_fake = logits[:n], logits[n:]
    d_loss = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + F.binary_cross_entropy_with_logits(
        d_fake, torch.zeros_like(d_fake)
    )
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()

    # Generator, non-saturating loss: -log D(G(z)). The discriminator is frozen so its
    # weight gradients are not computed (only the gradient flowing back to the images).
    discriminator.requires_grad_(False)
    try:
        with _autocast(real.device.type, autocast_dtype):
            g_logits = discriminator(fake).float()  # (B,)
        g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    finally:
        discriminator.requires_grad_(True)

    with torch.no_grad():
        return torch.stack([d_loss, g_loss, torch.sigmoid(d_real).mean(), torch.sigmoid(d_fake).mean()])


# --------------------------------------------------------------------------- outputs


def sample_grid(generator: nn.Module, noise: Tensor, path: str | Path) -> None:
    """Save the generator's images for ``noise`` as one PNG grid (atomically)."""
    from torchvision.utils import save_image

    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        images = generator(noise.to(next(generator.parameters()).device)).float().cpu()
    generator.train(was_training)
    nrow = max(1, math.isqrt(len(images) - 1) + 1) if len(images) > 1 else 1
    _write_atomic(
        Path(path), lambda f: save_image(images, f, nrow=nrow, normalize=True, value_range=(-1, 1), format="png")
    )


def _generator_file(generator: nn.Module, config: GANConfig, step: int, image_size: int, channels: int) -> dict:
    """What generator.pt and the snapshots hold (:func:`latentspace.checkpoints.model_file`)."""
    params = {"latent_dim": config.latent_dim, "image_size": image_size, "channels": channels, "width": config.width}
    return model_file(config.generator, params, step, generator, prior=config.prior,
                      prior_params=dict(config.prior_params))


# --------------------------------------------------------------------------- loss log


class _LossLog:
    """Per-step statistics kept on the device; one CSV row (window means) per log tick.

    Reading the window back is the loop's only synchronisation with the device, once
    per ``log_every`` steps; it is also where non-finite losses are caught.
    """

    def __init__(
        self, path: Path, log_every: int, device: torch.device, columns: tuple[str, ...] = CSV_COLUMNS
    ) -> None:
        self.path, self.log_every, self.columns = path, log_every, columns  # columns[0] is "step"
        self.window = torch.zeros(log_every, len(columns) - 1, device=device)
        self.count = 0
        self.first_step = 1  # step of window[0]

    def record(self, step: int, stats: Tensor) -> None:
        if self.count == 0:
            self.first_step = step
        self.window[self.count].copy_(stats)
        self.count += 1

    def check(self) -> Tensor:
        """The window on the CPU; raises NonFiniteLossError at its first non-finite row."""
        rows = self.window[: self.count].cpu()
        bad = (~rows.isfinite()).any(dim=1).nonzero()
        if len(bad):
            i = int(bad[0])
            step = self.first_step + i
            values = ", ".join(f"{k}={v:.4g}" for k, v in zip(self.columns[1:], rows[i].tolist(), strict=True))
            raise NonFiniteLossError(f"non-finite loss at step {step} ({values})", step)
        return rows

    def flush(self, step: int) -> Tensor | None:
        """Append the mean of the window as the row of ``step``; returns it."""
        if self.count == 0:
            return None
        mean = self.check().mean(dim=0)
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([step, *(repr(v) for v in mean.tolist())])
        self.count = 0
        return mean

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.check().clone(), "first_step": self.first_step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        rows = state["rows"]
        self.count = len(rows)
        self.window[: self.count].copy_(rows)
        self.first_step = int(state["first_step"])

    def restart(self, step: int) -> None:
        """Keep the rows up to ``step`` (a resumed run rewrites what came after), or
        start a new file with its header when ``step`` is 0."""
        kept: list[list[str]] = []
        if step > 0 and self.path.exists():
            with open(self.path, newline="") as f:
                kept = [row for row in list(csv.reader(f))[1:] if row and int(row[0]) <= step]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.columns)
        writer.writerows(kept)
        _write_atomic(self.path, lambda f: f.write(buffer.getvalue()), mode="w")


# --------------------------------------------------------------------------- the loop


class _Ticker:
    """The progress of a training call: a tqdm bar (when ``progress``), one
    ``status.jsonl`` line per log tick (time, speed, peak memory), a progress line in the
    ``latentspace.training`` log about every tenth of the run, the last losses, and the mean
    speed over the steps this call ran."""

    def __init__(self, run_dir: Path, total: int, start: int, batch_size: int, device: torch.device,
                 progress: bool) -> None:
        self.bar = tqdm(total=total, initial=start, disable=not progress, unit="step", dynamic_ncols=True)
        self.path, self.start, self.batch_size, self.device = run_dir / "status.jsonl", start, batch_size, device
        self.t0 = self.tick_time = time.perf_counter()
        self.tick_step = start
        self.total, self.next_report = total, start + max(total // 10, 1)
        self.last: dict[str, str] = {}

    def log(self, step: int, **postfix: str) -> None:
        """Record a log tick at ``step``: the speed since the last tick, on the bar and in the file."""
        now = time.perf_counter()
        speed = (step - self.tick_step) * self.batch_size / max(now - self.tick_time, 1e-9)
        self.tick_time, self.tick_step = now, step
        self.bar.set_postfix(**postfix, img_s=f"{speed:.0f}")
        self.last = dict(postfix)
        if step >= self.next_report or step == self.total:
            self.next_report = step + max(self.total // 10, 1)
            left = (self.total - step) * self.batch_size / max(speed, 1e-9)
            _log.info("step %d/%d  %s  %.0f images/s  %.0f s left", step, self.total,
                      "  ".join(f"{k} {v}" for k, v in postfix.items()), speed, left)
        status = {
            "step": step,
            "time_s": round(now - self.t0, 3),
            "images_per_s": round(speed, 1),
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        if self.device.type == "cuda":
            status["max_cuda_mib"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        with open(self.path, "a") as f:
            f.write(json.dumps(status) + "\n")

    def update(self) -> None:
        """One step done."""
        self.bar.update()

    def close(self) -> None:
        self.bar.close()

    def images_per_second(self, step: int) -> float:
        """Mean speed from the start of this call to ``step`` (nan when it ran no step)."""
        ran = step - self.start
        return ran * self.batch_size / (time.perf_counter() - self.t0) if ran > 0 else math.nan


def _resolved_config(config: GANConfig, data: ImageDataset, device: torch.device, prior: priors.Prior) -> dict:
    return {
        "config": config.to_dict(),
        "prior": repr(prior),
        "data": {"name": data.name, "shape": list(data.shape)},
        "device": str(device),
        "torch": torch.__version__,
    }


def _check_resumable(saved: dict, new: dict, run_dir: Path) -> None:
    """A run may resume only with the same maths: same data, prior and options other
    than those in RESUMABLE_CHANGES."""
    diffs = [
        f"{k}: {saved['config'].get(k)!r} -> {v!r}"
        for k, v in new["config"].items()
        if k not in RESUMABLE_CHANGES and saved["config"].get(k) != v
    ]
    diffs += [f"{k}: {saved.get(k)!r} -> {new[k]!r}" for k in ("data", "prior") if saved.get(k) != new[k]]
    if diffs:
        raise ValueError(
            f"{run_dir} holds a run with a different configuration ({'; '.join(diffs)}); "
            "use a new run directory or delete this one"
        )


def _prepare_run_dir(run_dir: Path, resolved: dict) -> None:
    """Check that ``run_dir`` may resume with the configuration ``resolved`` (when it holds
    a checkpoint), then create it and write config.json (atomically)."""
    config_path = run_dir / "config.json"
    if (run_dir / "checkpoint.pt").exists() and config_path.exists():
        _check_resumable(json.loads(config_path.read_text()), resolved, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(config_path, lambda f: f.write(json.dumps(resolved, indent=2) + "\n"), mode="w")


@dataclass
class _Loop:
    """What one kind of model gives the shared training loop (:func:`_run_loop`).

    stateful: objects checkpointed by name through ``state_dict``/``load_state_dict``
        (networks, optimizers; the loop adds the data order).
    rngs: random-number generators checkpointed by name through their state.
    guarded: networks whose weights must be finite at each checkpoint, by the name the
        error gives them.
    step: one update on the batch of these dataset indices; returns its statistics (a
        tensor on the device, not read back: the loss log reads a window at a time).
    log_fields: the fields of a progress line from a log window's means.
    before_checkpoint: called with the step before each checkpoint is written (after the
        guards), e.g. for the GAN's snapshots.
    extra_checkpoints: steps checkpointed besides every ``checkpoint_every`` and the last.
    """

    stateful: dict[str, Any]
    rngs: dict[str, torch.Generator]
    guarded: dict[str, nn.Module]
    step: Callable[[Tensor], Tensor]
    log_fields: Callable[[Tensor], dict[str, str]]
    before_checkpoint: Callable[[int], None] | None = None
    extra_checkpoints: frozenset[int] = frozenset()


def _run_loop(
    loop: _Loop, run_dir: Path, *, steps: int, batch_size: int, log_every: int, checkpoint_every: int,
    order: _BatchOrder, losses: _LossLog, device: torch.device, progress: bool,
    on_step: Callable[[int], None] | None,
) -> tuple[int, float, dict[str, str]]:
    """The training loop every model kind shares: resume from run_dir/checkpoint.pt, then
    for each step draw a batch and run ``loop.step``, log every ``log_every`` steps,
    checkpoint (atomically, after checking losses and weights) every ``checkpoint_every``
    steps, at ``loop.extra_checkpoints`` and at the end, and call ``on_step``. A non-finite
    loss or weight raises :class:`NonFiniteLossError` naming the step and the checkpoint
    that survives. Returns the step it started from, the images/s of this call and the
    last progress fields."""
    checkpoint_path = run_dir / "checkpoint.pt"
    stateful = {**loop.stateful, "data_order": order}
    start = _resume(checkpoint_path, steps, run_dir, losses, stateful, loop.rngs)

    def save_checkpoint(step: int) -> None:
        pending = losses.state_dict()  # raises on a non-finite loss: nothing is saved
        for name, module in loop.guarded.items():
            if not _all_finite(module):
                raise NonFiniteLossError(f"non-finite {name} weights at step {step}", step)
        if loop.before_checkpoint is not None:
            loop.before_checkpoint(step)
        _save(
            {
                "format": CHECKPOINT_FORMAT,
                "step": step,
                **{name: obj.state_dict() for name, obj in stateful.items()},
                **{name: rng.get_state() for name, rng in loop.rngs.items()},
                "losses": pending,
            },
            checkpoint_path,
        )

    ticker = _Ticker(run_dir, steps, start, batch_size, device, progress)
    step = last_good = start
    try:
        for step in range(start + 1, steps + 1):
            losses.record(step, loop.step(order.next()))
            ticker.update()
            if step % log_every == 0 or step == steps:
                ticker.log(step, **loop.log_fields(losses.flush(step)))
            if step % checkpoint_every == 0 or step in loop.extra_checkpoints or step == steps:
                save_checkpoint(step)
                last_good = step
            if on_step is not None:
                on_step(step)
    except NonFiniteLossError as exc:
        raise _stopped(exc, last_good, checkpoint_path) from None
    finally:
        ticker.close()
    return start, ticker.images_per_second(step), ticker.last


def train_gan(
    config: GANConfig,
    data: ImageDataset,
    run_dir: str | Path,
    *,
    prior: priors.Prior | None = None,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train a GAN on ``data`` for ``config.steps`` steps in ``run_dir``, resuming from
    ``run_dir/checkpoint.pt`` when there is one. See the module docstring for the files.

    Args:
        config: the options (checked before anything is written).
        data: images in [-1, 1]; their side and channels size the models.
        run_dir: the run's directory (created).
        prior: a prior object to use instead of ``config.prior`` (e.g. one that is not
            registered); it is recorded by its ``repr`` in config.json.
        progress: show a tqdm progress bar.
        on_step: called with each finished step number (after any checkpoint of that
            step); an exception it raises stops training like an interruption would.
    """
    run_dir = Path(run_dir)
    device = resolve_device(config.device)
    config = dataclasses.replace(config, precision=resolve_precision(config.precision, device))
    prior = prior if prior is not None else priors.get(config.prior, **config.prior_params)
    n_images, channels, height, width = data.shape
    if height != width:
        raise ValueError(f"train_gan: images must be square, got {height} x {width}")
    if n_images < config.batch_size:
        raise ValueError(f"train_gan: the dataset has {n_images} images, fewer than batch_size {config.batch_size}")
    _prepare_run_dir(run_dir, _resolved_config(config, data, device, prior))

    with num_threads(config.num_threads):
        seeds = _seeds(config.seed)
        generator, discriminator = _build_models(config, width, channels, seeds["init"])
        layout = torch.channels_last if config.channels_last else torch.contiguous_format
        generator.to(device, memory_format=layout)
        discriminator.to(device, memory_format=layout)
        betas = (config.beta1, config.beta2)
        opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=betas)
        latent_rng = torch.Generator().manual_seed(seeds["latent"])
        order = _BatchOrder(n_images, config.batch_size, seeds["data"], device)
        fixed_noise = prior.sample(
            config.grid_size, config.latent_dim, generator=torch.Generator().manual_seed(seeds["fixed"])
        )
        losses = _LossLog(run_dir / "losses.csv", config.log_every, device)
        pixels = data.to(device)
        autocast_dtype = _PRECISIONS[config.precision]
        snapshots = frozenset(config.snapshot_steps)

        def step(batch: Tensor) -> Tensor:
            real = pixels.images(batch).contiguous(memory_format=layout)  # (B, C, H, W) in [-1, 1]
            z = prior.sample(config.batch_size, config.latent_dim, generator=latent_rng, device=device)  # (B, D)
            return gan_step(generator, discriminator, opt_g, opt_d, real, z, autocast_dtype)

        def snapshot(step: int) -> None:
            # Before the checkpoint: a job killed between the two resumes from the previous
            # checkpoint and writes this snapshot again, identical; killed after, it would
            # resume past this step and never write it.
            if step in snapshots:
                _save(
                    _generator_file(generator, config, step, width, channels),
                    run_dir / "snapshots" / f"generator-step{step:07d}.pt",
                )
                sample_grid(generator, fixed_noise, run_dir / "snapshots" / f"samples-step{step:07d}.png")

        loop = _Loop(
            stateful={"generator": generator, "discriminator": discriminator, "opt_g": opt_g, "opt_d": opt_d},
            rngs={"latent_rng": latent_rng},
            guarded={"generator": generator, "discriminator": discriminator},
            step=step,
            log_fields=lambda mean: {"d_loss": f"{float(mean[0]):.3f}", "g_loss": f"{float(mean[1]):.3f}"},
            before_checkpoint=snapshot,
            extra_checkpoints=snapshots,
        )
        start, speed, last = _run_loop(
            loop, run_dir, steps=config.steps, batch_size=config.batch_size, log_every=config.log_every,
            checkpoint_every=config.checkpoint_every, order=order, losses=losses, device=device,
            progress=progress, on_step=on_step,
        )

        _save(_generator_file(generator, config, config.steps, width, channels), run_dir / "generator.pt")
        sample_grid(generator, fixed_noise, run_dir / "samples.png")

    return TrainResult(
        run_dir=run_dir,
        step=config.steps,
        generator=generator,
        discriminator=discriminator,
        resumed_from=start if start > 0 else None,
        images_per_second=speed,
        precision=config.precision,
        losses=last,
    )


# =========================================================================== auto-encoders
# Training of the spherical auto-encoder (SAE) and the Gaussian VAE of "Latent variables on
# spheres" (:mod:`latentspace.models`), with the same guarantees as the GAN loop above and
# its helpers (seeds, batch order, loss log, atomic checkpoints). A run directory holds:
#
#     config.json            the resolved configuration (checked on resume)
#     checkpoint.pt          latest state: model, optimizer, step, random-number states,
#                            data order, unlogged losses
#     losses.csv             step, loss, mse, kl (window means; kl is 0 for the SAE)
#     status.jsonl           one line per log tick: time, speed, memory
#     autoencoder.pt         the final model (load_autoencoder)
#     reconstructions.png    fixed training images (odd rows) above their reconstructions
#     samples.png            the decoder fed fixed N(0, I) noise (spherized for the SAE)
#
# The objective per image is the squared error ||x - x~||^2 summed over pixels (the SAE
# paper's eq. 11 with p = 2), plus kl_weight * KL(q(z|x) || N(0, I)) for the VAE: its
# negative evidence lower bound for a Gaussian decoder of variance 1/2 when kl_weight = 1.
# The batch loss is the mean over images; losses.csv logs that loss, the per-pixel mean
# squared error of the training reconstructions and the mean KL.

AE_CSV_COLUMNS = ("step", "loss", "mse", "kl")
__all__ += ["AEConfig", "AETrainResult", "train_autoencoder", "ae_step", "load_autoencoder", "AE_CSV_COLUMNS"]


@dataclass(frozen=True)
class AEConfig:
    """Options of one auto-encoder training run; checked on construction.

    The paper gives no optimiser or training length for its auto-encoders; the defaults
    are a plain Adam setting that trains both models stably at the CPU-sized widths.

    Attributes:
        kind: "sae" (spherical auto-encoder) or "vae" (Gaussian VAE).
        steps: total number of training steps (one Adam update each).
        batch_size: images per step.
        latent_dim: dimension D of the codes (the paper: 512 for faces, 10 for MNIST).
        width: channels of the decoder's last hidden layer and the encoder's first
            layer (as for the DCGAN, :mod:`latentspace.models`).
        lr, beta1, beta2: Adam.
        kl_weight: weight beta of the VAE's KL term (1: the plain VAE); ignored by the SAE.
        seed: seeds initialisation, the VAE's reparameterisation noise, data order and
            the fixed images and noise of the grids (independent streams derived from it).
        log_every: steps per row of losses.csv (window means) and per status line.
        checkpoint_every: steps between checkpoints (also written at the end).
        grid_size: images in reconstructions.png and samples.png.
        device, num_threads, precision, channels_last: as in :class:`GANConfig`.
    """

    kind: str = "sae"
    steps: int = 2000
    batch_size: int = 64
    latent_dim: int = 128
    width: int = 64
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    kl_weight: float = 1.0
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 500
    grid_size: int = 64
    device: str = "auto"
    num_threads: int | None = None
    precision: str = "float32"
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.kind not in models.autoencoder_kinds():
            raise ValueError(
                f"AEConfig: unknown kind {self.kind!r}; valid kinds: {', '.join(models.autoencoder_kinds())}"
            )
        for key in ("steps", "batch_size", "latent_dim", "width", "log_every", "checkpoint_every", "grid_size"):
            value = getattr(self, key)
            check_int("AEConfig", key, value)
        if self.kind == "sae" and self.latent_dim < 2:
            raise ValueError("AEConfig: the SAE needs 'latent_dim' >= 2 (a centerized 1-D code is 0)")
        if not is_int(self.seed) or self.seed < 0:
            raise ValueError(f"AEConfig: 'seed' must be a non-negative integer, got {self.seed!r}")
        for key, lo, hi, lo_open in (
            ("lr", 0.0, math.inf, True),
            ("beta1", 0.0, 1.0, False),
            ("beta2", 0.0, 1.0, False),
            ("kl_weight", 0.0, math.inf, False),
        ):
            value = getattr(self, key)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and lo <= value < hi
            if not ok or (lo_open and value == lo):
                interval = f"{'(' if lo_open else '['}{lo}, {hi})"
                raise ValueError(f"AEConfig: {key!r} must be a number in {interval}, got {value!r}")
        check_int("AEConfig", "num_threads", self.num_threads, allow_none=True)
        if self.precision not in PRECISIONS:
            raise ValueError(f"AEConfig: 'precision' must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"AEConfig: 'channels_last' must be true or false, got {self.channels_last!r}")
        if not isinstance(self.device, str):
            raise ValueError(f"AEConfig: 'device' must be a string, got {self.device!r}")

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> AEConfig:
        """Build from a mapping (a config file's section); unknown keys raise ValueError."""
        return from_options(cls, options)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class AETrainResult(_Summarised):
    """What :func:`train_autoencoder` returns."""

    run_dir: Path
    step: int
    model: nn.Module
    resumed_from: int | None  # the checkpoint step a run resumed from, None for a fresh run
    images_per_second: float  # over the steps this call ran (nan when it ran none)
    precision: str = "float32"  # what config.precision resolved to
    losses: dict[str, str] = field(default_factory=dict)  # the last log window's mean losses (none if it ran none)


# What constrains the codes, recorded in config.json (a run resumes only with the same).
_LATENT_CONSTRAINT = {
    "sae": "unit sphere after centerization (reconstruction loss only)",
    "vae": "Gaussian posterior, KL to N(0, I)",
}


def ae_step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: Tensor,
    noise: Tensor | None = None,
    kl_weight: float = 1.0,
    autocast_dtype: torch.dtype | None = None,
) -> Tensor:
    """One Adam update of an auto-encoder on the batch ``x`` (B, C, H, W).

    SAE: loss = mean_i ||x_i - g(s(f(x_i)))||^2, s the centerization + spherization.
    VAE: z = mu + exp(logvar / 2) ``noise`` (``noise`` (B, D) ~ N(0, I), the
    reparameterisation), loss = mean_i (||x_i - g(z_i)||^2 + kl_weight KL_i).
    Returns, without synchronising, a tensor (3,) on the device: the loss, the per-pixel
    mean squared error of the reconstructions and the mean KL (0 for the SAE).
    """
    with _autocast(x.device.type, autocast_dtype):
        if model.kind == "vae":
            if noise is None:
                raise ValueError("ae_step: the VAE needs reparameterisation noise of shape (B, D)")
            mu, logvar = (t.float() for t in model.posterior(x))  # (B, D) each
            recon = model.decode(mu + (0.5 * logvar).exp() * noise).float()  # (B, C, H, W)
            kl = model.kl_divergence(mu, logvar)  # (B,)
        else:
            recon = model(x).float()  # (B, C, H, W)
            kl = torch.zeros(x.shape[0], device=x.device)
    squared_error = (recon - x).pow(2).flatten(1).sum(dim=1)  # (B,)
    loss = (squared_error + kl_weight * kl).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        return torch.stack([loss, squared_error.mean() / x[0].numel(), kl.mean()])


def reconstruction_grid(model: nn.Module, images: Tensor, path: str | Path) -> None:
    """Save ``images`` and the model's reconstructions as one PNG grid (atomically): rows
    of originals, each followed by the row of their reconstructions."""
    from torchvision.utils import save_image

    was_training = model.training
    model.eval()
    with torch.no_grad():
        recon = model(images.to(next(model.parameters()).device)).float().cpu()
    model.train(was_training)
    side = max(1, math.isqrt(len(images) - 1) + 1)
    rows = [
        part
        for start in range(0, len(images), side)
        for part in (images[start : start + side], recon[start : start + side])
    ]
    _write_atomic(
        Path(path),
        lambda f: save_image(torch.cat(rows), f, nrow=side, normalize=True, value_range=(-1, 1), format="png"),
    )


def _autoencoder_file(model: nn.Module, config: AEConfig, step: int, image_size: int, channels: int) -> dict:
    """What autoencoder.pt holds (:func:`latentspace.checkpoints.model_file`)."""
    params = {"latent_dim": config.latent_dim, "image_size": image_size, "channels": channels, "width": config.width}
    return model_file(config.kind, params, step, model)


def train_autoencoder(
    config: AEConfig,
    data: ImageDataset,
    run_dir: str | Path,
    *,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> AETrainResult:
    """Train the auto-encoder ``config.kind`` on ``data`` for ``config.steps`` steps in
    ``run_dir``, resuming from ``run_dir/checkpoint.pt`` when there is one (see the
    comment above :data:`AE_CSV_COLUMNS` for the files). On the CPU an interrupted and
    resumed run ends with the same weights, bit for bit, as an uninterrupted one; a
    non-finite loss or weight stops training with :class:`NonFiniteLossError` and keeps
    the last good checkpoint. ``progress`` and ``on_step`` as in :func:`train_gan`.

        >>> ds = data.load("digits", size=32)
        >>> result = training.train_autoencoder(training.AEConfig(kind="sae", steps=200, width=16), ds, "runs/sae")
    """
    run_dir = Path(run_dir)
    device = resolve_device(config.device)
    config = dataclasses.replace(config, precision=resolve_precision(config.precision, device))
    n_images, channels, height, width = data.shape
    if height != width:
        raise ValueError(f"train_autoencoder: images must be square, got {height} x {width}")
    if n_images < config.batch_size:
        raise ValueError(
            f"train_autoencoder: the dataset has {n_images} images, fewer than batch_size {config.batch_size}"
        )
    resolved = {
        "config": config.to_dict(),
        "prior": _LATENT_CONSTRAINT[config.kind],
        "data": {"name": data.name, "shape": list(data.shape)},
        "device": str(device),
        "torch": torch.__version__,
    }
    _prepare_run_dir(run_dir, resolved)

    with num_threads(config.num_threads):
        seeds = _seeds(config.seed)
        with torch.random.fork_rng(devices=[]):  # initialise without touching the global RNG
            torch.manual_seed(seeds["init"])
            model = models.build_autoencoder(
                config.kind, latent_dim=config.latent_dim, image_size=width, channels=channels, width=config.width
            )
        layout = torch.channels_last if config.channels_last else torch.contiguous_format
        model.to(device, memory_format=layout)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
        noise_rng = torch.Generator().manual_seed(seeds["latent"])
        order = _BatchOrder(n_images, config.batch_size, seeds["data"], device)
        fixed_rng = torch.Generator().manual_seed(seeds["fixed"])
        fixed_images = data.images(torch.randperm(n_images, generator=fixed_rng)[: config.grid_size])
        fixed_noise = torch.randn(config.grid_size, config.latent_dim, generator=fixed_rng)
        losses = _LossLog(run_dir / "losses.csv", config.log_every, device, AE_CSV_COLUMNS)
        pixels = data.to(device)
        autocast_dtype = _PRECISIONS[config.precision]

        def step(batch: Tensor) -> Tensor:
            x = pixels.images(batch).contiguous(memory_format=layout)  # (B, C, H, W) in [-1, 1]
            noise = None
            if config.kind == "vae":
                noise = torch.randn(config.batch_size, config.latent_dim, generator=noise_rng).to(device)  # (B, D)
            return ae_step(model, opt, x, noise, config.kl_weight, autocast_dtype)

        loop = _Loop(
            stateful={"model": model, "opt": opt},
            rngs={"noise_rng": noise_rng},
            guarded={config.kind: model},
            step=step,
            log_fields=lambda mean: {"loss": f"{float(mean[0]):.2f}", "mse": f"{float(mean[1]):.4f}"},
        )
        start, speed, last = _run_loop(
            loop, run_dir, steps=config.steps, batch_size=config.batch_size, log_every=config.log_every,
            checkpoint_every=config.checkpoint_every, order=order, losses=losses, device=device,
            progress=progress, on_step=on_step,
        )

        _save(_autoencoder_file(model, config, config.steps, width, channels), run_dir / "autoencoder.pt")
        reconstruction_grid(model, fixed_images, run_dir / "reconstructions.png")
        sample_grid(model.decoder, model.sampling_input(fixed_noise), run_dir / "samples.png")

    return AETrainResult(
        run_dir=run_dir,
        step=config.steps,
        model=model,
        resumed_from=start if start > 0 else None,
        images_per_second=speed,
        precision=config.precision,
        losses=last,
    )

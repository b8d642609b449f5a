"""A small, fast CNN classifier trained on the dataset itself: the offline feature
extractor of :mod:`latentspace.metrics`.

Without network access there are no InceptionV3 weights, so sample quality is measured
with a classifier trained on the real images of the same dataset: its class posteriors
give an Inception-Score analogue, its penultimate features a FID analogue (the usual
practice for MNIST-like data). On Fashion-MNIST at 32 x 32 the default configuration
(2,000 steps of 128 images, about 4 epochs) reached 91.4 % test accuracy (seed 0) in 41 s
of training on an otherwise idle 2-core CPU (1,000 steps: 90.1 % in 22 s); when other
jobs share the cores it takes several times longer.

The network (:class:`SmallCNN`), for images (N, C, S, S) and width w:

==============================================  ======================
layer                                           output shape
==============================================  ======================
Conv2d(C, w, 3, stride 2, pad 1) + BN + ReLU    (N, w, S/2, S/2)
Conv2d(w, 2w, 3, stride 2, pad 1) + BN + ReLU   (N, 2w, S/4, S/4)
Conv2d(2w, 4w, 3, stride 2, pad 1) + BN + ReLU  (N, 4w, S/8, S/8)
flatten, Linear(4w (S/8)^2, hidden) + ReLU      (N, hidden)  <- features
Linear(hidden, classes)                         (N, classes) <- logits
==============================================  ======================

(S/2 etc. round up; S must be at least 8.) Strided convolutions rather than
convolutions followed by max-pooling, which trained several times slower per image on
the CPU (full-resolution maps in every layer's first convolution). Training is Adam with a cosine
learning-rate decay to zero over ``steps`` steps, batches drawn from a fresh seeded
permutation each epoch; no augmentation. A run of a minute or two is not checkpointed
midway: :func:`train_classifier` writes one file at the end (atomically), which
:func:`load_classifier` reads back; :func:`latentspace.files.load` reads it as a plain
dict and shows ``test_accuracy``, ``steps``, ``config`` and ``data``.

    >>> from latentspace import classifier, data
    >>> train = data.load("digits", split="train", size=16)
    >>> test = data.load("digits", split="test", size=16)
    >>> config = classifier.ClassifierConfig(steps=100, batch_size=64, width=8, hidden=64)
    >>> result = classifier.train_classifier(train, test, "runs/classifier.pt", config)
    >>> result.test_accuracy > 0.8
    True
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import files
from ._checks import check_int, is_int
from ._registry import from_options
from .atomic import write_atomic as _write_atomic
from .data import ImageDataset
from .device import num_threads, resolve_device

__all__ = [
    "SmallCNN",
    "ClassifierConfig",
    "ClassifierResult",
    "train_classifier",
    "load_classifier",
    "accuracy",
    "CHECKPOINT_FORMAT",
]

CHECKPOINT_FORMAT = 1
KIND = "small_cnn"


# --------------------------------------------------------------------------- the network


class SmallCNN(nn.Module):
    """Three conv blocks and a hidden layer (see the module docstring for the shapes).

    :meth:`forward` gives the logits (N, classes); :meth:`features_and_logits` gives the
    penultimate activations (N, hidden) too, the features FID is computed on.
    """

    def __init__(
        self, channels: int = 1, image_size: int = 32, classes: int = 10, width: int = 16, hidden: int = 128
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for key, value, minimum in (
            ("channels", channels, 1),
            ("image_size", image_size, 8),
            ("classes", classes, 2),
            ("width", width, 1),
            ("hidden", hidden, 1),
        ):
            check_int(name, key, value, minimum)
        self.channels, self.image_size, self.classes, self.width, self.hidden = (
            channels,
            image_size,
            classes,
            width,
            hidden,
        )
        layers: list[nn.Module] = []
        c_in, side = channels, image_size
        for c_out in (width, 2 * width, 4 * width):
            # (N, c_in, side, side) -> (N, c_out, ceil(side / 2), ceil(side / 2))
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in, side = c_out, (side + 1) // 2
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * side * side, hidden)  # (N, hidden)
        self.head = nn.Linear(hidden, classes)  # (N, classes)

    def params(self) -> dict[str, int]:
        """The constructor's arguments (what a checkpoint records)."""
        return {
            "channels": self.channels,
            "image_size": self.image_size,
            "classes": self.classes,
            "width": self.width,
            "hidden": self.hidden,
        }

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x).flatten(1)  # (N, 4w (S/8)^2)
        features = torch.relu(self.fc(h))  # (N, hidden)
        return features, self.head(features)  # (N, hidden), (N, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.features_and_logits(x)[1]


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ClassifierConfig:
    """Options of one classifier training run; checked on construction.

    Attributes:
        steps: optimizer steps (2000 batches of 128: about 4 epochs of Fashion-MNIST).
        batch_size: images per step.
        width, hidden: network size (see :class:`SmallCNN`); ``hidden`` is the dimension
            of the features FID is computed on.
        lr: Adam's initial learning rate, decayed to zero by a cosine schedule.
        weight_decay: Adam's L2 penalty.
        seed: seeds the initial weights and the data order (independent streams).
        device: "auto" (CUDA when available), "cpu", "cuda", ...
        num_threads: CPU threads (None: one per CPU this process may use).
        eval_batch_size: images per forward pass when measuring test accuracy.
        channels_last: train in the channels-last memory layout, which oneDNN's
            convolutions prefer (the same mathematics; faster on a CPU, as for the GAN).
    """

    steps: int = 2000
    batch_size: int = 128
    width: int = 16
    hidden: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None
    eval_batch_size: int = 1000
    channels_last: bool = True

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "width", "hidden", "eval_batch_size"):
            value = getattr(self, key)
            check_int("ClassifierConfig", key, value)
        if not is_int(self.seed) or self.seed < 0:
            raise ValueError(f"ClassifierConfig: 'seed' must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.lr, int | float) or isinstance(self.lr, bool) or not 0 < self.lr < math.inf:
            raise ValueError(f"ClassifierConfig: 'lr' must be a positive number, got {self.lr!r}")
        wd = self.weight_decay
        if not isinstance(wd, int | float) or isinstance(wd, bool) or not 0 <= wd < math.inf:
            raise ValueError(f"ClassifierConfig: 'weight_decay' must be a non-negative number, got {wd!r}")
        check_int("ClassifierConfig", "num_threads", self.num_threads, allow_none=True)
        if not isinstance(self.device, str):
            raise ValueError(f"ClassifierConfig: 'device' must be a string, got {self.device!r}")
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"ClassifierConfig: 'channels_last' must be true or false, got {self.channels_last!r}")

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> ClassifierConfig:
        """Build from a mapping (a config file's section); unknown keys raise ValueError."""
        return from_options(cls, options)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ClassifierResult:
    """What :func:`train_classifier` returns."""

    path: Path  # the saved checkpoint
    model: SmallCNN  # the trained network, in eval mode, on the training device
    test_accuracy: float  # fraction of the test split classified correctly
    train_seconds: float  # wall time of the optimisation steps (not data loading or evaluation)
    images_per_second: float  # training throughput

    def as_dict(self) -> dict[str, Any]:
        """The numbers, for a JSON summary beside the checkpoint."""
        return {
            "path": str(self.path),
            "test_accuracy": self.test_accuracy,
            "train_seconds": self.train_seconds,
            "images_per_second": self.images_per_second,
        }


# --------------------------------------------------------------------------- train, evaluate


def _check_dataset(what: str, ds: ImageDataset) -> Tensor:
    if not isinstance(ds, ImageDataset):
        raise TypeError(f"train_classifier: {what} must be an ImageDataset, got {type(ds).__name__}")
    if ds.labels is None:
        raise ValueError(f"train_classifier: the {what} set {ds.name!r} has no labels")
    if ds.shape[-1] != ds.shape[-2]:
        raise ValueError(f"train_classifier: images must be square, got {ds.shape[-2]} x {ds.shape[-1]}")
    return ds.labels


@torch.no_grad()
def accuracy(model: nn.Module, ds: ImageDataset, batch_size: int = 1000) -> float:
    """Fraction of ``ds`` that ``model`` (logits out) classifies correctly, in eval mode,
    on the model's device."""
    if ds.labels is None:
        raise ValueError(f"accuracy: the dataset {ds.name!r} has no labels")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(ds), batch_size):
        x = ds.images(slice(start, start + batch_size)).to(device)
        y = ds.labels[start : start + batch_size].to(device)
        correct += int((model(x).argmax(dim=1) == y).sum())
    model.train(was_training)
    return correct / len(ds)


def train_classifier(
    train: ImageDataset,
    test: ImageDataset,
    out_path: str | Path,
    config: ClassifierConfig | None = None,
    *,
    progress: bool = False,
) -> ClassifierResult:
    """Train a :class:`SmallCNN` on ``train``, measure its accuracy on ``test``, and save
    it to ``out_path`` (written to a temporary file and renamed).

    The number of classes is ``max(label) + 1`` over both splits. The global random
    state is left alone; the same ``config.seed`` on the CPU gives the same weights.
    """
    config = config if config is not None else ClassifierConfig()
    y_train, y_test = _check_dataset("train", train), _check_dataset("test", test)
    if train.shape[1:] != test.shape[1:]:
        raise ValueError(f"train_classifier: train images {train.shape[1:]} and test images {test.shape[1:]} differ")
    if len(train) < config.batch_size:
        raise ValueError(f"train_classifier: {len(train)} training images, fewer than batch_size {config.batch_size}")
    classes = int(max(int(y_train.max()), int(y_test.max()))) + 1
    device = resolve_device(config.device)
    out_path = Path(out_path)
    seed_init, seed_data = np.random.SeedSequence(config.seed).generate_state(2).tolist()

    with num_threads(config.num_threads):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed_init)
            model = SmallCNN(train.channels, train.size, classes, config.width, config.hidden)
        layout = torch.channels_last if config.channels_last else torch.contiguous_format
        model.to(device, memory_format=layout)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, config.steps) / config.steps))
        )
        order = torch.Generator().manual_seed(seed_data)
        pixels, labels = train.to(device), y_train.to(device)
        n, batch = len(train), config.batch_size
        perm, cursor = torch.empty(0, dtype=torch.long), n

        model.train()
        losses = torch.zeros(config.steps, device=device)
        bar = tqdm(total=config.steps, disable=not progress, unit="step", dynamic_ncols=True)
        t0 = time.perf_counter()
        for step in range(config.steps):
            if cursor + batch > n:  # a new epoch; its last incomplete batch is skipped
                perm, cursor = torch.randperm(n, generator=order).to(device), 0
            idx = perm[cursor : cursor + batch]
            cursor += batch
            x = pixels.images(idx).contiguous(memory_format=layout)  # (B, C, S, S) in [-1, 1]
            loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            losses[step] = loss.detach()
            bar.update()
            if progress and (step + 1) % 100 == 0:
                bar.set_postfix(loss=f"{float(losses[step - 99 : step + 1].mean()):.3f}")
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - t0
        bar.close()
        if not bool(losses.isfinite().all()):
            first = int((~losses.isfinite()).nonzero()[0])
            raise FloatingPointError(f"train_classifier: non-finite loss at step {first + 1}; nothing was saved")

        model.eval()
        test_accuracy = accuracy(model, test.to(device), config.eval_batch_size)

    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "kind": KIND,
        "params": model.params(),
        "state_dict": model.state_dict(),
        "test_accuracy": test_accuracy,
        "steps": config.steps,
        "config": config.to_dict(),
        "data": {"name": train.name, "train_shape": list(train.shape), "test_shape": list(test.shape)},
    }
    _write_atomic(out_path, lambda f: torch.save(checkpoint, f))
    return ClassifierResult(
        path=out_path,
        model=model,
        test_accuracy=test_accuracy,
        train_seconds=train_seconds,
        images_per_second=config.steps * batch / max(train_seconds, 1e-9),
    )


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> SmallCNN:
    """The classifier saved by :func:`train_classifier`, in eval mode on ``device``."""
    path = Path(path)
    remedy = "delete it and train it again with train_classifier() (in the workflow, rerun the train_classifier rule)"
    what = "classifier checkpoint"
    saved = files.load(path, what, remedy, keys=("kind", "params", "state_dict"), format=CHECKPOINT_FORMAT)
    if saved["kind"] != KIND:
        raise files.DamagedFileError(path, f"is a {saved['kind']!r} file, not a {what} written by train_classifier",
                                     remedy)
    try:
        model = SmallCNN(**saved["params"])
    except (TypeError, ValueError) as exc:
        raise files.DamagedFileError(path, f"describes a network this code cannot build ({exc})", remedy) from None
    files.load_state(model, saved["state_dict"], path, "classifier", remedy)
    return model.to(resolve_device(device)).eval()

"""The files of trained models: written and read here, and nowhere else.

Two kinds of file, both ``torch.save`` archives written atomically (:func:`save`) and read
through :func:`latentspace.files.load`, which names a damaged file, says what is wrong and
what to do:

* a **model file** (:func:`model_file`): ``generator.pt`` and the snapshots
  ``snapshots/generator-step*.pt`` of :func:`latentspace.training.train_gan`,
  ``autoencoder.pt`` of :func:`latentspace.training.train_autoencoder`. It holds
  ``format``, the network's ``kind`` and constructor ``params``, the training ``step``,
  the ``state_dict`` and, for generators, the latent ``prior`` and ``prior_params``:
  enough to rebuild the network without its training configuration
  (:func:`read_generator_file`, :func:`load_generator`, :func:`load_autoencoder`);
* a **training checkpoint** (``checkpoint.pt``): the state a training loop resumes from,
  by name (networks, optimizers, data order, random-number states, unlogged losses), read
  by :func:`read_checkpoint`.

The dataset classifier, a separate artifact with its own format, is written and read by
:mod:`latentspace.classifier`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import files, models
from .atomic import write_atomic
from .device import resolve_device

__all__ = ["CHECKPOINT_FORMAT", "RESTART", "save", "model_file", "read_checkpoint", "read_model_file",
           "read_generator_file", "load_generator", "load_autoencoder"]

CHECKPOINT_FORMAT = 1
RESTART = "delete it to train this run from scratch (or use a new run directory)"
"""What to do about a training checkpoint that cannot be used."""


def save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary name beside ``path``, then rename: a killed job never
    leaves a half-written file under the final name."""
    write_atomic(Path(path), lambda f: torch.save(obj, f))


def model_file(kind: str, params: dict[str, Any], step: int, module: nn.Module, **extra: Any) -> dict[str, Any]:
    """The content of a model file: ``module`` (built as ``kind`` with ``params``) at
    training step ``step``, with ``extra`` entries (a generator's ``prior`` and
    ``prior_params``)."""
    return {"format": CHECKPOINT_FORMAT, "kind": kind, "params": dict(params), **extra, "step": step,
            "state_dict": module.state_dict()}


def read_checkpoint(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """A training checkpoint that holds ``keys``; a damaged or foreign one raises
    :class:`latentspace.files.DamagedFileError` saying to delete it (:data:`RESTART`)."""
    return files.load(path, "training checkpoint", RESTART, keys=keys, format=CHECKPOINT_FORMAT)


def read_model_file(
    path: Path, what: str, build: Callable[..., nn.Module], remedy: str, keys: tuple[str, ...] = ()
) -> tuple[dict, nn.Module]:
    """The content of a model file (it must also hold ``keys``) and the network it
    describes, built by ``build(kind, **params)`` with its weights loaded. Raises
    :class:`latentspace.files.DamagedFileError` for a damaged file or one this code can no
    longer build."""
    saved = files.load(path, what, remedy, keys=("kind", "params", "step", "state_dict", *keys),
                       format=CHECKPOINT_FORMAT)
    try:
        model = build(saved["kind"], **saved["params"])
    except (TypeError, ValueError) as exc:
        raise files.DamagedFileError(
            path, f"describes a network this code cannot build ({str(exc).strip().splitlines()[0]})", remedy
        ) from None
    files.load_state(model, saved["state_dict"], path, str(saved["kind"]), remedy)
    return saved, model


def read_generator_file(path: str | Path) -> tuple[dict[str, Any], nn.Module]:
    """The content of a generator file written by :func:`latentspace.training.train_gan`
    (``generator.pt`` or a snapshot: ``kind``, ``params``, ``prior``, ``prior_params``,
    ``step``, ``state_dict``) and the generator it holds, on the CPU in training mode. A
    damaged file, or one of a network this code no longer builds, raises
    :class:`latentspace.files.DamagedFileError` saying how to get it back."""
    path = Path(path)
    if path.parent.name == "snapshots":
        remedy = (f"snapshots are written only while training: delete the run directory {path.parent.parent} "
                  "and train again (in the workflow, rerun the train_gan rule)")
    else:
        remedy = ("delete it and train again: train_gan in the same run directory writes it again from an intact "
                  "checkpoint.pt without retraining (in the workflow, rerun the train_gan rule)")
    return read_model_file(path, "generator file", models.build_generator, remedy, ("prior", "prior_params"))


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The generator of a generator file (``generator.pt`` or a snapshot), in eval mode.
    Its file also records ``step``, ``prior`` and ``prior_params``: :func:`read_generator_file`
    returns them."""
    return read_generator_file(path)[1].to(device).eval()


def load_autoencoder(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The auto-encoder saved by :func:`latentspace.training.train_autoencoder`
    (``autoencoder.pt``), in eval mode on ``device`` ("auto" picks CUDA when available).
    Its file also records ``kind``, ``params`` and ``step`` (:func:`latentspace.files.load`
    reads it). A damaged file, or one of a network this code no longer builds, raises
    :class:`latentspace.files.DamagedFileError`."""
    remedy = ("delete it and train again: train_autoencoder in the same run directory writes it again from an "
              "intact checkpoint.pt without retraining (in the workflow, rerun the train_autoencoder rule)")
    _, model = read_model_file(Path(path), "auto-encoder file", models.build_autoencoder, remedy)
    return model.to(resolve_device(device)).eval()

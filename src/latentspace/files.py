"""Reading back the files the library writes: one loader for them all.

Checkpoints, generator and auto-encoder files, snapshots, classifier checkpoints, cached
feature statistics, grids and dataset caches are read through :func:`load` and only
through it. A file that cannot be used (cut short by a full disk or an interrupted copy,
overwritten with other bytes, written by another version, or holding weights of a network
this code no longer builds) raises :class:`DamagedFileError`, whose message names the
file, says what is wrong with it and what to do (delete it to retrain, or rerun the rule
that wrote it). Nothing is deleted or rewritten automatically: a file the loader rejects
stays where it is, for the user to inspect.

    >>> state = files.load("run/checkpoint.pt", "training checkpoint", "delete it to train from scratch",
    ...                    keys=("step", "generator"))

Writing goes through :func:`latentspace.atomic.write_atomic`, so the library itself never
leaves a half-written file under a final name; the damage this module reports comes from
outside (another program, a filesystem without atomic rename, a copy).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DamagedFileError", "load", "load_arrays", "load_state"]


class DamagedFileError(ValueError):
    """A file the library wrote cannot be used. The message is "<path> <problem>;
    <remedy>"; ``path``, ``problem`` (what is wrong) and ``remedy`` (what to do) are also
    attributes."""

    def __init__(self, path: str | os.PathLike, problem: str, remedy: str) -> None:
        super().__init__(f"{path} {problem}; {remedy}")
        self.path, self.problem, self.remedy = Path(path), problem, remedy


def _a(what: str) -> str:
    """``what`` with its indefinite article."""
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _read_arrays(path: Path) -> Any:
    """``.npz``: a dict of arrays (read in full, so damage anywhere surfaces here); ``.npy``:
    one array; no pickles."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    raise ValueError(f"files.load_arrays: no numpy reader for {path.suffix!r} files ({path})")


def _read(path: Path) -> Any:
    """The file's content by its suffix: ``.pt`` a ``torch.save`` object (tensors and
    plain containers only, ``weights_only=True``, on the CPU), else :func:`_read_arrays`."""
    if path.suffix == ".pt":
        import torch

        return torch.load(path, map_location="cpu", weights_only=True)
    return _read_arrays(path)


def load_arrays(
    path: str | os.PathLike,
    what: str,
    remedy: str,
    *,
    keys: Iterable[str] = (),
    format: int | None = None,
) -> Any:
    """:func:`load` for numpy files (``.npz``, ``.npy``) only, so that numpy-only readers
    (grids, statistics) never import torch: the analysis environment has none."""
    return _load(path, what, remedy, keys, format, _read_arrays)


def load(
    path: str | os.PathLike,
    what: str,
    remedy: str,
    *,
    keys: Iterable[str] = (),
    format: int | None = None,
) -> Any:
    """The content of ``path``, a file of the kind ``what`` (e.g. "GAN training
    checkpoint"), checked before it is returned.

    Args:
        path: a ``.pt``, ``.npz`` or ``.npy`` file written by this library.
        what: the kind of file, for the messages.
        remedy: what the user should do when the file is unusable (e.g. "delete it to
            train from scratch"), appended to every message.
        keys: entries a ``.pt`` or ``.npz`` file must hold (it must then be a mapping).
        format: the value its ``format`` entry must have (the file layout's version).

    Raises:
        FileNotFoundError: there is no file at ``path`` (the message holds the remedy).
        DamagedFileError: the file is truncated or otherwise unreadable, is not a mapping,
            lacks one of ``keys``, or has another ``format``.
    """
    return _load(path, what, remedy, keys, format, _read)


def _load(path: str | os.PathLike, what: str, remedy: str, keys: Iterable[str], format: int | None,
          read: Any) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (no {what} there); {remedy}")
    try:
        content = read(path)
    except Exception as exc:  # zip, pickle, EOF, OS and numpy errors, depending on the damage
        raise DamagedFileError(
            path, f"cannot be read as {_a(what)}: it is damaged or cut short ({_first_line(exc)})", remedy
        ) from exc
    keys = tuple(keys)
    if format is not None:
        keys = ("format", *keys)
    if keys:
        if not isinstance(content, Mapping):
            raise DamagedFileError(path, f"holds {_a(type(content).__name__)}, not {_a(what)}", remedy)
        missing = [k for k in keys if k not in content]
        if missing:
            raise DamagedFileError(
                path, f"is not {_a(what)} written by this code: it lacks {', '.join(map(repr, missing))}", remedy
            )
    if format is not None and int(content["format"]) != format:
        raise DamagedFileError(
            path, f"is {_a(what)} of format {int(content['format'])}; this code reads format {format}", remedy
        )
    return content


def load_state(module: Any, state: Any, path: str | os.PathLike, name: str, remedy: str) -> None:
    """``module.load_state_dict(state)`` for the entry ``name`` of the file ``path``
    (a network, an optimizer or any object with ``load_state_dict``); a state that does
    not fit (missing or unexpected weights, other shapes: the code that builds the network
    has changed since the file was written) raises :class:`DamagedFileError`."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DamagedFileError(
            path,
            f"does not fit the {name} built by this code, which has changed since the file was written "
            f"({_first_line(exc)})",
            remedy,
        ) from None

"""A labelled grid of latent codes and the images decoded from them: the data of every
image figure, written once by :mod:`latentspace.render` (torch) and drawn by
:mod:`latentspace.plotting` (matplotlib). Numpy only, so that the decoding jobs import no
matplotlib and the plotting jobs no torch; :meth:`Grid.load` reads through
:func:`latentspace.files.load_arrays`, which names a damaged file."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import replace as _replace

import numpy as np

from latentspace import files
from latentspace.atomic import write_atomic

__all__ = ["Grid"]

_GRID_FORMAT = 1


def _str_list(name: str, values: Sequence[str] | None, n: int | None = None) -> list[str] | None:
    if values is None:
        return None
    out = [str(v) for v in values]
    if n is not None and len(out) != n:
        raise ValueError(f"Grid: {name} must have {n} entries (one per {name.split('_')[0]}), got {len(out)}")
    return out


@dataclass
class Grid:
    """A labelled grid of latent codes and the images decoded from them.

    Attributes:
        latents: (rows, cols, D) float32, the code of each cell. Grids stacked from
            models of different latent dimensions are padded with NaN to the largest D.
        images: (rows, cols, C, H, W) float16 in [-1, 1] (C = 1 grayscale, 3 RGB), or
            None before decoding.
        row_labels, col_labels: one label per row / column (machine-readable names, such
            as operation names; :data:`GRID_LABELS` gives their display form).
        row_name, col_name: what rows and columns vary ("operation", "t", "prior", "alpha",
            "training step"); drawn as axis labels.
        title: figure title ("" for none).
        row_groups: optional group name per row (e.g. the endpoint pair shared by a block
            of operation rows); a separator is drawn where it changes.
        marked: optional (rows, cols) bool, cells drawn with a coloured frame (e.g. the
            failed tail samples of a sample grid).
        extra: JSON-serialisable numbers, strings and lists about the grid (counts, thresholds,
            the checkpoint's step and prior).
    """

    latents: np.ndarray
    row_labels: list[str]
    col_labels: list[str]
    images: np.ndarray | None = None
    row_name: str = ""
    col_name: str = ""
    title: str = ""
    row_groups: list[str] | None = None
    marked: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.latents = np.asarray(self.latents, dtype=np.float32)
        if self.latents.ndim != 3:
            raise ValueError(f"Grid: latents must have shape (rows, cols, D), got {self.latents.shape}")
        rows, cols = self.latents.shape[:2]
        self.row_labels = _str_list("row_labels", self.row_labels, rows)
        self.col_labels = _str_list("col_labels", self.col_labels, cols)
        self.row_groups = _str_list("row_groups", self.row_groups, rows)
        if self.images is not None:
            self.images = np.asarray(self.images, dtype=np.float16)
            if self.images.ndim != 5 or self.images.shape[:2] != (rows, cols) or self.images.shape[2] not in (1, 3):
                raise ValueError(
                    f"Grid: images must have shape ({rows}, {cols}, C, H, W) with C = 1 or 3, got {self.images.shape}"
                )
        if self.marked is not None:
            self.marked = np.asarray(self.marked, dtype=bool)
            if self.marked.shape != (rows, cols):
                raise ValueError(f"Grid: marked must have shape ({rows}, {cols}), got {self.marked.shape}")
        self.extra = dict(self.extra)
        json.dumps(self.extra)  # raises TypeError now, not when saving

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.latents.shape[0], self.latents.shape[1]

    def with_images(self, images: np.ndarray, **extra) -> Grid:
        """A copy with ``images`` set and ``extra`` merged into :attr:`extra`."""
        return _replace(self, images=images, extra={**self.extra, **extra})

    def take(self, rows: Sequence[int]) -> Grid:
        """The grid of the given rows (e.g. the first pair of every group)."""
        idx = list(rows)

        def pick(values: list[str] | None) -> list[str] | None:
            return None if values is None else [values[i] for i in idx]

        return _replace(
            self,
            latents=self.latents[idx],
            images=None if self.images is None else self.images[idx],
            row_labels=pick(self.row_labels),
            row_groups=pick(self.row_groups),
            marked=None if self.marked is None else self.marked[idx],
        )

    @classmethod
    def stack(cls, grids: Sequence[Grid], labels: Sequence[str], row_name: str | None = None, title: str = "") -> Grid:
        """Stack grids with the same columns (e.g. one per model or training snapshot).

        ``labels`` names each grid. Grids of one row each become rows named by ``labels``;
        otherwise ``labels`` become row groups (joined with any groups the grids had).
        Latents of different dimensions are padded with NaN to the largest; images must
        have one shape. ``extra`` keeps the numbers of each grid under "<label>/<key>".
        """
        grids, labels = list(grids), [str(v) for v in labels]
        if not grids or len(grids) != len(labels):
            raise ValueError(f"Grid.stack: need one label per grid, got {len(grids)} grids and {len(labels)} labels")
        cols = grids[0].col_labels
        if any(g.col_labels != cols for g in grids):
            raise ValueError("Grid.stack: every grid must have the same column labels")
        have_images = [g.images is not None for g in grids]
        if any(have_images) and not all(have_images):
            raise ValueError("Grid.stack: either every grid or none must hold images")
        dim = max(g.latents.shape[2] for g in grids)
        latents = np.concatenate(
            [np.pad(g.latents, ((0, 0), (0, 0), (0, dim - g.latents.shape[2])), constant_values=np.nan) for g in grids]
        )
        single = all(g.shape[0] == 1 for g in grids)
        if single:
            row_labels, row_groups = labels, None
        else:
            row_labels = [r for g in grids for r in g.row_labels]
            row_groups = [
                f"{label}, {g.row_groups[i]}" if g.row_groups else label
                for g, label in zip(grids, labels, strict=True)
                for i in range(g.shape[0])
            ]
        marked = None
        if any(g.marked is not None for g in grids):
            marked = np.concatenate([g.marked if g.marked is not None else np.zeros(g.shape, bool) for g in grids])
        return cls(
            latents=latents,
            images=np.concatenate([g.images for g in grids]) if all(have_images) else None,
            row_labels=row_labels,
            col_labels=cols,
            row_name=row_name if row_name is not None else ("" if single else grids[0].row_name),
            col_name=grids[0].col_name,
            title=title,
            row_groups=row_groups,
            marked=marked,
            extra={f"{label}/{k}": v for g, label in zip(grids, labels, strict=True) for k, v in g.extra.items()},
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write the grid to one ``.npz`` (compressed; labels as string arrays, ``extra``
        as JSON; no pickled objects), atomically."""
        arrays = {
            "format": np.asarray(_GRID_FORMAT),
            "latents": self.latents,
            "row_labels": np.asarray(self.row_labels, dtype=str),
            "col_labels": np.asarray(self.col_labels, dtype=str),
            "row_name": np.asarray(self.row_name),
            "col_name": np.asarray(self.col_name),
            "title": np.asarray(self.title),
            "extra": np.asarray(json.dumps(self.extra, sort_keys=True)),
        }
        if self.images is not None:
            arrays["images"] = self.images
        if self.row_groups is not None:
            arrays["row_groups"] = np.asarray(self.row_groups, dtype=str)
        if self.marked is not None:
            arrays["marked"] = self.marked
        write_atomic(path, lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Grid:
        """Read a grid written by :meth:`save` (numpy only, ``allow_pickle=False``); a
        damaged or foreign file raises :class:`latentspace.files.DamagedFileError`."""
        f = files.load_arrays(
            path, "grid file", "delete it and rerun the rule (or call) that wrote it",
            keys=("latents", "row_labels", "col_labels", "row_name", "col_name", "title", "extra"),
            format=_GRID_FORMAT,
        )
        groups = f.get("row_groups")
        return cls(
            latents=f["latents"],
            images=f.get("images"),
            row_labels=f["row_labels"].tolist(),
            col_labels=f["col_labels"].tolist(),
            row_name=str(f["row_name"]),
            col_name=str(f["col_name"]),
            title=str(f["title"]),
            row_groups=None if groups is None else groups.tolist(),
            marked=f.get("marked"),
            extra=json.loads(str(f["extra"])),
        )

"""One figure style for all figures, and atomic PDF + PNG output.

Plot scripts call :func:`use_style` once, draw with matplotlib, then
:func:`save_figure` with the PDF path; the PNG is written beside it. Uses the
non-interactive ``agg`` backend so plotting works on headless machines and clusters.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

from latentspace.atomic import write_atomic  # noqa: E402

__all__ = ["STYLE", "use_style", "save_figure", "panel_label", "panel_row"]

STYLE = Path(__file__).with_name("styles") / "latentspace.mplstyle"


def use_style() -> None:
    """Apply the project's matplotlib style."""
    plt.style.use(STYLE)
    # Fixed metadata so that the same figure gives the same bytes on a rerun.
    matplotlib.rcParams["svg.hashsalt"] = "latentspace"


def _atomic_savefig(fig: plt.Figure, path: Path, **kwargs) -> None:
    write_atomic(path, lambda f: fig.savefig(f, format=path.suffix.lstrip("."), **kwargs))


def save_figure(fig: plt.Figure, pdf: str | os.PathLike, png: str | os.PathLike | None = None) -> None:
    """Write ``fig`` as PDF and PNG (``png`` defaults to the PDF path with .png), each
    through a temporary file and a rename, then close it."""
    pdf = Path(pdf)
    png = Path(png) if png is not None else pdf.with_suffix(".png")
    _atomic_savefig(fig, pdf, metadata={"CreationDate": None, "Creator": "latentspace"})
    _atomic_savefig(fig, png, metadata={"Software": "latentspace"})
    plt.close(fig)


def panel_row(df, by: str, panel_width: float, height: float, letters: bool = True):
    """One panel per distinct value of ``df[by]`` (in order of appearance), side by side.

    Returns the figure and a list of ``(ax, value, rows of df with that value)``; with
    ``letters`` the panels are labelled (a), (b), ...
    """
    values = list(dict.fromkeys(df[by]))
    fig, axes = plt.subplots(1, len(values), figsize=(panel_width * len(values), height), squeeze=False)
    panels = []
    for i, (ax, value) in enumerate(zip(axes[0], values, strict=True)):
        if letters:
            panel_label(ax, f"({chr(97 + i)})")
        panels.append((ax, value, df[df[by] == value]))
    return fig, panels


def panel_label(ax: plt.Axes, label: str) -> None:
    """Bold panel letter, e.g. "(a)", just outside the axes' top-left corner, clear of the title."""
    ax.text(-0.02, 1.02, label, transform=ax.transAxes, ha="right", va="bottom", fontweight="bold")


# --------------------------------------------------------------------------- image grids
# Figures made of generated images: the data of one figure is a :class:`Grid` (latent codes,
# decoded images, labels; :mod:`latentspace.grids`, numpy only), written once by
# :mod:`latentspace.render` (torch) and read here, so the plotting environment needs no
# torch, the decoding jobs no matplotlib, and restyling never decodes.
# These imports sit here, not at the top, so that this section stays one block.

from collections.abc import Mapping, Sequence  # noqa: E402

import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from latentspace.grids import Grid  # noqa: E402

__all__ += ["Grid", "GRID_LABELS", "image_grid", "grid_figure"]

# Display names of the machine-readable labels that grids carry (operation names).
GRID_LABELS: dict[str, str] = {
    "linear": "linear",
    "slerp": "slerp",
    "normalized": "normalized",
    "cauchy_linear": "Cauchy-linear",
    "spherical_cauchy_linear": "sph. Cauchy-linear",
    "ot_matched": "matched",
    "unmatched": "unmatched",
    "matched": "matched",
}

MARK_COLOR = "#D55E00"  # the style's second colour: frames of marked (e.g. failed) cells


def _to_unit(images: np.ndarray) -> np.ndarray:
    """Images in [-1, 1] (float) or [0, 255] (uint8) as float32 in [0, 1]."""
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255
    return (np.clip(x.astype(np.float32), -1, 1) + 1) / 2


def _offsets(n: int, size: int, pad: int, groups: Sequence[str] | None, group_gap: int) -> np.ndarray:
    """Start pixel of each of n cells of side ``size``, ``pad`` apart, with ``group_gap``
    more before each cell whose group differs from the previous one."""
    starts, pos = [], 0
    for i in range(n):
        if i > 0:
            pos += pad + (group_gap if groups is not None and groups[i] != groups[i - 1] else 0)
        starts.append(pos)
        pos += size
    return np.asarray(starts)


def image_grid(
    images: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str | None = None,
    row_groups: Sequence[str] | None = None,
    row_name: str | None = None,
    col_name: str | None = None,
    marked: np.ndarray | None = None,
    cell_inches: float = 0.6,
    max_width: float = 7.0,
) -> plt.Figure:
    """A labelled grid of images as one figure: ``images`` (rows, cols, C, H, W) in
    [-1, 1] (or uint8 in [0, 255]), C = 1 (grayscale) or 3 (RGB).

    The cells are pasted into one mosaic (one ``imshow``, so a PDF holds one image, not
    rows x cols of them), white gaps between cells and wider gaps with a thin rule
    between row groups. Column labels run along the top (``col_name`` above them), row
    labels down the left (``row_name`` beside them), group names down the right. Cells
    where ``marked`` is true get a frame in :data:`MARK_COLOR`. Cells are ``cell_inches``
    wide unless the grid would be wider than ``max_width`` inches.
    """
    x = _to_unit(images)
    if x.ndim != 5 or x.shape[2] not in (1, 3):
        raise ValueError(f"image_grid: images must have shape (rows, cols, C, H, W) with C = 1 or 3, got {x.shape}")
    rows, cols, channels, height, width = x.shape
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ValueError(
            f"image_grid: {rows} x {cols} images need {rows} row labels and {cols} column labels, "
            f"got {len(row_labels)} and {len(col_labels)}"
        )
    if row_groups is not None and len(row_groups) != rows:
        raise ValueError(f"image_grid: row_groups must have {rows} entries, got {len(row_groups)}")
    pad = max(1, height // 16)
    group_gap = 3 * pad
    ys = _offsets(rows, height, pad, row_groups, group_gap)
    xs = _offsets(cols, width, pad, None, 0)
    canvas = np.ones((ys[-1] + height, xs[-1] + width, channels), dtype=np.float32)
    for i, y in enumerate(ys):
        for j, x0 in enumerate(xs):
            canvas[y : y + height, x0 : x0 + width] = x[i, j].transpose(1, 2, 0)

    cell = min(cell_inches, max_width / cols)
    scale = cell / width  # inches per pixel
    label_chars = max(len(s) for s in row_labels) + (max(len(s) for s in row_groups) if row_groups else 0)
    fig_w = canvas.shape[1] * scale + 0.8 + 0.06 * label_chars
    fig_h = canvas.shape[0] * scale + 0.7 + (0.3 if title else 0.0)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    if channels == 1:
        ax.imshow(canvas[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(canvas, interpolation="nearest")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0, pad=2)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(xs + (width - 1) / 2, list(col_labels))
    ax.set_yticks(ys + (height - 1) / 2, list(row_labels))
    if col_name:
        ax.set_xlabel(col_name)
    if row_name:
        ax.set_ylabel(row_name)
    if row_groups is not None:
        starts = [0] + [i for i in range(1, rows) if row_groups[i] != row_groups[i - 1]]
        ends = starts[1:] + [rows]
        for s in starts[1:]:
            ax.axhline(ys[s] - (group_gap + pad) / 2 - 0.5, color="0.4", lw=0.6)
        right = ax.secondary_yaxis("right")
        right.set_yticks(
            [(ys[s] + ys[e - 1] + height - 1) / 2 for s, e in zip(starts, ends, strict=True)],
            [row_groups[s] for s in starts],
        )
        right.tick_params(length=0, pad=3)
        right.spines["right"].set_visible(False)
    if marked is not None:
        for i, j in zip(*np.nonzero(np.asarray(marked, dtype=bool)), strict=True):
            ax.add_patch(Rectangle((xs[j] - 0.5, ys[i] - 0.5), width, height, fill=False, edgecolor=MARK_COLOR, lw=1.5))
    if title:
        fig.suptitle(title)
    return fig


def grid_figure(grid: Grid, labels: Mapping[str, str] | None = None, **kwargs) -> plt.Figure:
    """:func:`image_grid` of a decoded :class:`Grid`, its labels shown through
    :data:`GRID_LABELS` updated with ``labels``; ``kwargs`` go to :func:`image_grid`
    (``title=`` overrides the grid's own)."""
    if grid.images is None:
        raise ValueError("grid_figure: the grid holds no images; decode it first (latentspace.render.render)")
    names = {**GRID_LABELS, **(labels or {})}

    def show(values: Sequence[str] | None) -> list[str] | None:
        return None if values is None else [names.get(v, v) for v in values]

    options = {
        "title": grid.title,
        "row_groups": show(grid.row_groups),
        "row_name": grid.row_name,
        "col_name": grid.col_name,
        "marked": grid.marked,
        **kwargs,
    }
    return image_grid(grid.images, show(grid.row_labels), show(grid.col_labels), **options)

"""One figure style for all figures, and atomic PDF + PNG output.

Plot scripts call :func:`use_style` once, draw with matplotlib, then
:func:`save_figure` with the PDF path; the PNG is written beside it. Uses the
non-interactive ``agg`` backend so plotting works on headless machines and clusters.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["STYLE", "use_style", "save_figure", "panel_label"]

STYLE = Path(__file__).with_name("styles") / "latentspace.mplstyle"


def use_style() -> None:
    """Apply the project's matplotlib style."""
    plt.style.use(STYLE)
    # Fixed metadata so that the same figure gives the same bytes on a rerun.
    matplotlib.rcParams["svg.hashsalt"] = "latentspace"


def _atomic_savefig(fig: plt.Figure, path: Path, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, **kwargs)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_figure(fig: plt.Figure, pdf: str | os.PathLike, png: str | os.PathLike | None = None) -> None:
    """Write ``fig`` as PDF and PNG (``png`` defaults to the PDF path with .png), each
    through a temporary file and a rename, then close it."""
    pdf = Path(pdf)
    png = Path(png) if png is not None else pdf.with_suffix(".png")
    _atomic_savefig(fig, pdf, metadata={"CreationDate": None, "Creator": "latentspace"})
    _atomic_savefig(fig, png, metadata={"Software": "latentspace"})
    plt.close(fig)


def panel_label(ax: plt.Axes, label: str) -> None:
    """Bold panel letter, e.g. "(a)", just outside the axes' top-left corner, clear of the title."""
    ax.text(-0.02, 1.02, label, transform=ax.transAxes, ha="right", va="bottom", fontweight="bold")

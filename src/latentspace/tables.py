"""Tables as CSV (full precision, for reuse) and LaTeX (booktabs, for the paper).

:func:`write_table` writes both atomically. Numbers in the LaTeX version are formatted by
column (``formats``), e.g. ``"{:.3f}"``; :func:`mean_pm_std` formats "mean ± std".
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from latentspace.atomic import write_text

__all__ = ["write_table", "write_csv", "mean_pm_std", "pm_cells"]


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """CSV with a fixed float format, so identical numbers give identical bytes."""
    write_text(path, df.to_csv(index=False, float_format="%.10g", lineterminator="\n"))


def mean_pm_std(mean: float, std: float, digits: int = 2) -> str:
    """"mean $\\pm$ std" for LaTeX."""
    return f"{mean:.{digits}f} $\\pm$ {std:.{digits}f}"


def pm_cells(values, stds, digits: int = 2) -> list[str]:
    """A column of "value $\\pm$ std" cells (:func:`mean_pm_std`): "--" where there is no
    value, the value alone where there is no std."""
    return [
        "--" if pd.isna(v) else f"{v:.{digits}f}" if pd.isna(s) else mean_pm_std(v, s, digits)
        for v, s in zip(values, stds, strict=True)
    ]


def write_table(
    df: pd.DataFrame,
    tex: str | os.PathLike,
    csv: str | os.PathLike | None = None,
    formats: Mapping[str, str] | None = None,
    caption: str | None = None,
) -> None:
    """Write ``df`` as a booktabs tabular (``tex``) and as CSV (``csv``).

    ``formats`` maps column names to format strings for the LaTeX version only; the CSV
    keeps full precision. Column names and text cells are escaped for LaTeX, except
    cells that already hold LaTeX from :func:`mean_pm_std`.
    """
    if csv is not None:
        write_csv(df, csv)
    shown = df.copy()
    for col, fmt in (formats or {}).items():
        shown[col] = [fmt.format(v) if pd.notna(v) else "--" for v in shown[col]]
    for col in shown.columns:
        if pd.api.types.is_bool_dtype(shown[col]):
            shown[col] = shown[col].map({True: "yes", False: "no"})
        elif not pd.api.types.is_numeric_dtype(shown[col]):
            shown[col] = [_escape(v) for v in shown[col]]
    shown.columns = [_escape(str(c)) for c in shown.columns]
    body = shown.to_latex(index=False, escape=False, na_rep="--")
    header = f"% {caption}\n" if caption else ""
    write_text(tex, header + body)


def _escape(value: object) -> object:
    if not isinstance(value, str) or "$\\pm$" in value:
        return value
    for ch, rep in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        value = value.replace(ch, rep)
    return value

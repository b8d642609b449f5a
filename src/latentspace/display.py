"""How the metric tables and figures show their numbers, without torch: the labels of the
metrics, the decimals per metric, and the LaTeX views of the score tables. The rules that
gather and draw the tables run in the analysis environment (envs/analysis.yaml); the
scores themselves come from :mod:`latentspace.evaluation`."""

from __future__ import annotations

import pandas as pd

from .tables import pm_cells

__all__ = ["TREATMENTS", "METRIC_LABELS", "METRIC_DIGITS", "CHANGE_KINDS", "relative_change", "display_table",
           "display_path_lengths"]

# The treatments of the spherical auto-encoder paper's Table 1 (latentspace.evaluation.treated).
TREATMENTS = ("as drawn", "spherized", "centered", "centered and spherized")
METRIC_LABELS = {"fid_classifier": "FID (classifier)", "is_classifier": "IS (classifier)",
                 "fid_inception": "FID (Inception)", "is_inception": "IS (Inception)",
                 **{f"{kind}_{x}": f"{label} ({name})" for x, name in (("classifier", "classifier"), ("inception", "Inception"))
                    for kind, label in (("kid", "KID"), ("precision", "precision"), ("recall", "recall"))}}
# Decimals shown per metric kind (KID is a small squared distance, precision/recall fractions).
METRIC_DIGITS = {"kid": 4, "precision": 3, "recall": 3}
# Kinds whose change against random samples the midpoint table shows (KID's baseline is near 0).
CHANGE_KINDS = ("fid", "is")


def relative_change(values: pd.Series, baseline: float) -> pd.Series:
    """Change of ``values`` against ``baseline`` in percent: 100 (v - b) / b."""
    return 100.0 * (values - baseline) / baseline


def _pm(df: pd.DataFrame, name: str, digits: int) -> list[str]:
    return pm_cells(df[name], df[f"{name}_std"], digits)


def display_table(kind: str, df: pd.DataFrame) -> pd.DataFrame:
    """The LaTeX view of the scores of :func:`latentspace.evaluation.score_sets` (rows of several models
    concatenated, with a ``model`` or ``step`` column): each metric as "value ± std over
    the splits"; ``midpoints`` adds the FID's and IS's change against the model's random
    samples in percent (not KID's, whose baseline is near 0); ``treated`` puts the treatments side by side per noise, as the
    spherical auto-encoder paper's Table 1 does."""
    names = [m for m in METRIC_LABELS if m in df.columns]
    if not names:
        raise ValueError(f"display_table: no metric columns among {list(df.columns)}")
    if kind == "treated":
        blocks = []
        for name in names:
            frame = df.assign(value=_pm(df, name, METRIC_DIGITS.get(name.split("_")[0], 2)))
            wide = frame.pivot(index="noise", columns="treatment", values="value")
            wide = wide.reindex(index=list(dict.fromkeys(df["noise"])), columns=list(TREATMENTS))
            blocks.append(wide.reset_index().rename(columns={"noise": "noise law"}).assign(metric=METRIC_LABELS[name]))
        out = pd.concat(blocks, ignore_index=True)
        return out[["metric", "noise law", *TREATMENTS]]
    keys = [c for c in ("model", "step", "set", "op", "alpha") if c in df.columns]
    out = df[keys].copy()
    if "alpha" in out:
        out["alpha"] = [f"{a:g}" for a in out["alpha"]]
    for name in names:
        digits = METRIC_DIGITS.get(name.split("_")[0], 2)
        out[METRIC_LABELS[name]] = _pm(df, name, digits)
        if kind == "midpoints" and name.split("_")[0] in CHANGE_KINDS:
            base = df[df["set"] == "random"].set_index("model")[name]
            change = relative_change(df[name], df["model"].map(base))
            out[f"{METRIC_LABELS[name]} change (%)"] = [f"{v:+.1f}" if v == v else "--" for v in change]
    return out


def display_path_lengths(df: pd.DataFrame) -> pd.DataFrame:
    """The LaTeX view of :func:`latentspace.evaluation.score_paths` rows (of several models, with a ``model``
    column): per model, endpoints and operation the PPL of the whole path ± its standard
    error, the bin of t where it is largest and how much larger it is there."""
    whole = df[df["scope"] == "path"]
    bins = df[df["scope"] == "bin"]
    keys = ["model", "endpoints", "op"]
    rows = []
    for _, row in whole.iterrows():
        mine = bins[(bins[keys] == row[keys]).all(axis=1)]
        peak = mine.loc[mine["ppl"].idxmax()] if mine["ppl"].notna().any() else None
        rows.append({
            "model": row["model"],
            "endpoints": {"random": "random pairs", "opposite": "z to -z"}.get(row["endpoints"], row["endpoints"]),
            "operation": row["op"],
            f"PPL ({row['extractor']})": f"{row['ppl']:.4g} $\\pm$ {row['ppl_std']:.2g}",
            "largest at t in": "--" if peak is None else f"[{peak['t_lo']:.2g}, {peak['t_hi']:.2g})",
            "largest / whole": "--" if peak is None else f"{peak['ppl'] / row['ppl']:.2f}",
        })
    return pd.DataFrame(rows)

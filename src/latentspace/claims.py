"""The claims ledger: every quantitative claim of the four papers, judged from a run's tables.

A claim is data (``workflow/claims.yaml``): the paper, where it stands, a short statement,
the paper's own numbers, and a *measure* that names the run's table and rows that test it
and the comparison rule. :func:`judge` turns the claims and the tables into the ledger,
one row per claim with columns :data:`COLUMNS` and a verdict from :data:`VERDICTS`:

* ``reproduced`` / ``not reproduced``: the rule holds / fails on our numbers;
* ``not comparable``: our setting differs from the paper's in a way that decides the
  outcome (the claim's ``comparable`` conditions on the config say which);
* ``not run``: the config does not build the table or rows the claim needs.

Comparison rules never use a hand-picked tolerance. Two numbers differ when their
difference is significant at the 3-sigma level (two-sided p = 0.0027, :data:`Z` = 3 for
a known standard error), with standard errors from the run itself: a metric's std over
its k disjoint splits divided by sqrt(k), a mean's std divided by sqrt(n), a sample std's
std / sqrt(2 (n - 1)). A std estimated from k splits has k - 1 degrees of freedom, so the
critical value is Student's t at Welch's degrees of freedom (6.6 for one 5-split std,
about 4.3 for two), not 3. Where the paper prints a number to k decimals, agreement with
it also allows half a unit in its last digit.

Measures (``measure.kind``):

* ``compare``: value ``a`` against ``b`` with ``relation`` ``<`` (significantly lower),
  ``>`` (significantly higher) or ``~`` (indistinguishable);
* ``change_in_range``: the relative change 100 (a - b) / b, within Z standard errors of
  the paper's range ``[lo, hi]`` (percent);
* ``flags``: a boolean column equals ``expect`` on every listed row;
* ``close``: a value equals an expected number (the paper's, or another column of the
  same row) within Z standard errors (and the paper's rounding);
* ``best``: among rows that differ in column ``over``, the row ``over = expect`` is the
  best (lowest for ``sense: min``) or indistinguishable from the best;
* ``alike`` / ``differ``: the largest and smallest of several values are within / beyond
  Z standard errors of each other;
* ``paired``: ``a`` against ``b`` in the same column, row by row for every value of a key
  column (e.g. each endpoint pair of the ri paths), holding on every one.

Some measures read a *derived* table computed here from the run's data files
(:data:`DERIVED`): statistics of a density curve, or of a path profile.

This module imports neither torch nor the workflow: the ``claims`` rule runs it in the
analysis environment, and tests run it on fabricated tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = [
    "COLUMNS",
    "VERDICTS",
    "PAPERS",
    "Z",
    "Claim",
    "Judgement",
    "load_claims",
    "judge",
    "ledger_frame",
    "ledger_tex",
    "values_tex",
    "values_json",
    "result_tables",
    "render_template",
]

PAPERS = ("first", "matched", "realism", "spheres")
VERDICTS = ("reproduced", "not reproduced", "not comparable", "not run")
COLUMNS = ("claim", "paper", "where", "statement", "paper_value", "ours", "verdict", "note")
Z = 3.0
"""The significance level, in standard errors of a known-variance difference: two-sided
p = 2 (1 - Phi(3)) = 0.0027; with estimated variances, the t quantile at that p."""
P_VALUE = 2.0 * 0.5 * math.erfc(Z / math.sqrt(2.0))

# Metric families: a claim names "is" or "fid"; the ledger reads the first column present,
# Inception's before the classifier analogue's.
METRIC_FAMILIES = {
    "is": ("is_inception", "is_classifier"),
    "fid": ("fid_inception", "fid_classifier"),
    "kid": ("kid_inception", "kid_classifier"),
    "precision": ("precision_inception", "precision_classifier"),
    "recall": ("recall_inception", "recall_classifier"),
}
METRIC_NOTES = {
    "is_inception": "Inception Score",
    "is_classifier": "IS analogue (in-workflow classifier's posteriors)",
    "fid_inception": "FID (Inception)",
    "fid_classifier": "FID analogue (in-workflow classifier's features)",
    "precision_classifier": "precision (k-NN manifolds of the in-workflow classifier's features)",
    "recall_classifier": "recall (k-NN manifolds of the in-workflow classifier's features)",
    "precision_inception": "precision (k-NN manifolds of Inception features)",
    "recall_inception": "recall (k-NN manifolds of Inception features)",
}

_KINDS = ("compare", "change_in_range", "flags", "close", "best", "alike", "differ", "paired")


class ClaimError(ValueError):
    """A claim in the registry is malformed (the message names the claim and the field)."""


class NotRun(Exception):
    """The table or rows a claim needs were not built by this config."""


@dataclass(frozen=True)
class Claim:
    """One claim of a paper and the measure that tests it (see the module docstring)."""

    id: str
    paper: str
    where: str
    statement: str
    paper_value: str
    measure: Mapping[str, Any]
    comparable: tuple[Mapping[str, Any], ...] = ()
    note: str = ""


@dataclass
class Judgement:
    """A claim's verdict, our numbers in words (``ours``), why (``note``) and the numbers
    themselves (``values``, cited by documents through values.tex / values.json)."""

    claim: Claim
    verdict: str
    ours: str = ""
    note: str = ""
    values: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, str]:
        c = self.claim
        note = "; ".join(s for s in (self.note, c.note) if s)
        return dict(claim=c.id, paper=c.paper, where=c.where, statement=c.statement, paper_value=c.paper_value,
                    ours=self.ours, verdict=self.verdict, note=note)


# --------------------------------------------------------------------------- the registry


def load_claims(path: str | Path) -> list[Claim]:
    """The claims of the registry file ``path``, with ``each:`` entries expanded (one claim
    per value, ``{key}`` in its strings and measure replaced, the value appended to its id).
    Raises :class:`ClaimError` naming the claim and field for anything malformed."""
    doc = yaml.safe_load(Path(path).read_text())
    if not isinstance(doc, dict) or not isinstance(doc.get("claims"), list):
        raise ClaimError(f"{path}: expected a mapping with a 'claims:' list")
    claims: list[Claim] = []
    for i, entry in enumerate(doc["claims"]):
        claims.extend(_expand(entry, f"{path}: claims[{i}]"))
    ids = [c.id for c in claims]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        raise ClaimError(f"{path}: duplicate claim ids {', '.join(dupes)}")
    return claims


def load_cited(path: str | Path) -> dict[str, dict[str, Any]]:
    """The registry's ``cite:`` section: named numbers that documents quote besides the
    claims' own (name -> {table, where, column})."""
    doc = yaml.safe_load(Path(path).read_text()) or {}
    cited = doc.get("cite", {}) or {}
    for name, spec in cited.items():
        if not re.fullmatch(r"[a-z0-9-]+", str(name)) or not isinstance(spec, dict) or "table" not in spec:
            raise ClaimError(f"{path}: cite.{name}: needs a lower-case name and a mapping with 'table' and 'column'")
    return cited


def _expand(entry: Any, where: str) -> list[Claim]:
    if not isinstance(entry, dict):
        raise ClaimError(f"{where}: each claim must be a mapping")
    each = entry.get("each")
    if each is None:
        return [_claim(entry, where)]
    if not (isinstance(each, dict) and len(each) == 1 and isinstance(next(iter(each.values())), list)):
        raise ClaimError(f"{where} ({entry.get('id')}): 'each' must map one key to a list of values")
    (key, values), = each.items()
    out = []
    for value in values:
        filled = _substitute({k: v for k, v in entry.items() if k != "each"}, key, value)
        filled["id"] = f"{entry.get('id')}-{value}"
        out.append(_claim(filled, where))
    return out


def _substitute(obj: Any, key: str, value: Any) -> Any:
    if isinstance(obj, str):
        return value if obj == f"{{{key}}}" else obj.replace(f"{{{key}}}", str(value))
    if isinstance(obj, dict):
        return {k: _substitute(v, key, value) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_substitute(v, key, value) for v in obj]
    return obj


def _claim(entry: dict, where: str) -> Claim:
    cid = entry.get("id")
    if not isinstance(cid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", cid):
        raise ClaimError(f"{where}: 'id' must be lower-case letters, digits, '.' and '-', got {cid!r}")
    missing = [k for k in ("paper", "where", "statement", "measure") if k not in entry]
    if missing:
        raise ClaimError(f"claim {cid}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - {"id", "paper", "where", "statement", "paper_value", "measure", "comparable", "note"})
    if unknown:
        raise ClaimError(f"claim {cid}: unknown field(s) {', '.join(unknown)}")
    if entry["paper"] not in PAPERS:
        raise ClaimError(f"claim {cid}: paper must be one of {', '.join(PAPERS)}, got {entry['paper']!r}")
    measure = entry["measure"]
    if not isinstance(measure, dict) or measure.get("kind") not in _KINDS:
        raise ClaimError(f"claim {cid}: measure.kind must be one of {', '.join(_KINDS)}")
    if "table" not in measure:
        raise ClaimError(f"claim {cid}: measure.table is missing")
    comparable = entry.get("comparable", []) or []
    for cond in comparable:
        if not (isinstance(cond, dict) and {"config", "equals", "why"} <= set(cond)):
            raise ClaimError(f"claim {cid}: each 'comparable' entry needs config, equals and why")
    return Claim(id=cid, paper=entry["paper"], where=str(entry["where"]), statement=str(entry["statement"]).strip(),
                 paper_value=str(entry.get("paper_value", "") or ""), measure=measure, comparable=tuple(comparable),
                 note=str(entry.get("note", "") or "").strip())


# --------------------------------------------------------------------------- tables


class Tables:
    """The run's tables by name (``name -> CSV path``), read on first use; derived tables
    (:data:`DERIVED`) computed from them. A name the run did not build raises NotRun."""

    def __init__(self, paths: Mapping[str, str | Path]):
        self._paths = {name: Path(p) for name, p in paths.items()}
        self._cache: dict[str, pd.DataFrame] = {}

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> Tables:
        """Tables held in memory (name -> DataFrame), e.g. fabricated ones in tests."""
        tables = cls({})
        tables._cache.update(frames)
        return tables

    def get(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            if ":" in name:
                fn, source = name.split(":", 1)
                if fn not in DERIVED:
                    raise ClaimError(f"unknown derived table {fn!r}; known: {', '.join(DERIVED)}")
                self._cache[name] = DERIVED[fn](self.get(source))
            elif name in self._paths:
                self._cache[name] = pd.read_csv(self._paths[name], comment="#")
            else:
                raise NotRun(f"this config builds no {name}")
        return self._cache[name]


def _matches(series: pd.Series, value: Any) -> pd.Series:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and pd.api.types.is_numeric_dtype(series):
        return pd.Series(np.isclose(series.astype(float), float(value), rtol=1e-9, atol=1e-12), index=series.index)
    return series.astype(str) == str(value)


def matching(df: pd.DataFrame, where: Mapping[str, Any], table: str) -> pd.DataFrame:
    """The rows of ``df`` whose columns equal ``where``; NotRun when there are none (the
    config did not build them), ClaimError for a column the table lacks."""
    mask = pd.Series(True, index=df.index)
    for col, value in where.items():
        if col not in df.columns:
            raise ClaimError(f"{table} has no column {col!r} (columns: {', '.join(map(str, df.columns))})")
        mask &= _matches(df[col], value)
    if not mask.any():
        raise NotRun(f"{table} has no row {_label(where)}")
    return df[mask]


def select(df: pd.DataFrame, where: Mapping[str, Any], table: str) -> pd.Series:
    """The one row of ``df`` whose columns equal ``where``; NotRun when there is none,
    ClaimError when several match (the claim is ambiguous)."""
    rows = matching(df, where, table)
    if len(rows) > 1:
        raise ClaimError(f"{table}: {len(rows)} rows match {_label(where)}; add keys to 'where'")
    return rows.iloc[0]


def _label(where: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in where.items()) or "(all)"


def metric_column(df: pd.DataFrame, metric: str, table: str) -> str:
    """The column of ``metric``: a family ("is", "fid") resolves to Inception's column when
    the table has it, else the classifier analogue's; anything else is a column name."""
    if metric in df.columns:
        return metric
    for col in METRIC_FAMILIES.get(metric, ()):
        if col in df.columns:
            return col
    if metric in METRIC_FAMILIES:
        raise NotRun(f"{table} has no {metric} column: the config computes no such metric")
    raise ClaimError(f"{table} has no column for metric {metric!r} (columns: {', '.join(map(str, df.columns))})")


@dataclass
class Value:
    """A number with its standard error (0 when exact), a label, and the degrees of freedom
    of that standard error (infinite when it is known or rests on many draws)."""

    value: float
    se: float
    label: str
    dof: float = math.inf


def _se(row: pd.Series, col: str, spec: Mapping[str, Any], config: Mapping[str, Any]) -> float:
    """The standard error of ``row[col]`` by the measure's ``se`` rule:
    ``splits`` (default where a ``<col>_std`` column exists: std over splits / sqrt(splits),
    the splits from the row's ``splits`` column or ``measure.splits``), ``mean`` (``sd``
    column / sqrt(``n`` column)), ``std`` (a sample std's: value / sqrt(2 (n - 1))),
    ``column`` (another column holds it), ``none`` (an exact number)."""
    rule = spec.get("se", "splits" if f"{col}_std" in row.index else "none")
    if rule == "none":
        return 0.0
    if rule == "splits":
        splits = row["splits"] if "splits" in row.index else _config_value(spec.get("splits"), config)
        if splits is None:
            raise ClaimError(f"se 'splits' for {col}: the table has no 'splits' column; give measure.splits")
        return float(row[f"{col}_std"]) / math.sqrt(float(splits))
    if rule == "mean":
        return float(row[spec.get("sd", "std")]) / math.sqrt(_count(row, spec, config))
    if rule == "std":
        return float(row[col]) / math.sqrt(2.0 * (_count(row, spec, config) - 1.0))
    if rule == "column":
        return float(row[spec["se_column"]])
    raise ClaimError(f"unknown se rule {rule!r} (splits, mean, std, column, none)")


def _dof(row: pd.Series, col: str, spec: Mapping[str, Any], config: Mapping[str, Any]) -> float:
    """Degrees of freedom of :func:`_se`'s estimate: splits - 1 for a std over splits,
    n - 1 for a std over n items, infinite for an exact number."""
    rule = spec.get("se", "splits" if f"{col}_std" in row.index else "none")
    if rule == "splits":
        splits = row["splits"] if "splits" in row.index else _config_value(spec.get("splits"), config)
        return float(splits) - 1.0
    if rule in ("mean", "std"):
        return _count(row, spec, config) - 1.0
    return math.inf


def _count(row: pd.Series, spec: Mapping[str, Any], config: Mapping[str, Any]) -> float:
    """The sample size behind ``row``: measure.n names a column (default ``n``) or a config key."""
    n = spec.get("n", "n")
    if isinstance(n, dict):
        value = _config_value(n, config)
        if value is None:
            raise ClaimError(f"measure.n: the config has no {n.get('config')}")
        return float(value)
    return float(row[n])


def _config_value(spec: Any, config: Mapping[str, Any]) -> Any:
    if isinstance(spec, dict) and "config" in spec:
        return lookup(config, spec["config"])
    return spec


def lookup(config: Mapping[str, Any], dotted: str) -> Any:
    """``config`` at a dotted key ("models.sphere.params.radius"); None where it is absent."""
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


class _Measure:
    """The tables, config and spec of one claim's measure, with the readers its rule uses."""

    def __init__(self, spec: Mapping[str, Any], tables: Tables, config: Mapping[str, Any]):
        self.spec, self.tables, self.config = spec, tables, config
        self.columns_used: set[str] = set()

    def table(self, override: Mapping[str, Any] | None = None) -> tuple[str, pd.DataFrame]:
        name = (override or {}).get("table", self.spec["table"])
        return name, self.tables.get(name)

    def value(self, where: Mapping[str, Any], column: str | None = None) -> Value:
        """The number at the row ``where`` selects (keys ``table`` and ``column`` there
        override the measure's), with its standard error."""
        where = dict(where)
        name, df = self.table(where)
        where.pop("table", None)
        column = where.pop("column", None) or column
        col = metric_column(df, column or self.spec.get("metric") or self.spec["column"], name)
        self.columns_used.add(col)
        row = select(df, where, name)
        return Value(float(row[col]), _se(row, col, self.spec, self.config), _label(where),
                     _dof(row, col, self.spec, self.config))

    def rows(self, key: str = "rows") -> list[Mapping[str, Any]]:
        rows = self.spec.get(key)
        if not isinstance(rows, list) or not rows:
            raise ClaimError(f"measure.{key} must be a non-empty list of row selections")
        return rows


def _fmt(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, without an exponent for everyday sizes."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(x))), 0)
    return f"{x:.{decimals}f}" if 1e-4 <= abs(x) < 1e6 else f"{x:.{digits - 1}e}"


def _pm(v: Value) -> str:
    return f"{_fmt(v.value)} ± {_fmt(v.se, 2)}" if v.se else _fmt(v.value)


def critical_value(dof: float) -> float:
    """The two-sided critical value at p = :data:`P_VALUE`: Z for known variances, Student's
    t quantile for a variance estimated with ``dof`` degrees of freedom."""
    if not math.isfinite(dof) or dof > 1e6:
        return Z
    from scipy.stats import t

    return float(t.isf(P_VALUE / 2.0, dof))


def _tol(*values: Value) -> float:
    """The significance threshold for a difference (or sum) of independent ``values``: the
    critical value at Welch-Satterthwaite's degrees of freedom times the combined error."""
    var = sum(v.se**2 for v in values)
    if var == 0:
        return 0.0
    terms = [v.se**4 / v.dof for v in values if v.se and math.isfinite(v.dof)]
    dof = var**2 / sum(terms) if terms and all(v.dof > 0 for v in values if v.se) else math.inf
    return critical_value(dof) * math.sqrt(var)


def _compare(m: _Measure) -> tuple[bool, str, dict[str, float]]:
    a, b = m.value(m.spec["a"]), m.value(m.spec["b"])
    relation = m.spec.get("relation")
    diff, tol = a.value - b.value, _tol(a, b)
    holds = {"<": diff < -tol, ">": diff > tol, "~": abs(diff) <= tol}
    if relation not in holds:
        raise ClaimError("measure.relation must be '<', '>' or '~'")
    change = 100.0 * diff / b.value if b.value else float("nan")
    ours = f"{a.label}: {_pm(a)}; {b.label}: {_pm(b)} ({change:+.1f} %)"
    return holds[relation], ours, dict(a=a.value, a_se=a.se, b=b.value, b_se=b.se, diff=diff, change=change, tol=tol)


def _change_in_range(m: _Measure) -> tuple[bool, str, dict[str, float]]:
    a, b = m.value(m.spec["a"]), m.value(m.spec["b"])
    lo, hi = sorted(float(x) for x in m.spec["range"])
    change = 100.0 * (a.value - b.value) / b.value
    scaled_b = Value(b.value, abs(a.value / b.value) * b.se, b.label, b.dof)
    se = 100.0 * math.sqrt(a.se**2 + scaled_b.se**2) / abs(b.value)
    margin = 100.0 * _tol(a, scaled_b) / abs(b.value)
    holds = change + margin >= lo and change - margin <= hi
    ours = f"{change:+.1f} % ± {se:.1f} ({a.label}: {_pm(a)}; {b.label}: {_pm(b)})"
    return holds, ours, dict(a=a.value, b=b.value, change=change, change_se=se, lo=lo, hi=hi)


def _flags(m: _Measure) -> tuple[bool, str, dict[str, float]]:
    name, df = m.table()
    column, expect = m.spec["column"], bool(m.spec["expect"])
    show = list(m.spec.get("show", []))
    parts, values, missing, ok = [], {}, [], True
    for where in m.rows():
        try:
            row = select(df, where, name)
        except NotRun:
            missing.append(_label(where))
            continue
        if "applicable" in row.index and not _truth(row["applicable"]):
            missing.append(f"{_label(where)} (not applicable: {row.get('note', '')})")
            continue
        flag = _truth(row[column])
        ok &= flag == expect
        key = "/".join(str(v) for v in where.values())
        shown = [c for c in show if c in row.index and pd.notna(row[c])]
        extra = ", ".join(f"{c} {_fmt(float(row[c]))}" for c in shown)
        parts.append(f"{key}: {column} {'yes' if flag else 'no'}" + (f" ({extra})" if extra else ""))
        values[f"{key}"] = float(flag)
        values.update({f"{key}:{c}": float(row[c]) for c in shown})
    if not parts:
        raise NotRun(f"{name} has none of the rows " + "; ".join(missing))
    ours = "; ".join(parts) + (f"; not built: {', '.join(missing)}" if missing else "")
    return ok, ours, values


def _truth(x: Any) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in ("true", "yes", "1")
    return bool(x)


def _close(m: _Measure) -> tuple[bool, str, dict[str, float]]:
    name, df = m.table()
    column, expected = m.spec["column"], m.spec["expected"]
    rounding = 0.0
    if isinstance(expected, str) and re.fullmatch(r"-?\d+(\.\d+)?", expected.strip()):
        decimals = len(expected.split(".")[1]) if "." in expected else 0
        rounding = 0.5 * 10.0**-decimals
    parts, values, ok, missing = [], {}, True, []
    for i, where in enumerate(m.spec.get("rows") or [m.spec.get("where", {})]):
        try:
            v = m.value(where, column)
        except NotRun:
            missing.append(_label(where))
            continue
        if isinstance(expected, str) and not rounding:
            row = select(df, where, name)
            e = Value(float(row[expected]), 0.0, expected)
        else:
            e = Value(float(expected), 0.0, "paper")
        tol = _tol(v) + rounding
        ok &= abs(v.value - e.value) <= tol
        parts.append(f"{v.label}: {column} {_pm(v)} against {_fmt(e.value)}")
        values.update({f"value{i}": v.value, f"se{i}": v.se, f"expected{i}": e.value})
    if not parts:
        raise NotRun(f"{name} has none of the rows " + "; ".join(missing))
    return ok, "; ".join(parts) + (f"; not built: {', '.join(missing)}" if missing else ""), values


def _best(m: _Measure) -> tuple[bool, str, dict[str, float]]:
    name, df = m.table()
    over, expect, sense = m.spec["over"], m.spec["expect"], m.spec.get("sense", "min")
    col = metric_column(df, m.spec.get("metric") or m.spec["column"], name)
    base = dict(m.spec.get("where", {}))
    rows = matching(df, base, name)
    vals = {r[over]: m.value({**base, over: r[over]}, col) for _, r in rows.iterrows()}
    key = next((k for k in vals if _matches(pd.Series([k]), expect).iloc[0]), None)
    if key is None:
        raise NotRun(f"{name} has no row {over} = {expect} for {_label(base)}")
    pick = min if sense == "min" else max
    best_key = pick(vals, key=lambda k: vals[k].value)
    target, best = vals[key], vals[best_key]
    gap = abs(target.value - best.value)
    ok = gap <= _tol(target, best)
    ours = f"{_label(base)}: best {over} = {best_key:g} ({_pm(best)}); {over} = {key:g}: {_pm(target)}"
    return ok, ours, dict(best=best.value, best_at=float(best_key) if _numeric(best_key) else float("nan"),
                          target=target.value, gap=gap, tol=_tol(target, best))


def _numeric(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _spread(m: _Measure, alike: bool) -> tuple[bool, str, dict[str, float]]:
    vals = [m.value(w) for w in m.rows()]
    hi, lo = max(vals, key=lambda v: v.value), min(vals, key=lambda v: v.value)
    spread, tol = hi.value - lo.value, _tol(hi, lo)
    ok = spread <= tol if alike else spread > tol
    ours = "; ".join(f"{v.label}: {_pm(v)}" for v in vals) + f" (range {_fmt(spread)}, threshold {_fmt(tol)})"
    return ok, ours, dict(low=lo.value, high=hi.value, spread=spread, tol=tol)


def _paired(m: _Measure) -> tuple[bool, str, dict[str, float]]:
    name, df = m.table()
    key, relation = m.spec["key"], m.spec["relation"]
    parts, values, ok = [], {}, True
    for k in sorted(df[key].unique()):
        a, b = m.value({**m.spec["a"], key: k}), m.value({**m.spec["b"], key: k})
        diff, tol = a.value - b.value, _tol(a, b)
        holds = {"<": diff < -tol, ">": diff > tol}[relation]
        ok &= holds
        parts.append(f"{key} {k}: {_fmt(a.value)} vs {_fmt(b.value)}")
        values.update({f"a{k}": a.value, f"b{k}": b.value})
    ours = f"{_label(m.spec['a'])} vs {_label(m.spec['b'])}: " + "; ".join(parts)
    return ok, ours, values


_RULES: dict[str, Callable[[_Measure], tuple[bool, str, dict[str, float]]]] = {
    "compare": _compare,
    "change_in_range": _change_in_range,
    "flags": _flags,
    "close": _close,
    "best": _best,
    "alike": lambda m: _spread(m, True),
    "differ": lambda m: _spread(m, False),
    "paired": _paired,
}


# --------------------------------------------------------------------------- derived tables


def _density_moments(df: pd.DataFrame, x: str, keys: Iterable[str]) -> pd.DataFrame:
    """Mean and std of ``x`` under each density curve (``density`` column, one curve per
    combination of ``keys``), by the trapezoidal rule."""
    rows = []
    for labels, g in df.groupby(list(keys), sort=False):
        g = g.sort_values(x)
        xs, p = g[x].to_numpy(float), g["density"].to_numpy(float)
        mass = np.trapezoid(p, xs)
        mean = np.trapezoid(xs * p, xs) / mass
        sd = math.sqrt(max(np.trapezoid((xs - mean) ** 2 * p, xs) / mass, 0.0))
        rows.append({**dict(zip(keys, labels if isinstance(labels, tuple) else (labels,), strict=True)),
                     "mean": mean, "std": sd, "mass": mass})
    return pd.DataFrame(rows)


def norm_spread(df: pd.DataFrame) -> pd.DataFrame:
    """From norms-vs-dimension: per prior and dimension, the mean and spread (std) of
    log10 ||Z|| under its density curve."""
    return _density_moments(df, "log10_norm", ["prior", "dim"])


def midpoint_norm_moments(df: pd.DataFrame) -> pd.DataFrame:
    """From midpoint-norms-100d: per prior and method, the mean and std of ||y||^2 under its
    density curve, and ``ratio``, the mean against the prior's own."""
    out = _density_moments(df, "sq_norm", ["prior", "method"])
    prior_mean = out[out["method"] == "prior"].set_index("prior")["mean"]
    prior_cv = out["prior"].map(out[out["method"] == "prior"].set_index("prior")["std"]) / out["prior"].map(prior_mean)
    out["ratio"] = out["mean"] / out["prior"].map(prior_mean)
    # The spread of one pair's contribution to the ratio of two means of n draws (delta
    # method): its standard error is ratio_sd / sqrt(n).
    out["ratio_sd"] = out["ratio"] * np.sqrt((out["std"] / out["mean"]) ** 2 + prior_cv**2)
    return out


def path_dynamics(df: pd.DataFrame) -> pd.DataFrame:
    """From an ri-profiles table: per endpoint pair and path, how even the steps are (the
    coefficient of variation of the L2 distances between consecutive decoded frames), the
    largest step, and the ri of the interior points (t in [0.1, 0.9], away from the
    endpoints' neighbourhoods) and of the two endpoints."""
    rows = []
    for (pair, path), g in df.groupby(["pair", "path"], sort=True):
        d = g["distance"].dropna().to_numpy(float)
        interior = g[(g["t"] >= 0.1 - 1e-9) & (g["t"] <= 0.9 + 1e-9)]["ri"].to_numpy(float)
        ends = g[(g["t"] == 0) | (g["t"] == 1)]["ri"].to_numpy(float)
        rows.append({"pair": pair, "path": path, "distance_cv": d.std() / d.mean(), "max_distance": d.max(),
                     "interior_min_ri": interior.min(), "interior_mean_ri": interior.mean(),
                     "endpoint_mean_ri": ends.mean()})
    return pd.DataFrame(rows)


def emergence_stages(df: pd.DataFrame) -> pd.DataFrame:
    """From the emergence table (rows per training ``step`` and ``set``: samples, near
    origin): three stages, ``first`` (the earliest step scored), ``middle`` (the last step
    at or before half the final one) and ``last``, each with the two sets' scores and their
    ``gap`` (near origin minus samples; its std over splits from both, as independent)."""
    steps = sorted(df["step"].unique())
    half = [s for s in steps if s <= steps[-1] / 2]
    stages = {"first": steps[0], "middle": half[-1] if half else steps[0], "last": steps[-1]}
    metric_cols = [c for c in df.columns if f"{c}_std" in df.columns]
    rows = []
    for stage, step in stages.items():
        at = df[df["step"] == step].set_index("set")
        for name in ("samples", "near origin"):
            rows.append({"stage": stage, "step": step, "set": name, "splits": at.loc[name, "splits"],
                         **{c: at.loc[name, c] for c in metric_cols}, **{f"{c}_std": at.loc[name, f"{c}_std"]
                                                                       for c in metric_cols}})
        gap = {c: at.loc["near origin", c] - at.loc["samples", c] for c in metric_cols}
        gap_std = {f"{c}_std": math.hypot(at.loc["near origin", f"{c}_std"], at.loc["samples", f"{c}_std"])
                   for c in metric_cols}
        rows.append({"stage": stage, "step": step, "set": "gap", "splits": at.loc["samples", "splits"], **gap,
                     **gap_std})
    return pd.DataFrame(rows)


DERIVED: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "emergence-stages": emergence_stages,
    "norm-spread": norm_spread,
    "midpoint-norm-moments": midpoint_norm_moments,
    "path-dynamics": path_dynamics,
}
"""Derived tables, named ``<fn>:<source table>`` in a measure (e.g.
``path-dynamics:data/realism/ri-profiles-semicircle``)."""


# --------------------------------------------------------------------------- judging


def judge(claim: Claim, tables: Tables, config: Mapping[str, Any]) -> Judgement:
    """The verdict of ``claim`` on ``tables`` (see the module docstring)."""
    measure = _Measure(claim.measure, tables, config)
    try:
        holds, ours, values = _RULES[claim.measure["kind"]](measure)
    except NotRun as exc:
        return Judgement(claim, "not run", note=str(exc))
    except (KeyError, ClaimError) as exc:
        raise ClaimError(f"claim {claim.id}: {exc}") from exc
    notes = [_describe(claim.measure), *(METRIC_NOTES[c] for c in sorted(measure.columns_used) if c in METRIC_NOTES)]
    verdict = "reproduced" if holds else "not reproduced"
    for cond in claim.comparable:
        actual = lookup(config, cond["config"])
        if actual is not None and actual != cond["equals"]:
            # Our numbers still show; the rule's outcome would be "<verdict>" in our setting.
            notes = [f"{cond['config']} is {actual!r}, not {cond['equals']!r}: {cond['why']}",
                     f"the rule alone would say {verdict}", *notes]
            verdict = "not comparable"
            break
    return Judgement(claim, verdict, ours=ours, note="; ".join(notes), values=values)


def _describe(spec: Mapping[str, Any]) -> str:
    kind, level = spec["kind"], "at the 3-sigma level"
    if kind == "compare":
        word = {"<": "significantly lower than", ">": "significantly higher than",
                "~": "not significantly different from"}[spec["relation"]]
        return f"rule: first {word} second ({level})"
    if kind == "change_in_range":
        lo, hi = sorted(spec["range"])
        return f"rule: change consistent with the paper's range [{lo:g}, {hi:g}] % ({level})"
    if kind == "flags":
        return f"rule: {spec['column']} is {'yes' if spec['expect'] else 'no'} on every row"
    if kind == "close":
        return f"rule: consistent with the expected value ({level}, and the paper's rounding)"
    if kind == "best":
        return f"rule: {spec['over']} = {spec['expect']} is the best or not significantly worse ({level})"
    if kind in ("alike", "differ"):
        return f"rule: largest and smallest {'not ' if kind == 'alike' else ''}significantly different ({level})"
    return f"rule: first {'below' if spec['relation'] == '<' else 'above'} second for every {spec['key']}"


def judge_all(claims: Iterable[Claim], tables: Tables, config: Mapping[str, Any]) -> list[Judgement]:
    return [judge(c, tables, config) for c in claims]


def ledger_frame(judgements: Iterable[Judgement]) -> pd.DataFrame:
    """The ledger as a table with columns :data:`COLUMNS`."""
    return pd.DataFrame([j.row() for j in judgements], columns=list(COLUMNS))


_TEX_COLUMNS = (("claim", "2.3cm"), ("where", "1.7cm"), ("statement", "3.9cm"), ("paper_value", "2.6cm"),
                ("ours", "3.7cm"), ("verdict", "1.3cm"))


def ledger_tex(ledger: pd.DataFrame, caption: str = "") -> str:
    """The ledger as a LaTeX longtable (booktabs rules, wrapped columns, breaking across
    pages): claim, where, statement, the paper's numbers, ours and the verdict."""
    from .latexdoc import escape

    def cell(text: Any) -> str:
        text = escape(str(text) if pd.notna(text) else "")
        return text.replace("/", "/\\allowbreak{}").replace(r"\_", r"\_\allowbreak{}").replace(";", ";\\allowbreak{}")

    spec = "".join(f">{{\\raggedright\\arraybackslash}}p{{{width}}}" for _, width in _TEX_COLUMNS)
    head = " & ".join(name.replace("_", " ") for name, _ in _TEX_COLUMNS)
    lines = [f"% {caption}" if caption else "% claims", "\\begingroup\\footnotesize\\setlength{\\tabcolsep}{3pt}",
             f"\\begin{{longtable}}{{@{{}}{spec}@{{}}}}", "\\toprule", f"{head} \\\\", "\\midrule", "\\endhead",
             "\\bottomrule", "\\endfoot"]
    for _, row in ledger.iterrows():
        cells = [cell(row[name]) for name, _ in _TEX_COLUMNS]
        cells[-1] = f"\\textbf{{{cells[-1]}}}"
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\end{longtable}", "\\endgroup"]
    return "\n".join(lines) + "\n"


def cited_values(cited: Mapping[str, Mapping[str, Any]], tables: Tables) -> dict[str, float | None]:
    """The ``cite:`` numbers read from the tables (None where the config builds no such row)."""
    out: dict[str, float | None] = {}
    for name, spec in cited.items():
        try:
            df = tables.get(spec["table"])
            row = select(df, spec.get("where", {}), spec["table"]) if spec.get("where") else df.iloc[0]
            out[name] = float(row[spec["column"]])
        except NotRun:
            out[name] = None
    return out


# --------------------------------------------------------------------------- documents


def _same(a: Any, b: Any) -> bool:
    if _numeric(a) and _numeric(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return str(a) == str(b)

_DIGIT_WORDS = "Zero One Two Three Four Five Six Seven Eight Nine".split()


def values_json(judgements: Iterable[Judgement], cited: Mapping[str, float | None],
                provenance: Mapping[str, Any] | None = None, config: Mapping[str, Any] | None = None,
                tables: Mapping[str, pd.DataFrame] | None = None) -> dict[str, Any]:
    """Every number and verdict the documents may cite, as one JSON-able mapping: the
    ledger's rows with their numbers, the cited numbers, the provenance, the config and
    the run's tables (``tables``: name -> frame, kept as lists of rows, NaN as null)."""
    return {
        "provenance": dict(provenance or {}),
        "config": dict(config or {}),
        "claims": {j.claim.id: {**j.row(), "values": {k: _plain(v) for k, v in j.values.items()}} for j in judgements},
        "cited": {k: _plain(v) for k, v in cited.items()},
        "tables": {name: df.astype(object).where(df.notna(), None).to_dict("records")
                   for name, df in (tables or {}).items()},
    }


def result_tables(tables: Tables, names: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The run's result tables among ``names`` (not the data files behind figures, whose
    curves are long): name -> frame, for :func:`values_json`."""
    return {name: tables.get(name) for name in names if not name.startswith("data/")}


def _plain(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def values_tex(values: Mapping[str, Any]) -> str:
    """values.tex: one ``\\newcommand`` per cited number and per verdict, reached through
    ``\\lsvalue{<claim>}{<key>}``, ``\\lsverdict{<claim>}`` and ``\\lscited{<name>}``
    (claim ids hold digits and hyphens, which command names cannot, so each command is
    defined by \\csname)."""
    lines = ["% Generated by the claims rule from the run's tables; do not edit.",
             r"\providecommand{\lsvalue}[2]{\csname lsv@#1@#2\endcsname}",
             r"\providecommand{\lsverdict}[1]{\csname lsverdict@#1\endcsname}",
             r"\providecommand{\lscited}[1]{\csname lscited@#1\endcsname}"]

    def define(name: str, body: str) -> None:
        lines.append(rf"\expandafter\newcommand\csname {name}\endcsname{{{body}}}")

    for cid, entry in values["claims"].items():
        define(f"lsverdict@{cid}", entry["verdict"])
        for key, v in entry["values"].items():
            define(f"lsv@{cid}@{_tex_key(key)}", "--" if v is None else _fmt(v))
    for name, v in values["cited"].items():
        define(f"lscited@{name}", "--" if v is None else _fmt(v))
    return "\n".join(lines) + "\n"


def _tex_key(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", key)


def render_template(template: str, values: Mapping[str, Any],
                    tiers: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Render a Jinja2 document template over the ledger's values: ``claim(id)`` gives a
    claim's row (verdict, ours, note, statement, ...) and values, ``verdict(id)`` its
    verdict in bold, ``v(id, key, digits)`` one of its numbers, ``cited(name, digits)`` a
    cited number, ``claims`` every row by id, ``table(name)`` a result table's rows,
    ``pick(name, column, digits, **where)`` one of its numbers, ``metric(name, "fid")``
    the column of a metric family there, ``fmt(x, digits)`` a
    number, ``provenance`` and ``config`` the run's; ``tiers`` the ledgers of other
    runs by name (e.g. the CPU-full tier's, whose ``claims``, ``provenance`` and ``config``
    the template reads directly; {} when none is given). A name
    the ledger does not hold is an error, so a document cannot cite a number the run did
    not compute."""
    import jinja2

    claims_ = values["claims"]

    def claim(cid: str) -> Mapping[str, Any]:
        if cid not in claims_:
            raise KeyError(f"the template cites claim {cid!r}, which the ledger does not hold")
        return claims_[cid]

    def v(cid: str, key: str, digits: int = 1) -> str:
        vals = claim(cid)["values"]
        if key not in vals:
            if claim(cid)["verdict"] == "not run" or "not built:" in claim(cid)["ours"]:
                return "n/a"  # the config builds no (or not every) row the claim reads
            raise KeyError(f"the template cites {cid}:{key}; the claim's values are {', '.join(vals)}")
        x = vals[key]
        return "n/a" if x is None else f"{x:,.{digits}f}"

    def cited(name: str, digits: int = 1) -> str:
        if name not in values["cited"]:
            raise KeyError(f"the template cites {name!r}, which the ledger does not cite")
        x = values["cited"][name]
        return "n/a" if x is None else f"{x:,.{digits}f}"

    def verdict(cid: str) -> str:
        return f"**{claim(cid)['verdict']}**"

    tiers_ = dict(tiers or {})

    def table(name: str, tier: str | None = None) -> list[Mapping[str, Any]]:
        """The rows of a result table of the run, or of the run ``tier`` ([] where the
        config builds none)."""
        if tier is not None and tier not in tiers_:
            raise KeyError(f"the template reads tier {tier!r}; the tiers given are {', '.join(tiers_) or 'none'}")
        return (values if tier is None else tiers_[tier]).get("tables", {}).get(name, [])

    def fmt(x: Any, digits: int = 1) -> str:
        if x is None:
            return "n/a"
        return f"{x:,.{digits}f}" if _numeric(x) else str(x)

    def metric(name: str, family: str, tier: str | None = None) -> str:
        """The column of metric ``family`` ("fid", "is") in result table ``name``: Inception's
        where the run has it, else the classifier analogue's."""
        columns = set(table(name, tier)[0]) if table(name, tier) else set()
        return next((c for c in METRIC_FAMILIES[family] if c in columns), METRIC_FAMILIES[family][-1])

    def pick(name: str, column: str, digits: int = 1, tier: str | None = None, **where: Any) -> str:
        """One number of a result table (of the run ``tier``: another run's), at the row
        ``where`` selects ("n/a" where the config builds no such row; an error where
        several rows match)."""
        rows = [r for r in table(name, tier) if all(_same(r.get(k), v) for k, v in where.items())]
        if len(rows) > 1:
            raise KeyError(f"the template picks {name}.{column} at {where}: {len(rows)} rows match")
        if rows and column not in rows[0]:
            raise KeyError(f"the template picks {name}.{column}: no such column ({', '.join(rows[0])})")
        return fmt(rows[0][column], digits) if rows else "n/a"

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(template).render(claim=claim, v=v, cited=cited, verdict=verdict, claims=claims_,
                                            table=table, fmt=fmt, pick=pick, metric=metric,
                                            provenance=values.get("provenance", {}), config=values.get("config", {}),
                                            tiers=tiers_)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m latentspace.claims TEMPLATE VALUES [--tier NAME=VALUES ...] -o OUT``:
    render a document template over a run's values.json and other tiers' (what `make
    docs` does for docs/results.md)."""
    import argparse
    import json

    from .atomic import write_text

    parser = argparse.ArgumentParser(prog="python -m latentspace.claims", description=main.__doc__)
    parser.add_argument("template")
    parser.add_argument("values", help="the run's values.json (rule claims)")
    parser.add_argument("--tier", action="append", default=[], metavar="NAME=VALUES",
                        help="another run's values.json, as tiers[NAME] in the template")
    parser.add_argument("-o", "--out", required=True)
    args = parser.parse_args(argv)
    tiers = {}
    for item in args.tier:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            parser.error(f"--tier wants NAME=VALUES, got {item!r}")
        tiers[name] = json.loads(Path(path).read_text())
    values = json.loads(Path(args.values).read_text())
    write_text(args.out, render_template(Path(args.template).read_text(), values, tiers))


if __name__ == "__main__":
    main()

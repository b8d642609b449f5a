"""The claims ledger (latentspace.claims, workflow/claims.yaml): the registry is complete and
well formed, and every comparison rule can fail: fabricated tables turn verdicts both ways."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from latentspace import claims

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "workflow" / "claims.yaml"
PAPERS = yaml.safe_load((ROOT / "workflow" / "report" / "papers.yaml").read_text())


@pytest.fixture(scope="module")
def registry() -> list[claims.Claim]:
    return claims.load_claims(REGISTRY)


def test_registry_covers_the_four_papers(registry):
    assert len(registry) >= 35
    counts = {p: sum(c.paper == p for c in registry) for p in claims.PAPERS}
    assert all(n >= 5 for n in counts.values()), counts
    assert set(claims.PAPERS) <= set(PAPERS)


def test_registry_fields_are_filled(registry):
    for c in registry:
        assert c.statement and c.where and c.measure["table"], c.id
        assert len(c.statement) < 250, f"{c.id}: a statement is one short sentence"


def test_default_run_judges_every_claim():
    """The default config builds every table the registry names, so in its ledger no claim
    is "not run": a mistyped table, row or column would show up here."""
    values = json.loads((ROOT / "docs" / "default-run" / "values.json").read_text())
    not_run = {cid: c["note"] for cid, c in values["claims"].items() if c["verdict"] == "not run"}
    assert not not_run, not_run
    assert set(values["claims"]) == {c.id for c in claims.load_claims(REGISTRY)}, "run `make reproduce docs` again"


def _midpoint_quality(linear_is: float, matched_is: float = 3.6, std: float = 0.05) -> pd.DataFrame:
    """A midpoint-quality table of one model with random samples at IS 3.6."""
    rows = [{"model": "normal", "set": "random", "points": 1, "op": "none", "is_classifier": 3.6}]
    for points in (2, 4):
        for op, value in (("linear", linear_is if points == 2 else linear_is - 0.2), ("ot_matched", matched_is),
                          ("slerp", matched_is)):
            rows.append({"model": "normal", "set": f"{points}-point midpoint", "points": points, "op": op,
                         "is_classifier": value})
    df = pd.DataFrame(rows)
    df["is_classifier_std"], df["splits"] = std, 5
    df["fid_classifier"], df["fid_classifier_std"] = 140.0 - 10 * (df["is_classifier"] - 3.6), 1.0
    return df


def _judge(registry, cid, tables, config=None):
    claim = next(c for c in registry if c.id == cid)
    return claims.judge(claim, claims.Tables.from_frames(tables), config or {})


def test_linear_midpoints_like_samples_fail_table_2(registry):
    """The matched-operations paper's Table 2 row: linear midpoints lose IS. A fabricated
    table where they score like random samples must turn it to not reproduced."""
    lower = _judge(registry, "matched-t2-linear2-lower-normal", {"midpoint-quality": _midpoint_quality(3.2)})
    assert lower.verdict == "reproduced"
    assert lower.values["a"] == pytest.approx(3.2) and lower.values["change"] == pytest.approx(-100 * 0.4 / 3.6)
    same = _judge(registry, "matched-t2-linear2-lower-normal", {"midpoint-quality": _midpoint_quality(3.6)})
    assert same.verdict == "not reproduced"
    # a difference within 3 standard errors (0.05 / sqrt(5) each) is not a loss
    close = _judge(registry, "matched-t2-linear2-lower-normal", {"midpoint-quality": _midpoint_quality(3.52)})
    assert close.verdict == "not reproduced"


def test_matched_midpoints_must_match(registry):
    assert _judge(registry, "matched-t2-matched2-same-normal",
                  {"midpoint-quality": _midpoint_quality(3.2)}).verdict == "reproduced"
    assert _judge(registry, "matched-t2-matched2-same-normal",
                  {"midpoint-quality": _midpoint_quality(3.2, matched_is=3.3)}).verdict == "not reproduced"


def test_change_in_range(registry):
    # -11 % lies in the paper's [-17, -4] %; -50 % does not
    ok = _judge(registry, "matched-t2-linear2-size-normal", {"midpoint-quality": _midpoint_quality(3.2)})
    assert ok.verdict == "reproduced" and ok.values["change"] == pytest.approx(-11.11, abs=0.01)
    far = _judge(registry, "matched-t2-linear2-size-normal", {"midpoint-quality": _midpoint_quality(1.8)})
    assert far.verdict == "not reproduced"


def test_missing_table_is_not_run(registry):
    j = _judge(registry, "matched-t2-linear2-lower-uniform", {"midpoint-quality": _midpoint_quality(3.2)})
    assert j.verdict == "not run" and "model = uniform" in j.note
    j = _judge(registry, "matched-t2-linear2-lower-normal", {})
    assert j.verdict == "not run" and "midpoint-quality" in j.note


def _mismatch(preserved: dict[tuple[str, str], bool]) -> pd.DataFrame:
    return pd.DataFrame([{"prior": p, "operation": o, "applicable": True, "preserved": v, "ks_norms": 0.01,
                          "ks_norms_critical": 0.04, "ks_coords": 0.001, "ks_coords_critical": 0.006,
                          "note": ""} for (p, o), v in preserved.items()])


def test_flags_follow_the_preserved_column(registry):
    rows = {("uniform", "spherical_cauchy_linear"): False, ("chi2", "spherical_cauchy_linear"): False,
            ("semicircle", "spherical_cauchy_linear"): False}
    assert _judge(registry, "first-sec3.5-isotropy-needed", {"distribution-mismatch": _mismatch(rows)}).verdict == \
        "reproduced"
    rows[("semicircle", "spherical_cauchy_linear")] = True
    j = _judge(registry, "first-sec3.5-isotropy-needed", {"distribution-mismatch": _mismatch(rows)})
    assert j.verdict == "not reproduced" and "semicircle/spherical_cauchy_linear: preserved yes" in j.ours


def test_flags_skip_rows_the_config_did_not_build(registry):
    j = _judge(registry, "first-obs2.2-linear", {"distribution-mismatch": _mismatch({("normal", "linear"): False})})
    assert j.verdict == "reproduced" and "not built" in j.ours


def _void(fids: dict[float, float], is_: dict[float, float] | None = None, model="normal") -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "alpha": a, "fid_classifier": f, "fid_classifier_std": 1.0,
                          "is_classifier": (is_ or {}).get(a, 3.0), "is_classifier_std": 0.02, "splits": 5}
                         for a, f in fids.items()])


def test_best_alpha(registry):
    """Best at alpha = 1, or within 3 se of the best: reproduced; clearly best elsewhere: not."""
    at_one = _void({0.5: 200.0, 1: 130.0, 1.5: 131.0, 3: 150.0})
    assert _judge(registry, "first-sec2-prior-scale-best-normal", {"void-quality": at_one}).verdict == "reproduced"
    elsewhere = _void({0.5: 200.0, 1: 138.0, 1.5: 129.0, 3: 150.0})
    j = _judge(registry, "first-sec2-prior-scale-best-normal", {"void-quality": elsewhere})
    assert j.verdict == "not reproduced" and j.values["best_at"] == 1.5


def test_not_comparable_follows_the_config(registry):
    table = {"void-quality": _void({0.5: 200.0, 1: 130.0, 3: 150.0}, model="sphere")}
    unit = {"models": {"sphere": {"prior": "sphere", "params": {"radius": 1.0}}}}
    wide = {"models": {"sphere": {"prior": "sphere", "params": {"radius": 10.0}}}}
    assert _judge(registry, "first-sec4-outside-sphere", table, unit).verdict == "reproduced"
    j = _judge(registry, "first-sec4-outside-sphere", table, wide)
    assert j.verdict == "not comparable" and "radius" in j.note and "would say reproduced" in j.note
    assert j.ours  # our numbers still show


def _robustness(fid: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame([{"model": "normal", "noise": n, "treatment": t, "fid_classifier": v,
                          "fid_classifier_std": 1.5, "splits": 5} for (n, t), v in fid.items()])


def test_alike_and_differ(registry):
    alike = {(n, "centered and spherized"): 138.0 + i * 0.5 for i, n in enumerate(["normal", "uniform", "poisson", "chi2"])}
    assert _judge(registry, "spheres-t1-all-alike", {"sampling-robustness": _robustness(alike)}).verdict == "reproduced"
    alike[("chi2", "centered and spherized")] = 150.0
    assert _judge(registry, "spheres-t1-all-alike", {"sampling-robustness": _robustness(alike)}).verdict == \
        "not reproduced"


def test_spherizing_alone_direction(registry):
    """The spheres paper's Table 1: spherizing Poisson noise alone makes it worse."""
    worse = {("poisson", "as drawn"): 170.0, ("poisson", "spherized"): 180.0}
    better = {("poisson", "as drawn"): 170.0, ("poisson", "spherized"): 156.0}
    cid = "spheres-t1-spherize-alone-worse-poisson"
    assert _judge(registry, cid, {"sampling-robustness": _robustness(worse)}).verdict == "reproduced"
    assert _judge(registry, cid, {"sampling-robustness": _robustness(better)}).verdict == "not reproduced"


def test_close_uses_the_papers_rounding_and_our_standard_error(registry):
    def dist(mean, std=0.0313, n=20000):
        return pd.DataFrame([{"dim": 512, "mean_lemma1": mean, "std_lemma1": std, "mean_mc": mean, "std_mc": std,
                              "n_pairs": n}])

    assert _judge(registry, "spheres-lemma1-formula", {"data/sphere-distances": dist(1.41387)}).verdict == "reproduced"
    assert _judge(registry, "spheres-lemma1-formula", {"data/sphere-distances": dist(1.4146)}).verdict == \
        "not reproduced"
    # Monte Carlo: se = 0.0313 / sqrt(20000) = 0.00022, so 3 se + rounding = 0.00072
    assert _judge(registry, "spheres-lemma1-mean", {"data/sphere-distances": dist(1.4145)}).verdict == "reproduced"
    assert _judge(registry, "spheres-lemma1-mean", {"data/sphere-distances": dist(1.4150)}).verdict == "not reproduced"


def test_paired_rule_holds_on_every_pair(registry):
    def summary(ri_opt):
        return pd.DataFrame([{"pair": p, "path": path, "log_index": v} for p in (1, 2, 3)
                             for path, v in (("linear", -5.0), ("ri_optimal", ri_opt[p - 1]))])

    cid = "realism-fig5-path-index-semicircle"
    assert _judge(registry, cid, {"data/realism/ri-summary-semicircle": summary([-1, -2, -3])}).verdict == "reproduced"
    assert _judge(registry, cid, {"data/realism/ri-summary-semicircle": summary([-1, -6, -3])}).verdict == \
        "not reproduced"


def test_density_moments_of_a_known_curve():
    """The derived norm spread: a Gaussian density curve of mean 2 and std 0.3."""
    x = np.linspace(0, 4, 2001)
    p = np.exp(-0.5 * ((x - 2) / 0.3) ** 2) / (0.3 * math.sqrt(2 * math.pi))
    df = pd.DataFrame({"prior": "normal", "dim": 10, "log10_norm": x, "density": p})
    out = claims.norm_spread(df)
    assert out.loc[0, "mean"] == pytest.approx(2.0, abs=1e-6) and out.loc[0, "std"] == pytest.approx(0.3, abs=1e-6)


def test_emergence_stages():
    rows = []
    for step, (fs, fo) in {250: (500, 540), 500: (320, 500), 1000: (170, 430), 2000: (130, 320),
                           3000: (100, 280)}.items():
        for name, f in (("samples", fs), ("near origin", fo)):
            rows.append({"step": step, "set": name, "fid_classifier": f, "fid_classifier_std": 3.0, "splits": 5})
    out = claims.emergence_stages(pd.DataFrame(rows)).set_index(["stage", "set"])
    assert out.loc[("middle", "gap"), "step"] == 1000 and out.loc[("middle", "gap"), "fid_classifier"] == 260
    assert out.loc[("last", "gap"), "fid_classifier"] == 180
    assert out.loc[("last", "gap"), "fid_classifier_std"] == pytest.approx(3 * math.sqrt(2))


def test_path_dynamics():
    rows = []
    for path, steps in (("linear", [1.0, 1.0, 1.0, 1.0]), ("ri_optimal", [2.0, 0.5, 0.5, 1.0])):
        for i in range(5):
            rows.append({"pair": 1, "path": path, "i": i, "t": i / 4, "ri": 0.5 if i in (0, 4) else 0.9,
                         "distance": steps[i - 1] if i else float("nan")})
    out = claims.path_dynamics(pd.DataFrame(rows)).set_index("path")
    assert out.loc["linear", "distance_cv"] == 0
    assert out.loc["ri_optimal", "distance_cv"] == pytest.approx(np.std([2, .5, .5, 1]) / np.mean([2, .5, .5, 1]))
    assert out.loc["linear", "endpoint_mean_ri"] == 0.5 and out.loc["linear", "interior_min_ri"] == 0.9


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"paper": "fourth"}, "paper must be one of"),
        ({"measure": {"kind": "guess", "table": "x"}}, "measure.kind"),
        ({"id": "Bad Id"}, "'id'"),
        ({"colour": "red"}, "unknown field"),
        ({"measure": {"kind": "compare"}}, "measure.table"),
    ],
)
def test_malformed_registry_names_the_claim(tmp_path, patch, message):
    entry = {"id": "x-1", "paper": "first", "where": "Fig. 1", "statement": "s",
             "measure": {"kind": "compare", "table": "t", "a": {}, "b": {}, "relation": "<"}, **patch}
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"claims": [entry]}))
    with pytest.raises(claims.ClaimError, match=re.escape(message)):
        claims.load_claims(path)


def test_ambiguous_rows_are_an_error(registry):
    df = _midpoint_quality(3.2)
    df = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(claims.ClaimError, match="matched-t2-linear2-lower-normal.*2 rows match"):
        _judge(registry, "matched-t2-linear2-lower-normal", {"midpoint-quality": df})


def test_values_and_templates(registry):
    j = [_judge(registry, "matched-t2-linear2-lower-normal", {"midpoint-quality": _midpoint_quality(3.2)})]
    values = claims.values_json(j, {"classifier-accuracy": 91.12}, {"commit": "abc"})
    assert claims.render_template("{{ v('matched-t2-linear2-lower-normal', 'a', 2) }} {{ cited('classifier-accuracy') }}"
                                  " {{ claim('matched-t2-linear2-lower-normal').verdict }}", values) == \
        "3.20 91.1 reproduced"
    with pytest.raises(KeyError, match="does not hold"):
        claims.render_template("{{ v('no-such-claim', 'a') }}", values)
    with pytest.raises(KeyError, match="claim's values are"):
        claims.render_template("{{ v('matched-t2-linear2-lower-normal', 'zzz') }}", values)
    tex = claims.values_tex(values)
    assert r"\csname lsv@matched-t2-linear2-lower-normal@a\endcsname{3.200}" in tex
    assert r"\csname lsverdict@matched-t2-linear2-lower-normal\endcsname{reproduced}" in tex


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed (apt: texlive-latex-recommended "
                    "texlive-latex-extra latexmk lmodern)")
def test_ledger_tex_and_values_compile(registry, tmp_path):
    tables = {"midpoint-quality": _midpoint_quality(3.2),
              "distribution-mismatch": _mismatch({("semicircle", "spherical_cauchy_linear"): True})}
    judgements = claims.judge_all(registry, claims.Tables.from_frames(tables), {})
    ledger = claims.ledger_frame(judgements)
    (tmp_path / "claims.tex").write_text(claims.ledger_tex(ledger))
    (tmp_path / "values.tex").write_text(claims.values_tex(claims.values_json(judgements, {"x": 1.0})))
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}\\usepackage{textcomp}"
        "\\usepackage[margin=2cm]{geometry}\\usepackage{booktabs,longtable,array}\\usepackage{newunicodechar}"
        "\\newunicodechar{±}{\\ensuremath{\\pm}}\\input{values.tex}\\begin{document}"
        "\\lsvalue{matched-t2-linear2-lower-normal}{a} \\lsverdict{first-obs2.1-normal-std}\\input{claims.tex}"
        "\\end{document}\n")
    run = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "main.pdf").stat().st_size > 1000


@pytest.mark.slow
def test_end_to_end_ledger(built):
    """config/test.yaml builds the ledger, values.tex/.json and results.md: the ledger's
    columns and verdict vocabulary, its provenance lines, and verdicts computed for the
    tables the test config builds."""
    csv = built / "results/tables/claims.csv"
    head = [ln for ln in csv.read_text().splitlines() if ln.startswith("#")]
    assert any("commit" in ln for ln in head) and any("config" in ln for ln in head), head
    ledger = pd.read_csv(csv, comment="#")
    assert list(ledger.columns) == list(claims.COLUMNS)
    assert set(ledger["verdict"]) <= set(claims.VERDICTS)
    assert len(ledger) == len(claims.load_claims(REGISTRY))
    judged = ledger[ledger["verdict"].isin(["reproduced", "not reproduced"])]
    assert len(judged) >= 10, ledger["verdict"].value_counts()
    assert judged["ours"].str.len().min() > 0
    # linear midpoints of the normal, uniform and sphere priors (D = 10, 300 pairs) are far off
    assert ledger.set_index("claim").loc["first-obs2.2-linear", "verdict"] == "reproduced"
    values = (built / "results/tables/values.tex").read_text()
    assert values.count(r"\newcommand") > 50
    assert (built / "results/results.md").read_text().startswith("#")


DOCS = ROOT / "docs"


def test_docs_results_is_rendered_from_the_default_ledger():
    """docs/results.md carries no hand-typed number or verdict: it is docs/results.md.j2
    rendered over the default run's ledger (docs/default-run/values.json, copied by
    `make docs`), byte for byte."""
    values = json.loads((DOCS / "default-run" / "values.json").read_text())
    tiers = {"cpu-full": json.loads((DOCS / "cpu-full-run" / "values.json").read_text())}
    expected = claims.render_template((DOCS / "results.md.j2").read_text(), values, tiers)
    assert (DOCS / "results.md").read_text() == expected, (
        "docs/results.md differs from its template rendered over docs/default-run/values.json and "
        "docs/cpu-full-run/values.json: edit docs/results.md.j2, then `make docs-render`")
    assert tiers["cpu-full"]["provenance"]["config_sha256"] != values["provenance"]["config_sha256"]
    ledger = pd.read_csv(DOCS / "default-run" / "claims.csv", comment="#")
    assert dict(zip(ledger["claim"], ledger["verdict"], strict=True)) == {
        cid: c["verdict"] for cid, c in values["claims"].items()}


def test_docs_template_types_no_verdict():
    """Verdict words in the template come from the ledger, never from the template's text."""
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", (DOCS / "results.md.j2").read_text(), flags=re.S)
    for word in ("reproduced", "not comparable", "as in the paper"):
        assert word not in text.lower(), f"the template types {word!r}: take it from the ledger (verdict(), claim())"


def test_render_cli_passes_other_tiers_to_the_template(tmp_path):
    values = {"claims": {"a": {"verdict": "reproduced", "values": {}}}, "cited": {}}
    tier = {"claims": {"a": {"verdict": "not reproduced", "values": {}}}, "cited": {}}
    (tmp_path / "v.json").write_text(json.dumps(values))
    (tmp_path / "t.json").write_text(json.dumps(tier))
    (tmp_path / "doc.j2").write_text("{{ claim('a').verdict }} / {{ tiers['cpu-full'].claims.a.verdict }}\n")
    claims.main([str(tmp_path / "doc.j2"), str(tmp_path / "v.json"), "--tier", f"cpu-full={tmp_path / 't.json'}",
                 "-o", str(tmp_path / "doc.md")])
    assert (tmp_path / "doc.md").read_text() == "reproduced / not reproduced\n"
    with pytest.raises(SystemExit):
        claims.main([str(tmp_path / "doc.j2"), str(tmp_path / "v.json"), "--tier", "cpu-full", "-o", "x"])

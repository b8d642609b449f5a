"""The report: every figure and table carries a caption, and the HTML report of rule
`report` (and Snakemake's own `--report`) shows every one of them; so does the reproduction
PDF of rule `reproduction_pdf`, compiled with latexmk where TeX Live is installed, and all
three state the run's provenance (results/provenance.json).

Captions live in workflow/report/<figures|tables>/<name>.rst, <name> as the rule's output
writes it, wildcards included; each starts with `.. paper: <key>` (a key of
workflow/report/papers.yaml) and is a Jinja template over `snakemake.wildcards`. The
caption check runs on the rule graph of every config in config/, so a figure or table
added by any rule file is checked, for every file the config makes of it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml
from conftest import ROOT, SNAKEMAKE, TEST_CONFIG, snakemake
from docutils.core import publish_parts
from workflow_rules import load

from latentspace import latexdoc, provenance

CAPTIONS = ROOT / "workflow" / "report"
PAPERS = yaml.safe_load((CAPTIONS / "papers.yaml").read_text())
# config/paper-ci.yaml and config/cpu-full.yaml are overlays, not configs on their own:
# tests/test_paper_scale.py runs the first on top of config/paper.yaml, tests/test_workflow.py
# checks the second on top of config/config.yaml.
CONFIGS = sorted(p for p in (ROOT / "config").glob("*.yaml") if p.name not in ("paper-ci.yaml", "cpu-full.yaml"))
FIGURE_OR_TABLE = re.compile(r"/(figures|tables)/")


def render(caption: Path, wildcards: dict) -> str:
    """The caption as RST, rendered for these wildcards (as both reports render it)."""
    return jinja2.Template(caption.read_text(), undefined=jinja2.StrictUndefined).render(
        snakemake={"wildcards": wildcards}
    )


@pytest.mark.parametrize("configfile", CONFIGS, ids=lambda p: p.name)
def test_every_figure_and_table_output_is_in_the_report(configfile):
    problems = []
    for rule in load(configfile).rules:
        for out in rule.outputs:
            if not FIGURE_OR_TABLE.search(out.pattern) or out.pattern.endswith((".pdf", ".tex")):
                continue  # the PDF and the .tex go with the PNG and the CSV
            if not out.report:
                problems.append(f"rule {rule.name}: {out.pattern} is not flagged with report(); write its outputs "
                                "with figure(name) or table(name) of rules/common.smk")
            elif not out.caption or not Path(out.caption).exists():
                problems.append(f"rule {rule.name}: {out.pattern} has no caption: write {out.caption}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("configfile", CONFIGS, ids=lambda p: p.name)
def test_every_figure_and_table_has_a_caption(configfile):
    items = load(configfile).report_items
    assert items, f"no figures or tables behind `all` with {configfile.name}"
    problems = []
    for item in items:
        what = f"{item['kind']} {item['name']} (rule {item['rule']}, {configfile.name})"
        caption = Path(item["caption"]) if item["caption"] else None
        if caption is None or not caption.exists():
            problems.append(f"{what} has no caption: write {caption} (format: workflow/report/papers.yaml)")
            continue
        try:
            text = render(caption, item["wildcards"])
        except jinja2.TemplateError as exc:
            problems.append(f"{what}: {caption} does not render for {item['wildcards']}: {exc}")
            continue
        keys = re.findall(r"^\.\. paper: *(\S+)", text, flags=re.M)
        if len(keys) != 1 or keys[0] not in PAPERS:
            problems.append(f"{what}: {caption} must name one paper of papers.yaml in a `.. paper: <key>` line, "
                            f"found {keys}")
        body = re.sub(r"^\.\. paper:.*$", "", text, flags=re.M).strip()
        if len(body) < 80 or "What to look for" not in body:
            problems.append(f"{what}: {caption} says too little for {item['wildcards']} (which paper and figure, "
                            f"what it shows, **What to look for:**): {body!r}")
        try:  # as Snakemake's report renders it; warnings are errors here
            publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 5})
        except Exception as exc:  # docutils raises SystemMessage
            problems.append(f"{what}: {caption} is not valid RST: {exc}")
    assert not problems, "\n".join(problems)


def test_every_paper_has_a_caption():
    used = set()
    for caption in CAPTIONS.glob("*/*.rst"):
        used |= set(re.findall(r"^\.\. paper: *(\S+)", caption.read_text(), flags=re.M))
    assert used <= set(PAPERS), used - set(PAPERS)
    assert set(PAPERS) - {"workflow"} <= used, set(PAPERS) - used


@pytest.mark.slow
def test_report_shows_every_figure_and_table(built):
    html = (built / "results/report/report.html").read_text()
    items = load(TEST_CONFIG).report_items
    figures = [i for i in items if i["kind"] == "figure"]
    missing = [i["name"] for i in items if f"<code>{i['name']}</code>" not in html]
    assert not missing, f"report.html does not show: {missing}"
    for warning in ("No caption", "Empty caption", "Missing file", "Without a caption", "Without a paper"):
        assert warning not in html, warning  # what the notebook writes for a missing piece
    assert html.count("data:image/png;base64") >= len(figures)
    for paper in {i["paper"] for i in items}:
        assert paper in html
    assert html.count("What to look for") >= len(items)
    notebook = json.loads((built / "results/report/report.ipynb").read_text())
    assert "papermill" in notebook["metadata"]
    outputs = [o for cell in notebook["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"], "the notebook failed"


@pytest.mark.slow
def test_snakemake_report_renders_the_captions(built, tmp_path):
    out = tmp_path / "snakemake-report.html"
    run = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(built),
                          "--configfile", str(TEST_CONFIG), "--report", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    assert out.stat().st_size > 0



MISSING_TEX = f"latexmk or TeX Live not found: install {' '.join(latexdoc.TEX_PACKAGES)}"


def test_provenance_reruns_when_the_config_changes(tmp_path):
    """Rule `provenance` holds the commit, the dirty flag and the config hash as params
    taken while the DAG is built: the record states them, a second run has nothing to do,
    and another config (here another seed) reruns it."""
    run = snakemake(tmp_path, "--cores", "1", "results/provenance.json")
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads((tmp_path / "results/provenance.json").read_text())
    assert set(record) == {"commit", "commit_short", "dirty", "config_sha256", "seed", "device", "auto_precision",
                           "versions", "date"}
    assert record["auto_precision"] in ("float32", "bfloat16")
    assert record["seed"] == yaml.safe_load(TEST_CONFIG.read_text())["seed"]
    assert re.fullmatch(r"[0-9a-f]{64}", record["config_sha256"])
    assert re.fullmatch(r"[0-9a-f]{40}", record["commit"]) or record["commit"] == "unknown"
    assert record["commit_short"] == record["commit"][:7] or record["commit"] == "unknown"
    assert record["versions"] == provenance.package_versions()
    again = snakemake(tmp_path, "-n", "results/provenance.json")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]
    other = snakemake(tmp_path, "-n", "results/provenance.json", "--config", "seed=2")
    assert other.returncode == 0, other.stderr[-2000:]
    assert re.search(r"rule provenance:.*?reason: Params have changed", other.stdout, flags=re.S), other.stdout[-2000:]


def test_without_latexmk_the_pdf_is_left_out_and_asking_for_it_fails(tmp_path):
    """Where TeX is absent (here: a PATH whose folders hold everything of the real PATH but
    latexmk), the default target leaves the PDF out, saying so once, and asking for the
    PDF fails with that line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in [str(Path(sys.executable).parent), *os.environ.get("PATH", "").split(os.pathsep)]:
        for tool in Path(folder).glob("*") if folder and Path(folder).is_dir() else []:
            if tool.name != "latexmk" and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    env = {**os.environ, "PATH": str(bin_dir)}
    assert shutil.which("latexmk", path=env["PATH"]) is None
    tmp_path = tmp_path / "work"
    dry = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                          "--configfile", str(TEST_CONFIG), "-n"], capture_output=True, text=True, env=env, timeout=600)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out[-3000:]
    assert out.count(latexdoc.MISSING_TEX) == 1, out[-3000:]
    assert "reproduction_pdf" not in out and "rule report:" in out
    asked = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                            "--configfile", str(TEST_CONFIG), "-n", "results/reproduction.pdf"],
                           capture_output=True, text=True, env=env, timeout=600)
    assert asked.returncode != 0
    assert latexdoc.MISSING_TEX in asked.stdout + asked.stderr, (asked.stdout + asked.stderr)[-3000:]
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_reports_state_the_provenance(built):
    record = json.loads((built / "results/provenance.json").read_text())
    page = (built / "results/report/report.html").read_text()
    assert html.escape(provenance.describe(record)) in page
    assert page.index("<b>Provenance.</b>") < page.index('<h2 id="Contents">')  # at the top


@pytest.mark.slow
def test_reproduction_pdf_holds_every_figure_and_table(built):
    if not latexdoc.tex_available():
        pytest.skip(MISSING_TEX)
    pdf = built / "results/reproduction.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    tex = (built / "results/report/reproduction.tex").read_text()
    record = json.loads((built / "results/provenance.json").read_text())
    assert provenance.describe_latex(record) in tex
    items = load(TEST_CONFIG).report_items
    shown = [i for i in items if Path(i["path"]) != Path("results/tables/claims.csv")]  # the claims come first
    assert len(shown) == len(items) - 1
    for item in shown:
        assert rf"\texorpdfstring{{\texttt{{{latexdoc.escape(item['name'])}}}}}" in tex, item["name"]
        assert latexdoc.rst_to_latex(latexdoc.caption_rst(item["caption"], item["wildcards"])) in tex, item["name"]
    assert tex.count(r"\includegraphics") == sum(i["kind"] == "figure" for i in shown)
    assert tex.index(r"\section{Claims}") < min(tex.index(r"\section{" + latexdoc.escape(i["paper"]) + "}") for i in shown)
    papers = [p for p in PAPERS.values() if any(i["paper"] == p for i in shown)]
    positions = [tex.index(r"\section{" + latexdoc.escape(p) + "}") for p in papers]
    assert positions == sorted(positions), "sections follow workflow/report/papers.yaml"
    log = (built / "results/logs/reproduction_pdf.log").read_text()
    figures, tables, pages = map(int, re.search(r"(\d+) figures, (\d+) tables, (\d+) pages", log).groups())
    assert (figures, tables) == (sum(i["kind"] == "figure" for i in shown), sum(i["kind"] == "table" for i in shown))
    assert pages >= len(papers) + 2  # a title page, the claims, a page per paper at least


@pytest.mark.slow
def test_every_generated_table_compiles(built, tmp_path):
    """Every .tex the run wrote under results/tables (the report's tables, the claims
    ledger, values.tex) in one document, so that a LaTeX escaping mistake fails here."""
    if not latexdoc.tex_available():
        pytest.skip(MISSING_TEX)
    files = sorted((built / "results/tables").glob("*.tex"))
    assert len(files) >= 5, files
    entries = [{"name": f.stem, "kind": "table", "paper": "Tables", "rule": "?", "path": str(f), "file": f.name,
                "text": f.read_text(), "caption_tex": latexdoc.escape(f.name)} for f in files]
    pages = latexdoc.compile_pdf(latexdoc.document(entries, ["Tables"], "provenance"), {f.name: f for f in files},
                                 tmp_path / "tables.pdf")
    assert pages >= 2

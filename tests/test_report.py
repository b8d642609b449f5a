"""The report: every figure and table carries a caption, and the HTML report of rule
`report` (and Snakemake's own `--report`) shows every one of them.

Captions live in workflow/report/<figures|tables>/<name>.rst, <name> as the rule's output
writes it, wildcards included; each starts with `.. paper: <key>` (a key of
workflow/report/papers.yaml) and is a Jinja template over `snakemake.wildcards`. The
caption check runs on the rule graph of every config in config/, so a figure or table
added by any rule file is checked, for every file the config makes of it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from conftest import ROOT, SNAKEMAKE, TEST_CONFIG
from docutils.core import publish_parts
from workflow_rules import load

CAPTIONS = ROOT / "workflow" / "report"
PAPERS = yaml.safe_load((CAPTIONS / "papers.yaml").read_text())
CONFIGS = sorted((ROOT / "config").glob("*.yaml"))
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

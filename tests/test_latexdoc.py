"""latentspace.latexdoc: the caption RST -> LaTeX converter and the reproduction PDF's
document, compiled with latexmk where TeX Live is installed (skipped elsewhere: the
Debian packages are in latexdoc.TEX_PACKAGES).

The workflow's own PDF, compiled from every figure and table of a run, is checked in
tests/test_report.py."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_CONFIG
from workflow_rules import load

from latentspace import latexdoc, provenance
from latentspace.latexdoc import rst_to_latex
from latentspace.tables import write_table

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [ROOT / "config" / "config.yaml", TEST_CONFIG]
needs_tex = pytest.mark.skipif(not latexdoc.tex_available(),
                               reason=f"latexmk or TeX Live not found: install {' '.join(latexdoc.TEX_PACKAGES)}")

TRICKY = """.. paper: first

**Fig. 3_b, 100% & more.** Codes z_1 # 2 ~ 3 with ^ and {braces}, $5 and a \\\\ backslash, ``snake_case %``,
*emphasis*, `a title`, "quoted", :math:`\\alpha_i^2 \\leq \\sqrt{D}`, ‖z‖ ≈ √D, α ± σ, 2 * 3 and a*b,
a `link <https://example.org/a_b%20c#frag>`_.

**What to look for:** a second paragraph.
"""

PROVENANCE = provenance.collect({"commit": "0123456789abcdef0123456789abcdef01234567", "commit_short": "0123456",
                                 "dirty": True}, "ab" * 32, 1, device="cuda_dev #0 & co",
                                date=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))


def test_specials_are_escaped():
    out = rst_to_latex(TRICKY)
    assert "paper" not in out  # the comment is dropped
    first, second = out.split("\n\n")
    assert first.startswith(r"\textbf{Fig. 3\_b, 100\% \& more.}")
    for piece in (r"z\_1 \# 2 \textasciitilde{} 3", r"\textasciicircum{}", r"\{braces\}", r"\$5",
                  r"\textbackslash{} backslash", r"\texttt{snake\_case \%}", r"\emph{emphasis}", r"\emph{a title}",
                  "``quoted''", r"$\alpha_i^2 \leq \sqrt{D}$", r"\ensuremath{\Vert}z\ensuremath{\Vert}",
                  r"\ensuremath{\approx}", r"\ensuremath{\surd}D", "2 * 3 and a*b",
                  r"\href{https://example.org/a_b\%20c\#frag}{link}"):
        assert piece in first, piece
    assert second == r"\textbf{What to look for:} a second paragraph."
    # nothing is left unescaped outside math, URLs and commands
    text = re.sub(r"\$[^$]*\$|\\href\{[^}]*\}|\\[a-zA-Z]+|\\[{}$&%#_]|\{|\}", "", first)
    assert not set(text) & set("&%#_^~$\\"), text


@pytest.mark.parametrize("rst, what", [
    ("Some text:\n\n- a bullet\n- another", "bullet list"),
    ("1. first\n2. second", "enumerated list"),
    ("Title\n=====\n\ntext", "section title"),
    ("An example::\n\n    code", "literal block"),
    ("text\n\n    a quote", "indented block"),
])
def test_unsupported_rst_fails_clearly(rst, what):
    with pytest.raises(ValueError, match=what):
        rst_to_latex(rst)


def test_characters_without_a_rendering_fail_clearly():
    assert latexdoc.escape("Leśniak, é, ±, ×, ², –") == "Leśniak, é, ±, ×, ², –"  # pdflatex prints these
    with pytest.raises(ValueError, match=r"U\+2603 SNOWMAN"):
        rst_to_latex("a snowman ☃")


@pytest.mark.parametrize("configfile", CONFIGS, ids=lambda p: p.name)
def test_every_caption_converts(configfile):
    items = load(configfile).report_items
    assert items
    for item in items:
        out = rst_to_latex(latexdoc.caption_rst(item["caption"], item["wildcards"]))
        assert r"\textbf{What to look for:}" in out, (item["name"], out)
        assert ".. paper" not in out and "**" not in out and out.count("``") == out.count("''"), out


def tiny_items(tmp_path):
    """A figure (a real matplotlib PDF) and a table written by latentspace.tables, both with
    the tricky caption."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    fig.savefig(tmp_path / "tiny_fig.pdf")
    fig.savefig(tmp_path / "tiny_fig.png")
    plt.close(fig)
    caption = tmp_path / "caption.rst"
    caption.write_text(TRICKY)
    table = pd.DataFrame({"prior_name": ["normal_1", "a & b", "50% #1"], "value": [0.5, 1.25, float("nan")],
                          "cell": ["x_y", "mean $\\pm$ std", "ok"]})
    write_table(table, tmp_path / "tiny_table.tex", tmp_path / "tiny_table.csv", formats={"value": "{:.2f}"})
    common = {"caption": str(caption), "wildcards": {}, "rule": "tiny_rule", "paper": "Paper & co_1 (2019)"}
    return [{**common, "name": "tiny_fig", "kind": "figure", "path": str(tmp_path / "tiny_fig.png")},
            {**common, "name": "tiny_table", "kind": "table", "path": str(tmp_path / "tiny_table.csv")}]


def test_document_holds_every_item_in_paper_order(tmp_path):
    items = tiny_items(tmp_path)
    items[1] = {**items[1], "paper": "A first paper"}
    entries = [{**i, "file": f"f{k}", "caption_tex": "CAPTION", "text": ""} for k, i in enumerate(items)]
    tex = latexdoc.document(entries, ["A first paper", "Paper & co_1 (2019)"], provenance.describe_latex(PROVENANCE),
                            claims={"file": "claims.tex", "text": r"\begin{longtable}{ll}\end{longtable}",
                                    "caption_tex": "CLAIMS"})
    assert tex.index(r"\section{Claims}") < tex.index(r"\section{A first paper}") < tex.index(
        r"\section{Paper \& co\_1 (2019)}")
    assert "CLAIMS\n\n" + r"{\small\input{claims.tex}}" in tex  # caption first; a longtable is not boxed
    assert r"\includegraphics[width=\linewidth,height=0.62\textheight,keepaspectratio]{f0}" in tex
    assert r"\begin{adjustbox}{max totalsize={\linewidth}{0.85\textheight}}\input{f1}\end{adjustbox}" in tex
    assert tex.count("CAPTION") == 2 and r"\texttt{0123456}" in tex
    assert r"\newunicodechar{‖}{\ensuremath{\Vert}}" in tex


@needs_tex
def test_tricky_caption_and_table_compile(tmp_path):
    items = tiny_items(tmp_path)
    claims = tmp_path / "claims.tex"
    claims.write_text("\\begin{tabular}{ll}\\toprule\nclaim & verdict \\\\\n\\midrule\nx\\_1 & reproduced \\\\\n"
                      "\\bottomrule\n\\end{tabular}\n")
    # the claims table, when it is a report item too, is shown once, up front, under its caption
    items.append({**items[1], "name": "claims", "path": str(tmp_path / "claims.csv")})
    out = tmp_path / "out" / "doc.pdf"
    counts = latexdoc.build(items, ["Paper & co_1 (2019)"], provenance.describe_latex(PROVENANCE), out, claims=claims)
    assert counts["figures"] == 1 and counts["tables"] == 1 and counts["pages"] >= 3
    assert out.read_bytes().startswith(b"%PDF") and not list(out.parent.glob(".*.tmp"))


@needs_tex
def test_latex_error_fails_with_the_error(tmp_path):
    items = tiny_items(tmp_path)
    caption = Path(items[0]["caption"])
    caption.write_text(":math:`\\undefinedmacro x` **What to look for:** nothing.")
    out = tmp_path / "doc.pdf"
    with pytest.raises(RuntimeError, match=r"Undefined control sequence"):
        latexdoc.build(items, [], "provenance", out)
    assert not out.exists()


@needs_tex
def test_every_caption_compiles(tmp_path):
    """Every caption of the default config, converted, in one document (no run needed)."""
    items = load(ROOT / "config" / "config.yaml").report_items
    entries = [{**i, "kind": "table", "file": "t.tex", "text": "",
                "caption_tex": rst_to_latex(latexdoc.caption_rst(i["caption"], i["wildcards"]))} for i in items]
    (tmp_path / "t.tex").write_text("\\begin{tabular}{l}\\toprule x\\\\\\bottomrule\\end{tabular}\n")
    pages = latexdoc.compile_pdf(latexdoc.document(entries, [], "provenance"), {"t.tex": tmp_path / "t.tex"},
                                 tmp_path / "captions.pdf")
    assert pages >= len({i["paper"] for i in items})


def test_without_latexmk_the_error_names_the_packages(monkeypatch):
    monkeypatch.setattr(latexdoc.shutil, "which", lambda name: None)
    assert not latexdoc.tex_available()
    with pytest.raises(RuntimeError) as err:
        latexdoc.compile_pdf("", {}, "/nonexistent/doc.pdf")
    assert str(err.value) == latexdoc.MISSING_TEX
    for package in latexdoc.TEX_PACKAGES:
        assert package in latexdoc.MISSING_TEX


def test_make_setup_installs_the_packages_the_error_names():
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^TEX_PACKAGES := (.+)$", makefile, flags=re.M)
    assert listed and tuple(listed.group(1).split()) == latexdoc.TEX_PACKAGES
    assert "apt-get install -y -q --no-install-recommends $(TEX_PACKAGES)" in makefile

"""The reproduction PDF: every figure and table of a run in one LaTeX document, compiled
with latexmk.

:func:`document` writes the LaTeX source: a title, the provenance paragraph, the claims
table, then one section per paper (in the order of ``workflow/report/papers.yaml``) with
each figure (its PDF) and table (its booktabs ``.tex``) under its caption. The captions are
the RST files of ``workflow/report/`` that the HTML report shows too: :func:`caption_rst`
renders one (a Jinja template over the file's wildcards), :func:`rst_to_latex` converts the
subset of RST they use (paragraphs, ``**strong**``, ``*emphasis*``, ````literal````,
```title```, ``:math:`...```, ```text <url>`_`` links, backslash escapes and comments
such as the ``.. paper:`` line) and fails on anything else. :func:`build` copies the
files under safe names into a temporary folder, compiles there and moves the PDF into
place atomically.

pdflatex reads UTF-8; the characters of :data:`UNICODE` (Greek letters, norms, roots,
sub- and superscripts) are defined in the preamble and replaced in converted text, so the
tables' own ``.tex`` files may use them too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from latentspace.atomic import write_atomic

__all__ = ["TEX_PACKAGES", "MISSING_TEX", "UNICODE", "escape", "rst_to_latex", "caption_rst", "document",
           "compile_pdf", "build", "latexmk", "tex_available"]

TEX_PACKAGES = ("texlive-latex-recommended", "texlive-latex-extra", "latexmk", "lmodern")
"""The Debian packages the PDF needs (``make setup`` installs them as root with apt)."""

MISSING_TEX = (f"latexmk or TeX Live not found, so results/reproduction.pdf cannot be built: install them, e.g. "
               f"`apt-get install --no-install-recommends {' '.join(TEX_PACKAGES)}` (as root, `make setup` does)")
"""What the workflow says where TeX is absent: once when it leaves the PDF out of the
default target, and as the error when the PDF is asked for."""

# LaTeX for the non-ASCII characters the captions and tables use beyond those pdflatex's
# UTF-8 input encoding knows (accented Latin letters, ±, ×, ², dashes, quotes).
UNICODE = {
    "α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}", "γ": r"\ensuremath{\gamma}",
    "δ": r"\ensuremath{\delta}", "ε": r"\ensuremath{\varepsilon}", "λ": r"\ensuremath{\lambda}",
    "μ": r"\ensuremath{\mu}", "σ": r"\ensuremath{\sigma}", "τ": r"\ensuremath{\tau}", "χ": r"\ensuremath{\chi}",
    "Σ": r"\ensuremath{\Sigma}", "‖": r"\ensuremath{\Vert}", "√": r"\ensuremath{\surd}",
    "≈": r"\ensuremath{\approx}", "≤": r"\ensuremath{\leq}", "≥": r"\ensuremath{\geq}", "≠": r"\ensuremath{\neq}",
    "→": r"\ensuremath{\rightarrow}", "∞": r"\ensuremath{\infty}", "−": r"\ensuremath{-}",
    "·": r"\ensuremath{\cdot}", "∈": r"\ensuremath{\in}",
    "₀": r"\ensuremath{_0}", "₁": r"\ensuremath{_1}", "₂": r"\ensuremath{_2}", "ₖ": r"\ensuremath{_k}",
    "ᵈ": r"\ensuremath{^d}", "ᵏ": r"\ensuremath{^k}", "⁻": r"\ensuremath{^-}",
}
# What pdflatex's utf8 encoding (with T1 and textcomp) prints as is, besides accented letters.
_NATIVE = set("±×²³¹°µ–—‘’“”…§é")

_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%", "#": r"\#",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}",
}
_TRANSLATION = str.maketrans({**_SPECIALS, **UNICODE})


def _check_characters(text: str) -> None:
    for ch in sorted(set(text)):
        if ord(ch) < 128 or ch in UNICODE or ch in _NATIVE:
            continue
        base = unicodedata.normalize("NFD", ch)
        if len(base) > 1 and base[0].isascii() and base[0].isalpha():  # an accented Latin letter
            continue
        raise ValueError(f"character {ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, '?')}) has no LaTeX "
                         "rendering here: add it to latentspace.latexdoc.UNICODE")


def escape(text: str) -> str:
    """``text`` as LaTeX that prints it: the ten special characters (and <, >, |, which T1
    fonts print but other encodings do not) escaped, the characters of :data:`UNICODE`
    replaced. Raises ValueError for a character pdflatex cannot print."""
    _check_characters(text)
    return text.translate(_TRANSLATION)


# --------------------------------------------------------------------------- RST -> LaTeX

# Inline markup, in the order RST resolves it at one position. RST starts inline markup
# only after whitespace or an opening punctuation and ends it only before whitespace or a
# closing punctuation; so do these patterns, so that "2 * 3" or "a*b" stay text.
_START = r"(?:^|(?<=[\s(\[{<'\"/:-]))"
_END = r"(?=$|[\s)\]}>'\".,;:!?/-])"
_INLINE = re.compile(
    rf"{_START}``(?P<literal>\S(?:.*?\S)?)``{_END}"
    rf"|{_START}:math:`(?P<math>[^`]+)`{_END}"
    rf"|{_START}`(?P<link_text>[^`<]+?)\s*<(?P<url>[^`>]+)>`__?{_END}"
    rf"|{_START}`(?P<title>\S(?:[^`]*?\S)?)`{_END}"
    rf"|{_START}\*\*(?P<strong>\S(?:.*?\S)?)\*\*{_END}"
    rf"|{_START}\*(?P<emphasis>[^\s*](?:[^*]*?[^\s*])?)\*{_END}"
    r"|\\(?P<escaped>.)"
)
# Block constructs these captions do not use: converting them needs more than this module.
_UNSUPPORTED = (  # (pattern, what, whether only a paragraph's first line starts it)
    (re.compile(r"^\s*[-*+•]\s"), "a bullet list", True),
    (re.compile(r"^\s*(\d+|#|[a-zA-Z])[.)]\s"), "an enumerated list", True),
    (re.compile(r"^([=\-`:'\"~^_*+#<>])\1{2,}\s*$"), "a section title or a table", False),
    (re.compile(r"^\s*\+[-=+]+\+\s*$"), "a grid table", False),
    (re.compile(r"::\s*$"), "a literal block", False),
    (re.compile(r"^\s+\S"), "an indented block", False),
)


def _inline(text: str, quotes: list[int]) -> str:
    """One paragraph's inline markup as LaTeX. Straight double quotes become typographic
    ones, opening and closing in turn (``quotes`` counts them across the paragraph)."""

    def plain(s: str) -> str:
        out = []
        for i, part in enumerate(s.split('"')):
            if i:
                out.append("``" if quotes[0] % 2 == 0 else "''")
                quotes[0] += 1
            out.append(escape(part))
        return "".join(out)

    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(plain(text[pos:m.start()]))
        pos = m.end()
        kind, value = next((k, v) for k, v in m.groupdict().items() if v is not None and k != "url")
        if kind == "literal":
            out.append(r"\texttt{" + escape(value) + "}")
        elif kind == "math":
            _check_characters(value)
            out.append(f"${value}$")
        elif kind == "link_text":
            url = m.group("url").replace("\\", "/").replace("%", r"\%").replace("#", r"\#")
            out.append(rf"\href{{{url}}}{{{plain(value)}}}")
        elif kind in ("title", "emphasis"):
            out.append(r"\emph{" + plain(value) + "}")
        elif kind == "strong":
            out.append(r"\textbf{" + plain(value) + "}")
        else:  # a backslash-escaped character stands for itself
            out.append(escape(value))
    out.append(plain(text[pos:]))
    return "".join(out)


def rst_to_latex(rst: str) -> str:
    """The RST of a caption as LaTeX paragraphs (separated by blank lines).

    Comments and directives (``.. paper: first``, with any indented lines below them) are
    dropped, as in the HTML output. Supported inline markup: ``**strong**``,
    ``*emphasis*``, ````literal````, ```title``` (emphasis), ``:math:`x``` (LaTeX math, as
    written), ```text <url>`_`` and backslash escapes; everything else is text, escaped.
    Block constructs other than paragraphs (lists, titles, tables, literal and indented
    blocks) raise ValueError naming the line."""
    lines, in_comment = [], False
    for line in rst.splitlines():
        if re.match(r"^\.\.(\s|$)", line):
            in_comment = True
            continue
        if in_comment and (not line.strip() or line[:1].isspace()):
            continue
        in_comment = False
        lines.append(line.rstrip())
    paragraphs, current = [], []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    out = []
    for paragraph in paragraphs:
        for k, line in enumerate(paragraph):
            for pattern, what, first_only in _UNSUPPORTED:
                if (k == 0 or not first_only) and pattern.search(line):
                    raise ValueError(f"RST caption uses {what}, which rst_to_latex does not convert: {line!r}")
        out.append(_inline(" ".join(line.strip() for line in paragraph), [0]))
    return "\n\n".join(out)


def caption_rst(path: str | Path, wildcards: Mapping[str, str]) -> str:
    """A caption file rendered for ``wildcards``, as both reports render it: a Jinja
    template over ``snakemake.wildcards``."""
    import jinja2

    return jinja2.Template(Path(path).read_text(encoding="utf-8")).render(snakemake={"wildcards": dict(wildcards)})


# --------------------------------------------------------------------------- the document

_PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage{textcomp}
\usepackage[margin=2cm]{geometry}
\usepackage{graphicx}
\usepackage{booktabs}
\usepackage{longtable}
\usepackage{array}
\usepackage{adjustbox}
\usepackage{newunicodechar}
\usepackage[hidelinks]{hyperref}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5\baselineskip}
\emergencystretch=3em
"""


def _unicode_preamble() -> str:
    return "".join(rf"\newunicodechar{{{ch}}}{{{tex}}}" + "\n" for ch, tex in UNICODE.items())


def _table(file: str, text: str) -> str:
    """``\\input`` of a table file, scaled to the page unless it is a longtable (which
    breaks across pages by itself and cannot sit in a box)."""
    if r"\begin{longtable}" in text:
        return rf"{{\small\input{{{file}}}}}"
    return rf"\begin{{center}}\begin{{adjustbox}}{{max totalsize={{\linewidth}}{{0.85\textheight}}}}" \
           rf"\input{{{file}}}\end{{adjustbox}}\end{{center}}"


def document(items: Sequence[Mapping[str, Any]], papers: Sequence[str], provenance: str,
             claims: Mapping[str, str] | None = None, title: str = "latentspace: the reproduction") -> str:
    """The LaTeX source of the reproduction PDF.

    ``items``: one dict per figure or table, as rules/common.smk's report_items() gives
    them (``name``, ``kind``, ``paper``, ``rule``, ``path``), each with two more keys:
    ``file``, the name of its PDF or ``.tex`` in the build folder, and ``caption_tex``,
    its caption as LaTeX (:func:`rst_to_latex`), or with ``text``, the ``.tex`` table's
    content. ``papers``: section titles in order (titles not listed follow, sorted).
    ``provenance``: a LaTeX paragraph (:func:`latentspace.provenance.describe_latex`).
    ``claims``: the claims table, shown first: ``file`` and ``text`` as for a table, and
    ``caption_tex`` (may be empty).
    """
    order = [p for p in papers if any(i["paper"] == p for i in items)]
    order += sorted({i["paper"] for i in items} - set(order))
    n_figures = sum(i["kind"] == "figure" for i in items)
    parts = [_PREAMBLE, _unicode_preamble(),
             rf"\hypersetup{{pdftitle={{{escape(title)}}}}}" + "\n",
             "\\begin{document}\n",
             rf"{{\centering\LARGE\bfseries {escape(title)}\par}}\bigskip" + "\n\n",
             rf"{{\raggedright\textbf{{Provenance.}} {provenance}\par}}" + "\n\n",
             rf"This document holds the {n_figures} figures and {len(items) - n_figures} tables this run built, "
             "one section per paper, each under the caption the HTML report shows "
             r"(\texttt{results/report/report.html}). Figures are the PDFs of \texttt{results/figures/}, "
             r"tables the booktabs files of \texttt{results/tables/}." + "\n\n",
             "\\tableofcontents\n"]
    if claims is not None:  # its caption first: the table may run over pages
        caption = claims.get("caption_tex") or (
            r"Every claim of the papers that the workflow measures, with the paper's value, ours and the "
            r"verdict the workflow computes (\texttt{results/tables/claims.csv}).")
        parts += ["\\clearpage\n\\section{Claims}\n", caption + "\n\n", _table(claims["file"], claims["text"]) + "\n"]
    for paper in order:
        parts.append("\\clearpage\n\\section{" + escape(paper) + "}\n")
        for item in (i for i in items if i["paper"] == paper):
            name = escape(item["name"])  # typewriter in the text, plain in the PDF's bookmarks
            parts.append(rf"\subsection{{{item['kind'].capitalize()} \texorpdfstring{{\texttt{{{name}}}}}{{{name}}}}}"
                         + "\n")
            if item["kind"] == "figure":
                parts.append(r"\begin{center}\includegraphics[width=\linewidth,height=0.62\textheight,"
                             rf"keepaspectratio]{{{item['file']}}}\end{{center}}" + "\n")
            else:
                parts.append(_table(item["file"], item["text"]) + "\n")
            parts.append(item["caption_tex"] + "\n\n")
            twin = Path(item["path"]).with_suffix(".pdf" if item["kind"] == "figure" else ".tex")
            parts.append(rf"{{\footnotesize File \texttt{{{escape(twin.name)}}}, made by rule "
                         rf"\texttt{{{escape(item['rule'])}}}.}}" + "\n\n")
    parts.append("\\end{document}\n")
    return "".join(parts)


# --------------------------------------------------------------------------- compiling


# LaTeX packages the document loads beyond texlive-latex-base, one per Debian package above.
_STYLES = ("lmodern.sty", "adjustbox.sty", "newunicodechar.sty", "booktabs.sty")


def tex_available() -> bool:
    """Whether latexmk and the LaTeX packages of the document are installed (latexmk on
    the PATH, the packages found by kpsewhich)."""
    if shutil.which("latexmk") is None or shutil.which("kpsewhich") is None:
        return False
    try:
        found = subprocess.run(["kpsewhich", *_STYLES], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return len(found.stdout.split()) == len(_STYLES)


def latexmk() -> str:
    """The path of latexmk; RuntimeError with :data:`MISSING_TEX` where it is absent."""
    path = shutil.which("latexmk")
    if path is None:
        raise RuntimeError(MISSING_TEX)
    return path


def _first_error(log: str) -> str:
    """The first LaTeX error of a .log file with the lines that locate it."""
    lines = log.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+: ", line):
            return "\n".join(lines[k:k + 6])
    return "\n".join(lines[-20:])


def compile_pdf(tex: str, files: Mapping[str, str | Path], pdf: str | Path, timeout: int = 600) -> int:
    """Compile the LaTeX source ``tex`` with ``latexmk -pdf`` in a temporary folder holding
    ``files`` (build-folder name -> source path, copied), then move the PDF to ``pdf``
    atomically and return its number of pages. A LaTeX error raises RuntimeError with the
    first error of the log."""
    exe = latexmk()
    with tempfile.TemporaryDirectory(prefix="latexdoc-") as tmp:
        build = Path(tmp)
        for name, source in files.items():
            shutil.copyfile(source, build / name)
        (build / "document.tex").write_text(tex, encoding="utf-8")
        run = subprocess.run(
            [exe, "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "document.tex"],
            cwd=build, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        log = build / "document.log"
        if run.returncode != 0 or not (build / "document.pdf").exists():
            detail = _first_error(log.read_text(errors="replace")) if log.exists() else run.stdout[-3000:]
            raise RuntimeError(f"latexmk failed (exit {run.returncode}):\n{detail}\n{run.stderr[-2000:]}")
        data = (build / "document.pdf").read_bytes()
        pages = re.findall(r"Output written on document\.pdf \((\d+) pages?", log.read_text(errors="replace"))
    write_atomic(pdf, lambda f: f.write(data))
    return int(pages[-1]) if pages else 0


def build(items: Sequence[Mapping[str, Any]], papers: Sequence[str], provenance: str, pdf: str | Path,
          claims: str | Path | None = None, tex: str | Path | None = None) -> dict[str, int]:
    """The reproduction PDF ``pdf`` of ``items`` (report_items() entries): each figure's
    PDF and each table's ``.tex`` (beside the PNG and CSV the entry names) under its
    caption converted to LaTeX, sections in the order of ``papers``, the claims table
    ``claims`` first (under the caption of its entry, when ``items`` hold it: it is not
    shown twice). ``tex``: where to keep the LaTeX source as compiled (it names the files
    by their build-folder names). Returns the numbers of figures, tables and pages."""

    def twin(item: Mapping[str, Any]) -> Path:
        return Path(item["path"]).with_suffix(".pdf" if item["kind"] == "figure" else ".tex")

    def caption(item: Mapping[str, Any]) -> str:
        text = rst_to_latex(caption_rst(item["caption"], item["wildcards"])) if item.get("caption") else ""
        if not text.strip():
            raise ValueError(f"{item['kind']} {item['name']} has no caption for {item['wildcards']}: {item['caption']}")
        return text

    files, entries, claims_entry = {}, [], None
    if claims is not None:
        files["claims.tex"] = Path(claims)
        claims_entry = {"file": "claims.tex", "text": Path(claims).read_text(encoding="utf-8"), "caption_tex": ""}
    for k, item in enumerate(items):
        if claims is not None and twin(item).resolve() == Path(claims).resolve():
            claims_entry["caption_tex"] = caption(item)
            continue
        name = f"item{k:03d}{twin(item).suffix}"
        files[name] = twin(item)
        entry = {**item, "file": name, "caption_tex": caption(item)}
        if item["kind"] == "table":
            entry["text"] = twin(item).read_text(encoding="utf-8")
        entries.append(entry)
    source = document(entries, papers, provenance, claims_entry)
    pages = compile_pdf(source, files, pdf)
    if tex is not None:
        write_atomic(tex, lambda f: f.write(source.encode()))
    n_figures = sum(i["kind"] == "figure" for i in entries)
    return {"figures": n_figures, "tables": len(entries) - n_figures, "pages": pages}

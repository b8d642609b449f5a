"""The documents of a run: its provenance, the HTML report and the reproduction PDF.

Rule `provenance` writes results/provenance.json (latentspace.provenance): the commit and
whether the tree was dirty, the config's SHA-256, the seed, the device and the versions
that built the run. The commit, the dirty flag and the config hash are params taken while
the DAG is built (rules/common.smk), so a new commit, an edit or another config reruns it
and every document that states it (the report, the PDF, the claims table).

Rule `report` executes workflow/notebooks/report.ipynb with papermill and converts it to
results/report/report.html with nbconvert. It shows what `all` asks for: for each target
of `all`, the outputs that the rule making it flags with report() (figures: the PNG,
tables: the CSV; rules/common.smk flags them in figure() and table()), each under the
paper its caption names and with that caption rendered for the file's wildcards.
`snakemake --report report.html` shows the same files with the same captions. The list
comes from report_items() in rules/common.smk.

Rule `reproduction_pdf` compiles results/reproduction.pdf with latexmk
(latentspace.latexdoc): the provenance, the claims table, then the same items as the
report, each figure's PDF and each table's booktabs .tex under the same caption (the RST
converted to LaTeX), one section per paper. Without TeX `all` leaves it out, saying
so once, and asking for it fails with the same message.
"""

from snakemake.logging import logger

REPORT = RESULTS / "report"


rule provenance:
    output:
        json=RESULTS / "provenance.json",
    log:
        LOGS / "provenance.log",
    conda:
        "../envs/torch.yaml"
    params:
        source=SOURCE_STATE,
        config_sha256=CONFIG_SHA256,
        seed=config["seed"],
    script:
        "../workflow/scripts/provenance.py"


rule report:
    input:
        notebook=Path(workflow.basedir).resolve()
        / "workflow"
        / "notebooks"
        / "report.ipynb",
        papers=PAPERS_FILE,
        provenance=rules.provenance.output.json,
        files=lambda wildcards: [item["path"] for item in report_items()],
    output:
        html=REPORT / "report.html",
        notebook=REPORT / "report.ipynb",
    log:
        LOGS / "report.log",
    conda:
        "../envs/report.yaml"
    params:
        entries=lambda wildcards: report_items(),
        papers=paper_titles,
        captions=captions_digest,
    script:
        "../workflow/scripts/report.py"


rule reproduction_pdf:
    input:
        unpack(pdf_inputs),
    output:
        pdf=RESULTS / "reproduction.pdf",
        tex=REPORT / "reproduction.tex",  # the LaTeX source as compiled
    log:
        LOGS / "reproduction_pdf.log",
    conda:
        "../envs/report.yaml"
    params:
        entries=lambda wildcards: report_items(),
        papers=paper_titles,
        captions=captions_digest,
    script:
        "../workflow/scripts/reproduction_pdf.py"


# What `all` asks for beyond the report: the PDF where TeX is installed; elsewhere one
# warning, naming what to install (the run still succeeds without it).
PDF_TARGETS = [rules.reproduction_pdf.output.pdf] if TEX_AVAILABLE else []
if not TEX_AVAILABLE and workflow.is_main_process:
    logger.warning(f"note: {MISSING_TEX}; the default target leaves it out.")

"""The report: every figure and table of the run, each with its caption, on one HTML page.

Rule `report` executes workflow/notebooks/report.ipynb with papermill and converts it to
results/report/report.html with nbconvert. It shows what `all` asks for: for each target
of `all`, the outputs that the rule making it flags with report() (figures: the PNG,
tables: the CSV; rules/common.smk flags them in figure() and table()), each under the
paper its caption names and with that caption rendered for the file's wildcards.
`snakemake --report report.html` shows the same files with the same captions. The list
comes from report_items() in rules/common.smk.
"""

import hashlib

import yaml

REPORT = RESULTS / "report"
PAPERS_FILE = CAPTIONS / "papers.yaml"


rule report:
    input:
        notebook=Path(workflow.basedir).resolve() / "workflow" / "notebooks" / "report.ipynb",
        papers=PAPERS_FILE,
        files=lambda wildcards: [item["path"] for item in report_items()],
    output:
        html=REPORT / "report.html",
        notebook=REPORT / "report.ipynb",
    params:
        entries=lambda wildcards: report_items(),
        papers=lambda wildcards: list(yaml.safe_load(PAPERS_FILE.read_text()).values()),
        # Caption files are not inputs (their names hold braces, which inputs take for
        # wildcards); their digest is a param, so an edited caption reruns the report.
        captions=lambda wildcards: hashlib.sha256(
            "".join(Path(c).read_text() for c in sorted({i["caption"] for i in report_items() if i["caption"]}) if Path(c).exists()).encode()
        ).hexdigest(),
    log:
        LOGS / "report.log",
    conda:
        "../envs/report.yaml"
    script:
        "../workflow/scripts/report.py"

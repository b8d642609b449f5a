"""The claims ledger: every claim of workflow/claims.yaml judged from the run's tables.

Rule `claims` (analysis env, no torch) reads the tables and data files the config builds
and writes results/tables/claims.csv and .tex (one row per claim: the paper's statement
and numbers beside ours and a computed verdict), values.tex (one \\newcommand per number
and verdict that documents cite) and results/data/values.json (the same for templates). Rule
`results_doc` renders docs/results.md.j2 over values.json into results/results.md;
`make docs` copies the default run's into docs/. Nothing in these files is typed by hand.
"""

import json

CLAIMS_FILE = Path(workflow.basedir).resolve() / "workflow" / "claims.yaml"
# The resolved config as plain data: the claims' `comparable` conditions read it.
PLAIN_CONFIG = json.loads(json.dumps(config, default=str))


rule claims:
    input:
        unpack(lambda wildcards: claim_sources()),
        registry=CLAIMS_FILE,
        provenance=rules.provenance.output.json,
    output:
        **table("claims"),
        values=RESULTS / "tables" / "values.tex",
        json=data_file("values", "json"),
    log:
        LOGS / "claims.log",
    conda:
        "../envs/analysis.yaml"
    params:
        sources=lambda wildcards: claim_sources(),
        config=PLAIN_CONFIG,
    script:
        "../workflow/scripts/claims_table.py"


rule results_doc:
    input:
        template=Path(workflow.basedir).resolve() / "docs" / "results.md.j2",
        values=rules.claims.output.json,
    output:
        md=RESULTS / "results.md",
    log:
        LOGS / "results_doc.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/results_doc.py"


CLAIMS_TARGETS = [*rules.claims.output, rules.results_doc.output.md]

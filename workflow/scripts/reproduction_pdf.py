"""Compile the reproduction PDF (latentspace.latexdoc): the provenance, the claims table,
then every figure and table of the report under its caption, one section per paper."""

import json
from pathlib import Path

from latentspace import runlog
from latentspace.latexdoc import build
from latentspace.provenance import describe_latex


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        provenance = json.loads(Path(input.provenance).read_text())
        counts = build(params.entries, list(params.papers), describe_latex(provenance), output.pdf,
                       claims=input.claims, tex=output.tex)
        logger.info("wrote %s: %d figures, %d tables, %d pages", output.pdf, counts["figures"], counts["tables"],
                    counts["pages"])


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

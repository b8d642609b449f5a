"""docs/results.md of a run: the template rendered over the claims ledger's values."""

import json

from latentspace import claims, runlog
from latentspace.atomic import write_text


def main(input, output, log):
    with runlog.logged(log) as logger:
        values = json.loads(open(input.values).read())
        text = claims.render_template(open(input.template).read(), values)
        write_text(output.md, text)
        logger.info("rendered %s (%d lines)", output.md, text.count("\n"))


main(snakemake.input, snakemake.output, snakemake.log[0])

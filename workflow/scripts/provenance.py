"""Write the run's provenance record, results/provenance.json (latentspace.provenance)."""

import json

from latentspace import runlog
from latentspace.atomic import write_text
from latentspace.provenance import collect, describe


def main(output, params, log):
    with runlog.logged(log) as logger:
        record = collect(dict(params.source), params.config_sha256, params.seed)
        write_text(output.json, json.dumps(record, indent=2) + "\n")
        logger.info("%s", describe(record))


main(snakemake.output, snakemake.params, snakemake.log[0])

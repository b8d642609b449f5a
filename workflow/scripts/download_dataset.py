"""Put the configured dataset under resources/, verified by checksum, and record where."""

import json

from latentspace import atomic, data, runlog


def main(output, params, wildcards, log):
    with runlog.logged(log) as logger:
        options = {"archive": params.archive} if wildcards.dataset == "celeba" and params.archive else {}
        if wildcards.dataset == "celeba":
            options["verify"] = params.verify
        where = data.prepare(wildcards.dataset, params.root, **options)
        logger.info("%s ready in %s", wildcards.dataset, where)
        atomic.write_text(output.ready, json.dumps({"dataset": wildcards.dataset, "path": str(where)}, indent=2))


main(snakemake.output, snakemake.params, snakemake.wildcards, snakemake.log[0])

"""Table claims: every claim of the registry judged from the run's tables (latentspace.claims),
as CSV (with the run's provenance in '#' lines above the header) and booktabs LaTeX, and
every cited number as values.tex and values.json."""

import json

from latentspace import claims, provenance, runlog
from latentspace.atomic import write_text


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        registry = claims.load_claims(input.registry)
        tables = claims.Tables(params.sources)
        judgements = claims.judge_all(registry, tables, params.config)
        ledger = claims.ledger_frame(judgements)
        prov = json.loads(open(input.provenance).read())
        header = "".join(f"# {line}\n" for line in provenance.describe(prov).splitlines())
        write_text(output.csv, header + ledger.to_csv(index=False, lineterminator="\n"))
        write_text(output.tex, claims.ledger_tex(ledger, "claims of the four papers and their computed verdicts"))
        cited = claims.cited_values(claims.load_cited(input.registry), tables)
        values = claims.values_json(judgements, cited, prov, params.config,
                                    claims.result_tables(tables, params.sources))
        write_text(output.json, json.dumps(values, indent=1, sort_keys=True) + "\n")
        write_text(output.values, claims.values_tex(values))
        counts = ledger["verdict"].value_counts()
        logger.info("%d claims: %s", len(ledger), ", ".join(f"{v} {counts.get(v, 0)}" for v in claims.VERDICTS))


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

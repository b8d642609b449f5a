"""A metric table: the per-model score CSVs concatenated (CSV, full precision) and shown
as "value ± std" in a booktabs table."""

import pandas as pd

from latentspace import display, runlog
from latentspace.tables import write_csv, write_table


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        df = pd.concat([pd.read_csv(path) for path in input.csv], ignore_index=True)
        write_csv(df, output.csv)
        shown = display.display_table(params.kind, df)
        write_table(shown, output.tex, caption=params.caption)
        logger.info("%d rows from %d files", len(df), len(input.csv))


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

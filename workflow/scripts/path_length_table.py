"""Table path-length: the per-model path-length CSVs concatenated (CSV, every bin, full
precision) and the whole-path values with the bin of t where each is largest (booktabs)."""

import pandas as pd

from latentspace import display, runlog
from latentspace.tables import write_csv, write_table


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        df = pd.concat([pd.read_csv(path) for path in input.csv], ignore_index=True)
        write_csv(df, output.csv)
        write_table(display.display_path_lengths(df), output.tex, caption=params.caption)
        logger.info("%d rows from %d files", len(df), len(input.csv))


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

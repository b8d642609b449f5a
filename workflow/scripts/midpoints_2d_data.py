"""Data of figure midpoints-2d: histograms of the 2-D uniform prior and of linear, matched and
slerp midpoints (matched-operations paper, Fig. 1)."""

from latentspace import geometry, runlog, tables


def main(output, params, log):
    with runlog.logged(log) as logger:
        logger.info("%d pairs", params.cfg["n_pairs"])
        df = geometry.midpoint_histograms_2d(params.cfg["n_pairs"], params.cfg["bins"], params.seed)
        tables.write_csv(df, output.csv)


main(snakemake.output, snakemake.params, snakemake.log[0])

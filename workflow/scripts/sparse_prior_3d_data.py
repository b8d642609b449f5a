"""Data of figure sparse-prior-3d: train samples of the sparse prior (D = 3) and dense test
samples scaled by sqrt(K / D) (first paper, Fig. 11)."""

from latentspace import geometry, runlog, tables


def main(output, params, log):
    with runlog.logged(log):
        df = geometry.sparse_prior_points(params.cfg["n_samples"], params.cfg["k"], params.seed)
        tables.write_csv(df, output.csv)


main(snakemake.output, snakemake.params, snakemake.log[0])

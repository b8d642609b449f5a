"""Data of figure midpoint-norms-100d: squared norms of interpolation midpoints against the
prior in 100-D (matched-operations paper, Fig. 2)."""

from latentspace import geometry, priors, runlog, tables


def main(output, params, log):
    with runlog.logged(log) as logger:
        cfg = params.cfg
        logger.info("D = %d, %d pairs, methods %s", cfg["dim"], cfg["n_pairs"], cfg["methods"])
        df = geometry.midpoint_sq_norms(
            priors.from_specs(params.priors), cfg["methods"], cfg["dim"], cfg["n_pairs"], cfg["bins"], params.seed
        )
        tables.write_csv(df, output.csv)


main(snakemake.output, snakemake.params, snakemake.log[0])

"""Data of figure norms-vs-dimension: kernel density estimates of log10 ||Z|| per prior and dimension
(first paper, Fig. 1)."""

from latentspace import geometry, priors, runlog, tables


def main(output, params, log):
    with runlog.logged(log) as logger:
        cfg = params.cfg
        specs = priors.from_specs(params.priors)
        logger.info("priors %s, dims %s, %d samples each", list(specs), cfg["dims"], cfg["n_samples"])
        df = geometry.norm_densities(specs, cfg["dims"], cfg["n_samples"], params.seed, points=cfg["points"])
        tables.write_csv(df, output.csv)


main(snakemake.output, snakemake.params, snakemake.log[0])

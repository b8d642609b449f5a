"""Data of figure interpolations-2d: Cauchy-linear and spherical Cauchy-linear paths and all
interpolations between two normal points, in 2-D (first paper, Fig. 4 and 5b)."""

from latentspace import geometry, priors, runlog, tables


def main(output, params, log):
    with runlog.logged(log):
        cfg = params.cfg
        df = geometry.interpolation_paths_2d(
            priors.from_specs(params.priors), cfg["n_pairs"], cfg["n_steps"], cfg["n_background"], params.seed, cfg["methods"]
        )
        tables.write_csv(df, output.csv)


main(snakemake.output, snakemake.params, snakemake.log[0])

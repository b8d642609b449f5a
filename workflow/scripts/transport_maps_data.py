"""Data of figure transport-maps: the monotone transport maps of linear interpolation at
several t (matched-operations paper, Fig. 3)."""

from latentspace import geometry, priors, runlog, tables


def main(output, params, log):
    with runlog.logged(log):
        cfg = params.cfg
        df = geometry.transport_map_curves(priors.from_specs(params.priors), cfg["ts"], cfg["n_points"])
        tables.write_csv(df, output.csv)


main(snakemake.output, snakemake.params, snakemake.log[0])

"""Table distribution-mismatch: for every prior x interpolation at t, a family of KS tests of
the interpolation's points against the prior (pooled coordinates and norms for i.i.d. priors;
every coordinate, random unit projections and norms for the others) with Holm's correction,
and W1 of norms; which pairs preserve the prior (the first paper's property 4), empirically
and as the papers claim."""

from latentspace import priors, runlog, stats, tables


def main(output, params, log):
    with runlog.logged(log) as logger:
        cfg = params.cfg
        df = stats.mismatch_table(priors.from_specs(params.priors), cfg["operations"], cfg["dim"], cfg["n_pairs"],
                                  cfg["t"], params.seed, alpha=cfg["alpha"], projections=cfg["projections"])
        logger.info("\n%s", df.drop(columns=["note"]).to_string(index=False))
        tables.write_csv(df, output.csv)
        tables.write_table(stats.mismatch_latex_frame(df), output.tex,
                           caption=f"Distribution mismatch at t = {cfg['t']}, D = {cfg['dim']}, n = {cfg['n_pairs']}: "
                                   f"KS tests with Holm's correction at family-wise level {cfg['alpha']} "
                                   f"({cfg['projections']} random projections for non-i.i.d. priors)")


main(snakemake.output, snakemake.params, snakemake.log[0])

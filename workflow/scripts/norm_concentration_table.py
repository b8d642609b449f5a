"""Table norm-concentration: empirical mean and std of ||Z|| against Observation 2.1 of the
first paper (and the exact chi moments for the normal prior)."""

from latentspace import geometry, priors, runlog, tables


def main(output, params, log):
    with runlog.logged(log) as logger:
        cfg = params.cfg
        df = geometry.norm_concentration(priors.from_specs(params.priors), cfg["dims"], cfg["n_samples"], params.seed)
        logger.info("\n%s", df.to_string(index=False))
        shown = df.drop(columns=["n"]).rename(
            columns={"dim": "D", "mean": "mean ||Z||", "std": "std ||Z||", "predicted_mean": "Obs. 2.1 mean",
                     "predicted_std": "Obs. 2.1 std", "exact_mean": "exact mean", "exact_std": "exact std"}
        )
        fmt = {c: "{:.3f}" for c in shown.columns if c not in ("prior", "D")}
        tables.write_table(shown, output.tex, None, formats=fmt,
                           caption=f"Norm concentration, {cfg['n_samples']} samples per row (first paper, Obs. 2.1)")
        tables.write_csv(df, output.csv)


main(snakemake.output, snakemake.params, snakemake.log[0])

"""Figure transport-maps: monotone transport maps of linear interpolation at several t
(matched-operations paper, Fig. 3)."""

import pandas as pd

from latentspace import plotting, runlog


def main(input, output, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        fig, panels = plotting.panel_row(df, "prior", 3.0, 2.8)
        for ax, label, sub in panels:
            for t, group in sub.groupby("t"):
                ax.plot(group["y"], group["matched"], label=f"t = {t:g}")
            lo, hi = sub["y"].min(), sub["y"].max()
            ax.plot([lo, hi], [lo, hi], color="0.6", ls="--", lw=0.8, label="identity")
            ax.set_title(f"{label} prior")
            ax.set_xlabel("y (linear interpolation)")
            ax.set_ylabel(r"matched $T_t(y)$")
        panels[-1][0].legend(loc="lower right")
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])

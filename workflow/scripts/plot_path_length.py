"""Figure path-length-profile: the perceptual path length per bin of t, one panel per model
and endpoint kind, one line per interpolation, error bars the standard errors; drawn from
the table's CSV, so restyling never rescores."""

import pandas as pd

from latentspace import plotting, runlog


def main(input, output, params, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        bins = df[df["scope"] == "bin"].assign(
            panel=lambda d: d["model"] + ", " + d["endpoints"].map({"random": "random pairs", "opposite": "z to -z"}),
            t=lambda d: (d["t_lo"] + d["t_hi"]) / 2,
        )
        plotting.use_style()
        fig, panels = plotting.panel_row(bins, "panel", 3.0, 2.6)
        for ax, panel, rows in panels:
            for op, part in rows.groupby("op", sort=False):
                part = part.sort_values("t")
                ax.errorbar(part["t"], part["ppl"], yerr=part["ppl_std"], marker="o", ms=3, capsize=2, label=op)
            ax.set_title(panel, fontsize="medium")
            ax.set_xlabel("t (bin centre)")
            ax.set_ylabel(f"path length ({rows['extractor'].iloc[0]} features)")
            values = rows["ppl"][rows["ppl"] > 0]
            if len(values) and values.max() > 10 * values.min():
                ax.set_yscale("log")
            ax.axvline(0.5, color="0.6", lw=0.8, ls=":")  # t = 1/2: the origin of a z to -z linear path
        panels[-1][0].legend(title="operation", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

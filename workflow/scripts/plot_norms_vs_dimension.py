"""Figure norms-vs-dimension: density of log10 ||Z|| per prior, one curve per dimension
(first paper, Fig. 1)."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog


def main(input, output, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        fig, panels = plotting.panel_row(df, "prior", 2.6, 2.6, letters=False)
        dims = sorted(df["dim"].unique())
        colors = plt.cm.viridis([i / max(1, len(dims) - 1) for i in range(len(dims))])
        for ax, label, rows in panels:
            for color, d in zip(colors, dims, strict=True):
                sub = rows[rows["dim"] == d]
                ax.plot(sub["log10_norm"], sub["density"], color=color, label=f"D = {d}")
            shown = rows[rows["density"] > 0.01 * rows["density"].max()]
            ax.set_xlim(shown["log10_norm"].min() - 0.1, shown["log10_norm"].max() + 0.1)
            ax.set_title(f"{label} prior")
            ax.set_xlabel(r"$\log_{10} \|Z\|$")
        panels[0][0].set_ylabel("density")
        panels[-1][0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])

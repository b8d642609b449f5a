"""Figure midpoint-norms-100d: distribution of the squared norm of midpoints against the
prior (matched-operations paper, Fig. 2)."""

import pandas as pd

from latentspace import plotting, runlog


def main(input, output, params, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        fig, panels = plotting.panel_row(df, "prior", 3.6, 2.7)
        for ax, label, sub in panels:
            for j, (method, group) in enumerate(sub.groupby("method", sort=False)):
                style = {"color": "k", "lw": 2.2, "alpha": 0.35} if method == "prior" else {"color": f"C{j - 1}"}
                ax.plot(group["sq_norm"], group["density"], label=method.replace("_", " "), **style)
            ax.set_title(f"{label} prior, D = {params.dim}")
            ax.set_xlabel(r"$\|y\|^2$ of the midpoint $y$")
        panels[0][0].set_ylabel("density")
        panels[-1][0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

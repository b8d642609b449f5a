"""Figure ri-projection-<model>: the linear and the ri-optimal path of each pair projected
onto the plane spanned by its endpoints z_0, z_k and the origin (Struski et al., eq. 4,
Fig. 3b and 6), in the coordinates (a, b) of a z_0 + b z_k: the linear path is the segment
from (1, 0) to (0, 1)."""

import pandas as pd

from latentspace import plotting, runlog

STYLE = {"linear": ("C2", "linear"), "ri_optimal": ("C1", "ri-optimal")}


def main(input, output, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        fig, panels = plotting.panel_row(df, "pair", 2.5, 2.6)
        for ax, pair, sub in panels:
            for path, points in sub.groupby("path", sort=False):
                color, label = STYLE[path]
                ax.plot(points["a"], points["b"], color=color, marker=".", ms=2.5, label=label)
            ax.plot([1, 0], [0, 1], "o", color="k", ms=3.5)
            ax.plot([0], [0], "+", color="0.4", ms=6)
            ax.annotate("$z_0$", (1, 0), textcoords="offset points", xytext=(3, 3))
            ax.annotate("$z_k$", (0, 1), textcoords="offset points", xytext=(3, 3))
            ax.set_title(f"pair {pair}")
            ax.set_xlabel("a (along $z_0$)")
            ax.set_aspect("equal", adjustable="box")
        panels[0][0].set_ylabel("b (along $z_k$)")
        panels[-1][0].legend(loc="upper right")
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])

"""Figure midpoints-2d: the 2-D uniform prior and the distributions of linear, matched and
slerp midpoints (matched-operations paper, Fig. 1)."""

import numpy as np
import pandas as pd

from latentspace import plotting, runlog

TITLES = {"prior": "uniform prior", "linear": "linear midpoints", "ot_matched": "matched midpoints",
          "slerp": "slerp midpoints"}


def main(input, output, params, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        fig, panels = plotting.panel_row(df, "panel", 2.5, 2.6)
        vmax = df["density"].quantile(0.999)
        for ax, panel, sub in panels:
            xs, ys = np.sort(sub["x"].unique()), np.sort(sub["y"].unique())
            grid = sub.pivot(index="y", columns="x", values="density").loc[ys, xs].to_numpy()
            step = xs[1] - xs[0]
            extent = (xs[0] - step / 2, xs[-1] + step / 2, ys[0] - step / 2, ys[-1] + step / 2)
            im = ax.imshow(grid, origin="lower", extent=extent, vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_title(TITLES.get(panel, panel))
            ax.grid(False)
        fig.colorbar(im, ax=[ax for ax, _, _ in panels], shrink=0.8, label="density")
        fig.suptitle(f"{params.n_pairs:,} pairs from the uniform prior on $[-1, 1]^2$", y=1.03)
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

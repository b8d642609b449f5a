"""Figure sparse-prior-3d: train samples of the sparse prior (D = 3) beside dense test
samples scaled by sqrt(K / D) (first paper, Fig. 11)."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog

COLORS = {"train": "#8c510a", "test": "#1b7837"}


def main(input, output, params, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        fig = plt.figure(figsize=(4.2, 4.0))
        ax = fig.add_subplot(projection="3d")
        for name, group in df.groupby("set", sort=False):
            label = f"train (sparse, K = {params.k})" if name == "train" else "test (dense, scaled)"
            ax.scatter(group["x"], group["y"], group["z"], s=3, color=COLORS[name], label=label, depthshade=False)
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        ax.set_zlabel("$z_3$")
        ax.legend(loc="upper left")
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

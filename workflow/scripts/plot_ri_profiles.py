"""Figure ri-profiles-<model>: along the linear and the ri-optimal path of each pair, the
L2 distance between consecutive decoded frames (left) and the realisticity index of each
point (right) (Struski et al., Fig. 5 and 8), from the saved profiles."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog

# The paper draws the linear path green and its own red.
STYLE = {"linear": ("C2", "linear"), "ri_optimal": ("C1", "ri-optimal")}


def main(input, output, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        pairs = list(dict.fromkeys(df["pair"]))
        plotting.use_style()
        fig, axes = plt.subplots(len(pairs), 2, figsize=(6.4, 1.9 * len(pairs)), squeeze=False, sharex=True)
        for row, pair in zip(axes, pairs, strict=True):
            for path, sub in df[df["pair"] == pair].groupby("path", sort=False):
                color, label = STYLE[path]
                steps = sub[sub["i"] > 0]
                row[0].plot(steps["i"], steps["distance"], color=color, marker=".", ms=3, label=label)
                row[1].plot(sub["i"], sub["ri"], color=color, marker=".", ms=3, label=label)
            row[0].set_ylabel(f"pair {pair}\nL2 distance")
            row[1].set_ylabel("ri")
            row[1].set_ylim(-0.03, 1.03)
        axes[0, 0].set_title("distance between consecutive frames")
        axes[0, 1].set_title("realisticity index")
        axes[0, 1].legend(loc="lower right")
        for ax in axes[-1]:
            ax.set_xlabel("point i of the path")
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])

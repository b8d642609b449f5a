"""Figure transport-maps: monotone transport maps of linear interpolation at several t
(matched-operations paper, Fig. 3)."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog


def main(input, output, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        labels = list(dict.fromkeys(df["prior"]))
        fig, axes = plt.subplots(1, len(labels), figsize=(3.0 * len(labels), 2.8), squeeze=False)
        for i, (ax, label) in enumerate(zip(axes[0], labels, strict=True)):
            sub = df[df["prior"] == label]
            for t, group in sub.groupby("t"):
                ax.plot(group["y"], group["matched"], label=f"t = {t:g}")
            lo, hi = sub["y"].min(), sub["y"].max()
            ax.plot([lo, hi], [lo, hi], color="0.6", ls="--", lw=0.8, label="identity")
            plotting.panel_label(ax, f"({chr(97 + i)})")
            ax.set_title(f"{label} prior")
            ax.set_xlabel("y (linear interpolation)")
            ax.set_ylabel(r"matched $T_t(y)$")
        axes[0][-1].legend(loc="lower right")
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])

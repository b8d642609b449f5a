"""Figure midpoint-norms-100d: distribution of the squared norm of midpoints against the
prior (matched-operations paper, Fig. 2)."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog


def main(input, output, params, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        plotting.use_style()
        labels = list(dict.fromkeys(df["prior"]))
        fig, axes = plt.subplots(1, len(labels), figsize=(3.6 * len(labels), 2.7), squeeze=False)
        for i, (ax, label) in enumerate(zip(axes[0], labels, strict=True)):
            sub = df[df["prior"] == label]
            for j, (method, group) in enumerate(sub.groupby("method", sort=False)):
                style = {"color": "k", "lw": 2.2, "alpha": 0.35} if method == "prior" else {"color": f"C{j - 1}"}
                ax.plot(group["sq_norm"], group["density"], label=method.replace("_", " "), **style)
            plotting.panel_label(ax, f"({chr(97 + i)})")
            ax.set_title(f"{label} prior, D = {params.dim}")
            ax.set_xlabel(r"$\|y\|^2$ of the midpoint $y$")
        axes[0][0].set_ylabel("density")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

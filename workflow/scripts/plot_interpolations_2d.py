"""Figure interpolations-2d: Cauchy-linear paths on several 2-D priors, spherical
Cauchy-linear on the normal prior, and every interpolation between the same two normal
points (first paper, Fig. 4 and 5b)."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog

TITLES = {
    "cauchy_linear": "Cauchy-linear",
    "spherical_cauchy_linear": "sph. Cauchy-linear",
    "all_methods": "all methods",
}


def main(input, output, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv, keep_default_na=False, na_values=[""])
        plotting.use_style()
        panels = list(dict.fromkeys(df["panel"]))
        fig, axes = plt.subplots(1, len(panels), figsize=(2.7 * len(panels), 2.9), squeeze=False)
        for i, (ax, panel) in enumerate(zip(axes[0], panels, strict=True)):
            sub = df[df["panel"] == panel]
            bg = sub[sub["kind"] == "sample"]
            ax.scatter(bg["x"], bg["y"], s=2, color="0.75", rasterized=True, linewidths=0)
            paths = sub[sub["kind"] == "path"]
            multi = panel.startswith("all_methods")
            for j, (method, group) in enumerate(paths.groupby("method", sort=False)):
                # One colour per method in the comparison panel; one per panel elsewhere.
                color = f"C{j}" if multi else ("C3" if method == "cauchy_linear" else "C4")
                for _, path in group.groupby("path"):
                    ax.plot(path["x"], path["y"], color=color, lw=1.2, label=method.replace("_", " ") if multi else None)
                    ax.plot(path["x"].iloc[[0, -1]], path["y"].iloc[[0, -1]], "o", ms=3, color="k")
            if multi:
                ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            kind, prior = panel.split("/")
            plotting.panel_label(ax, f"({chr(97 + i)})")
            ax.set_title(f"{TITLES.get(kind, kind)}, {prior}")
            lo_x, hi_x = bg["x"].quantile([0.01, 0.99])
            lo_y, hi_y = bg["y"].quantile([0.01, 0.99])
            pad_x, pad_y = 0.25 * (hi_x - lo_x), 0.25 * (hi_y - lo_y)
            ax.set_xlim(min(lo_x, paths["x"].min()) - pad_x, max(hi_x, paths["x"].max()) + pad_x)
            ax.set_ylim(min(lo_y, paths["y"].min()) - pad_y, max(hi_y, paths["y"].max()) + pad_y)
            ax.set_aspect("equal", adjustable="box")
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])

"""Figures void-quality and emergence: each metric against alpha or the training step, one
line per model or latent set, error bars the standard deviation over the splits."""

import pandas as pd

from latentspace import display, plotting, runlog


def main(input, output, params, log):
    with runlog.logged(log):
        df = pd.read_csv(input.csv)
        names = [m for m in display.METRIC_LABELS if m in df.columns]
        long = pd.concat([df.assign(metric=m, value=df[m], std=df[f"{m}_std"]) for m in names], ignore_index=True)
        plotting.use_style()
        fig, panels = plotting.panel_row(long, "metric", 3.0, 2.6)
        for ax, metric, rows in panels:
            for hue, part in rows.groupby(params.hue, sort=False):
                part = part.sort_values(params.x)
                ax.errorbar(part[params.x], part["value"], yerr=part["std"], marker="o", ms=3, capsize=2, label=hue)
            ax.set_xlabel({"alpha": r"$\alpha$ (codes $\alpha z$, $z$ from the prior)", "step": "training step"}[params.x])
            ax.set_ylabel(display.METRIC_LABELS[metric])
            values = rows["value"][rows["value"] > 0]
            if metric.startswith("fid") and len(values) and values.max() > 10 * values.min():
                ax.set_yscale("log")
            else:
                ax.ticklabel_format(axis="y", useOffset=False)
            if params.x == "alpha":
                ax.axvline(1.0, color="0.6", lw=0.8, ls=":")  # alpha = 1: the prior itself
        panels[-1][0].legend(title=params.hue, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

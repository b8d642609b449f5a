"""Figure latent-tsne: the 2-D t-SNE embedding of each auto-encoder's codes of the same
test images, one panel per model, coloured by class (the spherical auto-encoder paper,
Fig. 13 and 14)."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog

MODEL_TITLES = {"sae": "SAE (codes on the sphere)", "vae": "VAE (posterior means)"}
# Class names by dataset (the idx files' label order); other datasets show "class <k>".
CLASS_NAMES = {
    "fashion-mnist": "T-shirt/top, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot".split(", "),
}


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        df = pd.read_csv(input.csv)
        labels = sorted(df["label"].unique())
        logger.info("%d points, models %s, classes %s", len(df), df["model"].unique().tolist(), labels)
        plotting.use_style()
        fig, panels = plotting.panel_row(df, "model", panel_width=3.3, height=3.3)
        colors = plt.get_cmap("tab10")  # ten distinguishable classes (the style's cycle has eight)
        names = CLASS_NAMES.get(params.dataset, [])
        for ax, model, part in panels:
            for i, label in enumerate(labels):
                points = part[part["label"] == label]
                if label < 0:
                    name = "test images"  # no labels (CelebA)
                else:
                    name = names[label] if label < len(names) else f"class {label}"
                ax.scatter(points["x"], points["y"], s=4, color=colors(i % 10), label=name, linewidths=0, alpha=0.8)
            ax.set_title(MODEL_TITLES.get(model, model))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
        if len(labels) > 1:
            panels[-1][0].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2.5)
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

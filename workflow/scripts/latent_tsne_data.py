"""Data of figure latent-tsne: t-SNE of the SAE's and the VAE's codes of the same test
images, `per_class` of each class."""

import torch

from latentspace import autoencoders, data, runlog, training
from latentspace.tables import write_csv


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        ds, cfg = params.dataset, params.cfg
        test = data.load_configured(ds, "test", limit=None)
        models = {k: training.load_autoencoder(p, "auto") for k, p in zip(params.kinds, input.models, strict=True)}
        idx = autoencoders.balanced_subset(
            test.labels, len(test), cfg["per_class"], runlog.generator(params.seed, "autoencoders", "tsne")
        )
        labels = None if test.labels is None else test.labels[idx]
        df = autoencoders.latent_tsne(
            models,
            test.images(idx),
            labels,
            perplexity=cfg["perplexity"],
            seed=runlog.seed_for(params.seed, "autoencoders", "tsne"),
        )
        logger.info("t-SNE of %d codes per model, %d classes", len(idx), df["label"].nunique())
        write_csv(df, output.csv)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

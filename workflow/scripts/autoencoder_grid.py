"""Data of the auto-encoder image figures: `reconstructions` (test images above each
model's reconstructions) or `decoder-priors` (each decoder fed every noise law), saved
as one latent grid .npz that plot_grid.py draws."""

import torch

from latentspace import autoencoders, data, priors, runlog, training


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        models = {k: training.load_autoencoder(p, "auto") for k, p in zip(params.kinds, input.models, strict=True)}
        if params.figure == "reconstructions":
            ds = params.dataset
            test = data.load_configured(ds, "test", limit=None)
            pick = torch.randperm(len(test), generator=runlog.generator(params.seed, "autoencoders", params.figure))
            grid = autoencoders.reconstruction_grid(models, test.images(pick[: params.cfg["n_images"]]))
        else:
            grid = autoencoders.decoder_prior_grid(
                models,
                priors.from_specs(params.noises),
                params.cfg["n_samples"],
                runlog.generator(params.seed, "autoencoders", params.figure),
            )
        logger.info("%s: %d x %d cells, %s", params.figure, *grid.shape, grid.extra)
        grid.save(output.npz)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

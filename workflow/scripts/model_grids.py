"""Data of every per-model image figure of one model: build each latent grid, decode it
with the model's generator and save it as one .npz (one job per model: torch is imported
once for all of them)."""

from dataclasses import replace

import torch

from latentspace import render, runlog


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        for spec in params.grids:
            grid = render.run(spec["kind"], input.generator, spec["options"], params.seed, stream=spec["stream"])
            logger.info("%s %s: %d x %d cells, %s", spec["kind"], dict(spec["options"]), *grid.shape, grid.extra)
            replace(grid, title=spec["title"].format(title=grid.title)).save(output[spec["key"]])


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

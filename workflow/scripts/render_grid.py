"""Data of a decoded-image figure: build a latent grid, decode it with each checkpoint and
save it as one .npz (several checkpoints are stacked, one row group per label)."""

from dataclasses import replace

import torch

from latentspace import render, runlog
from latentspace.grids import Grid


def main(output, params, threads, log):
    with runlog.logged(log) as logger:
        if not params.checkpoints:
            raise ValueError(f"{output.npz}: no model to decode; name one under `render:` in the config")
        torch.set_num_threads(threads)
        grids = []
        for checkpoint in params.checkpoints:
            grid = render.run(params.kind, checkpoint, params.options, params.seed, stream=params.stream)
            logger.info(
                "%s %s from %s: %d x %d cells, %s",
                params.kind,
                dict(params.options),
                checkpoint,
                *grid.shape,
                grid.extra,
            )
            grids.append(grid)
        if params.labels is None:
            (grid,) = grids
        else:
            grid = Grid.stack(grids, params.labels, row_name=params.get("row_name"), title=grids[0].title)
        grid = replace(grid, title=params.title.format(title=grid.title))
        grid.save(output.npz)


main(snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

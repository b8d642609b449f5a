"""Figure of a decoded latent grid (samples, interpolations, matched operations, void
probes), drawn from its .npz only: numpy and matplotlib, no decoding."""

from latentspace import plotting, runlog


def main(input, output, log):
    with runlog.logged(log) as logger:
        grid = plotting.Grid.load(input.npz)
        logger.info("%s: %d x %d cells, %s", input.npz, *grid.shape, grid.extra)
        plotting.use_style()
        plotting.save_figure(plotting.grid_figure(grid), output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])

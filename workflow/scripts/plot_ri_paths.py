"""Figure ri-paths-<model>: the linear and the ri-optimal interpolation of each endpoint
pair, every `frame_every`-th frame and the last (Struski et al., Fig. 2 and 3a), drawn
from the saved grid of all frames: no model, no optimisation."""

from dataclasses import replace

from latentspace import plotting, runlog

LABELS = {"ri_optimal": "ri-optimal"}


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        grid = plotting.Grid.load(input.npz)
        n_frames = grid.shape[1]
        cols = list(range(0, n_frames, params.frame_every))
        if cols[-1] != n_frames - 1:
            cols.append(n_frames - 1)
        shown = replace(
            grid,
            latents=grid.latents[:, cols],
            images=grid.images[:, cols],
            col_labels=[grid.col_labels[j] for j in cols],
        )
        logger.info("%s: %d x %d frames, showing columns %s", input.npz, *grid.shape, cols)
        plotting.use_style()
        plotting.save_figure(plotting.grid_figure(shown, LABELS), output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

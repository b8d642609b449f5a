"""Figures of decoded latent grids (samples, interpolations, matched operations, void
probes), drawn from their .npz files only: numpy and matplotlib, no decoding. Input `<key>`
becomes outputs `<key>_pdf` and `<key>_png` for each key of the `figures` param, or input
`npz` becomes `pdf` and `png` without it."""

from latentspace import plotting, runlog


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        plotting.use_style()
        keys = params.get("figures")
        pairs = [(input[k], output[f"{k}_pdf"], output[f"{k}_png"]) for k in keys] if keys else [
            (input.npz, output.pdf, output.png)]
        for npz, pdf, png in pairs:
            grid = plotting.Grid.load(npz)
            logger.info("%s: %d x %d cells, %s", npz, *grid.shape, grid.extra)
            plotting.save_figure(plotting.grid_figure(grid), pdf, png)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])

"""Data of the ri-paths, ri-profiles and ri-projection figures of one model: endpoint
pairs, the linear and the ri-optimal path between each (latentspace.realism), decoded.
Writes the frames of both paths as one latent grid (rows: pair x path, columns: the
k + 1 points), the profiles along each path and a summary per path."""

import pandas as pd
import torch

from latentspace import realism, render, runlog, tables
from latentspace.grids import Grid

PATHS = ("linear", "ri_optimal")


def main(input, output, params, threads, wildcards, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        opts = params.options
        model = render.load_model(input.generator, "auto")
        prior, dim, k, alpha = model.prior, model.latent_dim, opts["k"], opts["alpha"]
        draws = runlog.generator(params.seed, "realism", "endpoints")
        if opts["endpoints"] == "far":
            x, y = realism.farthest_pairs(prior, opts["n_pairs"], dim, draws, opts["candidates"])
        else:
            x, y = render.endpoint_pairs(prior, opts["n_pairs"], dim, draws, "random")
        index = realism.index_for(
            prior,
            dim,
            method=opts["index"],
            n_samples=opts["kde_samples"],
            generator=runlog.generator(params.seed, "realism", "kde"),
        )
        logger.info("model %s (%r, D = %d, step %d): %r", wildcards.model, prior, dim, model.step, index)

        result = realism.optimise_path(
            model.generator,
            index,
            x.float(),
            y.float(),
            k=k,
            steps=opts["steps"],
            lr=opts["lr"],
            optimizer=opts["optimizer"],
            alpha=alpha,
        )
        paths = torch.stack([result.linear, result.path], dim=1).cpu()  # (pairs, 2, k + 1, D)
        images = render.decode(model.generator, paths)  # (pairs, 2, k + 1, C, H, W)
        profile = realism.path_profile(index, paths, images, alpha)
        coords = realism.plane_coordinates(paths)  # (pairs, 2, k + 1, 2)
        for p in range(len(paths)):
            logger.info(
                "pair %d: energy %.4g -> %.4g (best step %d), log index %.4g -> %.4g, min ri %.3g -> %.3g",
                p + 1,
                *profile.energy[p].tolist(),
                result.best_step.reshape(-1)[p],
                *profile.log_index[p].tolist(),
                *profile.ri[p].amin(-1).tolist(),
            )

        n_pairs = len(paths)
        Grid(
            latents=paths.reshape(2 * n_pairs, k + 1, dim).numpy(),
            images=images.reshape(2 * n_pairs, k + 1, *images.shape[3:]).numpy(),
            row_labels=[path for _ in range(n_pairs) for path in PATHS],
            col_labels=[f"{i / k:.3g}" for i in range(k + 1)],
            row_name="path",
            col_name="t",
            title=f"model {wildcards.model}: linear and ri-optimal interpolation",
            row_groups=[f"pair {p + 1}" for p in range(n_pairs) for _ in PATHS],
            extra={
                "model": wildcards.model,
                "step": model.step,
                "prior": repr(prior),
                "index": repr(index),
                "energy": profile.energy.tolist(),
                "log_index": profile.log_index.tolist(),
                "best_step": result.best_step.reshape(-1).tolist(),
                "history": result.history.reshape(len(result.history), -1).T.tolist(),
                **{key: opts[key] for key in ("k", "steps", "lr", "optimizer", "alpha")},
            },
        ).save(output.npz)

        rows, summary = [], []
        for p in range(n_pairs):
            for j, path in enumerate(PATHS):
                for i in range(k + 1):
                    rows.append(
                        {
                            "pair": p + 1,
                            "path": path,
                            "i": i,
                            "t": i / k,
                            "ri": profile.ri[p, j, i].item(),
                            "log_ri": profile.log_ri[p, j, i].item(),
                            "distance": profile.distances[p, j, i - 1].item() if i else float("nan"),
                            "a": coords[p, j, i, 0].item(),
                            "b": coords[p, j, i, 1].item(),
                        }
                    )
                summary.append(
                    {
                        "pair": p + 1,
                        "path": path,
                        "energy": profile.energy[p, j].item(),
                        "log_index": profile.log_index[p, j].item(),
                        "length": profile.length[p, j].item(),
                        "min_ri": profile.ri[p, j].min().item(),
                        "mean_ri": profile.ri[p, j].mean().item(),
                    }
                )
        tables.write_csv(pd.DataFrame(rows), output.profiles)
        tables.write_csv(pd.DataFrame(summary), output.summary)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.wildcards, snakemake.log[0])

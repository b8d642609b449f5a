"""Perceptual path length of one model along each interpolation, between random pairs
and between z and -z: one CSV row per (endpoints, operation) for the whole path and per
bin of t (latentspace.evaluation.score_paths)."""

import torch

from latentspace import evaluation, render, runlog
from latentspace.tables import write_csv


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        (extractor,) = evaluation.load_extractors(
            [params.extractor], input.get("classifier"), params.inception_weights
        ).values()
        model = render.load_model(input.checkpoint, "auto")
        cfg = params.cfg
        logger.info("%s (%s, D = %d), %s features (%s): %d paths per operation and endpoint kind",
                    input.checkpoint, model.prior_name, model.latent_dim, params.extractor, extractor.fingerprint,
                    cfg["n_paths"])
        df = evaluation.score_paths(
            model, extractor, params.ops, n=cfg["n_paths"], seed=params.seed, endpoints=cfg["endpoints"],
            t_draws=cfg["t_draws"], bins=cfg["bins"], log=logger.info,
        )
        write_csv(df.assign(model=params.model)[["model", *df.columns]], output.csv)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

"""Score the latent sets of one metric table for one or more checkpoints: one CSV row per
(checkpoint, set) with each metric's value and its spread over the splits. Checkpoints are
labelled by `labels` (e.g. the model name), or by their training step when it is None."""

import pandas as pd
import torch

from latentspace import evaluation, metrics, render, runlog
from latentspace.tables import write_csv


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        extractors = evaluation.load_extractors(params.extractors, input.get("classifier"), params.inception_weights,
                                                inception_logits=input.get("inception_logits"))
        for name, extractor in extractors.items():
            logger.info("extractor %s: %s", name, extractor.fingerprint)
        with_reference = [name for name in params.extractors if name != "inception_logits"]  # FID extractors
        reference = {name: metrics.FeatureStats.load(path) for name, path in zip(with_reference, input.reference, strict=True)}
        frames = []
        checkpoints = params.get("checkpoints") or input.checkpoints
        for i, checkpoint in enumerate(checkpoints):
            model = render.load_model(checkpoint, "auto")
            label = model.step if params.labels is None else params.labels[i]  # None: label by training step
            logger.info("%s (%s, step %d): %s sets of %d codes", checkpoint, model.prior_name, model.step,
                        params.kind, params.n_samples)
            frame = evaluation.score_sets(
                model, params.kind, evaluation.metrics_for(params.extractors), extractors, reference,
                n=params.n_samples, seed=params.seed, splits=params.splits, log=logger.info,
                metric_options=params.metric_options, **params.options,
            )
            frames.append(frame.assign(**{params.label_name: label}))
        df = pd.concat(frames, ignore_index=True)
        write_csv(df[[params.label_name, *[c for c in df.columns if c != params.label_name]]], output.csv)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

"""Feature statistics of the real test images: the reference every FID is computed against."""

from latentspace import data, evaluation, metrics, runlog


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        real = data.load_configured(params.dataset, "test", limit=params.n_reference)
        (extractor,) = evaluation.load_extractors(
            [params.extractor], input.get("classifier"), params.inception_weights
        ).values()
        stats = metrics.reference_stats(extractor, real, threads=threads)
        if params.with_features and stats.features is None:
            raise RuntimeError("reference_stats: the statistics lack the features that KID and precision/recall need")
        stats.save(output.npz)
        logger.info("%s features of %d real test images (%s): dimension %d", params.extractor, stats.n, real,
                    len(stats.mu))


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

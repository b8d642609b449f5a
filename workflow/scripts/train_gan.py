"""Train one GAN of `models:` (resuming from its checkpoint when there is one)."""

from pathlib import Path

from latentspace import data, runlog, training


def main(output, params, wildcards, threads, log):
    with runlog.logged(log) as logger:
        images = data.load_configured(params.dataset, "train")
        config = training.GANConfig.from_dict(
            {**params.options, "seed": runlog.seed_for(params.seed, "gan", wildcards.model), "num_threads": threads}
        )
        logger.info("model %s: %s on %s", wildcards.model, config.to_dict(), images)
        result = training.train_gan(config, images, Path(output.generator).parent,
                                    progress=runlog.show_progress(threads))
        if result.resumed_from is not None:
            logger.info("resumed from the checkpoint of step %d", result.resumed_from)
        logger.info("model %s: %s", wildcards.model, result.summary(), extra=runlog.CONSOLE)


main(snakemake.output, snakemake.params, snakemake.wildcards, snakemake.threads, snakemake.log[0])

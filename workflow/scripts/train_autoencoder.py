"""Train one auto-encoder of the spherical auto-encoder paper, `sae` or `vae` (resuming
from its checkpoint when there is one)."""

from pathlib import Path

from latentspace import data, runlog, training


def main(output, params, wildcards, threads, log):
    with runlog.logged(log) as logger:
        ds = params.dataset
        images = data.load_configured(ds, "train")
        config = training.AEConfig.from_dict(
            {
                **params.options,
                "kind": wildcards.kind,
                "seed": runlog.seed_for(params.seed, "autoencoder", wildcards.kind),
                "num_threads": threads,
            }
        )
        logger.info("auto-encoder %s: %s on %s", wildcards.kind, config.to_dict(), images)
        result = training.train_autoencoder(config, images, Path(output.model).parent,
                                    progress=runlog.show_progress(threads))
        if result.resumed_from is not None:
            logger.info("resumed from the checkpoint of step %d", result.resumed_from)
        logger.info("auto-encoder %s: %s", wildcards.kind, result.summary(), extra=runlog.CONSOLE)


main(snakemake.output, snakemake.params, snakemake.wildcards, snakemake.threads, snakemake.log[0])

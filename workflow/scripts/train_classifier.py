"""Train the dataset classifier: the offline feature extractor of the metric tables."""

import json

from latentspace import classifier, data, runlog
from latentspace.atomic import write_text


def main(output, params, threads, log):
    with runlog.logged(log) as logger:
        ds = params.dataset
        splits = {"train": data.load_configured(ds, "train"), "test": data.load_configured(ds, "test", limit=None)}
        config = classifier.ClassifierConfig.from_dict(
            {**params.options, "seed": runlog.seed_for(params.seed, "classifier"), "num_threads": threads}
        )
        logger.info("classifier %s on %s, tested on %s", config.to_dict(), splits["train"], splits["test"])
        result = classifier.train_classifier(
            splits["train"], splits["test"], output.model, config, progress=runlog.show_progress(threads)
        )
        summary = {**result.as_dict(), "dataset": ds["name"], "size": ds["size"], "config": config.to_dict()}
        summary.update(n_train=len(splits["train"]), n_test=len(splits["test"]))
        write_text(output.summary, json.dumps(summary, indent=2) + "\n")
        logger.info("classifier: test accuracy %.4f after %.1f s of training", result.test_accuracy,
                    result.train_seconds, extra=runlog.CONSOLE)


main(snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

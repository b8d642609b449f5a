"""Put torchvision's ImageNet InceptionV3 weights (the Inception Score's network) under
resources/, verified against their pinned SHA-256."""

from latentspace import inception, runlog


def main(output, params, log):
    with runlog.logged(log) as logger:
        path = inception.fetch_weights(params.root)
        logger.info("ImageNet InceptionV3 weights ready at %s (sha256 %s)", path, inception.TORCHVISION_SHA256)
        if str(path) != str(output.weights):
            raise RuntimeError(f"fetch_weights wrote {path}, the rule expects {output.weights}")


main(snakemake.output, snakemake.params, snakemake.log[0])

"""Table autoencoders: SAE against VAE on the test split (the spherical auto-encoder
paper's Table 2: MSE, FID and SWD of the reconstructions), plus FID and SWD of each
decoder fed every noise law, and real training images as the floor of FID and SWD."""

import pandas as pd
import torch

from latentspace import autoencoders, data, display, evaluation, priors, runlog, tables, training


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        ds, cfg = params.dataset, params.cfg
        test = data.load_configured(ds, "test", limit=cfg["n_images"])
        train = data.load_configured(ds, "train", limit=len(test))
        models = {k: training.load_autoencoder(p, "auto") for k, p in zip(params.kinds, input.models, strict=True)}
        # FID with every FID extractor of metrics.extractors, Inception's first: its FID is
        # the table's "fid" column, which the claims read.
        names = sorted(params.extractors, key=lambda name: name != "inception")
        extractors = evaluation.load_extractors(names, input.get("classifier"), params.inception_weights)
        noises = priors.from_specs(params.noises)
        logger.info("%d test images, noises %s, extractors %s", len(test), noises,
                    {name: e.fingerprint for name, e in extractors.items()})
        df = autoencoders.evaluate(
            models,
            test.images(),
            noises,
            extractors,
            splits=cfg["splits"],
            n_projections=cfg["n_projections"],
            seed=runlog.seed_for(params.seed, "autoencoders", "swd"),
            generator=runlog.generator(params.seed, "autoencoders", "table"),
            baseline=train.images(),
            log=logger.info,
            metric_options=params.metric_options,
        )
        # one FID column per extractor ("fid" alone with one extractor)
        column = {name: f"fid_{name}" if len(names) > 1 else "fid" for name in names}
        fids = {display.METRIC_LABELS[f"fid_{n}"]: tables.pm_cells(df[c], df[f"{c}_std"], 2) for n, c in column.items()}
        # KID and precision/recall of the first extractor (autoencoders.evaluate), beside FID.
        fids.update({
            display.METRIC_LABELS[f"{kind}_{names[0]}"]: tables.pm_cells(df[kind], df[f"{kind}_std"], display.METRIC_DIGITS[kind])
            for kind in ("kid", "precision", "recall") if kind in df
        })
        shown = pd.DataFrame({
            "model": [{**autoencoders.MODEL_LABELS, "data": "real images"}.get(m, m) for m in df["model"]],
            "images": df["images"],
            "decoder input": df["input"],
            "MSE": tables.pm_cells(df["mse"], df["mse_std"], 4),
            **fids,
            "SWD (pixels)": tables.pm_cells(df["swd"], df["swd_std"], 3),
        })
        caption = (
            f"SAE and VAE on {len(test)} test images of {ds['name']}: reconstructions and decoded noise; "
            f"MSE mean +- std over images, FID and SWD of all images +- std over {cfg['splits']} splits "
            "(KID: over random subsets; precision and recall: k-NN manifolds of the first extractor's features)"
        )
        tables.write_table(shown, output.tex, None, caption=caption)
        tables.write_csv(df, output.csv)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

"""Table autoencoders: SAE against VAE on the test split (the spherical auto-encoder
paper's Table 2: MSE, FID and SWD of the reconstructions), plus FID and SWD of each
decoder fed every noise law, and real training images as the floor of FID and SWD."""

import math

import torch

from latentspace import autoencoders, data, metrics, priors, runlog, tables, training


def pm(values, stds, digits):
    """Cells "value ± std"; "--" where there is no value, the value alone where no std."""
    cells = []
    for v, s in zip(values, stds, strict=True):
        if math.isnan(v):
            cells.append("--")
        else:
            cells.append(f"{v:.{digits}f}" if math.isnan(s) else tables.mean_pm_std(v, s, digits))
    return cells


def main(input, output, params, threads, log):
    with runlog.logged(log) as logger:
        torch.set_num_threads(threads)
        ds, cfg = params.dataset, params.cfg
        options = {k: v for k, v in ds.items() if k == "archive" and v and ds["name"] == "celeba"}
        test = data.load(ds["name"], root=ds["root"], split="test", size=ds["size"], limit=cfg["n_images"], **options)
        train = data.load(ds["name"], root=ds["root"], split="train", size=ds["size"], limit=len(test), **options)
        models = {k: training.load_autoencoder(p, "auto") for k, p in zip(params.kinds, input.models, strict=True)}
        extractor = metrics.ClassifierExtractor.from_file(input.classifier)
        noises = priors.from_specs(params.noises)
        logger.info("%d test images, noises %s, classifier %s", len(test), noises, extractor.fingerprint)
        df = autoencoders.evaluate(
            models,
            test.images(),
            noises,
            extractor,
            splits=cfg["splits"],
            n_projections=cfg["n_projections"],
            seed=runlog.seed_for(params.seed, "autoencoders", "swd"),
            generator=runlog.generator(params.seed, "autoencoders", "table"),
            baseline=train.images(),
            log=logger.info,
        )
        shown = df.assign(
            model=[{**autoencoders.MODEL_LABELS, "data": "real images"}.get(m, m) for m in df["model"]],
            mse=pm(df["mse"], df["mse_std"], 4),
            fid=pm(df["fid"], df["fid_std"], 2),
            swd=pm(df["swd"], df["swd_std"], 3),
        )[["model", "images", "input", "mse", "fid", "swd"]]
        shown.columns = ["model", "images", "decoder input", "MSE", "FID (classifier)", "SWD (pixels)"]
        caption = (
            f"SAE and VAE on {len(test)} test images of {ds['name']}: reconstructions and decoded noise; "
            f"MSE mean +- std over images, FID and SWD of all images +- std over {cfg['splits']} splits"
        )
        tables.write_table(shown, output.tex, None, caption=caption)
        tables.write_csv(df, output.csv)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.threads, snakemake.log[0])

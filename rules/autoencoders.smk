"""The auto-encoder stage (spherical auto-encoder paper, section 5.2 and its appendix): a
spherical auto-encoder (sae) and a Gaussian VAE (vae) of the same architecture, trained on
`dataset` with the options of `autoencoders.training`.

train_autoencoder keeps its checkpoint in results/models/autoencoder-<kind>/ (not a declared
output, so Snakemake never deletes it): a killed or failed job, run again, resumes from its
last checkpoint. The table scores both models against the test split with the FID
extractors `metrics.extractors` names (the dataset classifier of rules/metrics.smk,
InceptionV3) and POT's sliced Wasserstein distance; each figure is
a data rule (torch env) writing results/data/ and a plot rule (analysis env) reading only
that file, so restyling never re-encodes.
"""

AE = config["autoencoders"]
AE_KINDS = ["sae", "vae"]
AE_DIR = RESULTS / "models" / "autoencoder-{kind}"

for _kind in AE_KINDS:
    if f"autoencoder-{_kind}" in MODELS:
        raise WorkflowError(
            f"invalid config at models.autoencoder-{_kind}: that name is taken by the auto-encoder "
            f"{_kind} (results/models/autoencoder-{_kind}/); rename the GAN"
        )

AE_SCRIPT_PARAMS = dict(kinds=AE_KINDS, dataset=config["dataset"], seed=config["seed"])


rule train_autoencoder:
    input:
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        multiext(
            f"{AE_DIR}/", model="autoencoder.pt", reconstructions="reconstructions.png"
        ),
    log:
        LOGS / "train_autoencoder_{kind}.log",
    wildcard_constraints:
        kind=one_of(AE_KINDS),
    cache: True  # with --cache, as train_gan (rules/train.smk)
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        options=AE["training"],
        dataset=config["dataset"],
        seed=config["seed"],
        code=TRAINING_CODE,
    script:
        "../workflow/scripts/train_autoencoder.py"


AE_MODELS = expand(rules.train_autoencoder.output.model, kind=AE_KINDS)


rule autoencoders_table:
    input:
        unpack(
            lambda wildcards: (
                {"classifier": rules.train_classifier.output.model}
                if "classifier" in EXTRACTORS
                else {}
            )
        ),
        models=AE_MODELS,
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        **table("autoencoders"),
    log:
        LOGS / "autoencoders_table.log",
    benchmark:
        BENCH / "autoencoders_table.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    params:
        **AE_SCRIPT_PARAMS,
        cfg=AE["table"],
        noises=AE["noises"],
        extractors=[e for e in EXTRACTORS if e in FID_EXTRACTORS],
        inception_weights=MET["inception_weights"],
        metric_options=SCORING_PARAMS["metric_options"],
    script:
        "../workflow/scripts/autoencoders_table.py"


rule reconstructions_data:
    input:
        models=AE_MODELS,
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        npz=grid_file("reconstructions"),
    log:
        LOGS / "reconstructions_data.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        **AE_SCRIPT_PARAMS,
        figure="reconstructions",
        cfg=AE["reconstructions"],
    script:
        "../workflow/scripts/autoencoder_grid.py"


rule plot_reconstructions:
    input:
        npz=rules.reconstructions_data.output.npz,
    output:
        **figure("reconstructions"),
    log:
        LOGS / "plot_reconstructions.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule decoder_priors_data:
    input:
        models=AE_MODELS,
    output:
        npz=grid_file("decoder-priors"),
    log:
        LOGS / "decoder_priors_data.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        **AE_SCRIPT_PARAMS,
        figure="decoder-priors",
        cfg=AE["decoder_priors"],
        noises=AE["noises"],
    script:
        "../workflow/scripts/autoencoder_grid.py"


rule plot_decoder_priors:
    input:
        npz=rules.decoder_priors_data.output.npz,
    output:
        **figure("decoder-priors"),
    log:
        LOGS / "plot_decoder_priors.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule latent_tsne_data:
    input:
        models=AE_MODELS,
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        csv=data_file("latent-tsne"),
    log:
        LOGS / "latent_tsne_data.log",
    benchmark:
        BENCH / "latent_tsne_data.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    params:
        **AE_SCRIPT_PARAMS,
        cfg=AE["latent_tsne"],
    script:
        "../workflow/scripts/latent_tsne_data.py"


rule plot_latent_tsne:
    input:
        csv=rules.latent_tsne_data.output.csv,
    output:
        **figure("latent-tsne"),
    log:
        LOGS / "plot_latent_tsne.log",
    conda:
        "../envs/analysis.yaml"
    params:
        dataset=DATASET,
    script:
        "../workflow/scripts/plot_latent_tsne.py"


AUTOENCODER_TARGETS = [
    table("autoencoders")["tex"],
    *[
        figure(name)["pdf"]
        for name in ("reconstructions", "decoder-priors", "latent-tsne")
    ],
]

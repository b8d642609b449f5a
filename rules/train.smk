"""Datasets and GAN training: one job per model of `models:`.

A training job keeps its checkpoint in results/models/<model>/ (not a declared output,
so Snakemake never deletes it): a killed or failed job, run again, resumes from its last
checkpoint. Threads, GPUs and memory come from profiles, never from the config.
"""


rule download_dataset:
    output:
        ready=f"{config['dataset']['root']}/{{dataset}}.ready.json",
    params:
        root=lambda wildcards, output: str(Path(output.ready).parent),
        archive=config["dataset"]["archive"],
        verify=config["dataset"]["verify"],
    log:
        LOGS / "download_dataset_{dataset}.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/download_dataset.py"


rule train_gan:
    input:
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        generator=RESULTS / "models" / "{model}" / "generator.pt",
        samples=RESULTS / "models" / "{model}" / "samples.png",
    params:
        options=lambda wc: model_options(wc.model),
        dataset=config["dataset"],
        seed=config["seed"],
    wildcard_constraints:
        model="|".join(MODELS) if MODELS else "(?!)",
    threads: 1
    # Longest first (steps / 100), so that the longest model never starts last and leaves
    # one core idle at the end of the run.
    priority: lambda wildcards: model_options(wildcards.model)["steps"] // 100
    log:
        LOGS / "train_gan_{model}.log",
    benchmark:
        BENCH / "train_gan_{model}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/train_gan.py"


TRAIN_TARGETS = expand(rules.train_gan.output.samples, model=MODELS)

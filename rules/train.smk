"""Datasets and GAN training: one job per model of `models:`.

A training job keeps its checkpoint in results/models/<model>/ (not a declared output,
so Snakemake never deletes it): a killed or failed job, run again, resumes from its last
checkpoint. Threads, GPUs and memory come from profiles, never from the config.
"""


rule download_dataset:
    output:
        ready=f"{config['dataset']['root']}/{{dataset}}.ready.json",
    log:
        LOGS / "download_dataset_{dataset}.log",
    conda:
        "../envs/torch.yaml"
    params:
        root=lambda wildcards, output: str(Path(output.ready).parent),
        archive=config["dataset"]["archive"],
        verify=config["dataset"]["verify"],
    script:
        "../workflow/scripts/download_dataset.py"


# Between-workflow caching (`snakemake --cache`, with SNAKEMAKE_OUTPUT_CACHE set): a model
# trained once is reused by any config or checkout that asks for it with the same options,
# seed, dataset and training code (params `code`: latentspace.provenance.code_digest), as
# symbolic links into the cache. A model with snapshot_steps writes its snapshots beside its
# declared outputs, where a cache entry would not hold them, so those models train in
# `train_gan_snapshots`, the same rule without the cache. Snakemake refuses `benchmark:` on a
# cached rule (a cache hit has no timing to report), so the training rules have none: each
# run's status.jsonl records its time, images/s and peak memory.
rule train_gan:
    input:
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        multiext(
            f"{RESULTS}/models/{{model}}/",
            generator="generator.pt",
            samples="samples.png",
        ),
    log:
        LOGS / "train_gan_{model}.log",
    wildcard_constraints:
        model=one_of(CACHEABLE_MODELS),
    cache: True
    # Longest first (steps / 100), so that the longest model never starts last and leaves
    # one core idle at the end of the run.
    priority: lambda wildcards: model_options(wildcards.model)["steps"] // 100
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        options=lambda wc: model_options(wc.model),
        dataset=config["dataset"],
        seed=config["seed"],
        code=TRAINING_CODE,
    script:
        "../workflow/scripts/train_gan.py"


use rule train_gan as train_gan_snapshots with:
    wildcard_constraints:
        model=one_of(SNAPSHOT_MODELS),
    cache: False


TRAIN_TARGETS = expand(rules.train_gan.output.samples, model=MODELS)

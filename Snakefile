"""Reproducible workflow for "On Latent Distributions Without Finite Mean in Generative
Models" and its companion papers. Run `snakemake --cores all`; see README.md."""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/geometry.smk"
include: "rules/train.smk"


rule all:
    input:
        GEOMETRY_TARGETS,
        TRAIN_TARGETS,
    default_target: True

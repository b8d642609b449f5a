"""Reproducible workflow for "On Latent Distributions Without Finite Mean in Generative
Models" and its companion papers. Run `snakemake --cores all`; see README.md."""

from snakemake.utils import min_version

min_version("9.0")


# The default config, unless the command line names one: `--configfile config/test.yaml`
# then means exactly that file, not a merge of both.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/geometry.smk"
include: "rules/train.smk"
include: "rules/render.smk"


rule all:
    input:
        GEOMETRY_TARGETS,
        TRAIN_TARGETS,
        RENDER_TARGETS,
    default_target: True

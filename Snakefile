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
include: "rules/metrics.smk"
include: "rules/realism.smk"
include: "rules/report.smk"
include: "rules/autoencoders.smk"
include: "rules/claims.smk"


rule all:
    default_target: True
    input:
        GEOMETRY_TARGETS,
        TRAIN_TARGETS,
        RENDER_TARGETS,
        METRICS_TARGETS,
        REALISM_TARGETS,
        AUTOENCODER_TARGETS,
        CLAIMS_TARGETS,  # the claims ledger, values.tex and results.md (rules/claims.smk)
        rules.report.output.html,  # the report shows every target above
        PDF_TARGETS,  # the reproduction PDF, where TeX Live is installed (rules/report.smk)


# Under a cluster executor (profiles/slurm) these run on the submit host, every other rule
# as a cluster job: `all`, downloads (compute nodes often have no internet), and the plots
# and the report and the PDF (seconds each, reading files the cluster jobs wrote). What the
# `localrules:` directive does, by name pattern, so that plot rules added later are local too.
workflow.localrules(
    *(
        r.name
        for r in workflow.rules
        if r.name in ("all", "report", "reproduction_pdf")
        or r.name.startswith(("download_", "plot_"))
    )
)

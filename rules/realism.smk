"""The realisticity-index stage (Struski et al. 2019, "Interpolation in generative
models"): linear against ri-optimal interpolations on the models of `realism.models`.

One data rule per model optimises the paths once (torch env) and writes everything the
three figures need: the decoded frames of both paths as a latent grid
(results/data/realism/ri-<model>.npz, every frame; latentspace.plotting.Grid.load reads
it), the profiles along each path
(results/data/realism/ri-profiles-<model>.csv: ri, L2 distance to the previous frame, the
eq. 4 plane coordinates) and a summary per path (results/data/realism/ri-summary-<model>.csv:
eq. 3 energy, log path index, decoded length). The plot rules read only those files, so
restyling a figure (or showing other frames) never optimises again. Endpoints and KDE
samples come from the streams seed/realism/endpoints and seed/realism/kde: models with
the same prior and latent dimension get the same endpoints.
"""

RI = config["realism"]
RI_MODELS = RI["models"]


rule ri_data:
    input:
        generator=rules.train_gan.output.generator,
    output:
        npz=data_file("realism/ri-{model}", "npz"),
        profiles=data_file("realism/ri-profiles-{model}"),
        summary=data_file("realism/ri-summary-{model}"),
    log:
        LOGS / "ri_data_{model}.log",
    benchmark:
        BENCH / "ri_data_{model}.tsv"
    wildcard_constraints:
        model=one_of(RI_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        options={k: v for k, v in RI.items() if k not in ("models", "frame_every")},
        seed=config["seed"],
    script:
        "../workflow/scripts/realism_data.py"


rule plot_ri_paths:
    input:
        npz=rules.ri_data.output.npz,
    output:
        **figure("ri-paths-{model}"),
    log:
        LOGS / "plot_ri_paths_{model}.log",
    wildcard_constraints:
        model=one_of(RI_MODELS),
    conda:
        "../envs/analysis.yaml"
    params:
        frame_every=RI["frame_every"],
    script:
        "../workflow/scripts/plot_ri_paths.py"


rule plot_ri_profiles:
    input:
        csv=rules.ri_data.output.profiles,
    output:
        **figure("ri-profiles-{model}"),
    log:
        LOGS / "plot_ri_profiles_{model}.log",
    wildcard_constraints:
        model=one_of(RI_MODELS),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_ri_profiles.py"


rule plot_ri_projection:
    input:
        csv=rules.ri_data.output.profiles,
    output:
        **figure("ri-projection-{model}"),
    log:
        LOGS / "plot_ri_projection_{model}.log",
    wildcard_constraints:
        model=one_of(RI_MODELS),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_ri_projection.py"


REALISM_TARGETS = [
    *expand(rules.plot_ri_paths.output, model=RI_MODELS),
    *expand(rules.plot_ri_profiles.output, model=RI_MODELS),
    *expand(rules.plot_ri_projection.output, model=RI_MODELS),
]

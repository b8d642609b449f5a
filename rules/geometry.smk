"""The latent-geometry stage: figures and tables that need no trained model.

Each figure is two rules: `<name>_data` computes its numbers (torch env) and
`plot_<name>` draws them (analysis env), so restyling a figure never recomputes.
Tables are written by one rule each.
"""

GEO = config["geometry"]


rule norms_vs_dimension_data:
    output:
        csv=data_file("norms-vs-dimension"),
    log:
        LOGS / "norms_vs_dimension_data.log",
    benchmark:
        BENCH / "norms_vs_dimension_data.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        priors=prior_specs(GEO["norms_vs_dimension"]["priors"]),
        cfg=GEO["norms_vs_dimension"],
        seed=config["seed"],
    script:
        "../workflow/scripts/norms_vs_dimension_data.py"


rule plot_norms_vs_dimension:
    input:
        csv=rules.norms_vs_dimension_data.output.csv,
    output:
        **figure("norms-vs-dimension"),
    log:
        LOGS / "plot_norms_vs_dimension.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_norms_vs_dimension.py"


rule norm_concentration_table:
    output:
        **table("norm-concentration"),
    log:
        LOGS / "norm_concentration_table.log",
    benchmark:
        BENCH / "norm_concentration_table.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        priors=prior_specs(GEO["norm_concentration"]["priors"]),
        cfg=GEO["norm_concentration"],
        seed=config["seed"],
    script:
        "../workflow/scripts/norm_concentration_table.py"


rule interpolations_2d_data:
    output:
        csv=data_file("interpolations-2d"),
    log:
        LOGS / "interpolations_2d_data.log",
    benchmark:
        BENCH / "interpolations_2d_data.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        priors=prior_specs(GEO["interpolations_2d"]["priors"]),
        cfg=GEO["interpolations_2d"],
        seed=config["seed"],
    script:
        "../workflow/scripts/interpolations_2d_data.py"


rule plot_interpolations_2d:
    input:
        csv=rules.interpolations_2d_data.output.csv,
    output:
        **figure("interpolations-2d"),
    log:
        LOGS / "plot_interpolations_2d.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_interpolations_2d.py"


rule midpoints_2d_data:
    output:
        csv=data_file("midpoints-2d"),
    log:
        LOGS / "midpoints_2d_data.log",
    benchmark:
        BENCH / "midpoints_2d_data.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        cfg=GEO["midpoints_2d"],
        seed=config["seed"],
    script:
        "../workflow/scripts/midpoints_2d_data.py"


rule plot_midpoints_2d:
    input:
        csv=rules.midpoints_2d_data.output.csv,
    output:
        **figure("midpoints-2d"),
    log:
        LOGS / "plot_midpoints_2d.log",
    conda:
        "../envs/analysis.yaml"
    params:
        n_pairs=GEO["midpoints_2d"]["n_pairs"],
    script:
        "../workflow/scripts/plot_midpoints_2d.py"


rule midpoint_norms_100d_data:
    output:
        csv=data_file("midpoint-norms-100d"),
    log:
        LOGS / "midpoint_norms_100d_data.log",
    benchmark:
        BENCH / "midpoint_norms_100d_data.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        priors=prior_specs(GEO["midpoint_norms_100d"]["priors"]),
        cfg=GEO["midpoint_norms_100d"],
        seed=config["seed"],
    script:
        "../workflow/scripts/midpoint_norms_100d_data.py"


rule plot_midpoint_norms_100d:
    input:
        csv=rules.midpoint_norms_100d_data.output.csv,
    output:
        **figure("midpoint-norms-100d"),
    log:
        LOGS / "plot_midpoint_norms_100d.log",
    conda:
        "../envs/analysis.yaml"
    params:
        dim=GEO["midpoint_norms_100d"]["dim"],
    script:
        "../workflow/scripts/plot_midpoint_norms_100d.py"


rule transport_maps_data:
    output:
        csv=data_file("transport-maps"),
    log:
        LOGS / "transport_maps_data.log",
    conda:
        "../envs/torch.yaml"
    params:
        priors=prior_specs(GEO["transport_maps"]["priors"]),
        cfg=GEO["transport_maps"],
    script:
        "../workflow/scripts/transport_maps_data.py"


rule plot_transport_maps:
    input:
        csv=rules.transport_maps_data.output.csv,
    output:
        **figure("transport-maps"),
    log:
        LOGS / "plot_transport_maps.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_transport_maps.py"


rule sparse_prior_3d_data:
    output:
        csv=data_file("sparse-prior-3d"),
    log:
        LOGS / "sparse_prior_3d_data.log",
    conda:
        "../envs/torch.yaml"
    params:
        cfg=GEO["sparse_prior_3d"],
        seed=config["seed"],
    script:
        "../workflow/scripts/sparse_prior_3d_data.py"


rule plot_sparse_prior_3d:
    input:
        csv=rules.sparse_prior_3d_data.output.csv,
    output:
        **figure("sparse-prior-3d"),
    log:
        LOGS / "plot_sparse_prior_3d.log",
    conda:
        "../envs/analysis.yaml"
    params:
        k=GEO["sparse_prior_3d"]["k"],
    script:
        "../workflow/scripts/plot_sparse_prior_3d.py"


rule sphere_geometry_data:
    output:
        volume=data_file("sphere-volume"),
        distances=data_file("sphere-distances"),
    log:
        LOGS / "sphere_geometry_data.log",
    benchmark:
        BENCH / "sphere_geometry_data.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        cfg=GEO["sphere_geometry"],
        seed=config["seed"],
    script:
        "../workflow/scripts/sphere_geometry_data.py"


rule plot_sphere_geometry:
    input:
        volume=rules.sphere_geometry_data.output.volume,
        distances=rules.sphere_geometry_data.output.distances,
    output:
        **figure("sphere-geometry"),
    log:
        LOGS / "plot_sphere_geometry.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_sphere_geometry.py"


rule distribution_mismatch_table:
    output:
        **table("distribution-mismatch"),
    log:
        LOGS / "distribution_mismatch_table.log",
    benchmark:
        BENCH / "distribution_mismatch_table.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        priors=prior_specs(GEO["distribution_mismatch"]["priors"]),
        cfg=GEO["distribution_mismatch"],
        seed=config["seed"],
    script:
        "../workflow/scripts/distribution_mismatch_table.py"


GEOMETRY_TARGETS = [
    *rules.plot_norms_vs_dimension.output,
    *rules.norm_concentration_table.output,
    *rules.plot_interpolations_2d.output,
    *rules.plot_midpoints_2d.output,
    *rules.plot_midpoint_norms_100d.output,
    *rules.plot_transport_maps.output,
    *rules.plot_sparse_prior_3d.output,
    *rules.plot_sphere_geometry.output,
    *rules.distribution_mismatch_table.output,
]

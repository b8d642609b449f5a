"""The decoded-image stage: every image figure of the papers as a labelled latent grid
decoded by a trained model of `models:`.

Each figure family is two rules, as in the geometry stage: `<name>_data` builds the latent
grid and decodes it with latentspace.render (torch env) into
results/data/grids/<figure>.npz, and `plot_<name>` draws that file (analysis env), so
restyling a figure never decodes again. Every data rule runs workflow/scripts/render_grid.py
with the builder `kind` and its `options` (latentspace.render's docstrings list them) and
draws its latents from the stream `seed/<family>`: models with the same prior and latent
dimension get the same codes, and every snapshot of void-emergence the same interpolation.
Snapshot generators are not declared outputs of train_gan, so void_emergence_data depends
on the model's generator.pt, written after the last snapshot. Stacked figures (interp-tails,
void-origin, void-emergence) label each row by its model or step when each part is one row,
and otherwise make it a row group. A `title` param holds "{title}" where the builder's own
title goes (a function, so that Snakemake does not take it for a wildcard).
"""

REN = config["render"]
MATCHED = REN["matched"]
CAUCHY_MODELS = [m for m in MODELS if config["models"][m]["prior"] == "cauchy"]
EMERGENCE_MODEL = REN["void_emergence"]["model"]
VOID_EMERGENCE_STEPS = emergence_steps(EMERGENCE_MODEL)  # the rows of void-emergence

# The figures of the matched-operations paper: figure -> (builder kind, its options).
MATCHED_FIGURES = {
    "two-point": ("interpolations", {"ops": MATCHED["ops"], **MATCHED["two_point"]}),
    "midpoints": ("midpoints", {"ops": MATCHED["ops"], **MATCHED["midpoints"]}),
    "four-point": ("four_point", {"ops": MATCHED["ops"], **MATCHED["four_point"]}),
    "vicinity": ("vicinity", MATCHED["vicinity"]),
    "random-walk": ("random_walk", MATCHED["random_walk"]),
}


rule samples_data:
    input:
        generator=rules.train_gan.output.generator,
    output:
        npz=grid_file("samples-{model}"),
    params:
        kind="samples",
        options=REN["samples"],
        seed=config["seed"],
        stream="samples",
        checkpoints=lambda wildcards, input: [input.generator],
        labels=None,
        title=lambda wildcards: f"model {wildcards.model}: {{title}}",
    wildcard_constraints:
        model=one_of(MODELS),
    threads: 1
    log:
        LOGS / "samples_data_{model}.log",
    benchmark:
        BENCH / "samples_data_{model}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_samples:
    input:
        npz=rules.samples_data.output.npz,
    output:
        **figure("samples-{model}"),
    wildcard_constraints:
        model=one_of(MODELS),
    log:
        LOGS / "plot_samples_{model}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule interp_data:
    input:
        generator=rules.train_gan.output.generator,
    output:
        npz=grid_file("interp-{endpoints}-{model}"),
    params:
        kind="interpolations",
        options=lambda wildcards: {
            **{k: v for k, v in REN["interpolations"].items() if k != "tail_q"},
            "endpoints": wildcards.endpoints,
        },
        seed=config["seed"],
        stream=lambda wildcards: f"interp-{wildcards.endpoints}",
        checkpoints=lambda wildcards, input: [input.generator],
        labels=None,
        title=lambda wildcards: f"model {wildcards.model}: {{title}}",
    wildcard_constraints:
        endpoints="random|opposite",
        model=one_of(MODELS),
    threads: 1
    log:
        LOGS / "interp_data_{endpoints}_{model}.log",
    benchmark:
        BENCH / "interp_data_{endpoints}_{model}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_interp:
    input:
        npz=rules.interp_data.output.npz,
    output:
        **figure("interp-{endpoints}-{model}"),
    wildcard_constraints:
        endpoints="random|opposite",
        model=one_of(MODELS),
    log:
        LOGS / "plot_interp_{endpoints}_{model}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule interp_tails_data:
    input:
        generators=expand(rules.train_gan.output.generator, model=CAUCHY_MODELS),
    output:
        npz=grid_file("interp-tails"),
    params:
        kind="interpolations",
        options={**REN["interpolations"], "endpoints": "tails"},
        seed=config["seed"],
        stream="interp-tails",
        checkpoints=lambda wildcards, input: list(input.generators),
        labels=CAUCHY_MODELS,
        row_name="model" if REN["interpolations"]["n_pairs"] * len(REN["interpolations"]["ops"]) == 1 else None,
        title=lambda wildcards: "{title}, by model",
    threads: 1
    log:
        LOGS / "interp_tails_data.log",
    benchmark:
        BENCH / "interp_tails_data.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_interp_tails:
    input:
        npz=rules.interp_tails_data.output.npz,
    output:
        **figure("interp-tails"),
    log:
        LOGS / "plot_interp_tails.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule operations_compare_data:
    input:
        generator=expand(rules.train_gan.output.generator, model=REN["operations_compare"]["model"] or []),
    output:
        npz=grid_file("operations-compare"),
    params:
        kind="interpolations",
        options={**{k: v for k, v in REN["operations_compare"].items() if k != "model"}, "endpoints": "random"},
        seed=config["seed"],
        stream="operations-compare",
        checkpoints=lambda wildcards, input: list(input.generator),
        labels=None,
        title=lambda wildcards: f"model {REN['operations_compare']['model']}: {{title}}",
    threads: 1
    log:
        LOGS / "operations_compare_data.log",
    benchmark:
        BENCH / "operations_compare_data.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_operations_compare:
    input:
        npz=rules.operations_compare_data.output.npz,
    output:
        **figure("operations-compare"),
    log:
        LOGS / "plot_operations_compare.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule operations_compare_opposite_data:
    input:
        generator=rules.operations_compare_data.input.generator,
    output:
        npz=grid_file("operations-compare-opposite"),
    params:
        kind="interpolations",
        options={**{k: v for k, v in REN["operations_compare"].items() if k != "model"}, "endpoints": "opposite"},
        seed=config["seed"],
        stream="operations-compare-opposite",
        checkpoints=lambda wildcards, input: list(input.generator),
        labels=None,
        title=lambda wildcards: f"model {REN['operations_compare']['model']}: {{title}}",
    threads: 1
    log:
        LOGS / "operations_compare_opposite_data.log",
    benchmark:
        BENCH / "operations_compare_opposite_data.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_operations_compare_opposite:
    input:
        npz=rules.operations_compare_opposite_data.output.npz,
    output:
        **figure("operations-compare-opposite"),
    log:
        LOGS / "plot_operations_compare_opposite.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule matched_data:
    input:
        generator=rules.train_gan.output.generator,
    output:
        npz=grid_file("{figure}-{model}"),
    params:
        kind=lambda wildcards: MATCHED_FIGURES[wildcards.figure][0],
        options=lambda wildcards: MATCHED_FIGURES[wildcards.figure][1],
        seed=config["seed"],
        stream=lambda wildcards: wildcards.figure,
        checkpoints=lambda wildcards, input: [input.generator],
        labels=None,
        title=lambda wildcards: f"model {wildcards.model}: {{title}}",
    wildcard_constraints:
        figure=one_of(MATCHED_FIGURES),
        model=one_of(MATCHED["models"]),
    threads: 1
    log:
        LOGS / "matched_data_{figure}_{model}.log",
    benchmark:
        BENCH / "matched_data_{figure}_{model}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_matched:
    input:
        npz=rules.matched_data.output.npz,
    output:
        **figure("{figure}-{model}"),
    wildcard_constraints:
        figure=one_of(MATCHED_FIGURES),
        model=one_of(MATCHED["models"]),
    log:
        LOGS / "plot_matched_{figure}_{model}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule void_origin_data:
    input:
        generators=expand(rules.train_gan.output.generator, model=REN["void_origin"]["models"]),
    output:
        npz=grid_file("void-origin"),
    params:
        kind="interpolations",
        options={**{k: v for k, v in REN["void_origin"].items() if k != "models"}, "endpoints": "opposite"},
        seed=config["seed"],
        stream="void-origin",
        checkpoints=lambda wildcards, input: list(input.generators),
        labels=REN["void_origin"]["models"],
        row_name="model" if REN["void_origin"]["n_pairs"] == 1 else None,
        title=lambda wildcards: "linear interpolations from z to -z through the origin (t = 0.5), by model",
    threads: 1
    log:
        LOGS / "void_origin_data.log",
    benchmark:
        BENCH / "void_origin_data.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_void_origin:
    input:
        npz=rules.void_origin_data.output.npz,
    output:
        **figure("void-origin"),
    log:
        LOGS / "plot_void_origin.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule void_emergence_data:
    input:
        generator=expand(rules.train_gan.output.generator, model=EMERGENCE_MODEL or []),
    output:
        npz=grid_file("void-emergence"),
    params:
        kind="interpolations",
        options={**{k: v for k, v in REN["void_emergence"].items() if k != "model"}, "endpoints": "opposite"},
        seed=config["seed"],
        stream="void-emergence",
        checkpoints=lambda wildcards, input: emergence_checkpoints(input.generator[0], VOID_EMERGENCE_STEPS),
        labels=[f"step {s}" for s in VOID_EMERGENCE_STEPS],
        row_name="training step" if REN["void_emergence"]["n_pairs"] == 1 else None,
        title=lambda wildcards: f"model {EMERGENCE_MODEL}: linear interpolation from z to -z through the origin, "
        "by training step",
    threads: 1
    log:
        LOGS / "void_emergence_data.log",
    benchmark:
        BENCH / "void_emergence_data.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_void_emergence:
    input:
        npz=rules.void_emergence_data.output.npz,
    output:
        **figure("void-emergence"),
    log:
        LOGS / "plot_void_emergence.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule void_shrunk_data:
    input:
        generator=rules.train_gan.output.generator,
    output:
        npz=grid_file("void-shrunk-{model}"),
    params:
        kind="shrunk",
        options={k: v for k, v in REN["void_shrunk"].items() if k != "models"},
        seed=config["seed"],
        stream="void-shrunk",
        checkpoints=lambda wildcards, input: [input.generator],
        labels=None,
        title=lambda wildcards: f"model {wildcards.model}: {{title}}",
    wildcard_constraints:
        model=one_of(REN["void_shrunk"]["models"]),
    threads: 1
    log:
        LOGS / "void_shrunk_data_{model}.log",
    benchmark:
        BENCH / "void_shrunk_data_{model}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_void_shrunk:
    input:
        npz=rules.void_shrunk_data.output.npz,
    output:
        **figure("void-shrunk-{model}"),
    wildcard_constraints:
        model=one_of(REN["void_shrunk"]["models"]),
    log:
        LOGS / "plot_void_shrunk_{model}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule void_sparse_data:
    input:
        generator=expand(rules.train_gan.output.generator, model=REN["void_sparse"]["model"] or []),
    output:
        npz=grid_file("void-sparse"),
    params:
        kind="sparse",
        options={k: v for k, v in REN["void_sparse"].items() if k != "model"},
        seed=config["seed"],
        stream="void-sparse",
        checkpoints=lambda wildcards, input: list(input.generator),
        labels=None,
        title=lambda wildcards: f"model {REN['void_sparse']['model']}: {{title}}",
    threads: 1
    log:
        LOGS / "void_sparse_data.log",
    benchmark:
        BENCH / "void_sparse_data.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_void_sparse:
    input:
        npz=rules.void_sparse_data.output.npz,
    output:
        **figure("void-sparse"),
    log:
        LOGS / "plot_void_sparse.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


rule void_orthogonal_data:
    input:
        generator=expand(rules.train_gan.output.generator, model=REN["void_orthogonal"]["model"] or []),
    output:
        npz=grid_file("void-orthogonal"),
    params:
        kind="orthogonal",
        options={k: v for k, v in REN["void_orthogonal"].items() if k != "model"},
        seed=config["seed"],
        stream="void-orthogonal",
        checkpoints=lambda wildcards, input: list(input.generator),
        labels=None,
        title=lambda wildcards: f"model {REN['void_orthogonal']['model']}: {{title}}",
    threads: 1
    log:
        LOGS / "void_orthogonal_data.log",
    benchmark:
        BENCH / "void_orthogonal_data.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/render_grid.py"


rule plot_void_orthogonal:
    input:
        npz=rules.void_orthogonal_data.output.npz,
    output:
        **figure("void-orthogonal"),
    log:
        LOGS / "plot_void_orthogonal.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_grid.py"


# Figures whose model is null (or whose model list is empty) are left out.
RENDER_TARGETS = [
    *expand(rules.plot_samples.output, model=MODELS),
    *expand(rules.plot_interp.output, endpoints=["random", "opposite"], model=MODELS),
    *(rules.plot_interp_tails.output if CAUCHY_MODELS else []),
    *(rules.plot_operations_compare.output if REN["operations_compare"]["model"] else []),
    *(rules.plot_operations_compare_opposite.output if REN["operations_compare"]["model"] else []),
    *expand(rules.plot_matched.output, figure=list(MATCHED_FIGURES), model=MATCHED["models"]),
    *(rules.plot_void_origin.output if REN["void_origin"]["models"] else []),
    *(rules.plot_void_emergence.output if EMERGENCE_MODEL else []),
    *expand(rules.plot_void_shrunk.output, model=REN["void_shrunk"]["models"]),
    *(rules.plot_void_sparse.output if REN["void_sparse"]["model"] else []),
    *(rules.plot_void_orthogonal.output if REN["void_orthogonal"]["model"] else []),
]

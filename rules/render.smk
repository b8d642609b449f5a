"""The decoded-image stage: every image figure of the papers as a labelled latent grid
decoded by a trained model of `models:`, driven by two tables.

`MODEL_FAMILIES` lists the figures drawn once per model (samples, interpolations, the
matched paper's figures, void-shrunk): figure `<family>-<model>`. One decoding job per model
(`model_grids*`) writes all of that model's grids into results/data/grids/, and one plot job
per model (`plot_model_grids*`) draws them: a job pays a few seconds to import torch or
matplotlib, more than decoding a grid costs (benchmarks/README.md, "whole runs": 49
decoding jobs took 153 s of job time, 13 take 48 s). Models that have the same families share a rule, named after what they add
(`model_grids_with_matched_void_shrunk`). `SHARED_FIGURES` lists the figures that stack
several models or snapshots into one grid (interp-tails, void-origin, void-emergence, ...):
one `<figure>_data` and one `plot_<figure>` rule each. Decoding runs in the torch env,
plotting in the analysis env, so restyling a figure never decodes again and rebuilding one
figure never trains.

Every grid runs latentspace.render's builder `kind` with its `options` (render's docstrings
list them) and draws its latents from the stream `seed/<stream>`: models with the same
prior and latent dimension get the same codes, and every snapshot of void-emergence the
same interpolation. Snapshot generators are not declared outputs of train_gan, so
void_emergence_data depends on the model's generator.pt, written after the last snapshot.
Stacked figures label each row by its model or step when each part is one row, and
otherwise make it a row group. A title holds "{title}" where the builder's own title goes.
"""

REN = config["render"]
MATCHED = REN["matched"]
CAUCHY_MODELS = [m for m in MODELS if config["models"][m]["prior"] == "cauchy"]
EMERGENCE_MODEL = REN["void_emergence"]["model"]
VOID_EMERGENCE_STEPS = emergence_steps(EMERGENCE_MODEL)  # the rows of void-emergence


def _without(section, *keys):
    return {k: v for k, v in section.items() if k not in keys}


def _interp(endpoints):
    return {**_without(REN["interpolations"], "tail_q"), "endpoints": endpoints}


# The figures of the matched-operations paper: figure -> (builder kind, its options).
MATCHED_FIGURES = {
    "two-point": ("interpolations", {"ops": MATCHED["ops"], **MATCHED["two_point"]}),
    "midpoints": ("midpoints", {"ops": MATCHED["ops"], **MATCHED["midpoints"]}),
    "four-point": ("four_point", {"ops": MATCHED["ops"], **MATCHED["four_point"]}),
    "vicinity": ("vicinity", MATCHED["vicinity"]),
    "random-walk": ("random_walk", MATCHED["random_walk"]),
}

# Figures drawn once per model: family -> (builder kind, options, latent stream, models).
MODEL_FAMILIES = {
    "samples": ("samples", REN["samples"], "samples", MODELS),
    "interp-random": ("interpolations", _interp("random"), "interp-random", MODELS),
    "interp-opposite": (
        "interpolations",
        _interp("opposite"),
        "interp-opposite",
        MODELS,
    ),
    **{
        name: (kind, options, name, MATCHED["models"])
        for name, (kind, options) in MATCHED_FIGURES.items()
    },
    "void-shrunk": (
        "shrunk",
        _without(REN["void_shrunk"], "models"),
        "void-shrunk",
        REN["void_shrunk"]["models"],
    ),
}
MODEL_GRID_RULES = model_grid_rules(
    MODEL_FAMILIES, MODELS, groups={name: "matched" for name in MATCHED_FIGURES}
)


def _compare(endpoints):
    return {**_without(REN["operations_compare"], "model"), "endpoints": endpoints}


def _one(name):
    return [name] if name else []


# Figures that stack models or snapshots: figure -> its grid's recipe (latentspace.render
# builder kind and options; the models whose generator.pt it needs; labels and row name of
# the stacked rows; title; checkpoints, when not the models' final generators).
SHARED_FIGURES = {
    "interp-tails": dict(
        kind="interpolations",
        options={**REN["interpolations"], "endpoints": "tails"},
        models=CAUCHY_MODELS,
        labels=CAUCHY_MODELS,
        row_name=(
            "model"
            if REN["interpolations"]["n_pairs"] * len(REN["interpolations"]["ops"]) == 1
            else None
        ),
        title="{title}, by model",
    ),
    "operations-compare": dict(
        kind="interpolations",
        options=_compare("random"),
        models=_one(REN["operations_compare"]["model"]),
        title=f"model {REN['operations_compare']['model']}: {{title}}",
    ),
    "operations-compare-opposite": dict(
        kind="interpolations",
        options=_compare("opposite"),
        models=_one(REN["operations_compare"]["model"]),
        title=f"model {REN['operations_compare']['model']}: {{title}}",
    ),
    "void-origin": dict(
        kind="interpolations",
        options={**_without(REN["void_origin"], "models"), "endpoints": "opposite"},
        models=REN["void_origin"]["models"],
        labels=REN["void_origin"]["models"],
        row_name="model" if REN["void_origin"]["n_pairs"] == 1 else None,
        title="linear interpolations from z to -z through the origin (t = 0.5), by model",
    ),
    "void-emergence": dict(
        kind="interpolations",
        options={**_without(REN["void_emergence"], "model"), "endpoints": "opposite"},
        models=_one(EMERGENCE_MODEL),
        labels=[f"step {s}" for s in VOID_EMERGENCE_STEPS],
        row_name="training step" if REN["void_emergence"]["n_pairs"] == 1 else None,
        title=f"model {EMERGENCE_MODEL}: linear interpolation from z to -z through the origin, by training step",
        checkpoints=lambda generators: emergence_checkpoints(
            generators[0], VOID_EMERGENCE_STEPS
        ),
    ),
    "void-sparse": dict(
        kind="sparse",
        options=_without(REN["void_sparse"], "model"),
        models=_one(REN["void_sparse"]["model"]),
        title=f"model {REN['void_sparse']['model']}: {{title}}",
    ),
    "void-orthogonal": dict(
        kind="orthogonal",
        options=_without(REN["void_orthogonal"], "model"),
        models=_one(REN["void_orthogonal"]["model"]),
        title=f"model {REN['void_orthogonal']['model']}: {{title}}",
    ),
}


for _rule, (_families, _models) in MODEL_GRID_RULES.items():

    rule:
        name:
            _rule
        input:
            generator=rules.train_gan.output.generator,
        output:
            **{
                underscored(family): grid_file(f"{family}-{{model}}")
                for family in _families
            },
        log:
            LOGS / f"{_rule}_{{model}}.log",
        benchmark:
            BENCH / f"{_rule}_{{model}}.tsv"
        wildcard_constraints:
            model=one_of(_models),
        conda:
            "../envs/torch.yaml"
        threads: 1
        params:
            grids=model_grid_params(MODEL_FAMILIES, _families),
            seed=config["seed"],
        script:
            "../workflow/scripts/model_grids.py"

    rule:
        name:
            f"plot_{_rule}"
        input:
            **{
                underscored(family): getattr(rules, _rule).output[underscored(family)]
                for family in _families
            },
        output:
            **figures(
                {underscored(family): f"{family}-{{model}}" for family in _families}
            ),
        log:
            LOGS / f"plot_{_rule}_{{model}}.log",
        wildcard_constraints:
            model=one_of(_models),
        conda:
            "../envs/analysis.yaml"
        params:
            figures=[underscored(family) for family in _families],
        script:
            "../workflow/scripts/plot_grid.py"


for _figure, _spec in SHARED_FIGURES.items():

    rule:
        name:
            f"{underscored(_figure)}_data"
        input:
            generators=expand(rules.train_gan.output.generator, model=_spec["models"]),
        output:
            npz=grid_file(_figure),
        log:
            LOGS / f"{underscored(_figure)}_data.log",
        benchmark:
            BENCH / f"{underscored(_figure)}_data.tsv"
        conda:
            "../envs/torch.yaml"
        threads: 1
        params:
            kind=_spec["kind"],
            options=_spec["options"],
            seed=config["seed"],
            stream=_figure,
            checkpoints=shared_checkpoints(_spec.get("checkpoints")),
            labels=_spec.get("labels"),
            row_name=_spec.get("row_name"),
            title=constant(_spec["title"]),
        script:
            "../workflow/scripts/render_grid.py"

    rule:
        name:
            f"plot_{underscored(_figure)}"
        input:
            npz=getattr(rules, f"{underscored(_figure)}_data").output.npz,
        output:
            **figure(_figure),
        log:
            LOGS / f"plot_{underscored(_figure)}.log",
        conda:
            "../envs/analysis.yaml"
        script:
            "../workflow/scripts/plot_grid.py"


# Figures whose model is null (or whose model list is empty) are left out.
RENDER_TARGETS = [
    *[
        path
        for name in MODEL_GRID_RULES
        for path in expand(
            getattr(rules, f"plot_{name}").output, model=MODEL_GRID_RULES[name][1]
        )
    ],
    *[
        path
        for figure, spec in SHARED_FIGURES.items()
        if spec["models"]
        for path in getattr(rules, f"plot_{underscored(figure)}").output
    ],
]

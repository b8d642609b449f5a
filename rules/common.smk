"""Config validation and helpers shared by all rule files.

Validation runs before any job: the JSON schema checks types, ranges and prior names
and fills in defaults; `check_prior_references` then checks that every prior label a
stage names is defined under `priors:`. Nothing here imports torch, so `snakemake -n`
stays fast.
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

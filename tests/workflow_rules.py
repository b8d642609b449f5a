"""Every rule of the workflow as plain data, read through Snakemake's own parser.

`rules(configfile)` loads the Snakefile with that config in a subprocess (so Snakemake's
logging and working-directory changes stay out of the test process) and returns one
`RuleInfo` per rule: its script or notebook, its conda env, whether it runs on the
submit host under a cluster executor, and its outputs with their report() flags. Tests
use it to check things about *every* rule, including rules added after they were written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the subprocess: parse the workflow (no DAG, no jobs) and print its rules as JSON.
_DUMP = r"""
import json, os, sys, tempfile
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.io import is_flagged
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

snakefile, configfile = Path(sys.argv[1]), Path(sys.argv[2])


def path(source, base):
    if source is None:
        return None
    source = str(source)
    return str((Path(base) / source).resolve()) if not os.path.isabs(source) else source


with tempfile.TemporaryDirectory() as workdir, SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    workflow = api.workflow(
        resource_settings=ResourceSettings(),
        config_settings=ConfigSettings(configfiles=[configfile]),
        snakefile=snakefile,
        workdir=Path(workdir),
    )._workflow
    out = {"env": {"LATENTSPACE_ROOT": os.environ.get("LATENTSPACE_ROOT")}, "rules": []}
    for rule in workflow.rules:
        outputs = []
        for o in rule.output:
            flag = o.flags.get("report") if is_flagged(o, "report") else None
            caption = None
            if flag is not None and flag.caption is not None:
                caption = flag.caption.get_path_or_uri(secret_free=True)
            outputs.append({"pattern": str(o), "report": flag is not None, "caption": caption,
                            "category": flag.category if flag is not None and isinstance(flag.category, str) else None})
        out["rules"].append({
            "name": rule.name,
            "snakefile": str(rule.snakefile),
            "script": path(rule.script, rule.basedir),
            "notebook": path(rule.notebook, rule.basedir),
            "conda_env": path(rule.conda_env, rule.basedir) if isinstance(rule.conda_env, str) else None,
            "action": "script" if rule.script else "notebook" if rule.notebook else "shell" if rule.shellcmd
                      else "run" if rule.run_func and not rule.norun else "none",
            # what Workflow.is_local decides under a cluster executor (localrules, norun)
            "local": rule.group is None and (rule.name in workflow._localrules or rule.norun),
            "inputs": [str(i) for i in rule.input if isinstance(i, str)],
            "outputs": outputs,
        })
    # what rule `report` shows (rules/common.smk), when the workflow has it
    items = workflow.globals.get("report_items")
    out["report_items"] = items() if items is not None else None
print("JSON" + json.dumps(out))
"""


@dataclass(frozen=True)
class Output:
    pattern: str
    report: bool
    caption: str | None
    category: str | None


@dataclass(frozen=True)
class RuleInfo:
    name: str
    snakefile: str
    script: str | None
    notebook: str | None
    conda_env: str | None
    action: str
    local: bool
    inputs: tuple[str, ...] = ()
    outputs: tuple[Output, ...] = field(default_factory=tuple)

    @property
    def code_files(self) -> list[Path]:
        """The Python the rule runs in its env: its script or notebook, and any notebook it
        reads as input (rule `report` executes one with papermill)."""
        files = [Path(p) for p in (self.script, self.notebook) if p]
        files += [ROOT / p for p in self.inputs if p.endswith(".ipynb")]
        return files


@dataclass(frozen=True)
class Workflow:
    rules: tuple[RuleInfo, ...]
    env: dict
    report_items: tuple[dict, ...] = ()  # figures and tables behind `all`, as rule `report` gets them

    def rule(self, name: str) -> RuleInfo:
        return next(r for r in self.rules if r.name == name)


@cache
def load(configfile: Path = ROOT / "config" / "test.yaml") -> Workflow:
    """The rules of the workflow under `configfile` (cached per config)."""
    run = subprocess.run([sys.executable, "-c", _DUMP, str(ROOT / "Snakefile"), str(configfile)],
                         capture_output=True, text=True, timeout=300)
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("JSON")), None)
    if run.returncode != 0 or line is None:
        raise RuntimeError(f"could not parse the workflow with {configfile}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    data = json.loads(line[4:])
    rules = tuple(
        RuleInfo(**{**r, "inputs": tuple(r["inputs"]), "outputs": tuple(Output(**o) for o in r["outputs"])})
        for r in data["rules"]
    )
    return Workflow(rules=rules, env=data["env"], report_items=tuple(data["report_items"] or ()))

"""The conda environments of envs/ hold what the rules that name them import.

No conda channel can be reached from this project's machines, so `--use-conda` cannot
build the environments here; these static checks keep envs/*.yaml honest instead. For
every rule of the workflow (parsed by Snakemake itself, so rules added later are checked
too):

* the rule names an environment in envs/;
* every import of the rule's code (its script, or the notebook it executes) is provided
  by that environment, and so is every import of the latentspace modules that code
  reaches: module-level imports transitively, and the lazy (function-level) imports of
  the functions it calls, followed through the library's own calls. "Provided" means
  listed in the env file, or a dependency of a listed package in the metadata of the
  pinned version (installed in this virtual environment, which pyproject.toml pins alike);
  latentspace itself comes from the env's post-deploy script, without its dependencies;
* every package an env lists is pinned, to the version pyproject.toml pins.

A failure names the rule, the file and line of the import, the module and the env.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from workflow_rules import ROOT, RuleInfo, load

ENVS = ROOT / "envs"
LIB = ROOT / "src" / "latentspace"

# Import name -> distribution, where they differ (the rest: importlib.metadata's
# packages_distributions() of this virtual environment, else the import name itself).
IMPORT_TO_PACKAGE = {
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "ot": "pot",
    "IPython": "ipython",
}
# Conda package -> the distribution it provides, where they differ.
CONDA_TO_PACKAGE = {"matplotlib-base": "matplotlib", "pytorch": "torch"}
# Packages a module needs without importing them: papermill runs the notebook in an
# ipykernel kernel; latentspace.tables writes LaTeX with pandas' to_latex, which needs jinja2.
IMPLIED = {"papermill": ["ipykernel"], "latentspace.tables": ["jinja2"]}
# Packages an env may leave unpinned.
UNPINNED_OK = {"pip"}


# --------------------------------------------------------------------------- imports


@dataclass(frozen=True)
class Need:
    """Top-level module `module` imported at `where` (file:line), reached through `via`
    (the chain of library modules and functions from the rule's code, if any)."""

    module: str
    where: str
    via: str = ""


def _package_of(node: ast.ImportFrom, current: str) -> str:
    """The absolute module an ImportFrom refers to, inside module `current`."""
    if not node.level:
        return node.module or ""
    parts = current.split(".")
    is_package = module_file(current) is not None and module_file(current).name == "__init__.py"
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def module_file(name: str) -> Path | None:
    """The source of library module `name` (latentspace or latentspace.x), else None."""
    if name != "latentspace" and not name.startswith("latentspace."):
        return None
    rel = name.split(".")[1:]
    for path in (LIB.joinpath(*rel).with_suffix(".py"), LIB.joinpath(*rel, "__init__.py")):
        if path.exists():
            return path
    return None


@cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@cache
def top_level_defs(module: str) -> frozenset[str]:
    """Names of the functions and classes defined at the top of library module `module`."""
    body = parse(module_file(module)).body
    return frozenset(d.name for d in body if isinstance(d, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))


def _label(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def aliases(tree: ast.AST, current: str) -> dict[str, str]:
    """Local names bound to library modules, and to names imported from them, by the
    imports anywhere in `tree`: name -> "module" or "module:attr"."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if module_file(a.name):
                    out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = _package_of(node, current)
            for a in node.names:
                if module_file(f"{base}.{a.name}"):
                    out[a.asname or a.name] = f"{base}.{a.name}"
                elif module_file(base):
                    out[a.asname or a.name] = f"{base}:{a.name}"
    return out


@cache
def module_aliases(module: str) -> dict[str, str]:
    return aliases(parse(module_file(module)), module)


# A unit of code is ("code", path) for a script or notebook (all of it runs),
# ("module", name) for a library module's import-time code, ("def", module, name) for
# the body of a library function or class. scan() finds a unit's own external imports
# and the units it reaches; closure() follows those.


def _scan(nodes: list[ast.AST], label: str, current: str, names: dict[str, str], deep: bool):
    needs: set[Need] = set()
    refs: set[tuple[str, ...]] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and not deep:
            # import time: a def runs its decorators and defaults, not its body
            stack.extend(getattr(node, "decorator_list", []))
            stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                needs.add(Need(a.name, f"{label}:{node.lineno}"))
                if module_file(a.name):
                    refs.add(("module", a.name))
        elif isinstance(node, ast.ImportFrom):
            base = _package_of(node, current)
            needs.add(Need(base, f"{label}:{node.lineno}"))
            if module_file(base):
                refs.add(("module", base))
            for a in node.names:
                if module_file(f"{base}.{a.name}"):
                    refs.add(("module", f"{base}.{a.name}"))
                elif module_file(base):
                    refs.add(("def", base, a.name))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target = names.get(node.value.id)
            if target and ":" not in target:
                refs.add(("def", target, node.attr))
        elif isinstance(node, ast.Name) and current.startswith("latentspace"):
            target = names.get(node.id)
            if target and ":" in target:
                refs.add(("def", *target.split(":")))
            elif node.id in top_level_defs(current):
                refs.add(("def", current, node.id))
        stack.extend(ast.iter_child_nodes(node))
    return frozenset(needs), frozenset(refs)


@cache
def scan(unit: tuple[str, ...]) -> tuple[frozenset[Need], frozenset[tuple[str, ...]]]:
    """The external imports of `unit` itself and the units it reaches."""
    kind, *rest = unit
    if kind == "code":
        path = Path(rest[0])
        tree = notebook_tree(path) if path.suffix == ".ipynb" else parse(path)
        return _scan(list(ast.iter_child_nodes(tree)), _label(path), "__main__", aliases(tree, "__main__"), deep=True)
    if kind == "module":
        (name,) = rest
        parents = {("module", ".".join(name.split(".")[:i])) for i in range(1, name.count(".") + 1)}
        needs, refs = _scan(parse(module_file(name)).body, _label(module_file(name)), name, module_aliases(name), False)
        return needs, refs | parents  # importing a.b runs a/__init__ first
    module, attr = rest
    if module_file(f"{module}.{attr}") is not None:  # a submodule, not a def
        return frozenset(), frozenset({("module", f"{module}.{attr}")})
    for node in parse(module_file(module)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == attr:
            names = {**module_aliases(module), **aliases(node, module)}
            needs, refs = _scan([node], _label(module_file(module)), module, names, deep=True)
            return needs, refs | {("module", module)}
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == attr for a in node.names):
            original = next(a.name for a in node.names if (a.asname or a.name) == attr)
            return frozenset(), frozenset({("def", _package_of(node, module), original)})
    return frozenset(), frozenset({("module", module)})  # a constant or other name


def _unit_name(unit: tuple[str, ...]) -> str:
    return _label(Path(unit[1])) if unit[0] == "code" else unit[1] if unit[0] == "module" else f"{unit[1]}.{unit[2]}"


def closure(units: list[tuple[str, ...]]) -> tuple[set[Need], set[str]]:
    """All external imports reachable from `units` (breadth first, so each with a shortest
    chain), and the library modules imported."""
    needs: set[Need] = set()
    parent: dict[tuple[str, ...], tuple[str, ...] | None] = {u: None for u in units}
    queue = list(units)
    while queue:
        unit = queue.pop(0)
        if unit[0] != "code" and module_file(unit[1]) is None:
            continue
        chain, up = [_unit_name(unit)] if unit[0] != "code" else [], parent[unit]
        while up is not None:
            chain.append(_unit_name(up))
            up = parent[up]
        via = " -> ".join(reversed(chain))
        own, refs = scan(unit)
        needs |= {Need(n.module, n.where, via) for n in own}
        for ref in sorted(refs):
            if ref not in parent:
                parent[ref] = unit
                queue.append(ref)
    return needs, {u[1] for u in parent if u[0] == "module" and module_file(u[1]) is not None}


def notebook_tree(path: Path) -> ast.Module:
    """The code cells of a notebook as one module (IPython magics and shell lines dropped)."""
    cells = json.loads(path.read_text())["cells"]
    source = "\n".join(
        "\n".join(ln for ln in "".join(c["source"]).splitlines() if not ln.lstrip().startswith(("%", "!")))
        for c in cells
        if c["cell_type"] == "code"
    )
    return ast.parse(source, filename=str(path))


@cache
def code_needs(files: tuple[Path, ...]) -> frozenset[Need]:
    """Everything the given scripts and notebooks need at run time: external top-level
    modules (stdlib and latentspace left out), each with where it is imported."""
    raw, modules = closure([("code", str(path)) for path in files])
    needs = set()
    for need in raw:
        top = need.module.split(".")[0]
        if top and top not in sys.stdlib_module_names and top not in ("__future__", "latentspace"):
            needs.add(Need(top, need.where, need.via))
            needs |= {Need(implied, f"{need.where} (needed by {top})", need.via) for implied in IMPLIED.get(top, [])}
    for module in sorted(modules):
        needs |= {Need(implied, f"{_label(module_file(module))} (needed by {module})") for implied in IMPLIED.get(module, [])}
    if modules:
        needs.add(Need("latentspace", f"{_label(files[0])} (the library)"))
    return frozenset(needs)


# --------------------------------------------------------------------------- environments


@cache
def import_to_package(module: str) -> str:
    if module in IMPORT_TO_PACKAGE:
        return IMPORT_TO_PACKAGE[module]
    dists = md.packages_distributions().get(module)
    return canonicalize_name(dists[0]) if dists else canonicalize_name(module)


def _spec(entry: str) -> tuple[str, str | None]:
    """(name, exact version or None) of a conda ("name=1.2", "name==1.2") or pip entry."""
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(?:(==?)\s*([^\s=<>!~,*]+))?\s*", entry)
    if not m:
        return canonicalize_name(re.split(r"[<>=!~ ]", entry.strip(), maxsplit=1)[0]), None
    return canonicalize_name(m.group(1)), m.group(3)


@dataclass(frozen=True)
class Env:
    path: Path
    conda: dict[str, str | None]  # name -> pinned version
    pip: dict[str, str | None]
    pip_options: tuple[str, ...]  # pip lines that are options, not packages

    @property
    def listed(self) -> dict[str, str | None]:
        return {**{CONDA_TO_PACKAGE.get(k, k): v for k, v in self.conda.items()}, **self.pip}

    @property
    def installs_latentspace(self) -> bool:
        script = post_deploy(self.path)
        return script.exists() and bool(re.search(r'pip install --no-deps -e "\$\{?LATENTSPACE_ROOT', script.read_text()))

    @property
    def provided(self) -> frozenset[str]:
        """Listed packages, their dependencies (pinned versions' metadata), latentspace."""
        return _provided(tuple(self.listed), bool(self.installs_latentspace))


@cache
def _provided(listed: tuple[str, ...], with_library: bool) -> frozenset[str]:
    out: set[str] = set()
    todo = [n for n in listed if n not in ("python", "pip")]
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(_requirements(name))
    return frozenset(out | ({"latentspace"} if with_library else set()))


def post_deploy(env_file: Path) -> Path:
    """Snakemake runs <env>.post-deploy.sh in a new env, with the env activated."""
    return env_file.with_name(f"{env_file.stem}.post-deploy.sh")


@cache
def _requirements(name: str) -> tuple[str, ...]:
    """Runtime dependencies of installed distribution `name` (no extras)."""
    try:
        reqs = md.requires(name) or []
    except md.PackageNotFoundError:
        return ()
    env = {**default_environment(), "extra": ""}
    out = []
    for r in map(Requirement, reqs):
        if r.marker is None or r.marker.evaluate(env):
            out.append(canonicalize_name(r.name))
    return tuple(out)


@cache
def read_env(path: Path) -> Env:
    spec = yaml.safe_load(path.read_text())
    conda, pip, options = {}, {}, []
    for dep in spec.get("dependencies", []):
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                if line.strip().startswith("-"):
                    options.append(line)
                else:
                    name, version = _spec(line)
                    pip[name] = version
        else:
            name, version = _spec(dep)
            conda[name] = version
    return Env(path, conda, pip, tuple(options))


def missing(rule: RuleInfo, env: Env) -> list[str]:
    """One line per module that the rule's code imports and `env` does not provide, with
    the most direct place it is imported from."""
    provided, lines = env.provided, []
    needs = sorted(code_needs(tuple(rule.code_files)), key=lambda n: (n.module, n.via.count("->"), bool(n.via), n.where))
    for module in sorted({n.module for n in needs}):
        package = import_to_package(module)
        if package in provided:
            continue
        first = next(n for n in needs if n.module == module)
        code = ", ".join(_label(f) for f in rule.code_files)
        via = f" through {first.via}" if first.via else ""
        lines.append(
            f"rule {rule.name} ({code}): imports {module!r} (package {package}) at {first.where}{via}, "
            f"which env {_label(env.path)} does not provide"
        )
    return lines


@cache
def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    pins = {}
    for r in map(Requirement, reqs):
        if canonicalize_name(r.name) == "latentspace":
            continue
        versions = [s.version for s in r.specifier if s.operator == "=="]
        pins[canonicalize_name(r.name)] = versions[0] if versions else None
    return pins


def env_files() -> list[Path]:
    return sorted(ENVS.glob("*.yaml"))


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def workflow():
    return load()


def test_every_rule_names_an_env(workflow):
    bad = [
        f"rule {r.name} ({r.snakefile}) runs {r.action} code but names "
        + (f"env {r.conda_env}, which is not a file in envs/" if r.conda_env else "no conda env")
        for r in workflow.rules
        if r.action in ("script", "notebook", "shell")
        and not (r.conda_env and Path(r.conda_env).parent == ENVS and Path(r.conda_env).exists())
    ]
    assert not bad, "\n".join(bad)


def test_every_env_provides_the_imports_of_its_rules(workflow):
    problems = []
    for rule in workflow.rules:
        if rule.conda_env and Path(rule.conda_env).exists():
            problems += missing(rule, read_env(Path(rule.conda_env)))
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_missing_package(workflow, tmp_path):
    # Negative control: the plotting env without matplotlib must fail every plot rule,
    # naming the import; and a script importing an unlisted module must fail.
    analysis = (ENVS / "analysis.yaml").read_text()
    assert "matplotlib==" in analysis
    broken = tmp_path / "analysis.yaml"
    broken.write_text(re.sub(r"^\s*- matplotlib==.*$\n", "", analysis, flags=re.M))
    post_deploy(broken).write_text(post_deploy(ENVS / "analysis.yaml").read_text())
    plot = workflow.rule("plot_norms_vs_dimension")
    lines = missing(plot, read_env(broken))
    assert any("imports 'matplotlib'" in ln and "rule plot_norms_vs_dimension" in ln and str(broken) in ln for ln in lines), lines
    script = tmp_path / "uses_sklearn.py"
    script.write_text("def main():\n    from latentspace import runlog\n    import sklearn.datasets\n")
    fake = RuleInfo("fake", "", str(script), None, None, "script", True)
    lines = missing(fake, read_env(ENVS / "analysis.yaml"))
    assert lines == [f"rule fake ({script}): imports 'sklearn' (package scikit-learn) at {script}:3, which env "
                     "envs/analysis.yaml does not provide"], lines


def test_the_check_follows_the_library():
    # plot scripts reach torch only through functions they do not call (runlog.generator);
    # train_gan reaches torchvision only through data.load's lazy import.
    plot = {n.module for n in code_needs((ROOT / "workflow/scripts/plot_grid.py",))}
    assert {"matplotlib", "numpy"} <= plot and "torch" not in plot, plot
    train = {n.module for n in code_needs((ROOT / "workflow/scripts/train_gan.py",))}
    assert {"torch", "torchvision", "sklearn", "PIL", "tqdm"} <= train, train


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_pins_match_pyproject(path):
    env, pins = read_env(path), pyproject_pins()
    problems = [f"{_label(path)}: pip line {o!r} is an option; the library comes from {post_deploy(path).name}"
                for o in env.pip_options]
    for name, version in {**env.conda, **env.pip}.items():
        package = CONDA_TO_PACKAGE.get(name, name)
        if name == "python":
            if version is None or not version.startswith("3.11"):
                problems.append(f"{_label(path)}: python must be pinned to 3.11 (requires-python and the venv)")
        elif name in UNPINNED_OK:
            continue
        elif package not in pins:
            problems.append(f"{_label(path)}: {name} is not pinned in pyproject.toml; pin it there first")
        elif version is None:
            problems.append(f"{_label(path)}: {name} is not pinned; pyproject.toml pins {pins[package]}")
        elif version != pins[package]:
            problems.append(f"{_label(path)}: {name} is pinned to {version}, pyproject.toml to {pins[package]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_installs_the_library(path, workflow):
    env = read_env(path)
    assert env.installs_latentspace, f"{post_deploy(path)} must `pip install --no-deps -e \"$LATENTSPACE_ROOT\"`"
    assert "pip" in env.conda, f"{path}: list pip, which the post-deploy script runs"
    # the workflow exports the repository root for the post-deploy scripts
    assert workflow.env["LATENTSPACE_ROOT"] == str(ROOT)


def test_post_deploy_script_installs_from_any_directory(tmp_path):
    # Snakemake runs the script with the env activated and the env file copied to
    # .snakemake/conda/; here the venv stands in for the env, from another directory, and
    # pip only plans the install (PIP_DRY_RUN). PIP_NO_BUILD_ISOLATION=0 turns build
    # isolation *off* (pip's inverted convention), so the venv's setuptools reads the
    # project's metadata without fetching anything.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "LATENTSPACE_ROOT": str(ROOT), "PIP_DRY_RUN": "1", "PIP_NO_BUILD_ISOLATION": "0"}
    run = subprocess.run(["bash", str(post_deploy(ENVS / "torch.yaml"))], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Would install latentspace-" in run.stdout, run.stdout

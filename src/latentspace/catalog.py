"""What exists, as data, without torch: the priors with their parameters, constraints and
properties, and the operations with what they need of a prior.

The library's classes take their description from here (:mod:`latentspace.priors` checks
parameters with :func:`check_params` and reads its class attributes from
:data:`PRIORS`; a test checks that every registered prior and operation agrees with its
entry), and the workflow validates a config through it while it builds the DAG, where
importing torch would cost seconds: ``rules/common.smk`` asks :func:`prior_properties`
whether a model's prior suits the operations its figures and tables apply
(:func:`unmet_needs`). config/README.md's prior table is :func:`prior_table` (a test
checks it).

Adding a prior means one entry in :data:`PRIORS` and its class in
:mod:`latentspace.priors`; nothing in the workflow names priors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ParamError", "Param", "PriorInfo", "Properties", "OperationInfo", "PRIORS", "OPERATIONS", "PROPERTY_NAMES", "names",
           "check_params", "prior_properties", "unmet_needs", "needs_phrase", "refused_operations", "prior_table"]


# --------------------------------------------------------------------------- constraints


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


_CONSTRAINTS = {
    "positive": ("positive", lambda v: _is_number(v) and v > 0),
    "nonnegative": ("nonnegative", lambda v: _is_number(v) and v >= 0),
    "positive_int": ("positive int", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
    "mapping": ("a mapping", lambda v: v is None or isinstance(v, Mapping)),
}


class ParamError(ValueError):
    """A prior's parameter is unknown or outside its constraint; ``param`` names it (as
    ``base_params.<name>`` for a wrapped base prior's)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a prior: its name, default, and constraint, which is one of
    "positive", "nonnegative", "positive_int", "mapping", "choice" (one of ``choices``)
    or "base" (the name of a prior that wraps no other)."""

    name: str
    default: Any
    constraint: str
    choices: tuple[str, ...] = ()

    def check(self, prior: str, value: Any) -> None:
        """Raise ValueError naming the prior, the parameter and what it must be."""
        if self.constraint in ("choice", "base"):
            allowed = self.choices if self.constraint == "choice" else _bases()
            if value not in allowed:
                raise ParamError(f"{prior} prior: parameter {self.name!r} must be one of {', '.join(allowed)}, "
                                 f"got {value!r}", self.name)
            return
        phrase, ok = _CONSTRAINTS[self.constraint]
        if not ok(value):
            raise ParamError(f"{prior} prior: parameter {self.name!r} must be {phrase}, got {value!r}", self.name)

    def describe(self) -> str:
        """The parameter for config/README.md: ``name`` (default) and its constraint."""
        default = {None: "{}"}.get(self.default, self.default) if self.constraint == "mapping" else self.default
        text = f"`{self.name}` (`{default}`)" if isinstance(default, str) else f"`{self.name}` ({default})"
        return text + {"positive": " > 0", "nonnegative": " >= 0", "positive_int": " integer >= 1"}.get(
            self.constraint, "")


PROPERTY_NAMES = ("iid", "continuous", "isotropic", "has_density", "torch_density", "symmetric")


@dataclass(frozen=True)
class Properties:
    """What the operations and probes ask of a prior.

    iid: coordinates are independent and identically distributed (a per-coordinate cdf).
    continuous: the per-coordinate (i.i.d.) or norm (isotropic) law has no atoms.
    isotropic: invariant under rotations (fixed by the law of the norm).
    has_density: a log-density exists (``log_prob``).
    torch_density: ``log_prob`` is a torch function, so autograd differentiates it (the
        ri-optimal paths of the realism stage need this).
    symmetric: Z and -Z have the same law.
    """

    iid: bool = False
    continuous: bool = False
    isotropic: bool = False
    has_density: bool = False
    torch_density: bool = False
    symmetric: bool = False


@dataclass(frozen=True)
class PriorInfo:
    """A prior: its registry name, parameters, properties with the default parameters, and
    the one-line description of its law in config/README.md. ``wraps`` names the parameter
    holding a base prior whose properties the prior takes on (``scaled``), or is
    "masked" for priors that zero coordinates of a base prior (their properties are
    fixed)."""

    name: str
    params: tuple[Param, ...]
    properties: Properties
    law: str
    wraps: str | None = None


_IID = dict(iid=True, continuous=True, has_density=True)
_BASE = Param("base", "normal", "base")
_BASE_PARAMS = Param("base_params", None, "mapping")

PRIORS: dict[str, PriorInfo] = {p.name: p for p in (
    PriorInfo("normal", (), Properties(**_IID, isotropic=True, torch_density=True, symmetric=True), "N(0, I)"),
    PriorInfo("uniform", (), Properties(**_IID, torch_density=True, symmetric=True), "uniform on [-1, 1]^D"),
    PriorInfo("cauchy", (Param("scale", 1.0, "positive"),), Properties(**_IID, torch_density=True, symmetric=True),
              "i.i.d. Cauchy C(0, scale)"),
    PriorInfo("sphere", (Param("radius", 1.0, "positive"),), Properties(isotropic=True, symmetric=True),
              "uniform on the sphere of that radius"),
    PriorInfo("discrete", (), Properties(iid=True, symmetric=True), "uniform on {-1, 1}^D"),
    PriorInfo("radial", (Param("radius_law", "halfnorm", "choice",
                               ("halfnorm", "chi", "lognorm", "gamma", "uniform", "rayleigh")),
                         Param("radius_params", None, "mapping")),
              Properties(continuous=True, isotropic=True, has_density=True, symmetric=True),
              "uniform direction x radius from a `scipy.stats` law that does not depend on D (Kilcher et al.'s "
              "idea; their exact law is not confirmed, see `latentspace.priors.Radial`)"),
    PriorInfo("sparse", (Param("k", 50, "positive_int"), _BASE, _BASE_PARAMS), Properties(),
              "base prior with D - k random coordinates zeroed per sample", wraps="masked"),
    PriorInfo("orthogonal", (Param("k", 50, "positive_int"), _BASE, _BASE_PARAMS), Properties(),
              "base prior with the last D - k coordinates zeroed", wraps="masked"),
    PriorInfo("semicircle", (Param("tail_variance", 0.5, "positive"),),
              Properties(continuous=True, has_density=True, torch_density=True),
              "the 3-Gaussian mixture of Struski et al., section 6"),
    PriorInfo("poisson", (Param("lam", 1.0, "positive"),), Properties(iid=True), "i.i.d. Poisson"),
    PriorInfo("chi2", (Param("k", 1.0, "positive"),), Properties(**_IID), "i.i.d. chi-squared"),
    PriorInfo("scaled", (_BASE, Param("alpha", 1.0, "nonnegative"), _BASE_PARAMS), Properties(**_IID, isotropic=True,
              torch_density=True, symmetric=True), "alpha x base prior (void probes; alpha = 0: the origin)",
              wraps="base"),
)}
"""Every prior, by registry name. ``properties`` are those with the default parameters
(``scaled`` of the normal prior with alpha = 1); :func:`prior_properties` resolves others."""


def names() -> list[str]:
    """The priors' names, sorted."""
    return sorted(PRIORS)


def _bases() -> tuple[str, ...]:
    return tuple(n for n in names() if PRIORS[n].wraps is None)


def _info(prior: str) -> PriorInfo:
    if prior not in PRIORS:
        raise ValueError(f"unknown prior {prior!r}; valid priors: {', '.join(names())}")
    return PRIORS[prior]


def check_params(prior: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every parameter of ``prior`` (the given ones over the defaults), checked: an unknown
    prior raises ValueError, an unknown parameter or a value outside its constraint
    :class:`ParamError`, naming them and what is allowed. A wrapped base prior's parameters
    are checked too."""
    info = _info(prior)
    params = dict(params or {})
    known = [p.name for p in info.params]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ParamError(f"prior {prior!r} got unknown parameter(s) {', '.join(unknown)}; "
                         f"it accepts: {', '.join(known) or 'no parameters'}", unknown[0])
    full = {p.name: params.get(p.name, p.default) for p in info.params}
    for p in info.params:
        p.check(prior, full[p.name])
    if "base" in full:
        try:
            check_params(full["base"], full.get("base_params"))
        except ParamError as exc:
            raise ParamError(str(exc), f"base_params.{exc.param}") from None
    return full


def prior_properties(prior: str, params: Mapping[str, Any] | None = None) -> Properties:
    """The properties of ``prior`` with ``params`` (checked): ``scaled`` takes its base's,
    except that alpha = 0 (a point mass at the origin) is neither continuous nor has a
    density."""
    info = _info(prior)
    full = check_params(prior, params)
    if info.wraps != "base":
        return info.properties
    base = prior_properties(full["base"], full["base_params"])
    if full["alpha"] == 0:
        return Properties(iid=base.iid, isotropic=base.isotropic, symmetric=base.symmetric)
    return base


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class OperationInfo:
    """A registered operation of :mod:`latentspace.operations`: its kind and the
    properties it needs of the prior (with ``matched=True`` for the operations that take
    that option: n_point, four_point_grid, vicinity, random_walk, analogy)."""

    name: str
    kind: str
    needs: tuple[str, ...] = ()


_MATCHED = ("iid", "continuous")

OPERATIONS: dict[str, OperationInfo] = {o.name: o for o in (
    OperationInfo("linear", "interpolation"),
    OperationInfo("slerp", "interpolation"),
    OperationInfo("normalized", "interpolation"),
    OperationInfo("cauchy_linear", "interpolation", _MATCHED),
    OperationInfo("spherical_cauchy_linear", "interpolation"),
    OperationInfo("ot_matched", "interpolation", _MATCHED),
    OperationInfo("n_point", "n_point", _MATCHED),
    OperationInfo("four_point_grid", "grid", _MATCHED),
    OperationInfo("vicinity", "vicinity", _MATCHED),
    OperationInfo("random_walk", "random_walk", _MATCHED),
    OperationInfo("analogy", "analogy", _MATCHED),
    OperationInfo("centerize", "transform"),
    OperationInfo("spherize", "transform"),
    OperationInfo("centerize_spherize", "transform"),
)}
"""Every operation, in the registry's order."""

_ADJECTIVES = {"continuous": "continuous", "iid": "i.i.d.", "isotropic": "isotropic", "symmetric": "symmetric"}
_WITH = {"has_density": "a density", "torch_density": "a torch log-density"}


def unmet_needs(operation: str, properties: Properties) -> list[str]:
    """The properties ``operation`` needs that a prior with ``properties`` lacks."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; valid operations: {', '.join(OPERATIONS)}")
    return [need for need in OPERATIONS[operation].needs if not getattr(properties, need)]


def needs_phrase(needs: tuple[str, ...] | list[str]) -> str:
    """The prior that ``needs`` asks for, in words, with the catalog's priors that qualify:
    "a continuous i.i.d. prior (cauchy, chi2, ..., or scaled of one of them)"."""
    adjectives = [word for key, word in _ADJECTIVES.items() if key in needs]
    with_ = [word for key, word in _WITH.items() if key in needs]
    text = " ".join([*adjectives, "prior"]) + (" with " + " and ".join(with_) if with_ else "")
    article = "an" if text[0] in "aeiou" else "a"
    qualifying = [n for n in names() if PRIORS[n].wraps is None and all(getattr(PRIORS[n].properties, k) for k in needs)]
    return f"{article} {text} ({', '.join(qualifying)}, or scaled of one of them)"


def refused_operations(prior: str, params: Mapping[str, Any] | None, operations: list[str] | tuple[str, ...]
                       ) -> tuple[list[str], str] | None:
    """The ``operations`` that ``prior`` with ``params`` lacks something for, and the prior
    they need in words (:func:`needs_phrase`); None when it suits them all."""
    props = prior_properties(prior, params)
    failing = [op for op in operations if unmet_needs(op, props)]
    if not failing:
        return None
    return failing, needs_phrase(sorted({n for op in failing for n in OPERATIONS[op].needs}))


# --------------------------------------------------------------------------- documentation


def prior_table() -> str:
    """config/README.md's table of priors (markdown): name, parameters with defaults and
    constraints, properties, and the law."""
    rows = ["| prior | params (default) | properties (default params) | law |", "| --- | --- | --- | --- |"]
    words = {**_ADJECTIVES, **{key: f"with {w}" for key, w in _WITH.items()}}
    for info in PRIORS.values():
        params = ", ".join(p.describe() for p in info.params) or "none"
        held = ", ".join(words[k] for k in PROPERTY_NAMES if getattr(info.properties, k)) or "none"
        if info.wraps == "base":
            held = "its base's (alpha = 0: not continuous, no density)"
        rows.append(f"| `{info.name}` | {params} | {held} | {info.law} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(prior_table(), end="")

"""latentspace.catalog, the torch-free description of what exists, against the library it
describes: every registered prior has an entry with its constructor's parameters and
defaults and the properties its objects have (a torch log-density is checked by autograd);
every operation's needs are exactly the priors it refuses; config/README.md shows the
catalog's table; importing it loads no torch."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from latentspace import catalog, operations, priors

ROOT = Path(__file__).resolve().parents[1]


def test_the_catalog_lists_exactly_the_registered_priors():
    assert catalog.names() == priors.names()


@pytest.mark.parametrize("name", catalog.names())
def test_parameters_and_defaults_are_the_constructors(name):
    signature = inspect.signature(priors._REGISTRY[name].__init__)
    constructor = {k: v.default for k, v in signature.parameters.items() if k != "self"}
    assert {p.name: p.default for p in catalog.PRIORS[name].params} == constructor


SCALED = [("scaled", {"base": "uniform", "alpha": 0.5}), ("scaled", {"base": "discrete", "alpha": 2.0}),
          ("scaled", {"base": "normal", "alpha": 0.0}), ("scaled", {"base": "sphere", "alpha": 0.3}),
          ("scaled", {"base": "semicircle", "alpha": 0.5}), ("sparse", {"base": "cauchy", "k": 2}),
          ("orthogonal", {"k": 3})]


@pytest.mark.parametrize(("name", "params"), [(n, {}) for n in catalog.names()] + SCALED)
def test_prior_objects_have_the_catalogs_properties(name, params):
    prior = priors.get(name, **params)
    expected = catalog.prior_properties(name, params)
    assert {k: getattr(prior, k) for k in catalog.PROPERTY_NAMES} == vars(expected)


SMALL = {"sparse": {"k": 2}, "orthogonal": {"k": 2}}  # k within D = 3 and 4


@pytest.mark.parametrize(("name", "params"), [(n, SMALL.get(n, {})) for n in catalog.names()] + SCALED)
def test_torch_density_means_autograd_gives_the_gradient_of_log_prob(name, params):
    """torch_density: autograd's gradient of log_prob equals central differences (the
    ri-optimal paths follow it); a density computed (in part) by scipy has no such gradient
    (radial's autograd sees only its torch term); a prior without a density refuses
    log_prob."""
    prior, props = priors.get(name, **params), catalog.prior_properties(name, params)
    z = prior.sample(1, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.9
    if not props.has_density:
        with pytest.raises((NotImplementedError, ValueError)):
            prior.log_prob(z)
        return
    x = z.clone().requires_grad_(True)
    out = prior.log_prob(x).sum()
    grad = torch.autograd.grad(out, x, allow_unused=True)[0] if out.requires_grad else None
    grad = torch.zeros_like(z) if grad is None else grad
    h = 1e-6
    numeric = torch.stack([(prior.log_prob(z + h * e) - prior.log_prob(z - h * e)).sum() / (2 * h)
                           for e in torch.eye(3, dtype=torch.float64)]).reshape(z.shape)
    assert torch.allclose(grad, numeric, rtol=1e-4, atol=1e-6) is props.torch_density, (grad, numeric)


def test_the_catalog_lists_exactly_the_registered_operations():
    assert [(o.name, o.kind) for o in catalog.OPERATIONS.values()] == [
        (n, operations.get(n).kind) for n in operations.names()
    ]


def _call(op: str, prior: priors.Prior, z1: torch.Tensor, z2: torch.Tensor) -> None:
    kind = catalog.OPERATIONS[op].kind
    if kind == "interpolation":
        operations.get(op)(z1, z2, [0.25, 0.5], prior=prior)
    elif op == "n_point":
        operations.n_point(torch.stack([z1, z2, -z1]), [0.2, 0.3, 0.5], prior=prior, matched=True)
    elif op == "four_point_grid":
        operations.four_point_grid(torch.stack([z1, z2, -z1, -z2]), 3, prior=prior, matched=True)
    elif op == "vicinity":
        operations.vicinity(z1, 0.5, prior, k=3, generator=torch.Generator().manual_seed(1), matched=True)
    elif op == "random_walk":
        operations.random_walk(z1, 3, 0.5, prior, generator=torch.Generator().manual_seed(1), matched=True)
    elif op == "analogy":
        operations.analogy(z1, z2, -z1, prior=prior, matched=True)
    else:
        operations.get(op)(z1)


@pytest.mark.parametrize("op", list(catalog.OPERATIONS))
@pytest.mark.parametrize(("name", "params"), [(n, SMALL.get(n, {})) for n in catalog.names()] + SCALED[:4])
def test_an_operation_refuses_exactly_the_priors_that_lack_what_it_needs(op, name, params):
    prior = priors.get(name, **params)
    g = torch.Generator().manual_seed(0)
    z1, z2 = prior.sample(5, 4, generator=g, dtype=torch.float64), prior.sample(5, 4, generator=g, dtype=torch.float64)
    if catalog.OPERATIONS[op].kind == "transform":  # no prior: any non-zero, non-constant codes
        z1 = torch.randn(5, 4, generator=g, dtype=torch.float64)
    if op == "spherical_cauchy_linear" and params.get("alpha") == 0:
        pytest.skip("the point mass at the origin has no norm law to match (the workflow uses it as noise only)")
    unmet = catalog.unmet_needs(op, catalog.prior_properties(name, params))
    if unmet:
        with pytest.raises(ValueError, match="needs"):
            _call(op, prior, z1, z2)
    else:
        _call(op, prior, z1, z2)


def test_parameters_are_checked_naming_them():
    with pytest.raises(catalog.ParamError, match="cauchy prior: parameter 'scale' must be positive, got 0") as err:
        catalog.check_params("cauchy", {"scale": 0})
    assert err.value.param == "scale"
    with pytest.raises(catalog.ParamError, match="unknown parameter.*sigma.*it accepts: no parameters") as err:
        catalog.check_params("normal", {"sigma": 1.0})
    assert err.value.param == "sigma"
    with pytest.raises(catalog.ParamError) as err:
        catalog.check_params("scaled", {"base": "cauchy", "base_params": {"scale": -1}})
    assert err.value.param == "base_params.scale"
    with pytest.raises(catalog.ParamError, match="'base' must be one of"):
        catalog.check_params("sparse", {"base": "scaled"})
    with pytest.raises(catalog.ParamError, match="'k' must be positive int, got 2.5"):
        catalog.check_params("orthogonal", {"k": 2.5})
    with pytest.raises(ValueError, match="unknown prior 'laplace'; valid priors: cauchy"):
        catalog.check_params("laplace")
    assert catalog.check_params("radial", {"radius_law": "chi"}) == {"radius_law": "chi", "radius_params": None}


def test_scaled_takes_its_bases_properties_except_at_the_origin():
    assert catalog.prior_properties("scaled", {"base": "sphere"}) == catalog.PRIORS["sphere"].properties
    origin = catalog.prior_properties("scaled", {"alpha": 0})
    assert origin.iid and origin.isotropic and not origin.continuous and not origin.has_density


def test_needs_are_phrased_with_the_qualifying_priors():
    assert catalog.needs_phrase(["iid", "continuous"]) == (
        "a continuous i.i.d. prior (cauchy, chi2, normal, uniform, or scaled of one of them)")
    assert catalog.needs_phrase(["torch_density"]) == (
        "a prior with a torch log-density (cauchy, normal, semicircle, uniform, or scaled of one of them)")


def test_config_readme_shows_the_catalogs_prior_table():
    assert catalog.prior_table() in (ROOT / "config" / "README.md").read_text()


def test_the_catalog_imports_no_torch():
    code = "import sys, latentspace.catalog; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

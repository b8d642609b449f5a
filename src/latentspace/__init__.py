"""latentspace: latent priors, latent-space operations and the models and metrics that
reproduce "On Latent Distributions Without Finite Mean in Generative Models" and its
companion papers (optimal-transport matched operations, realisticity-index interpolation,
spherical auto-encoders).

Import what you need: ``from latentspace import priors, operations``. Modules load lazily
so that ``import latentspace`` stays cheap.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("priors", "operations", "stats", "geometry", "plotting", "tables", "runlog", "data", "models", "training", "device", "render", "metrics", "classifier", "atomic", "files", "realism", "autoencoders", "provenance", "latexdoc", "catalog", "checkpoints", "grids", "inception", "evaluation", "claims")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"latentspace.{name}")
    raise AttributeError(f"module 'latentspace' has no attribute {name!r}")

"""Building registered classes from keyword parameters, with one error format.

Priors, generators and discriminators are all looked up by name and built from config
mappings; :func:`construct` rejects keywords the constructor does not take, naming them
and the accepted ones, so a typo in a config never passes silently.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

__all__ = ["accepted_parameters", "construct", "from_options"]


def accepted_parameters(cls: type) -> list[str]:
    """Keyword parameters of ``cls.__init__``, in order."""
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def construct(what: str, name: str, cls: type, params: dict[str, Any]) -> Any:
    """``cls(**params)`` after checking that ``cls`` accepts every key of ``params``."""
    accepted = accepted_parameters(cls)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"{what} {name!r} got unknown parameter(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(accepted) or 'no parameters'}"
        )
    return cls(**params)


def from_options(cls: type, options: Mapping[str, Any]) -> Any:
    """Build the options dataclass ``cls`` from a mapping (a config file's section);
    unknown keys raise :class:`ValueError` naming them and the valid ones."""
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown option(s) {', '.join(unknown)}; valid options: {', '.join(known)}")
    return cls(**options)

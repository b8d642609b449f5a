"""Building registered classes from keyword parameters, with one error format.

Priors, generators and discriminators are all looked up by name and built from config
mappings; :func:`construct` rejects keywords the constructor does not take, naming them
and the accepted ones, so a typo in a config never passes silently.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["accepted_parameters", "construct"]


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

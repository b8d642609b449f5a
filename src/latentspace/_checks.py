"""The integer checks of the library's options, with one error format."""

from __future__ import annotations

from typing import Any

__all__ = ["is_int", "check_int"]


def is_int(value: Any) -> bool:
    """An int, not a bool (``True`` is an int to Python, not a count to a user)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(where: str, name: str, value: Any, minimum: int = 1, *, allow_none: bool = False) -> None:
    """Raise ValueError unless ``value`` is an integer >= ``minimum`` (or None, where
    allowed); the message names ``where``, ``name``, the bound and the value."""
    if (allow_none and value is None) or (is_int(value) and value >= minimum):
        return
    also = " or None" if allow_none else ""
    raise ValueError(f"{where}: {name!r} must be an integer >= {minimum}{also}, got {value!r}")

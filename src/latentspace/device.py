"""Where computations run: the device ("auto" picks CUDA when available) and the number
of CPU threads."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

__all__ = ["resolve_device", "cpu_count", "num_threads"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA (the current GPU) when available, else the CPU; any other
    value is checked and returned as a :class:`torch.device`."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:<index>'") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here")
    return resolved


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask), not all CPUs of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[int]:
    """Run the block with ``n`` intra-op CPU threads (None: one per available CPU) and
    restore the previous number afterwards. More threads than CPUs only adds contention."""
    previous = torch.get_num_threads()
    wanted = cpu_count() if n is None else n
    if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1:
        raise ValueError(f"num_threads must be a positive integer or None, got {n!r}")
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(previous)

"""Where computations run: the device ("auto" picks CUDA when available), the number of
CPU threads, and the precision of training ("auto" picks bfloat16 autocast where the
hardware runs it natively)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from ._checks import check_int

__all__ = ["resolve_device", "cpu_count", "num_threads", "PRECISIONS", "cpu_has_bf16", "resolve_precision"]


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
    check_int("num_threads", "n", wanted)
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(previous)


PRECISIONS = ("auto", "float32", "bfloat16")
_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes in bfloat16 natively: AMX (Intel Sapphire Rapids and
    later) or AVX512-BF16 (Intel Cooper Lake, AMD Zen 4 and later), read from the flags of
    ``cpuinfo`` (Linux); False where that file is absent."""
    try:
        text = open(cpuinfo).read()
    except OSError:
        return False
    flags = {f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    return any(flag in flags for flag in _BF16_CPU_FLAGS)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bfloat16"`` on CPUs with bfloat16 hardware (:func:`cpu_has_bf16`),
    where autocast steps are 1.2-1.7x faster at no cost in sample quality
    (benchmarks/README.md, "sample quality per CPU-second"), else ``"float32"``: emulated
    bfloat16 is slower than float32, and on CUDA the models of the papers are too small
    for autocast to pay (an H200 ran the paper-scale DCGAN 1.29x and the auto-encoders
    1.16-1.28x slower under bfloat16 autocast; float32 convolutions already use TF32
    tensor cores there; benchmarks/README.md, "paper scale on a GPU"). Other values are
    checked and returned."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    return "bfloat16" if device.type == "cpu" and cpu_has_bf16() else "float32"

"""Logging and seeding for workflow steps: the plumbing every script shares.

:func:`logged` sends Python logging, warnings and any uncaught exception's traceback to
a rule's log file, so a failed job explains itself in ``results/logs/``. :func:`seed_for`
derives a stable per-step seed from the config seed and names, so steps draw independent
streams and a rerun draws the same numbers.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["logged", "seed_for", "generator"]


@contextlib.contextmanager
def logged(path: str | Path | None, name: str = "latentspace") -> Iterator[logging.Logger]:
    """Log to ``path`` (and stderr) for the duration of the block; exceptions are logged
    with their traceback and re-raised, so the job still fails."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    logging.captureWarnings(True)
    start = time.perf_counter()
    try:
        yield logger
        logger.info("done in %.1f s", time.perf_counter() - start)
    except BaseException:
        logger.exception("failed after %.1f s", time.perf_counter() - start)
        raise
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()


def seed_for(seed: int, *names: object) -> int:
    """A 31-bit seed derived from ``seed`` and ``names`` (stable across runs and machines)."""
    key = "/".join([str(seed), *map(str, names)]).encode()
    return zlib.crc32(key) & 0x7FFFFFFF


def generator(seed: int, *names: object):
    """A CPU ``torch.Generator`` seeded with :func:`seed_for`."""
    import torch

    return torch.Generator().manual_seed(seed_for(seed, *names))

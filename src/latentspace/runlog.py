"""Logging and seeding for workflow steps: the plumbing every script shares.

:func:`logged` sends Python logging, warnings and any uncaught exception's traceback to
a rule's log file, so a failed job explains itself in ``results/logs/``. The console (the
job's stderr, which a parallel Snakemake run shares between jobs) gets only warnings,
errors and the records a script marks with ``extra=CONSOLE``: one summary line per
finished job at most, so Snakemake's own progress stays readable. :func:`show_progress`
says whether a job may draw a live progress bar. :func:`seed_for`
derives a stable per-step seed from the config seed and names, so steps draw independent
streams and a rerun draws the same numbers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["logged", "seed_for", "generator", "CONSOLE", "WORKFLOW_CORES", "show_progress"]

CONSOLE = {"console": True}
"""``extra=`` of a log record that goes to the console as well as to the log file."""


def _for_console(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or bool(getattr(record, "console", False))


WORKFLOW_CORES = "LATENTSPACE_WORKFLOW_CORES"
"""Environment variable in which the workflow tells its jobs how many cores it runs on."""


def show_progress(threads: int, cores: int | None = None) -> bool:
    """Whether a workflow job draws a live progress bar: only when stderr is a terminal and
    the job runs alone (its ``threads`` are all the workflow's ``cores``, by default read
    from :data:`WORKFLOW_CORES`); side by side, the bars of several jobs would garble one
    console line, so their progress goes to their logs only."""
    if cores is None:
        cores = int(os.environ.get(WORKFLOW_CORES, "0")) or None
    return sys.stderr.isatty() and cores is not None and threads >= cores


@contextlib.contextmanager
def logged(path: str | Path | None, name: str = "latentspace") -> Iterator[logging.Logger]:
    """Log to ``path`` for the duration of the block, and to stderr what is meant for the
    console (everything when ``path`` is None); exceptions are logged with their
    traceback and re-raised, so the job still fails."""
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
    if path is not None:
        handlers[0].addFilter(_for_console)
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

"""Shared helpers of the test suite: statistical critical values for the tests of priors
and operations, the tiny training settings, and the workflow runs.

Every statistical assertion in this suite is a hypothesis test at the level ``ALPHA``
(its false-failure probability for a correct implementation and a fresh seed). Seeds are
fixed, so a run is deterministic; ``ALPHA`` says how unlucky a seed would have to be.
The suite makes about 130 such checks, so for a fresh set of seeds the chance that a
correct implementation fails at least one is at most 130 * ALPHA = 1.3 % (union bound),
and for the fixed seeds here it is 0 or 1 once and for all. (Negative controls, which
must reject, have no false-failure rate in this sense; their statistics exceed the
critical values by factors of 2.6 or more, mostly 8 or more.)
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
import yaml

ALPHA = 1e-4


class Stats:
    """Critical values derived from the sample sizes, at false-failure rate ``ALPHA``."""

    alpha = ALPHA

    @staticmethod
    def generator(seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    @staticmethod
    def ks_1samp_critical(n: int, alpha: float = ALPHA) -> float:
        """Critical value of the one-sample KS statistic D_n = sup |F_n - F| for n i.i.d.
        draws from a continuous F: P(D_n > c) = alpha under the null (the exact law of
        D_n, ``scipy.stats.kstwo``)."""
        return float(scipy.stats.kstwo.ppf(1 - alpha, n))

    @staticmethod
    def ks_2samp_critical(n: int, m: int, alpha: float = ALPHA) -> float:
        """Critical value of the two-sample KS statistic for samples of sizes n and m.

        Asymptotically sqrt(nm / (n + m)) D_{n,m} follows the Kolmogorov law, whose tail
        is P(K > c) = 2 sum_k (-1)^(k-1) exp(-2 k^2 c^2) ~ 2 exp(-2 c^2) for the small
        alphas used here (the next term is of order alpha^4). Hence
        c(alpha) = sqrt(-ln(alpha / 2) / 2), 2.23 at alpha = 1e-4. The samples here have
        thousands of points or more, where the asymptotic law is accurate.
        """
        c = math.sqrt(-math.log(alpha / 2) / 2)
        return c * math.sqrt((n + m) / (n * m))

    @staticmethod
    def ks_1samp(x: np.ndarray, cdf) -> tuple[float, float]:
        """(statistic, critical value) of the one-sample KS test of x against cdf."""
        x = np.asarray(x, dtype=np.float64).ravel()
        stat = scipy.stats.kstest(x, cdf).statistic
        return float(stat), Stats.ks_1samp_critical(len(x))

    @staticmethod
    def ks_2samp(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(statistic, critical value) of the two-sample KS test of x against y."""
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        stat = scipy.stats.ks_2samp(x, y, method="asymp").statistic
        return float(stat), Stats.ks_2samp_critical(len(x), len(y))

    @staticmethod
    def z_critical(alpha: float = ALPHA) -> float:
        """Two-sided normal quantile: |N(0, 1)| > z with probability alpha (3.89 at 1e-4)."""
        return float(scipy.stats.norm.isf(alpha / 2))

    @staticmethod
    def mean_and_variance_se(x: np.ndarray) -> tuple[float, float, float, float]:
        """Sample mean, sample variance and their standard errors.

        SE(mean) = s / sqrt(n). For the sample variance s^2,
        Var(s^2) = (mu_4 - sigma^4 (n - 3) / (n - 1)) / n (exact for i.i.d. draws), with
        the central moments mu_4 and sigma^2 estimated from the sample itself; both
        estimators are asymptotically normal, so +-z SE is a two-sided test at level alpha.
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        n = len(x)
        mean, var = float(x.mean()), float(x.var(ddof=1))
        mu4 = float(((x - mean) ** 4).mean())
        se_var = math.sqrt(max(mu4 - var**2 * (n - 3) / (n - 1), 0.0) / n)
        return mean, var, math.sqrt(var / n), se_var


@pytest.fixture(scope="session")
def stats() -> type[Stats]:
    return Stats


# --------------------------------------------------------------------------- workflow runs

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TEST_CONFIG = ROOT / "config" / "test.yaml"


def snakemake(workdir: Path, *args: str, configfile: Path = TEST_CONFIG, timeout: int = 1800):
    """Run the workflow in ``workdir`` (outputs under workdir/results) and return the process."""
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def run_test_config(workdir: Path) -> Path:
    """Run config/test.yaml end to end in ``workdir``, keeping what a user's terminal showed
    and what a second invocation plans (checked here, straight after the run: later tests
    rebuild single figures, which leaves the report, which reads every figure, out of date)."""
    run = snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stderr[-5000:]
    (workdir / "console.txt").write_text(run.stderr)
    again = snakemake(workdir, "-n")
    (workdir / "second-run.txt").write_text(f"{again.returncode}\n{again.stdout}{again.stderr}")
    return workdir


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """One end-to-end run of config/test.yaml, shared by every workflow test.

    Under pytest-xdist (``make test``) it is shared by the workers too: the first worker to
    need it makes it in the run's common temporary directory, holding a lock; the others
    wait on the lock and reuse it, or fail with its error, without running it again."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return run_test_config(tmp_path_factory.mktemp("workflow"))
    common = tmp_path_factory.getbasetemp().parent
    workdir, status = common / "workflow", common / "workflow.status"
    with open(common / "workflow.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not status.exists():
            workdir.mkdir()
            try:
                run_test_config(workdir)
            except BaseException as exc:
                status.write_text(f"the shared run of config/test.yaml failed on {os.environ['PYTEST_XDIST_WORKER']}: {exc}")
                raise
            status.write_text("ok")
    if status.read_text() != "ok":
        pytest.fail(status.read_text())
    return workdir


# Modules that take minutes (2 cores, quiet machine: the paper-scale CI overlay 3 min,
# the SLURM tests 3 min, the Fashion-MNIST run, the kill-and-resume runs and the cache
# test 0.3-1 min each), after the first module that uses the shared `built` run (1.5 min).
LONG_MODULES = ("test_paper_scale", "test_slurm", "test_fashion_workflow", "test_resume_workflow", "test_cache_workflow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the long modules first: the first user of the shared ``built`` run, then
    ``LONG_MODULES``, then the rest in collection order; inside each module the tests
    marked slow come first.

    ``make test`` runs two pytest-xdist workers that take whole modules in this order
    (``--dist loadscope``, so module-scoped fixtures such as the SLURM cluster are made
    once), so that the short modules fill in around the long ones instead of trailing
    behind. A worker is handed its next module once two tests of its current one are left:
    were those two the long ones, that module would wait behind them while the other
    worker idles. No test depends on another's outputs."""
    module = {item: item.module.__name__.rpartition(".")[2] for item in items}
    first_built = next((module[item] for item in items if "built" in item.fixturenames), None)
    order = [first_built, *LONG_MODULES]

    def key(item: pytest.Item) -> tuple[int, bool]:
        rank = order.index(module[item]) if module[item] in order else len(order)
        return rank, item.get_closest_marker("slow") is None

    items.sort(key=key)


def copy_of(built: Path, dest: Path) -> Path:
    """A copy of the workflow directory ``built`` at ``dest``: results, logs and Snakemake's
    metadata, with their times. A test that deletes, rebuilds or reruns anything works on
    one, so that the shared run stays complete and up to date for every other test, in any
    order."""
    shutil.copytree(built, dest, symlinks=True)
    return dest


def planned_rules(stdout: str) -> dict[str, int]:
    """Rule name -> job count in the job-stats table of a dry run (``snakemake -n``); raises
    when the output holds no such table, so that a check of the plan cannot pass on output
    it failed to parse."""
    if "Job stats:" not in stdout:
        raise AssertionError(f"no job stats in the dry run's output:\n{stdout[-2000:]}")
    table = stdout.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    jobs = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}
    if not jobs:
        raise AssertionError(f"no jobs in the job stats of the dry run:\n{table}")
    return jobs


def rejected(workdir: Path, config: dict, *args: str) -> str:
    """Run the workflow (a dry run unless ``args`` say otherwise) on ``config``, a malformed
    configuration; check that it fails before any job writes a result, and return its output
    (a dry run reports the error on stdout)."""
    bad = workdir / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    run = snakemake(workdir, *(args or ("-n",)), configfile=bad)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-2000:]
    assert not (workdir / "results").exists(), "no job may run on a malformed config"
    return out


def fresh_config() -> dict:
    """A fresh copy of config/test.yaml, to patch."""
    return yaml.safe_load(TEST_CONFIG.read_text())


# --------------------------------------------------------------------------- tiny training runs

TINY_RUN = dict(steps=8, batch_size=16, latent_dim=8, log_every=2, checkpoint_every=3, grid_size=4,
                device="cpu", num_threads=1)
"""Options shared by the tiny GAN and auto-encoder runs on digits (checkpoints at 3, 6, 8)."""


class Interrupt(Exception):
    """Raised from a training loop's ``on_step`` hook to simulate a killed job."""


def interrupt_at(k: int):
    """An ``on_step`` hook that kills the run at step ``k``."""

    def hook(step: int) -> None:
        if step == k:
            raise Interrupt(step)

    return hook

"""Throughput of the latent-space operations on the CPU.

For every registered 2-point interpolation, and for vicinity sampling and analogies
(plain and matched), time one call on a batch of ``n`` latent vectors of dimension
``dim`` in float32 (the median of ``repeats`` calls after one warm-up call) and print
vectors per second. For the operations built from cdfs and inverse cdfs, also time a plain
``scipy.stats`` implementation of the same mathematics (numpy float64 arrays, ``cdf`` /
``ppf`` of frozen laws) and print the library's speed-up over it.

Run: ``python benchmarks/operations.py`` (``--n``, ``--dim``, ``--repeats``, ``--t``).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy.stats
import torch

from latentspace import operations as ops
from latentspace import priors


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: caches (norm laws), allocator, lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --------------------------------------------------------------------------- scipy references


def _scipy_cauchy_linear(z1: np.ndarray, z2: np.ndarray, t: float) -> np.ndarray:
    """g((1 - t) g^-1(z1) + t g^-1(z2)), g = F_N^-1 o F_C, with scipy's norm and cauchy."""
    norm, cauchy = scipy.stats.norm(), scipy.stats.cauchy()
    c = (1 - t) * cauchy.ppf(norm.cdf(z1)) + t * cauchy.ppf(norm.cdf(z2))
    return norm.ppf(cauchy.cdf(c))


def _scipy_spherical_cauchy_linear(z1: np.ndarray, z2: np.ndarray, t: float) -> np.ndarray:
    """slerp of the directions times the Cauchy-linear interpolation of the norms through
    the chi(D) law, with scipy's chi and cauchy."""
    chi, cauchy = scipy.stats.chi(z1.shape[-1]), scipy.stats.cauchy()
    r1 = np.linalg.norm(z1, axis=-1, keepdims=True)
    r2 = np.linalg.norm(z2, axis=-1, keepdims=True)
    u1, u2 = z1 / r1, z2 / r2
    omega = np.arccos(np.clip((u1 * u2).sum(-1, keepdims=True), -1, 1))
    direction = (np.sin((1 - t) * omega) * u1 + np.sin(t * omega) * u2) / np.sin(omega)
    c = (1 - t) * cauchy.ppf(chi.cdf(r1)) + t * cauchy.ppf(chi.cdf(r2))
    return direction * chi.ppf(cauchy.cdf(c))


def _scipy_ot_matched_uniform(z1: np.ndarray, z2: np.ndarray, t: float) -> np.ndarray:
    """F_U^-1(F_Y(y)) for y = (1 - t) z1 + t z2, U ~ U(-1, 1): Y has the trapezoidal density
    on [-1, 1] with its plateau on [-(a - b), a - b], a = max(t, 1 - t), b = 1 - a, which is
    scipy's trapezoid(c=b, d=a, loc=-1, scale=2)."""
    a = max(t, 1 - t)
    y_law = scipy.stats.trapezoid(1 - a, a, loc=-1.0, scale=2.0)
    return scipy.stats.uniform(-1.0, 2.0).ppf(y_law.cdf((1 - t) * z1 + t * z2))


# --------------------------------------------------------------------------- the benchmark


def run(n: int = 100_000, dim: int = 100, repeats: int = 5, t: float = 0.3, seed: int = 0) -> list[dict]:
    """Time every case; print the table and return its rows."""
    g = torch.Generator().manual_seed(seed)
    normal, uniform = priors.get("normal"), priors.get("uniform")
    batches = {
        p.name: [p.sample(n, dim, generator=g, dtype=torch.float32) for _ in range(3)] for p in (normal, uniform)
    }

    def interpolation(name: str, prior: priors.Prior) -> Callable[[], object]:
        z1, z2, _ = batches[prior.name]
        return lambda: ops.get(name)(z1, z2, t, prior=prior)

    def vicinity(prior: priors.Prior, matched: bool) -> Callable[[], object]:
        z = batches[prior.name][0]
        vg = torch.Generator().manual_seed(seed + 1)
        return lambda: ops.vicinity(z, 0.5, prior, k=1, generator=vg, matched=matched)

    def analogy(prior: priors.Prior, matched: bool) -> Callable[[], object]:
        z1, z2, z3 = batches[prior.name]
        return lambda: ops.analogy(z1, z2, z3, prior=prior, matched=matched)

    def reference(fn: Callable, prior: priors.Prior) -> Callable[[], object]:
        z1, z2 = (z.double().numpy() for z in batches[prior.name][:2])
        return lambda: fn(z1, z2, t)

    # (label, prior, library call, scipy reference or None)
    cases: list[tuple[str, priors.Prior, Callable, Callable | None]] = [
        ("linear", normal, interpolation("linear", normal), None),
        ("slerp", normal, interpolation("slerp", normal), None),
        ("normalized", normal, interpolation("normalized", normal), None),
        ("cauchy_linear", normal, interpolation("cauchy_linear", normal), reference(_scipy_cauchy_linear, normal)),
        (
            "spherical_cauchy_linear",
            normal,
            interpolation("spherical_cauchy_linear", normal),
            reference(_scipy_spherical_cauchy_linear, normal),
        ),
        ("ot_matched", normal, interpolation("ot_matched", normal), None),
        ("ot_matched", uniform, interpolation("ot_matched", uniform), reference(_scipy_ot_matched_uniform, uniform)),
    ]
    assert {c[0] for c in cases} == set(ops.interpolation_names()), "a registered interpolation is not benchmarked"
    for prior in (normal, uniform):
        for matched in (False, True):
            suffix = " (matched)" if matched else ""
            cases.append(("vicinity" + suffix, prior, vicinity(prior, matched), None))
            cases.append(("analogy" + suffix, prior, analogy(prior, matched), None))

    rows = []
    header = f"{'operation':<26} {'prior':<8} {'vectors/s':>12} {'scipy vectors/s':>16} {'speed-up':>9}"
    print(f"batch {n} x {dim} float32, CPU, {torch.get_num_threads()} torch threads, median of {repeats}, t = {t}")
    print(header)
    print("-" * len(header))
    for label, prior, fn, ref in cases:
        rate = n / _median_seconds(fn, repeats)
        ref_rate = n / _median_seconds(ref, repeats) if ref is not None else math.nan
        row = {"operation": label, "prior": prior.name, "vectors_per_s": rate, "scipy_vectors_per_s": ref_rate}
        rows.append(row)
        ref_text = f"{ref_rate:16.3g}" if ref is not None else f"{'':16}"
        ratio_text = f"{rate / ref_rate:8.2f}x" if ref is not None else ""
        print(f"{label:<26} {prior.name:<8} {rate:12.3g} {ref_text} {ratio_text}")
    return rows


def _check_references(dim: int = 100, t: float = 0.3) -> None:
    """The scipy references compute what the library computes (float64, small batch)."""
    g = torch.Generator().manual_seed(1)
    for prior, lib, ref in (
        (priors.get("normal"), "cauchy_linear", _scipy_cauchy_linear),
        (priors.get("normal"), "spherical_cauchy_linear", _scipy_spherical_cauchy_linear),
        (priors.get("uniform"), "ot_matched", _scipy_ot_matched_uniform),
    ):
        z1, z2 = (prior.sample(200, dim, generator=g, dtype=torch.float64) for _ in range(2))
        expected = ref(z1.numpy(), z2.numpy(), t)
        got = ops.get(lib)(z1, z2, t, prior=prior).numpy()
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-8):
            raise RuntimeError(f"scipy reference for {lib} on {prior.name} disagrees with the library")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="latent vectors per batch")
    parser.add_argument("--dim", type=int, default=100, help="latent dimension")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case (median reported)")
    parser.add_argument("--t", type=float, default=0.3, help="interpolation parameter")
    args = parser.parse_args()
    _check_references(args.dim, args.t)
    run(args.n, args.dim, args.repeats, args.t)


if __name__ == "__main__":
    main()

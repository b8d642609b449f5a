"""Time per step of the ri-optimal path optimisation: every path point decoded in one
batched generator call against a loop with one generator call per point.

One step is what :func:`latentspace.realism.optimise_path` does per iteration: decode the
path, evaluate the eq. 3 energy (:func:`latentspace.realism.path_energy`), back-propagate
to the inner points and take an Adam step. Both variants run that same step and differ only
in how the path is decoded. The generator is the default config's DCGAN (width 16,
32 x 32, D = 100, untrained weights: the time does not depend on them) with the normal
prior's closed-form index; ``--prior semicircle`` uses the KDE index instead (D = 20).
Alternating rounds; the median over rounds of the mean time per step. The library's own
``optimise_path`` is timed too (batched, plus its per-step bookkeeping).

Run: ``python benchmarks/realism.py`` (``--pairs``, ``--k``, ``--steps``, ``--rounds``,
``--threads``, ``--width``, ``--size``, ``--prior``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from latentspace import models, priors, realism


def batched(generator: nn.Module) -> Callable[[Tensor], Tensor]:
    def decode(path: Tensor) -> Tensor:
        out = generator(path.reshape(-1, path.shape[-1]))  # one call for all points
        return out.reshape(*path.shape[:-1], *out.shape[1:])

    return decode


def looped(generator: nn.Module) -> Callable[[Tensor], Tensor]:
    def decode(path: Tensor) -> Tensor:
        flat = path.reshape(-1, path.shape[-1])
        out = torch.cat([generator(flat[i : i + 1]) for i in range(len(flat))])  # one call per point
        return out.reshape(*path.shape[:-1], *out.shape[1:])

    return decode


def seconds_per_step(decode, index, x: Tensor, y: Tensor, k: int, steps: int) -> float:
    """Mean wall time of ``steps`` optimisation steps (after one untimed warm-up step)."""
    inner = realism.linear_path(x, y, k)[:, 1:-1].clone().requires_grad_(True)
    opt = torch.optim.Adam([inner], lr=0.05)

    def step() -> None:
        path = torch.cat([x[:, None], inner, y[:, None]], dim=1)
        energy = realism.path_energy(index, path, decode(path)).sum()
        opt.zero_grad(set_to_none=True)
        energy.backward(inputs=[inner])
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="endpoint pairs optimised together (default 3)")
    parser.add_argument("--k", type=int, default=50, help="segments per path: k + 1 points (default 50)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--width", type=int, default=16, help="DCGAN width (default 16, the default config)")
    parser.add_argument("--size", type=int, default=32, help="image side (default 32)")
    parser.add_argument("--prior", choices=["normal", "semicircle"], default="normal")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dim = 100 if args.prior == "normal" else 20
    prior = priors.get(args.prior)
    g = torch.Generator().manual_seed(0)
    index = realism.index_for(prior, dim, generator=g)
    torch.manual_seed(0)
    generator = models.build_generator("dcgan", latent_dim=dim, image_size=args.size, channels=1, width=args.width)
    generator.eval().requires_grad_(False)
    x, y = (prior.sample(args.pairs, dim, generator=g) for _ in range(2))

    times: dict[str, list[float]] = {"batched": [], "loop": [], "optimise_path": []}
    for _ in range(args.rounds):
        times["batched"].append(seconds_per_step(batched(generator), index, x, y, args.k, args.steps))
        times["loop"].append(seconds_per_step(looped(generator), index, x, y, args.k, args.steps))
        start = time.perf_counter()
        realism.optimise_path(generator, index, x, y, k=args.k, steps=args.steps)
        times["optimise_path"].append((time.perf_counter() - start) / (args.steps + 1))

    points = args.pairs * (args.k + 1)
    print(
        f"{args.prior} prior ({index!r}), DCGAN width {args.width}, {args.size}x{args.size}, D = {dim}; "
        f"{args.pairs} paths x {args.k + 1} points = {points} decodes per step; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
        f"median of {args.rounds} rounds of {args.steps} steps"
    )
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, t in med.items():
        spread = ", ".join(f"{1e3 * v:.1f}" for v in times[name])
        print(f"{name:<15} {1e3 * t:8.1f} ms/step   (rounds: {spread})")
    print(f"loop / batched  {med['loop'] / med['batched']:8.1f}x")


if __name__ == "__main__":
    main()

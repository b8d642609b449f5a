"""Image datasets by name, held in memory as one tensor, as float images in [-1, 1].

Every dataset is an :class:`ImageDataset` of shape (N, C, H, W) at the requested side
``size``; indexing it gives float images in [-1, 1] (``-1`` is black). The images stay in
memory as one tensor (``uint8`` where the pixels are exact bytes, else ``float32``) so a
training loop draws a batch with one indexing operation instead of a per-sample pipeline.

======================  ========  ========  =============================================
name                    channels  native    source
======================  ========  ========  =============================================
``fashion-mnist``       1         28 x 28   Debian package ``dataset-fashion-mnist`` when
                                            installed, else the upstream download
``mnist``               1         28 x 28   download (torchvision's mirrors)
``celeba``              3         178x218   ``img_align_celeba.zip``: a local file given
                                            by path, or torchvision's download
``digits``              1         8 x 8     scikit-learn's bundled digits (no network)
======================  ========  ========  =============================================

Fashion-MNIST and MNIST are padded from 28 to 32 with 2 pixels of background (-1) on
each side, as is usual for DCGANs on them, and then resized if ``size`` is not 32
(``size=28`` keeps the raw images). CelebA is center-cropped to a square of side ``crop``
(178, the image width, by default) and resized to ``size`` (64 by default). Digits are
resized from 8 x 8 (bilinear).

:func:`prepare` puts a dataset's files into a resources directory (``root``), verifying
their checksums; :func:`fetch` is the verified, atomic download of one file that it uses.
:func:`load` prepares what is missing (unless ``download=False``) and loads::

    >>> from latentspace import data
    >>> train = data.load("fashion-mnist", root="resources", split="train", size=32)
    >>> train.shape
    (60000, 1, 32, 32)
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import files as _files
from ._checks import check_int

__all__ = [
    "ImageDataset",
    "ChecksumError",
    "load",
    "load_configured",
    "names",
    "prepare",
    "fetch",
    "file_checksum",
    "read_idx",
    "IDX_SOURCES",
    "SYSTEM_DIRS",
]


class ChecksumError(OSError):
    """A file's checksum differs from the known one; the message names both."""


# --------------------------------------------------------------------------- the dataset


class ImageDataset(torch.utils.data.Dataset):
    """Images (N, C, H, W) and optional integer labels (N,), held as tensors.

    ``pixels`` is either ``uint8`` in 0..255 (mapped to [-1, 1] as ``p / 127.5 - 1``) or
    floating point already in [-1, 1]. ``dataset[i]`` gives ``(image, label)`` like a
    ``TensorDataset``; :meth:`images` gives a float batch for any index (an int, a
    slice, or an index tensor), converted on the tensor's device.
    """

    def __init__(self, pixels: Tensor, labels: Tensor | None = None, name: str = "") -> None:
        if pixels.ndim != 4:
            raise ValueError(f"{name or 'dataset'}: pixels must have shape (N, C, H, W), got {tuple(pixels.shape)}")
        if pixels.dtype != torch.uint8 and not pixels.is_floating_point():
            raise ValueError(f"{name or 'dataset'}: pixels must be uint8 or floating point, got {pixels.dtype}")
        if labels is not None and len(labels) != len(pixels):
            raise ValueError(f"{name or 'dataset'}: {len(labels)} labels for {len(pixels)} images")
        self.pixels, self.labels, self.name = pixels, labels, name

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, Tensor]:
        label = self.labels[index] if self.labels is not None else torch.tensor(-1)
        return self.images(index), label

    def __repr__(self) -> str:
        return f"ImageDataset({self.name!r}, shape={self.shape}, storage={self.pixels.dtype}, device={self.device})"

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(self.pixels.shape)  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        return self.pixels.shape[1]

    @property
    def size(self) -> int:
        """Side of the (square) images."""
        return self.pixels.shape[-1]

    @property
    def device(self) -> torch.device:
        return self.pixels.device

    @property
    def tensors(self) -> tuple[Tensor, Tensor | None]:
        """All images as float in [-1, 1] and the labels, like ``TensorDataset.tensors``."""
        return self.images(), self.labels

    def images(self, index: Any = None, dtype: torch.dtype = torch.float32) -> Tensor:
        """Images at ``index`` (all when None) as ``dtype`` in [-1, 1]."""
        x = self.pixels if index is None else self.pixels[index]
        if x.dtype == torch.uint8:
            return x.to(dtype).div_(127.5).sub_(1.0)
        return x.to(dtype)

    def to(self, device: torch.device | str) -> ImageDataset:
        """The same dataset with its tensors on ``device``."""
        labels = None if self.labels is None else self.labels.to(device)
        return ImageDataset(self.pixels.to(device), labels, self.name)

    def subset(self, n: int) -> ImageDataset:
        """The first ``n`` images."""
        labels = None if self.labels is None else self.labels[:n]
        return ImageDataset(self.pixels[:n], labels, self.name)


def _resize(x: Tensor, size: int) -> Tensor:
    """Resize float images (N, C, h, w) to (N, C, size, size): bilinear, antialiased when
    shrinking; convex weights, so values stay in the input's range."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    shrink = size < x.shape[-1]
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)


def _check_size(dataset: str, size: Any) -> None:
    check_int(dataset, "size", size, 4)


def _check_split(dataset: str, split: str, allowed: Sequence[str]) -> None:
    if split not in allowed:
        raise ValueError(f"{dataset}: unknown split {split!r}; valid splits: {', '.join(allowed)}")


# --------------------------------------------------------------------------- checksums and fetch


def file_checksum(path: str | Path, algorithm: str = "md5") -> str:
    """Hex digest of a file (``md5`` or ``sha256``), read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected(md5: str | None, sha256: str | None) -> tuple[str, str]:
    if sha256:
        return "sha256", sha256.lower()
    if md5:
        return "md5", md5.lower()
    raise ValueError("fetch: give the expected checksum as md5= or sha256=")


@contextlib.contextmanager
def _temporary_beside(dest: Path) -> Iterator[Path]:
    """A temporary path in ``dest``'s folder, removed unless it was renamed away."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _open_source(source: str | Path) -> Any:
    """A binary stream for a URL (http, https, file) or a local path."""
    text = str(source)
    if "://" in text:
        return urllib.request.urlopen(text, timeout=60)
    return open(text, "rb")


def fetch(
    source: str | Path,
    dest: str | Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    decompress: bool = False,
) -> Path:
    """Copy ``source`` (an http(s) or file URL, or a local path) to ``dest``, verified.

    The bytes go to a temporary file beside ``dest`` and are renamed to ``dest`` only
    once their checksum (``sha256`` if given, else ``md5``; of the decompressed bytes
    when ``decompress`` gunzips them on the way) equals the expected one. On a mismatch
    or a broken transfer nothing is left behind and :class:`ChecksumError` (or the
    transfer's error) names the file and its expected checksum, so a rerun fetches
    again. An existing ``dest`` with the right checksum is kept as it is.
    """
    dest = Path(dest)
    algorithm, expected = _expected(md5, sha256)
    if dest.exists():
        if file_checksum(dest, algorithm) == expected:
            return dest
        dest.unlink()  # a stale or corrupt copy: fetch it again
    scheme = urllib.parse.urlparse(str(source)).scheme
    if "://" in str(source) and scheme not in ("http", "https", "file"):
        raise ValueError(f"fetch: unsupported URL scheme {scheme!r} in {source}")
    with _temporary_beside(dest) as tmp:
        h = hashlib.new(algorithm)
        try:
            with _open_source(source) as raw, open(tmp, "wb") as out:
                stream = gzip.GzipFile(fileobj=raw) if decompress else raw
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except (OSError, EOFError, zlib.error, http.client.HTTPException) as exc:
            raise OSError(
                f"fetching {dest.name} from {source} failed ({exc}); expected {algorithm} {expected}"
            ) from exc
        got = h.hexdigest()
        if got != expected:
            what = "decompressed content of " if decompress else ""
            raise ChecksumError(
                f"checksum mismatch for {what}{dest.name} from {source}: expected {algorithm} {expected}, got {got}; "
                f"the file may be corrupt or truncated (nothing was kept, a rerun fetches it again)"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, dest)
    return dest


# --------------------------------------------------------------------------- IDX datasets


@dataclass(frozen=True)
class IdxSource:
    """Where the four IDX files of an MNIST-like dataset come from.

    ``files`` maps each file's stem to ``(md5 of the .gz archive, md5 of its content)``.
    The archive checksum is the one the publisher lists (and torchvision checks); the
    content checksum is what we verify, because a redistributed archive (Debian's) may
    be re-compressed with different gzip headers but the same content.
    """

    folder: str  # torchvision's folder name: root/<folder>/raw/<stem>
    mirrors: tuple[str, ...]
    files: dict[str, tuple[str, str]]
    system_dirs: tuple[str, ...] = ()


IDX_SOURCES: dict[str, IdxSource] = {
    "fashion-mnist": IdxSource(
        folder="FashionMNIST",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files={
            "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
            "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
            "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),  # Debian: dataset-fashion-mnist
    ),
    "mnist": IdxSource(
        folder="MNIST",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        files={
            "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
            "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
            "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
            "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
        },
    ),
}
SYSTEM_DIRS = {name: src.system_dirs for name, src in IDX_SOURCES.items()}
_IDX_SPLITS = {"train": "train", "test": "t10k"}


def _prepare_idx(name: str, root: Path, download: bool) -> Path:
    """Put the four IDX files of ``name`` into root/<folder>/raw/ (gunzipped, verified),
    from a system copy when one exists, else from the mirrors."""
    src = IDX_SOURCES[name]
    raw = root / src.folder / "raw"
    for stem, (gz_md5, content_md5) in src.files.items():
        dest = raw / stem
        if dest.exists() and file_checksum(dest) == content_md5:
            continue
        local = [Path(d) / f"{stem}.gz" for d in src.system_dirs if (Path(d) / f"{stem}.gz").exists()]
        if local:
            fetch(local[0], dest, md5=content_md5, decompress=True)
            continue
        if not download:
            hint = f" (or install the Debian package that puts it in {src.system_dirs[0]})" if src.system_dirs else ""
            raise FileNotFoundError(f"{name}: {dest} is missing; call prepare({name!r}, root) with download=True{hint}")
        errors = []
        for mirror in src.mirrors:
            archive = raw / f"{stem}.gz"
            try:
                fetch(mirror + f"{stem}.gz", archive, md5=gz_md5)
                fetch(archive, dest, md5=content_md5, decompress=True)
                archive.unlink()
                break
            except OSError as exc:  # ChecksumError included: try the next mirror
                errors.append(f"{mirror}: {exc}")
        else:
            raise OSError(f"{name}: could not fetch {stem}.gz from any mirror:\n  " + "\n  ".join(errors))
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) as a numpy array, from its header: two zero
    bytes, a type code (0x08 = uint8) and the number of dimensions, then one big-endian
    int32 per dimension, then the data."""
    path = Path(path)
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        blob = f.read()
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {blob[:4].hex()})")
    ndim = blob[3]
    dims = tuple(int(d) for d in np.frombuffer(blob, ">i4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    if len(blob) - offset != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} but the file holds {len(blob) - offset} bytes of data")
    return np.frombuffer(blob, np.uint8, offset=offset).reshape(dims)


def _load_idx(name: str, root: Path, split: str, size: int | None, limit: int | None, download: bool) -> ImageDataset:
    _check_split(name, split, tuple(_IDX_SPLITS))
    size = 32 if size is None else size
    _check_size(name, size)
    raw = _prepare_idx(name, root, download)
    prefix = _IDX_SPLITS[split]
    images = torch.from_numpy(read_idx(raw / f"{prefix}-images-idx3-ubyte")[:limit].copy())  # (N, 28, 28) uint8
    labels = torch.from_numpy(read_idx(raw / f"{prefix}-labels-idx1-ubyte")[:limit].astype(np.int64))
    pixels = images.unsqueeze(1)  # (N, 1, 28, 28)
    if size != 28:
        pixels = F.pad(pixels, (2, 2, 2, 2), value=0)  # (N, 1, 32, 32), background 0 -> -1
    if size not in (28, 32):
        pixels = _resize(pixels.float().div_(127.5).sub_(1.0), size)  # float (N, 1, size, size)
    return ImageDataset(pixels, labels, name)


# --------------------------------------------------------------------------- digits


def _load_digits(root: Path, split: str, size: int | None, limit: int | None, download: bool) -> ImageDataset:
    """scikit-learn's 1,797 8 x 8 digits (values 0..16), resized bilinearly to ``size``.
    ``split``: "train" (the first 1,500), "test" (the other 297) or "all"."""
    from sklearn.datasets import load_digits

    _check_split("digits", split, ("train", "test", "all"))
    size = 32 if size is None else size
    _check_size("digits", size)
    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32)).unsqueeze(1) / 8.0 - 1.0  # (1797, 1, 8, 8)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    part = {"train": slice(0, 1500), "test": slice(1500, None), "all": slice(None)}[split]
    x, y = x[part][:limit], y[part][:limit]
    return ImageDataset(_resize(x, size).clamp_(-1.0, 1.0).contiguous(), y, "digits")


# --------------------------------------------------------------------------- CelebA

CELEBA_ZIP = "img_align_celeba.zip"
CELEBA_ZIP_MD5 = "00d2c5bc6d35e252742224ab0c1e8fcb"  # as torchvision checks it
# The official partition (list_eval_partition.txt) is by file number: 000001-162770 train,
# 162771-182637 valid, 182638-202599 test.
_CELEBA_SPLITS = {"train": (1, 162770), "valid": (162771, 182637), "test": (182638, 202599), "all": (1, 202599)}


def _prepare_celeba(root: Path, archive: str | Path | None, download: bool, verify: bool = True) -> Path:
    """root/celeba/img_align_celeba.zip, verified: copied from ``archive`` when given,
    else downloaded by torchvision (which checks its own MD5 checksums)."""
    folder = root / "celeba"
    dest = folder / CELEBA_ZIP
    if archive is not None:
        if verify:
            fetch(Path(archive), dest, md5=CELEBA_ZIP_MD5)
        elif Path(archive).resolve() != dest.resolve():
            with _temporary_beside(dest) as tmp:
                shutil.copyfile(archive, tmp)
                os.replace(tmp, dest)
        return dest
    if dest.exists() or (folder / "img_align_celeba").is_dir():
        return dest
    if not download:
        raise FileNotFoundError(f"celeba: {dest} is missing; pass archive=<path to {CELEBA_ZIP}> or download=True")
    import torchvision

    torchvision.datasets.CelebA(str(root), split="all", target_type=[], download=True)
    return dest


def _celeba_members(root: Path) -> tuple[Callable[[str], bytes], list[str]]:
    """A reader of image bytes by file name, and the sorted file names."""
    folder = root / "celeba" / "img_align_celeba"
    if folder.is_dir():
        files = sorted(p.name for p in folder.glob("*.jpg"))
        return (lambda n: (folder / n).read_bytes()), files
    zf = zipfile.ZipFile(root / "celeba" / CELEBA_ZIP)
    by_name = {Path(i.filename).name: i.filename for i in zf.infolist() if i.filename.endswith(".jpg")}
    return (lambda n: zf.read(by_name[n])), sorted(by_name)


def _load_celeba(
    root: Path,
    split: str,
    size: int | None,
    limit: int | None,
    download: bool,
    archive: str | Path | None = None,
    crop: int = 178,
    verify: bool = True,
) -> ImageDataset:
    """CelebA aligned faces: center crop ``crop`` x ``crop`` (178 is the full width of the
    178 x 218 images; the TensorFlow DCGAN code uses 108), resized to ``size`` (64).

    Decoding 200,000 JPEGs takes minutes, so a whole split is cached once as a ``uint8``
    array root/celeba/cache-<split>-<size>-crop<crop>.npy (written atomically)."""
    from PIL import Image

    _check_split("celeba", split, tuple(_CELEBA_SPLITS))
    size = 64 if size is None else size
    _check_size("celeba", size)
    if not isinstance(crop, int) or isinstance(crop, bool) or not 1 <= crop <= 178:
        raise ValueError(f"celeba: option 'crop' must be an integer in 1..178, got {crop!r}")
    _prepare_celeba(root, archive, download, verify)
    cache = root / "celeba" / f"cache-{split}-{size}-crop{crop}.npy"
    if cache.exists():
        pixels = _files.load(cache, "CelebA image cache", "delete it: the next load decodes the JPEGs again")
        return ImageDataset(torch.from_numpy(pixels[:limit].copy()), None, "celeba")
    read, files = _celeba_members(root)
    first, last = _CELEBA_SPLITS[split]
    files = [f for f in files if first <= int(Path(f).stem) <= last][:limit]
    pixels = np.empty((len(files), 3, size, size), dtype=np.uint8)
    for i, name in enumerate(files):
        with Image.open(io.BytesIO(read(name))) as im:
            im = im.convert("RGB")
            w, h = im.size
            left, top = (w - crop) // 2, (h - crop) // 2
            im = im.crop((left, top, left + crop, top + crop)).resize((size, size), Image.BILINEAR)
            pixels[i] = np.asarray(im).transpose(2, 0, 1)
    if limit is None:
        with _temporary_beside(cache) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, pixels)
            os.chmod(tmp, 0o644)
            os.replace(tmp, cache)
    return ImageDataset(torch.from_numpy(pixels), None, "celeba")


# --------------------------------------------------------------------------- registry

_LOADERS: dict[str, Callable[..., ImageDataset]] = {
    "fashion-mnist": lambda root, split, size, limit, download: _load_idx(
        "fashion-mnist", root, split, size, limit, download
    ),
    "mnist": lambda root, split, size, limit, download: _load_idx("mnist", root, split, size, limit, download),
    "celeba": _load_celeba,
    "digits": _load_digits,
}
_OPTIONS = {"celeba": ("archive", "crop", "verify")}


def names() -> list[str]:
    """Names accepted by :func:`load` and :func:`prepare`."""
    return sorted(_LOADERS)


def _check_name(name: str) -> None:
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; valid datasets: {', '.join(names())}")


def _check_options(name: str, options: dict[str, Any]) -> None:
    allowed = _OPTIONS.get(name, ())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"dataset {name!r} got unknown option(s) {', '.join(unknown)}; it accepts: {', '.join(allowed) or 'none'}"
        )


def prepare(name: str, root: str | Path = "resources", *, download: bool = True, **options: Any) -> Path:
    """Put the files of dataset ``name`` into ``root``, verified by checksum; returns
    where they are. Idempotent: verified files are kept, missing or corrupt ones are
    fetched again. ``digits`` needs no files. ``celeba`` takes ``archive`` (a local
    ``img_align_celeba.zip``) and ``verify``."""
    _check_name(name)
    _check_options(name, options)
    root = Path(root)
    if name in IDX_SOURCES:
        return _prepare_idx(name, root, download)
    if name == "celeba":
        return _prepare_celeba(root, options.get("archive"), download, options.get("verify", True))
    return root


def load(
    name: str = "fashion-mnist",
    root: str | Path = "resources",
    split: str = "train",
    size: int | None = None,
    *,
    limit: int | None = None,
    download: bool = True,
    **options: Any,
) -> ImageDataset:
    """Load dataset ``name`` (see :func:`names`) as float images in [-1, 1] of side
    ``size`` (None: 32 for the 28 x 28 datasets and digits, 64 for CelebA).

    ``split`` is "train" or "test" ("valid" and "all" too for CelebA, "all" for digits);
    ``limit`` keeps the first ``limit`` images. Missing files are prepared first
    (:func:`prepare`), from a system copy or, when ``download`` is true, the network.
    """
    _check_name(name)
    _check_options(name, options)
    check_int(name, "limit", limit, allow_none=True)
    return _LOADERS[name](Path(root), split, size, limit, download, **options)


_UNSET: Any = object()


def load_configured(section: Mapping[str, Any], split: str = "train", limit: int | None = _UNSET) -> ImageDataset:
    """:func:`load` from a config's ``dataset:`` section (keys name, root, size, limit,
    archive, verify): ``archive`` and ``verify`` apply to CelebA only, ``limit`` (default:
    the section's) to this split."""
    options = {"archive": section["archive"]} if section.get("archive") and section["name"] == "celeba" else {}
    if section["name"] == "celeba" and "verify" in section:
        options["verify"] = bool(section["verify"])
    limit = section.get("limit") if limit is _UNSET else limit
    return load(section["name"], root=section["root"], split=split, size=section["size"], limit=limit, **options)

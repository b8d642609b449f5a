"""Datasets: shapes and range, IDX reading, verified atomic fetches (local files and a
local HTTP server only, never the internet)."""

import gzip
import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from latentspace import data

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- a local server


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.startswith("/truncated/"):
            # Promise 1000 bytes, send 100 and hang up: a broken transfer.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: _Handler(*a, directory=str(www), **k))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


# --------------------------------------------------------------------------- fetch


def test_fetch_verifies_and_refetches(server, tmp_path):
    www, url = server
    good = b"the right bytes" * 100
    (www / "file.bin").write_bytes(b"corrupted bytes" * 100)
    out = tmp_path / "res"
    dest = out / "file.bin"

    with pytest.raises(data.ChecksumError) as err:
        data.fetch(url + "file.bin", dest, md5=md5(good))
    assert "file.bin" in str(err.value) and md5(good) in str(err.value)
    assert not dest.exists() and leftovers(out) == []  # nothing partial kept

    (www / "file.bin").write_bytes(good)  # the source is fixed: a rerun fetches again
    assert data.fetch(url + "file.bin", dest, md5=md5(good)) == dest
    assert dest.read_bytes() == good and leftovers(out) == []

    dest.write_bytes(good[:10])  # a corrupt local copy is replaced
    data.fetch(url + "file.bin", dest, sha256=hashlib.sha256(good).hexdigest())
    assert dest.read_bytes() == good


def test_fetch_truncated_transfer_leaves_nothing(server, tmp_path):
    _, url = server
    dest = tmp_path / "res" / "big.bin"
    with pytest.raises(OSError, match="big.bin.*expected md5 0123") as err:
        data.fetch(url + "truncated/big.bin", dest, md5="0123" * 8)
    assert not dest.exists() and leftovers(dest.parent) == []
    assert err.type in (OSError, data.ChecksumError)


def test_fetch_file_url_decompress(tmp_path):
    content = b"idx content" * 50
    src = tmp_path / "a.gz"
    src.write_bytes(gzip.compress(content))
    dest = data.fetch(src.as_uri(), tmp_path / "out" / "a", md5=md5(content), decompress=True)
    assert dest.read_bytes() == content
    src.write_bytes(gzip.compress(content)[:-20])  # truncated archive
    with pytest.raises(OSError, match="expected md5"):
        data.fetch(src, tmp_path / "out" / "b", md5=md5(content), decompress=True)
    assert not (tmp_path / "out" / "b").exists() and leftovers(tmp_path / "out") == []


def test_prepare_idx_from_mirror(server, tmp_path, monkeypatch):
    """The real prepare path (mirror download, archive + content checksums, gunzip) on
    a tiny fake dataset served locally."""
    www, url = server
    rng = np.random.default_rng(0)
    files, sums = {}, {}
    for prefix, n in (("train", 6), ("t10k", 4)):
        files[f"{prefix}-images-idx3-ubyte"] = idx_bytes(rng.integers(0, 256, (n, 28, 28)))
        files[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(rng.integers(0, 10, (n,)))
    for stem, content in files.items():
        archive = gzip.compress(content)
        (www / f"{stem}.gz").write_bytes(archive)
        sums[stem] = (md5(archive), md5(content))
    fake = data.IdxSource(folder="Fake", mirrors=(url,), files=sums)
    monkeypatch.setitem(data.IDX_SOURCES, "mnist", fake)
    root = tmp_path / "resources"

    raw = data.prepare("mnist", root)
    assert sorted(p.name for p in raw.iterdir()) == sorted(files)
    ds = data.load("mnist", root=root, split="test", download=False)
    assert ds.shape == (4, 1, 32, 32)
    raw_images = np.frombuffer(files["t10k-images-idx3-ubyte"], np.uint8, offset=16).reshape(4, 28, 28)
    assert torch.equal(ds.pixels[:, 0, 2:30, 2:30], torch.from_numpy(raw_images.copy()))

    # A corrupt copy on the mirror: the error names the file and its checksum, nothing is kept.
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (www / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"garbage"))
    with pytest.raises(OSError, match="t10k-labels-idx1-ubyte.gz.*" + sums["t10k-labels-idx1-ubyte"][0]):
        data.prepare("mnist", root)
    assert not (raw / "t10k-labels-idx1-ubyte").exists() and leftovers(raw) == []
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.load("mnist", root=root, split="test", download=False)


# --------------------------------------------------------------------------- datasets


def test_read_idx(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "x").write_bytes(idx_bytes(arr))
    (tmp_path / "x.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    assert np.array_equal(data.read_idx(tmp_path / "x"), arr)
    assert np.array_equal(data.read_idx(tmp_path / "x.gz"), arr)
    (tmp_path / "bad").write_bytes(idx_bytes(arr)[:-1])
    with pytest.raises(ValueError, match="header says"):
        data.read_idx(tmp_path / "bad")


@pytest.mark.parametrize("size", [16, 32])
def test_digits(size):
    ds = data.load("digits", size=size)
    assert ds.shape == (1500, 1, size, size)
    x, y = ds[:10]
    assert x.dtype == torch.float32 and x.shape == (10, 1, size, size) and y.shape == (10,)
    images = ds.images()
    assert images.min() == -1 and images.max() == 1
    assert len(data.load("digits", split="test", size=8)) == 297


def test_errors():
    with pytest.raises(
        ValueError, match="unknown dataset 'cifar'; valid datasets: celeba, digits, fashion-mnist, mnist"
    ):
        data.load("cifar")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        data.load("digits", split="val")
    with pytest.raises(ValueError, match="unknown option.*crop"):
        data.load("digits", crop=3)


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_package(tmp_path):
    ds = data.load("fashion-mnist", root=tmp_path, split="test", download=False)
    assert ds.shape == (10000, 1, 32, 32) and ds.pixels.dtype == torch.uint8
    x = ds.images()
    assert x.min() == -1 and x.max() == 1
    assert (x[:, :, :2] == -1).all() and (x[:, :, :, -2:] == -1).all()  # the 2-pixel padding
    assert ds.labels[:5].tolist() == [9, 2, 1, 1, 6]
    # The files went where torchvision's FashionMNIST(root, download=False) reads them.
    assert (tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").stat().st_size == 7840016
    assert data.load("fashion-mnist", root=tmp_path, split="test", size=16, limit=5).shape == (5, 1, 16, 16)


def _celeba_zip(path: Path, n: int) -> None:
    from PIL import Image

    with zipfile.ZipFile(path, "w") as zf:
        for i in range(1, n + 1):
            im = np.zeros((218, 178, 3), np.uint8)
            im[20:198, :, 0] = 255  # red inside the central 178 x 178 square, black outside
            buf = io.BytesIO()
            Image.fromarray(im).save(buf, format="JPEG", quality=100, subsampling=0)
            zf.writestr(f"img_align_celeba/{i:06d}.jpg", buf.getvalue())


def test_celeba_local_archive(tmp_path):
    archive = tmp_path / "img_align_celeba.zip"
    _celeba_zip(archive, 3)
    with pytest.raises(data.ChecksumError, match="img_align_celeba.zip.*00d2c5bc6d35e252742224ab0c1e8fcb"):
        data.load("celeba", root=tmp_path / "res", archive=archive)
    assert not (tmp_path / "res" / "celeba" / "img_align_celeba.zip").exists()
    ds = data.load("celeba", root=tmp_path / "res", archive=archive, verify=False, size=16, limit=2)
    assert ds.shape == (2, 3, 16, 16)
    x = ds.images()
    assert x[:, 0].mean() > 0.95 and x[:, 1:].mean() < -0.95  # the center crop is (nearly) all red


def test_load_configured_reads_a_config_section():
    section = {"name": "digits", "root": "unused", "size": 16, "limit": 100, "archive": "ignored-for-digits.zip"}
    train = data.load_configured(section, "train")
    assert len(train) == 100 and train.shape[1:] == (1, 16, 16)
    test = data.load_configured(section, "test", limit=None)
    assert len(test) == len(data.load("digits", split="test", size=16))

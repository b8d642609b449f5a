"""The ImageNet InceptionV3 of the Inception Score (latentspace.inception): both file
formats it loads (a torchvision state dict, as the real weights come; a TorchScript
module, as the workflow's stand-in), the verified fetch of the real file (from a local
file:// URL: nothing is downloaded), and is_inception through metrics.evaluate."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from paper_ci import LogitsStandIn

from latentspace import data, display, evaluation, inception, metrics

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:FutureWarning")  # TorchScript is a weights format


def test_torchscript_stand_in_gives_is_inception(tmp_path):
    path = tmp_path / "logits.pt"
    torch.jit.script(LogitsStandIn()).save(str(path))
    extractor = inception.load_inception_logits(path, device="cpu")
    assert extractor.name == "inception_logits"
    assert extractor.fingerprint == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    images = torch.rand(40, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    feats = metrics.extract(extractor, images, batch_size=16)
    assert feats.logits is not None and feats.logits.shape == (40, 10)
    result = metrics.evaluate(images, ["is_inception"], {"inception_logits": extractor}, splits=4)["is_inception"]
    assert 1.0 < result.value < 10.0 and np.isfinite(result.std) and len(result.per_split) == 4
    # grey images are repeated to three channels, any size is resized to 299 x 299
    assert inception.InceptionLogitsExtractor.preprocess(torch.zeros(2, 1, 8, 8)).shape == (2, 3, 299, 299)
    # the workflow's wiring: inception_logits gives is_inception, labelled for the tables
    assert evaluation.metrics_for(["inception_logits"]) == ["is_inception"]
    assert "is_inception" not in evaluation.metrics_for(["inception"])  # the FID network has no logits
    assert display.METRIC_LABELS["is_inception"] == "IS (Inception)"
    loaded = evaluation.load_extractors(["inception_logits"], inception_logits=str(path), device="cpu")
    assert loaded["inception_logits"].fingerprint == extractor.fingerprint


def test_torchvision_state_dict_loads_into_inception_v3(tmp_path):
    # The real file's format: torch.save of torchvision's inception_v3 state dict (random
    # weights here, the same keys and shapes, about 100 MB).
    import torchvision

    net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    path = tmp_path / inception.WEIGHTS_FILE
    torch.save(net.state_dict(), path)
    extractor = inception.load_inception_logits(path, device="cpu")
    logits, same = extractor(torch.zeros(2, 3, 64, 64))
    assert logits.shape == (2, 1000) and same is logits and torch.isfinite(logits).all()
    assert not extractor.module.training and not extractor.module.transform_input  # inputs already in [-1, 1]
    # a state dict of another network is refused, naming the file
    other = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), other)
    with pytest.raises(ValueError, match="other.pth"):
        inception.load_inception_logits(other)


def test_missing_weights_name_the_path_and_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="inception_logits_weights"):
        inception.load_inception_logits(tmp_path / "none.pth")
    with pytest.raises(FileNotFoundError, match="inception_logits_weights"):
        evaluation.load_extractors(["inception_logits"])


def test_fetch_weights_is_verified_and_atomic(tmp_path, monkeypatch):
    source = tmp_path / "served.pth"
    source.write_bytes(b"not really weights" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setattr(inception, "TORCHVISION_URL", source.as_uri())
    monkeypatch.setattr(inception, "TORCHVISION_SHA256", "0" * 64)
    root = tmp_path / "resources"
    with pytest.raises(data.ChecksumError, match="expected sha256 0000"):
        inception.fetch_weights(root)
    assert not any((root / "inception").iterdir()), "a failed fetch leaves nothing behind"
    monkeypatch.setattr(inception, "TORCHVISION_SHA256", digest)
    path = inception.fetch_weights(root)
    assert path == root / "inception" / inception.WEIGHTS_FILE and path.read_bytes() == source.read_bytes()


def test_pinned_digest_matches_torchvision_file_name():
    # torch.hub checks the first 8 hex digits of the SHA-256, which the file name carries
    assert inception.TORCHVISION_URL.endswith(inception.WEIGHTS_FILE)
    assert inception.WEIGHTS_FILE.split("-")[1].removesuffix(".pth") == inception.TORCHVISION_SHA256[:8]
    assert len(inception.TORCHVISION_SHA256) == 64

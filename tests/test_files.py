"""Damaged and incompatible files: every checkpoint, snapshot, generator, auto-encoder,
classifier, statistics and grid file is read through ``latentspace.files.load``; a file cut
short, overwritten with other bytes, lacking entries or holding a network this code no
longer builds ends in an error that names the file, says what is wrong and what to do,
and the file is left as it was."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, TINY_RUN

from latentspace import classifier, data, files, metrics, plotting, render, training


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", size=16, limit=200)


@pytest.fixture(scope="module")
def gan_run(digits, tmp_path_factory):
    """A finished tiny GAN run (8 steps, a snapshot at step 4): kept intact, tests damage copies."""
    run = tmp_path_factory.mktemp("gan")
    config = training.GANConfig(**{**TINY_RUN, "width": 8, "seed": 3, "snapshot_steps": (4,)})
    training.train_gan(config, digits, run, progress=False)
    return run, config


@pytest.fixture(scope="module")
def ae_run(digits, tmp_path_factory):
    run = tmp_path_factory.mktemp("ae")
    config = training.AEConfig(**{**TINY_RUN, "kind": "vae", "width": 4, "seed": 5})
    training.train_autoencoder(config, digits, run, progress=False)
    return run, config


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


DAMAGES = {"truncated": truncate, "garbage": garbage}


def copy_run(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def check_error(err: pytest.ExceptionInfo, path: Path, problem: str, remedy: str) -> None:
    """The message names the file, says what is wrong and what to do."""
    message = str(err.value)
    assert isinstance(err.value, files.DamagedFileError), message
    assert str(path) in message, message
    assert re.search(problem, message), message
    assert re.search(remedy, message), message


# --------------------------------------------------------------------------- the loader itself


@pytest.mark.parametrize("suffix", [".pt", ".npz", ".npy"])
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_loader_reports_damage_and_keeps_the_file(tmp_path, suffix, damage):
    path = tmp_path / f"thing{suffix}"
    if suffix == ".pt":
        torch.save({"format": 1, "w": torch.arange(1000.0)}, path)
    elif suffix == ".npz":
        np.savez(path, format=np.int64(1), w=np.arange(1000.0))
    else:
        np.save(path, np.arange(1000.0))
    assert files.load(path, "test file", "do X") is not None
    DAMAGES[damage](path)
    damaged = path.read_bytes()
    with pytest.raises(files.DamagedFileError) as err:
        files.load(path, "test file", "do X")
    check_error(err, path, r"cannot be read as a test file: it is damaged or cut short", r"; do X$")
    assert path.read_bytes() == damaged  # left as it was


def test_loader_checks_keys_and_format(tmp_path):
    path = tmp_path / "a.pt"
    torch.save({"format": 1, "step": 3}, path)
    with pytest.raises(files.DamagedFileError, match=r"a.pt is not a widget written by this code: it lacks 'model'"):
        files.load(path, "widget", "do X", keys=("step", "model"))
    with pytest.raises(files.DamagedFileError, match=r"a.pt is a widget of format 1; this code reads format 2; do X"):
        files.load(path, "widget", "do X", format=2)
    torch.save([1, 2], path)
    with pytest.raises(files.DamagedFileError, match=r"holds a list, not a widget"):
        files.load(path, "widget", "do X", keys=("step",))
    with pytest.raises(FileNotFoundError, match=r"nothing.pt does not exist \(no widget there\); do X"):
        files.load(tmp_path / "nothing.pt", "widget", "do X")


# Modules that read third-party files (downloaded weights, checked by their own loaders,
# whose errors name the file and the fix), not files this library writes.
THIRD_PARTY_READERS = {"inception.py"}


def test_every_read_of_a_library_file_goes_through_the_loader():
    """No torch.load / np.load outside latentspace.files (in the library and the scripts)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for folder in ("src/latentspace", "workflow/scripts", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "files.py" and path.name not in THIRD_PARTY_READERS
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\b(torch|np|numpy)\.load\(", line)
    ]
    assert offenders == []


# --------------------------------------------------------------------------- training checkpoints


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_gan_checkpoint_stops_the_resume(gan_run, digits, tmp_path, damage):
    src, config = gan_run
    run = copy_run(src, tmp_path / "run")
    checkpoint = run / "checkpoint.pt"
    DAMAGES[damage](checkpoint)
    damaged = checkpoint.read_bytes()
    with pytest.raises(files.DamagedFileError) as err:
        training.train_gan(training.GANConfig(**{**config.to_dict(), "steps": 10}), digits, run, progress=False)
    check_error(err, checkpoint, r"cannot be read as a training checkpoint: it is damaged or cut short",
                r"delete it to train this run from scratch")
    assert checkpoint.read_bytes() == damaged and (run / "generator.pt").read_bytes() == (src / "generator.pt").read_bytes()
    # Doing what the message says works: without the checkpoint the run trains from scratch.
    checkpoint.unlink()
    again = training.train_gan(config, digits, run, progress=False)
    assert again.resumed_from is None and again.step == config.steps


def test_gan_checkpoint_with_missing_entries(gan_run, digits, tmp_path):
    src, config = gan_run
    run = copy_run(src, tmp_path / "run")
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    del state["opt_d"]
    torch.save(state, run / "checkpoint.pt")
    with pytest.raises(files.DamagedFileError) as err:
        training.train_gan(config, digits, run, progress=False)
    check_error(err, run / "checkpoint.pt", r"is not a training checkpoint written by this code: it lacks 'opt_d'",
                r"delete it to train")


def test_gan_checkpoint_of_a_changed_network(gan_run, digits, tmp_path):
    src, config = gan_run
    run = copy_run(src, tmp_path / "run")
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["discriminator"]["net.0.weight"] = state["discriminator"]["net.0.weight"][:, :, :2]  # another kernel size
    torch.save(state, run / "checkpoint.pt")
    with pytest.raises(files.DamagedFileError) as err:
        training.train_gan(config, digits, run, progress=False)
    check_error(err, run / "checkpoint.pt", r"does not fit the discriminator built by this code, which has changed",
                r"delete it to train")


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_autoencoder_checkpoint_and_file(ae_run, digits, tmp_path, damage):
    src, config = ae_run
    run = copy_run(src, tmp_path / "run")
    DAMAGES[damage](run / "checkpoint.pt")
    with pytest.raises(files.DamagedFileError) as err:
        training.train_autoencoder(config, digits, run, progress=False)
    check_error(err, run / "checkpoint.pt", r"damaged or cut short", r"delete it to train this run from scratch")
    DAMAGES[damage](run / "autoencoder.pt")
    with pytest.raises(files.DamagedFileError) as err:
        training.load_autoencoder(run / "autoencoder.pt")
    check_error(err, run / "autoencoder.pt", r"cannot be read as an auto-encoder file: it is damaged",
                r"delete it and train again.*rerun the train_autoencoder rule")


# --------------------------------------------------------------------------- model files


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_generator_file_and_snapshot(gan_run, digits, tmp_path, damage):
    src, config = gan_run
    run = copy_run(src, tmp_path / "run")
    generator, snapshot = run / "generator.pt", run / "snapshots" / "generator-step0000004.pt"
    for path in (generator, snapshot):
        DAMAGES[damage](path)
    for load in (training.load_generator, render.load_model):
        with pytest.raises(files.DamagedFileError) as err:
            load(generator)
        check_error(err, generator, r"cannot be read as a generator file: it is damaged or cut short",
                    r"delete it and train again: train_gan in the same run directory writes it again from an intact "
                    r"checkpoint.pt")
        with pytest.raises(files.DamagedFileError) as err:
            load(snapshot)
        check_error(err, snapshot, r"damaged or cut short",
                    rf"snapshots are written only while training: delete the run directory {re.escape(str(run))} ")
    # The message's advice works: train_gan gives generator.pt back from the intact checkpoint.
    generator.unlink()
    assert training.train_gan(config, digits, run, progress=False).resumed_from == config.steps
    assert generator.read_bytes() == (src / "generator.pt").read_bytes()


def test_generator_file_of_a_changed_network(gan_run, tmp_path):
    src, _ = gan_run
    saved = torch.load(src / "generator.pt", weights_only=True)
    saved["state_dict"] = {f"old.{k}": v for k, v in saved["state_dict"].items()}
    torch.save(saved, tmp_path / "generator.pt")
    with pytest.raises(files.DamagedFileError) as err:
        render.load_model(tmp_path / "generator.pt")
    check_error(err, tmp_path / "generator.pt", r"does not fit the dcgan built by this code, which has changed",
                r"delete it and train again")
    saved["params"]["depth"] = 7  # a parameter this code does not know
    torch.save(saved, tmp_path / "generator.pt")
    with pytest.raises(files.DamagedFileError, match=r"describes a network this code cannot build"):
        training.load_generator(tmp_path / "generator.pt")
    del saved["prior"]
    torch.save(saved, tmp_path / "generator.pt")
    with pytest.raises(files.DamagedFileError, match=r"generator.pt is not a generator file.*lacks 'prior'"):
        training.load_generator(tmp_path / "generator.pt")


def test_damaged_classifier_checkpoint(digits, tmp_path):
    train, test = digits.subset(150), data.load("digits", split="test", size=16, limit=100)
    config = classifier.ClassifierConfig(steps=3, batch_size=32, width=4, hidden=8, device="cpu")
    path = classifier.train_classifier(train, test, tmp_path / "classifier.pt", config, progress=False).path
    saved = torch.load(path, weights_only=True)
    torch.save({**saved, "kind": "gan"}, tmp_path / "other.pt")
    with pytest.raises(files.DamagedFileError, match=r"other.pt is a 'gan' file, not a classifier checkpoint"):
        classifier.load_classifier(tmp_path / "other.pt")
    truncate(path)
    with pytest.raises(files.DamagedFileError) as err:
        metrics.ClassifierExtractor.from_file(path, device="cpu")
    check_error(err, path, r"cannot be read as a classifier checkpoint", r"rerun the train_classifier rule")


# --------------------------------------------------------------------------- statistics and grids


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_statistics_cache_is_an_error_and_is_kept(tmp_path, damage):
    stats = metrics.FeatureStats.from_features(np.random.default_rng(0).standard_normal((50, 4)), "classifier", "x")
    cache = stats.save(tmp_path / "ref.npz")
    DAMAGES[damage](cache)
    damaged = cache.read_bytes()
    with pytest.raises(files.DamagedFileError) as err:
        metrics.FeatureStats.load(cache)
    check_error(err, cache, r"cannot be read as a feature-statistics file", r"rerun the reference_stats rule")

    class Never:
        name, fingerprint, device = "classifier", "x", torch.device("cpu")

        def __call__(self, images):
            raise AssertionError("a damaged cache must not be recomputed over")

    with pytest.raises(files.DamagedFileError):
        metrics.reference_stats(Never(), torch.zeros(4, 1, 8, 8), cache=cache)
    assert cache.read_bytes() == damaged


def test_statistics_file_with_missing_entries(tmp_path):
    np.savez(tmp_path / "ref.npz", format=np.int64(1), mu=np.zeros(3))
    with pytest.raises(files.DamagedFileError, match=r"ref.npz is not a feature-statistics file.*lacks 'sigma'"):
        metrics.FeatureStats.load(tmp_path / "ref.npz")


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_grid_file(tmp_path, damage):
    grid = plotting.Grid(latents=np.zeros((1, 2, 3)), row_labels=["r"], col_labels=["a", "b"])
    path = tmp_path / "grid.npz"
    grid.save(path)
    assert plotting.Grid.load(path).col_labels == ["a", "b"]
    DAMAGES[damage](path)
    with pytest.raises(files.DamagedFileError) as err:
        plotting.Grid.load(path)
    check_error(err, path, r"cannot be read as a grid file", r"rerun the rule \(or call\) that wrote it")

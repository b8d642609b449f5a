"""Training jobs of the workflow killed and resumed, and a job whose loss diverges. Each
test works in its own directories on a config of its own (one model trained for longer
than config/test.yaml trains it, so that a kill lands mid-training); none uses the shared
run `built`.

A kill is real: Snakemake runs in its own process group, the test waits for the job's
first checkpoint and sends SIGKILL to the whole group (Snakemake and the job's script),
as a cancelled cluster job or a lost node would. The rerun is what a user does after
that: `snakemake --unlock`, then the same command again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import ROOT, SNAKEMAKE, fresh_config, snakemake

STEPS, EVERY = 200, 10  # seconds of training at the test config's sizes; a checkpoint every 10 steps


def long_config(tmp_path: Path) -> Path:
    """config/test.yaml with model `normal` and the VAE trained for STEPS steps."""
    cfg = fresh_config()
    cfg["models"]["normal"].update(steps=STEPS, checkpoint_every=EVERY)
    cfg["autoencoders"]["training"].update(steps=STEPS, checkpoint_every=EVERY)
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


TARGETS = {
    "gan": ("results/models/normal", "generator.pt", "train_gan_normal"),
    "vae": ("results/models/autoencoder-vae", "autoencoder.pt", "train_autoencoder_vae"),
}


def kill_after_first_checkpoint(workdir: Path, configfile: Path, target: str, checkpoint: Path) -> int:
    """Start the workflow for ``target``, SIGKILL its process group once ``checkpoint``
    exists, and return the step of the checkpoint the kill left."""
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), "--cores", "1", target]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not checkpoint.exists():
            assert proc.poll() is None, f"the workflow ended (code {proc.returncode}) before the first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    step = int(torch.load(checkpoint, weights_only=True)["step"])
    assert step < STEPS, f"the job had finished ({step} steps) before the kill: raise STEPS"
    return step


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """(config file, workdir) of one run training both models without interruption."""
    tmp = tmp_path_factory.mktemp("resume")
    configfile, straight = long_config(tmp), tmp / "straight"
    result = snakemake(straight, "--cores", "2", *(f"{run}/{final}" for run, final, _ in TARGETS.values()),
                       configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    return configfile, straight


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_killed_training_job_resumes_to_the_same_weights(uninterrupted, tmp_path, kind):
    run, final, log = TARGETS[kind]
    configfile, straight = uninterrupted
    killed = tmp_path / "killed"

    step = kill_after_first_checkpoint(killed, configfile, f"{run}/{final}", killed / run / "checkpoint.pt")
    assert not (killed / run / final).exists()
    assert snakemake(killed, "--unlock", configfile=configfile).returncode == 0
    result = snakemake(killed, "--cores", "1", f"{run}/{final}", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]

    resumed = (killed / f"results/logs/{log}.log").read_text()
    assert "resumed from the checkpoint of step" in resumed, resumed[-2000:]
    resumed_from = int(resumed.split("resumed from the checkpoint of step ")[1].split()[0])
    assert step <= resumed_from < STEPS  # it continued from a checkpoint of the killed job
    outputs = [final, "losses.csv", *(p.relative_to(straight / run).as_posix()
                                      for p in sorted((straight / run).glob("snapshots/*.pt")))]
    assert len(outputs) == (4 if kind == "gan" else 2)  # the GAN keeps snapshots at steps 10 and 20
    for name in outputs:
        assert (killed / run / name).read_bytes() == (straight / run / name).read_bytes(), name


@pytest.mark.slow
def test_diverging_training_job_fails_naming_the_step_and_keeps_its_checkpoint(tmp_path):
    """A Cauchy prior of scale 1e35 draws, now and then, a latent beyond float32's range:
    the generator's output turns NaN, and so does the loss (at step 14 for this model's
    seed; the checkpoint of step 10 is the last good one). The job must fail, say so, and
    keep that checkpoint."""
    cfg = fresh_config()
    cfg["models"]["diverge"] = {"prior": "cauchy", "params": {"scale": 1e35}, "latent_dim": 16, "checkpoint_every": 5,
                                "log_every": 1}
    configfile = tmp_path / "diverge.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "w" / "results/models/diverge"
    result = snakemake(tmp_path / "w", "--cores", "1", "results/models/diverge/generator.pt", configfile=configfile)
    assert result.returncode != 0
    log = (tmp_path / "w/results/logs/train_gan_diverge.log").read_text()
    assert "non-finite loss at step 14 (d_loss=nan, g_loss=nan" in log, log[-3000:]
    assert "last good checkpoint (step 10) is kept in results/models/diverge/checkpoint.pt" in log, log[-3000:]
    assert "NonFiniteLossError" in result.stderr + log
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 10 and all(t.isfinite().all() for t in state["generator"].values())
    assert not (run / "generator.pt").exists()

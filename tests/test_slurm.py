"""The workflow through profiles/slurm: the profile's settings, and real runs on a one-node
SLURM cluster started on this machine (tests/slurm_cluster.py).

Fast checks (every run): the profile names only rules that exist, every training rule
asks for a GPU, the rules that only draw figures run on the submit host, and
profiles/default (applied on top of any --profile) cannot override the SLURM profile.

Cluster runs (marked slow; skipped, with the reason, where SLURM cannot be installed:
not root, or no apt-get): config/test.yaml end to end through the profile, checked
target by target and job by job against the cluster's own records; and a training job
cancelled with scancel, run again, resuming from its checkpoint. The test cluster has no
job accounting, so these runs add what the profile documents for such clusters
(slurm-status-command: squeue, slurm-no-account) and a short first status check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SNAKEMAKE, TEST_CONFIG, fresh_config
from slurm_cluster import LocalSlurm, Unavailable, install
from workflow_rules import load

PROFILE = ROOT / "profiles" / "slurm"
TRAINING = re.compile(r"^train_")
# What an accounting-less cluster needs (see profiles/slurm/config.yaml), and the SLURM
# log of every job kept as evidence.
NO_ACCOUNTING = [
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "5",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",
]
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


# --------------------------------------------------------------------------- profile checks


def test_profile_names_only_existing_rules():
    # Snakemake silently ignores set-resources/set-threads of a rule that does not exist,
    # so a renamed rule would lose its GPU without a word.
    rules = {r.name for r in load().rules}
    named = set(profile()["set-resources"]) | set(profile().get("set-threads", {}))
    assert named <= rules, f"profiles/slurm/config.yaml names rules that do not exist: {sorted(named - rules)}"


def test_every_training_rule_asks_for_a_gpu():
    resources = profile()["set-resources"]
    training = sorted(r.name for r in load().rules if TRAINING.match(r.name))
    assert training, "no training rules found"
    lacking = [name for name in training if not ({"gpu", "gres"} & set(resources.get(name, {})))]
    assert not lacking, f"training rules without a GPU in profiles/slurm/config.yaml set-resources: {lacking}"
    for name in training:
        assert "slurm_extra" not in resources[name], "GPUs go in gpu/gres; the plugin rejects them in slurm_extra"
        assert resources[name]["runtime"] > 0 and resources[name]["mem_mb"] > 0


def test_local_rules():
    rules = load().rules
    local = {r.name for r in rules if r.local}
    assert {"all", "report", "download_dataset"} <= local
    # a rule whose every output is a figure only draws: it belongs on the submit host
    drawing = [r.name for r in rules if r.outputs and all("/figures/" in o.pattern for o in r.outputs)]
    assert drawing and set(drawing) <= local, f"figure-only rules that would be cluster jobs: {set(drawing) - local}"
    heavy = [r.name for r in rules if TRAINING.match(r.name) or r.name.endswith("_data")]
    assert heavy and not set(heavy) & local, f"compute rules run locally: {set(heavy) & local}"


def test_default_profile_cannot_override_the_slurm_profile():
    # profiles/default is the workflow profile: Snakemake applies it on top of --profile,
    # key by key, so a key in both would silently win over the SLURM settings.
    default = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    shared = set(default) & set(profile())
    assert not shared, f"keys in both profiles/default and profiles/slurm: {sorted(shared)}"


def test_profile_passes_the_plugin_validation(tmp_path):
    run = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                          "--configfile", str(TEST_CONFIG), "--profile", str(PROFILE), "-n"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]


# --------------------------------------------------------------------------- cluster runs


@pytest.fixture(scope="module")
def cluster():
    try:
        install()
    except Unavailable as exc:
        pytest.skip(f"no SLURM cluster: {exc}")
    # under /tmp, not pytest's private tmp dir: the munge user must reach its socket
    root = Path(tempfile.mkdtemp(prefix="latentspace-slurm-", dir="/tmp"))
    slurm = LocalSlurm(root)
    try:
        slurm.start()
    except Unavailable as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"SLURM installed but could not start here: {exc}")
    try:
        yield slurm
    finally:
        slurm.stop()
        shutil.rmtree(root, ignore_errors=True)


def command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    return [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), "--profile", str(PROFILE), *NO_ACCOUNTING, *args]


def job_stats(output: str) -> dict[str, int]:
    """Jobs per rule from the table Snakemake prints before running."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}


@pytest.mark.slow
def test_test_config_runs_through_slurm(cluster, tmp_path):
    start = time.monotonic()
    run = subprocess.run(command(tmp_path, TEST_CONFIG), capture_output=True, text=True, env=cluster.env, timeout=3600)
    wall = time.monotonic() - start
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]

    # every target: a plain dry run finds nothing left to do, and the report is there
    again = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                            "--configfile", str(TEST_CONFIG), "-n"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
    assert (tmp_path / "results/report/report.html").stat().st_size > 0

    # every job of a non-local rule was a SLURM job, and no local one was
    local = {r.name for r in load().rules if r.local}
    stats = job_stats(out)
    expected = {rule: n for rule, n in stats.items() if rule not in local}
    submitted = dict(SUBMITTED.findall(out))  # snakemake job id -> SLURM job id
    assert len(submitted) == sum(expected.values()), (expected, len(submitted))
    jobs = {j["JobID"]: j for j in cluster.squeue("JobID", "State", "Comment", "tres-per-job")}
    ours = [jobs[i] for i in submitted.values()]
    assert all(j["State"] == "COMPLETED" for j in ours), [j for j in ours if j["State"] != "COMPLETED"]
    rules_run = {}
    for job in ours:
        rule = re.match(r"rule_(\w+?)(?:_wildcards_.*)?$", job["Comment"]).group(1)
        rules_run[rule] = rules_run.get(rule, 0) + 1
        if TRAINING.match(rule):
            assert job["tres-per-job"] == "gres:gpu:1", job  # the profile's GPU request reached sbatch
    assert rules_run == expected
    # one SLURM log per job, where the plugin writes them
    logs = {p.stem for p in (tmp_path / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert set(submitted.values()) <= logs
    print(f"\n{sum(expected.values())} SLURM jobs and {sum(stats.values()) - sum(expected.values())} local jobs "
          f"in {wall:.0f} s")


@pytest.mark.slow
def test_cancelled_training_job_resumes_from_its_checkpoint(cluster, tmp_path):
    cfg = fresh_config()
    steps, every = 1200, 20
    cfg["models"]["cauchy"].update(steps=steps, checkpoint_every=every)
    configfile = tmp_path / "long.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    run_dir = tmp_path / "results/models/cauchy"
    target = "results/models/cauchy/generator.pt"

    first = subprocess.Popen(command(tmp_path, configfile, target), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=cluster.env)
    try:
        deadline = time.monotonic() + 600
        while not (run_dir / "checkpoint.pt").exists():
            assert first.poll() is None, f"snakemake ended before a checkpoint was written:\n{first.stdout.read()[-4000:]}"
            assert time.monotonic() < deadline, "no checkpoint after 600 s"
            time.sleep(0.2)
        running = [j for j in cluster.squeue("JobID", "State", "Comment")
                   if j["State"] == "RUNNING" and j["Comment"].startswith("rule_train_gan")]
        assert len(running) == 1, running
        subprocess.run(["scancel", running[0]["JobID"]], env=cluster.env, check=True)
        out, _ = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode != 0, out[-3000:]
    assert "CANCELLED" in out, out[-3000:]
    assert not (run_dir / "generator.pt").exists()
    saved = [int(line.split('"step": ')[1].split(",")[0]) for line in (run_dir / "status.jsonl").read_text().splitlines()]
    assert saved and saved[-1] < steps, "the job finished before it was cancelled; raise `steps`"

    second = subprocess.run(command(tmp_path, configfile, target), capture_output=True, text=True, env=cluster.env,
                            timeout=1800)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert SUBMITTED.search(second.stdout + second.stderr), "the rerun was not a SLURM job"
    log = (tmp_path / "results/logs/train_gan_cauchy.log").read_text()
    resumed = re.search(r"resumed from the checkpoint of step (\d+)", log)
    assert resumed, log[-3000:]
    step = int(resumed.group(1))
    # the latest checkpoint before the cancel: status.jsonl gets a line every log_every
    # steps, so the job stopped in [saved[-1], saved[-1] + log_every)
    log_every = cfg["training"]["log_every"]
    assert step % every == 0 and saved[-1] - every < step < saved[-1] + log_every, (step, saved[-1])
    assert (run_dir / "generator.pt").stat().st_size > 0
    losses = (run_dir / "losses.csv").read_text().splitlines()
    assert losses[-1].split(",")[0] == str(steps)
    print(f"\ncancelled after step {saved[-1]}, resumed from the checkpoint of step {step} of {steps}")

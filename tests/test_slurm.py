"""The workflow through profiles/slurm: the profile's settings, and real runs on a one-node
SLURM cluster started on this machine (tests/slurm_cluster.py).

Fast checks (every run): the profile names only rules that exist, every training rule
asks for a GPU, the rules that only draw figures run on the submit host, and
profiles/default (applied on top of any --profile) cannot override the SLURM profile.

Cluster runs (marked slow; skipped, with the reason, where SLURM cannot be installed:
not root, or no apt-get), on one cluster with job accounting (slurmdbd on a MariaDB of
its own) where that can be installed too: config/test.yaml's targets of every kind of
cluster job (SLURM_TARGETS) through the profile, with the account the profile tells users
to set and the plugin's default status polling (sacct), checked target by target and job
by job against the cluster's own records (squeue and sacct); a training job cancelled
with scancel, run again, resuming from its checkpoint, polled the way the profile
documents for a cluster without accounting (slurm-status-command: squeue,
slurm-no-account); and sacct reporting a job with its account. Which command polled is
read from the cluster's client log. Where accounting cannot be had, the cluster runs
without it, the end-to-end run polls squeue as well, and the sacct test is skipped,
saying why. Every run adds a short first status check.
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
from slurm_cluster import ACCOUNT, LocalSlurm, Unavailable, install
from workflow_rules import load

PROFILE = ROOT / "profiles" / "slurm"
TRAINING = re.compile(r"^train_")
# Every cluster run: a short first status check, and the SLURM log of every job kept as
# evidence.
COMMON = ["--slurm-init-seconds-before-status-checks", "5", "--slurm-keep-successful-logs"]
# What a cluster without accounting needs (see profiles/slurm/config.yaml).
SQUEUE = ["--slurm-status-command", "squeue", "--slurm-no-account"]
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
# The end-to-end run's targets: every kind of cluster job of config/test.yaml (the three
# training rules with their GPU request, reference statistics, scoring, a table gathered in
# the analysis env, provenance on a GPU node) and the local plot rules, 15 jobs in all. The
# whole graph runs locally in every other workflow test (conftest's `built`), so running all
# of its 72 jobs through SLURM again tested no more and took 4-6 minutes of CI.
SLURM_TARGETS = ["results/tables/midpoint-quality.csv", "results/figures/samples-cauchy.pdf",
                 "results/figures/void-quality.pdf", "results/provenance.json"]


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


def start_cluster(accounting: bool) -> LocalSlurm:
    # under /tmp, not pytest's private tmp dir: the munge user must reach its socket
    root = Path(tempfile.mkdtemp(prefix="latentspace-slurm-", dir="/tmp"))
    slurm = LocalSlurm(root, accounting=accounting)
    try:
        return slurm.start()
    except Unavailable:
        shutil.rmtree(root, ignore_errors=True)
        raise


@pytest.fixture(scope="module")
def cluster():
    """One cluster for every run: with job accounting where slurmdbd and MariaDB can be
    installed and started, else without (the reason in `why_no_accounting`)."""
    try:
        install()
    except Unavailable as exc:
        pytest.skip(f"no SLURM cluster: {exc}")
    try:
        install(accounting=True)
        slurm = start_cluster(accounting=True)
    except Unavailable as exc:
        try:
            slurm = start_cluster(accounting=False)
        except Unavailable as exc2:
            pytest.skip(f"SLURM installed but could not start here: {exc2}")
        slurm.why_no_accounting = str(exc)[:1000]
    try:
        yield slurm
    finally:
        slurm.stop()
        shutil.rmtree(slurm.root, ignore_errors=True)


def profile_with_account(directory: Path) -> Path:
    """profiles/slurm with the cluster's account written in, as its comments tell users to."""
    config = profile()
    config["default-resources"] = {"slurm_account": ACCOUNT, **config["default-resources"]}
    directory.mkdir(parents=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return directory


def command(workdir: Path, configfile: Path, *args: str, profile: Path = PROFILE) -> list[str]:
    return [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), "--profile", str(profile), *COMMON, *args]


def status_polls(calls: list[str]) -> list[str]:
    """The plugin's job status queries among sacct/squeue command lines: they name the run
    (`--name <run uuid>`)."""
    return [c for c in calls if " --name " in c]


def job_stats(output: str) -> dict[str, int]:
    """Jobs per rule from the table Snakemake prints before running."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}


@pytest.mark.slow
def test_test_config_runs_through_slurm(cluster, tmp_path):
    # With accounting, as on a production cluster: the account in the profile, and the
    # plugin's default status polling (sacct). Without, what the profile documents then.
    if cluster.accounting:
        cmd = command(tmp_path, TEST_CONFIG, *SLURM_TARGETS, profile=profile_with_account(tmp_path / "profile"))
        how = "sacct"
    else:
        cmd, how = command(tmp_path, TEST_CONFIG, *SLURM_TARGETS, *SQUEUE), "squeue"
    calls = len(cluster.client_calls())
    start = time.monotonic()
    run = subprocess.run(cmd, capture_output=True, text=True, env=cluster.env, timeout=3600)
    wall = time.monotonic() - start
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    polls = status_polls(cluster.client_calls()[calls:])
    assert polls and all(p.startswith(f"{how} ") for p in polls), polls[:5]

    # every target: a plain dry run finds nothing left to do
    again = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                            "--configfile", str(TEST_CONFIG), "-n", *SLURM_TARGETS], capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
    assert all((tmp_path / t).stat().st_size > 0 for t in SLURM_TARGETS)

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
    # the kinds of cluster job the targets were chosen for all ran as SLURM jobs
    assert {"train_gan", "train_gan_snapshots", "train_classifier", "reference_stats", "quality_data",
            "quality_table", "provenance"} <= set(rules_run), rules_run
    if cluster.accounting:  # the accounting database has every job, in the profile's account
        records = cluster.sacct(list(submitted.values()), "JobID", "Account", "State")
        assert sorted(r["JobID"] for r in records) == sorted(submitted.values()), records
        assert all(r["Account"] == ACCOUNT and r["State"] == "COMPLETED" for r in records), records
    # one SLURM log per job, where the plugin writes them
    logs = {p.stem for p in (tmp_path / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert set(submitted.values()) <= logs
    print(f"\n{sum(expected.values())} SLURM jobs and {sum(stats.values()) - sum(expected.values())} local jobs "
          f"in {wall:.0f} s, status polled {len(polls)} times with {how}")


@pytest.mark.slow
def test_cancelled_training_job_resumes_from_its_checkpoint(cluster, tmp_path):
    cfg = fresh_config()
    steps, every = 1200, 20
    cfg["models"]["cauchy"].update(steps=steps, checkpoint_every=every)
    configfile = tmp_path / "long.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    run_dir = tmp_path / "results/models/cauchy"
    target = "results/models/cauchy/generator.pt"

    # polled with squeue, as on a cluster without accounting (this one may have it)
    calls = len(cluster.client_calls())
    first = subprocess.Popen(command(tmp_path, configfile, target, *SQUEUE), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=cluster.env)
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

    # The rerun trains 100 steps past the cancel, not the ~1,180 left: `steps` may change on
    # resumption (checkpoints.RESUMABLE_CHANGES), and the rest would only cost a minute.
    steps = saved[-1] + 100
    cfg["models"]["cauchy"]["steps"] = steps
    configfile.write_text(yaml.safe_dump(cfg))
    second = subprocess.run(command(tmp_path, configfile, target, *SQUEUE), capture_output=True, text=True,
                            env=cluster.env, timeout=1800)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert SUBMITTED.search(second.stdout + second.stderr), "the rerun was not a SLURM job"
    polls = status_polls(cluster.client_calls()[calls:])
    assert polls and all(p.startswith("squeue ") for p in polls), polls[:5]
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


@pytest.mark.slow
def test_sacct_reports_a_job_with_its_account(cluster):
    # last: slurmctld's first scheduling pass comes about 3 s after it starts, which the
    # end-to-end run's own start-up hides
    if not cluster.accounting:
        pytest.skip(f"the test cluster has no job accounting: {cluster.why_no_accounting}")
    # associations are enforced: an account nobody registered is refused
    refused = subprocess.run(["sbatch", "-A", "no-such-account", "--wrap", "true"], capture_output=True, text=True,
                             env=cluster.env, timeout=60)
    assert refused.returncode != 0 and "Invalid account" in refused.stderr, refused
    run = subprocess.run(["sbatch", "-A", ACCOUNT, "-o", "/dev/null", "--wrap", "true"], capture_output=True,
                         text=True, env=cluster.env, timeout=60, check=True)
    job = re.search(r"Submitted batch job (\d+)", run.stdout).group(1)
    expected = [{"JobID": job, "Account": ACCOUNT, "State": "COMPLETED"}]
    # slurmctld hands the job's records to slurmdbd as the job goes
    deadline, records = time.monotonic() + 60, []
    while time.monotonic() < deadline and records != expected:
        time.sleep(0.2)
        records = cluster.sacct([job], "JobID", "Account", "State")
    assert records == expected
    print(f"\nmariadbd and slurmdbd started, cluster and account registered in {cluster.accounting_seconds:.1f} s")

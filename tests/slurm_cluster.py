"""A throwaway one-node SLURM cluster on this machine, for tests/test_slurm.py.

Installs Debian's slurmctld, slurmd, slurm-client and munge where it can (root with
apt-get), then starts munged, slurmctld and slurmd isolated in a fresh directory: its own
munge key and socket, its own slurm.conf (clients find it through SLURM_CONF), free ports,
its own state, spool, log and pid files, and an srun wrapper that finds that slurm.conf
from inside jobs. Nothing under /etc is touched and nothing listens on SLURM's default
ports, so neither a real cluster on the machine nor a second test run is disturbed. The
node advertises one GPU (a generic resource whose device file is /dev/null), so jobs that
ask for a GPU (profiles/slurm) are scheduled as they would be on a GPU node; the work
itself runs on the CPU. Accounting is off, so job status comes from squeue (MinJobAge = 2 h).

`stop()` cancels the cluster's jobs and ends each daemon by the PID in its pid file
(checking that the PID still runs that daemon), never by name.

From a shell:  python tests/slurm_cluster.py start DIR  (prints the `export` that reaches it)
               python tests/slurm_cluster.py stop DIR
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
BINARIES = ["slurmctld", "slurmd", "sbatch", "srun", "squeue", "scancel", "sinfo", "munged"]
PARTITION = "latentspace"
DAEMONS = ("slurmd", "slurmctld", "munged")  # stop order


class Unavailable(Exception):
    """SLURM cannot be installed or started here; the message says why."""


def install() -> None:
    """Install the Debian packages if a binary is missing; Unavailable if that cannot be done."""
    if all(shutil.which(b) for b in BINARIES):
        return
    if os.geteuid() != 0:
        raise Unavailable("SLURM is not installed and installing it needs root (apt-get)")
    if not shutil.which("apt-get"):
        raise Unavailable("SLURM is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if run.returncode != 0:  # a stale package list: refresh it once
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=900)
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    missing = [b for b in BINARIES if not shutil.which(b)]
    if run.returncode != 0 or missing:
        raise Unavailable(f"could not install {' '.join(PACKAGES)} with apt-get: {(run.stderr or run.stdout)[-500:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node() -> dict[str, str]:
    """This machine as slurmd sees it: NodeName, CPUs, RealMemory, ..."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))


class LocalSlurm:
    """munged + slurmctld + slurmd under `root`; `env` is what a client (sbatch, squeue,
    snakemake) needs to reach them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.conf = self.root / "etc" / "slurm.conf"
        self.munge = self.root / "munge"
        self.run = self.root / "run"
        self.logs = self.root / "log"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": f"{self.root / 'bin'}:{os.environ['PATH']}"}

    def _write_srun(self) -> None:
        """An srun that finds this cluster. Inside a job, the plugin's job step calls srun
        with every SLURM_* variable removed but the job's identity, SLURM_CONF included; on
        a real cluster srun then reads /etc/slurm/slurm.conf (or the configless cache). To
        leave /etc alone, the jobs' PATH (exported from `env`) starts with this wrapper."""
        srun = self.root / "bin" / "srun"
        srun.parent.mkdir(exist_ok=True)
        srun.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec {shutil.which("srun")} "$@"\n')
        srun.chmod(0o755)

    def pid_file(self, daemon: str) -> Path:
        return (self.munge if daemon == "munged" else self.run) / f"{daemon}.pid"

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = 60) -> LocalSlurm:
        install()
        for d in (self.conf.parent, self.run, self.logs, self.root / "state", self.root / "spool"):
            d.mkdir(parents=True, exist_ok=True)
        # munge refuses keys and sockets in directories others can write to; every parent
        # up to / must be traversable by the munge user
        self.root.chmod(0o755)
        try:
            self._start_munge()
            self._write_conf()
            self._write_srun()
            for daemon in ("slurmctld", "slurmd"):
                run = subprocess.run([daemon, "-f", str(self.conf)], capture_output=True, text=True, env=self.env)
                if run.returncode != 0:
                    raise Unavailable(f"{daemon} did not start: {run.stderr[-500:]}\n{self._log_tail(daemon)}")
            self._wait_idle(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munge(self) -> None:
        try:
            user = pwd.getpwnam("munge")
        except KeyError as exc:
            raise Unavailable("there is no munge user (the munge package creates it)") from exc
        # the socket's directory open to every client, the key's private to munge
        secret = self.munge / "secret"
        secret.mkdir(parents=True, exist_ok=True)
        self.munge.chmod(0o755)
        secret.chmod(0o700)
        key = secret / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for path in (self.munge, secret, key):
            os.chown(path, user.pw_uid, user.pw_gid)
        cmd = [
            "munged",
            f"--socket={self.munge / 'munge.socket'}",
            f"--key-file={key}",
            f"--pid-file={self.pid_file('munged')}",
            f"--log-file={secret / 'munged.log'}",
            f"--seed-file={secret / 'munged.seed'}",
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, user=user.pw_uid, group=user.pw_gid)
        if run.returncode != 0:
            raise Unavailable(f"munged did not start: {run.stderr[-500:]}")

    def _write_conf(self) -> None:
        node = _node()
        cpus, memory = node["CPUs"], int(int(node["RealMemory"]) * 0.9)
        host = node["NodeName"]
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=latentspace-test",
                    f"SlurmctldHost={host}",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge / 'munge.socket'}",
                    "SlurmUser=root",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.pid_file('slurmctld')}",
                    f"SlurmdPidFile={self.pid_file('slurmd')}",
                    f"SlurmctldLogFile={self.logs / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.logs / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "MpiDefault=none",
                    "MinJobAge=7200",  # squeue remembers finished jobs for 2 h (the tests read them back)
                    "ReturnToService=2",
                    "GresTypes=gpu",
                    f"NodeName={host} CPUs={cpus} RealMemory={memory} Gres=gpu:1 State=UNKNOWN",
                    f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        # One GPU to schedule. Slurm drops a GPU without a device file and wants a character
        # device, so /dev/null stands in (task/none binds no devices; CUDA sees no GPU and
        # the job runs on the CPU). gres.conf is read from beside slurm.conf.
        (self.conf.parent / "gres.conf").write_text(f"NodeName={host} Name=gpu File=/dev/null\n")

    def _wait_idle(self, timeout: float) -> None:
        deadline, state = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            run = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env)
            state = run.stdout.strip()
            if state == "idle":
                return
            time.sleep(1)
        raise Unavailable(f"the node is {state or 'unknown'!r}, not idle, after {timeout:.0f} s\n{self._log_tail('slurmd')}")

    def _log_tail(self, daemon: str) -> str:
        log = self.logs / f"{daemon}.log"
        return log.read_text()[-2000:] if log.exists() else f"(no {log})"

    # ------------------------------------------------------------------ use
    def squeue(self, *fields: str) -> list[dict[str, str]]:
        """Every job slurmctld still knows (finished ones for MinJobAge), as {field: value}
        for squeue --Format fields such as JobID, Name, State, Comment, tres-per-job."""
        fmt = ",".join(f"{f}:|" for f in fields)
        run = subprocess.run(["squeue", "-h", "-t", "all", "--Format", fmt], capture_output=True, text=True,
                             env=self.env, check=True)
        return [dict(zip(fields, (v.strip() for v in line.split("|")), strict=False)) for line in run.stdout.splitlines()]

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Cancel the cluster's jobs, then end each daemon we started, by its pid file."""
        if self.conf.exists() and shutil.which("scancel"):
            subprocess.run(["scancel", "--user", pwd.getpwuid(os.getuid()).pw_name], env=self.env,
                           capture_output=True, timeout=30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self._active_jobs():
                time.sleep(1)
        for daemon in DAEMONS:
            self._end(daemon)

    def _active_jobs(self) -> bool:
        run = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=self.env, timeout=30)
        return run.returncode == 0 and bool(run.stdout.strip())

    def _end(self, daemon: str, timeout: float = 20) -> None:
        pid_file = self.pid_file(daemon)
        try:
            pid = int(pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return
        if not self._runs(pid, daemon):
            return  # gone already, or the PID now belongs to another program
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._runs(pid, daemon):
            time.sleep(0.2)
        if self._runs(pid, daemon):
            os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _runs(pid: int, daemon: str) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        return Path(cmdline).name == daemon and state != "Z"


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    cluster = LocalSlurm(Path(sys.argv[2]).resolve())
    if sys.argv[1] == "start":
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf} PATH={cluster.root / 'bin'}:$PATH")
    else:
        cluster.stop()

"""A throwaway one-node SLURM cluster on this machine, for tests/test_slurm.py.

Installs Debian's slurmctld, slurmd, slurm-client and munge where it can (root with
apt-get), then starts munged, slurmctld and slurmd isolated in a fresh directory: its own
munge key and socket, its own slurm.conf (clients find it through SLURM_CONF), free ports,
its own state, spool, log and pid files, and an srun wrapper that finds that slurm.conf
from inside jobs. Nothing under /etc is touched and nothing listens on SLURM's default
ports, so neither a real cluster on the machine nor a second test run is disturbed. The
node advertises one GPU (a generic resource whose device file is /dev/null), so jobs that
ask for a GPU (profiles/slurm) are scheduled as they would be on a GPU node; the work
itself runs on the CPU. Finished jobs stay in squeue for MinJobAge = 2 h.

With `accounting=True` the cluster also keeps job accounting, as production clusters do:
Debian's slurmdbd (installed likewise, with mariadb-server-core and mariadb-client-core,
which hold mariadbd and mariadb-install-db but, unlike mariadb-server, no system service)
stores it in a MariaDB of its own, in the same directory (own datadir, unix socket, pid
file, and a free TCP port on 127.0.0.1 with a random password for slurmdbd's database
user). The cluster, an account (ACCOUNT) and the user running the tests are registered
with sacctmgr before slurmctld starts, and slurmctld enforces associations, so a job must
go to a registered account; sacct then reports every job. Without accounting, sacct has
nothing to report and job status comes from squeue only.

The cluster's bin/ (first on the PATH of `env`) holds wrappers of srun, sacct and squeue:
each finds this cluster's slurm.conf, and sacct and squeue note every call in
log/clients.log (`client_calls()`), so a test can tell which one polled job status.

`stop()` cancels the cluster's jobs and ends each daemon (slurmd, slurmctld, slurmdbd,
mariadbd, munged) by the PID in its pid file (checking that the PID still runs that
daemon), never by name.

From a shell:  python tests/slurm_cluster.py start [--accounting] DIR  (prints the `export`
                   that reaches it)
               python tests/slurm_cluster.py stop DIR
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
BINARIES = ["slurmctld", "slurmd", "sbatch", "srun", "squeue", "scancel", "sinfo", "munged"]
# job accounting: mariadb-server would pull in a system service (and Perl); the two core
# packages hold all we run (mariadb-install-db needs my_print_defaults, from the client)
ACCOUNTING_PACKAGES = ["slurmdbd", "mariadb-server-core", "mariadb-client-core"]
ACCOUNTING_BINARIES = ["slurmdbd", "sacctmgr", "sacct", "mariadbd", "mariadb-install-db", "my_print_defaults"]
CLUSTER = "latentspace-test"
PARTITION = "latentspace"
ACCOUNT = "latentspace"  # the account jobs go to, with accounting
DAEMONS = ("slurmd", "slurmctld", "slurmdbd", "mariadbd", "munged")  # stop order


class Unavailable(Exception):
    """SLURM cannot be installed or started here; the message says why."""


def install(accounting: bool = False) -> None:
    """Install the Debian packages if a binary is missing (with `accounting`, slurmdbd and
    MariaDB too); Unavailable if that cannot be done."""
    _apt_install("SLURM", PACKAGES, BINARIES)
    if accounting:
        _apt_install("job accounting (slurmdbd, MariaDB)", ACCOUNTING_PACKAGES, ACCOUNTING_BINARIES)


def _apt_install(what: str, packages: list[str], binaries: list[str]) -> None:
    if all(shutil.which(b) for b in binaries):
        return
    if os.geteuid() != 0:
        raise Unavailable(f"{what} is not installed and installing it needs root (apt-get)")
    if not shutil.which("apt-get"):
        raise Unavailable(f"{what} is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if run.returncode != 0:  # a stale package list: refresh it once
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=900)
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"apt-get install {' '.join(packages)} took over {exc.timeout:.0f} s") from exc
    missing = [b for b in binaries if not shutil.which(b)]
    if run.returncode != 0 or missing:
        raise Unavailable(f"could not install {' '.join(packages)} with apt-get: {(run.stderr or run.stdout)[-500:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listens(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _node() -> dict[str, str]:
    """This machine as slurmd sees it: NodeName, CPUs, RealMemory, ..."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))


class LocalSlurm:
    """munged + slurmctld + slurmd under `root` (with `accounting`, slurmdbd and mariadbd
    too); `env` is what a client (sbatch, squeue, sacct, snakemake) needs to reach them."""

    def __init__(self, root: Path, accounting: bool = False) -> None:
        self.root = Path(root)
        self.accounting = accounting
        self.conf = self.root / "etc" / "slurm.conf"
        self.munge = self.root / "munge"
        self.run = self.root / "run"
        self.logs = self.root / "log"
        self.mariadb = self.root / "mariadb"
        self.dbd_port = _free_port()
        self.accounting_seconds: float | None = None  # time to start mariadbd + slurmdbd and register
        self.why_no_accounting: str | None = None  # for a caller that wanted accounting and fell back
        self._mariadbd: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": f"{self.root / 'bin'}:{os.environ['PATH']}"}

    def _write_clients(self) -> None:
        """An srun that finds this cluster. Inside a job, the plugin's job step calls srun
        with every SLURM_* variable removed but the job's identity, SLURM_CONF included; on
        a real cluster srun then reads /etc/slurm/slurm.conf (or the configless cache). To
        leave /etc alone, the jobs' PATH (exported from `env`) starts with this wrapper.
        sacct and squeue likewise, each noting its command line in log/clients.log."""
        bin_dir = self.root / "bin"
        bin_dir.mkdir(exist_ok=True)
        for client in ("srun", "sacct", "squeue"):
            real = shutil.which(client)
            if real is None:
                continue  # sacct comes with slurm-client; without it, the plugin polls squeue
            note = "" if client == "srun" else f'echo "{client} $*" >> "{self.logs / "clients.log"}"\n'
            wrapper = bin_dir / client
            wrapper.write_text(f'#!/bin/sh\n{note}SLURM_CONF="{self.conf}" exec {real} "$@"\n')
            wrapper.chmod(0o755)

    def client_calls(self) -> list[str]:
        """Every sacct and squeue command line run through `env` so far, oldest first."""
        log = self.logs / "clients.log"
        return log.read_text().splitlines() if log.exists() else []

    def pid_file(self, daemon: str) -> Path:
        return (self.munge if daemon == "munged" else self.run) / f"{daemon}.pid"

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = 60) -> LocalSlurm:
        install(self.accounting)
        for d in (self.conf.parent, self.run, self.logs, self.root / "state", self.root / "spool"):
            d.mkdir(parents=True, exist_ok=True)
        # munge refuses keys and sockets in directories others can write to; every parent
        # up to / must be traversable by the munge user
        self.root.chmod(0o755)
        try:
            self._start_munge()
            self._write_conf()
            self._write_clients()
            if self.accounting:
                started = time.monotonic()
                self._start_accounting(timeout)
                self.accounting_seconds = time.monotonic() - started
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
                    f"ClusterName={CLUSTER}",
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
                    # start a job as soon as it is submitted or the node frees up: by default the
                    # scheduling of batch jobs may wait up to 3 s, which a workflow of short,
                    # mostly serial jobs pays at every job (measured: 2.0 s from one job's end to
                    # the next one's start, 0.9 s with this)
                    "SchedulerParameters=batch_sched_delay=0",
                    *(
                        [
                            "AccountingStorageType=accounting_storage/slurmdbd",
                            "AccountingStorageHost=localhost",
                            f"AccountingStoragePort={self.dbd_port}",
                            # the munge socket for slurmdbd connections (sacctmgr, sacct, slurmctld)
                            f"AccountingStoragePass={self.munge / 'munge.socket'}",
                            "AccountingStorageEnforce=associations",  # -A must name a registered account
                        ]
                        if self.accounting
                        else ["AccountingStorageType=accounting_storage/none"]
                    ),
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

    # ------------------------------------------------------------------ accounting
    def _start_accounting(self, timeout: float) -> None:
        """mariadbd, then slurmdbd on it, then the cluster, ACCOUNT and this user registered
        (before slurmctld starts, so that it reads them at once)."""
        password = secrets.token_hex(16)
        db_port = self._start_mariadb(password, timeout)
        self._start_slurmdbd(password, db_port, timeout)
        user = pwd.getpwuid(os.getuid()).pw_name
        for args in (
            ["add", "cluster", CLUSTER],
            ["add", "account", ACCOUNT, f"Cluster={CLUSTER}", "Description=tests", "Organization=latentspace"],
            ["add", "user", user, f"Account={ACCOUNT}", f"DefaultAccount={ACCOUNT}", f"Cluster={CLUSTER}"],
        ):
            run = subprocess.run(["sacctmgr", "-i", *args], capture_output=True, text=True, env=self.env, timeout=60)
            if run.returncode != 0:
                raise Unavailable(f"sacctmgr {' '.join(args)}: {(run.stderr or run.stdout)[-500:]}\n"
                                  f"{self._log_tail('slurmdbd')}")

    def _start_mariadb(self, password: str, timeout: float) -> int:
        """A MariaDB server of our own: datadir, socket and pid file here, TCP on a free port
        of 127.0.0.1; root only through the socket and as root (unix_socket), slurmdbd's
        user `slurm` with a random password and rights on slurm_acct_db only."""
        data = self.mariadb / "data"
        self.mariadb.mkdir(mode=0o700, exist_ok=True)
        self.mariadb.chmod(0o700)
        # run by mariadbd at start, before it takes connections
        grants = self.mariadb / "grants.sql"
        grants.write_text(
            f"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
            "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';\n"
        )
        # --no-defaults first: neither reads /etc/mysql. A small redo log (the default writes
        # 96 MB; slurmdbd logs that it would like 64 MB and a larger buffer pool, which a
        # test database does without) and the lock wait slurmdbd asks for.
        options = ["--innodb-log-file-size=8M", "--innodb-lock-wait-timeout=900", "--skip-name-resolve"]
        run = subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db", *options],
            capture_output=True, text=True, timeout=300,
        )
        if run.returncode != 0:
            raise Unavailable(f"mariadb-install-db failed: {(run.stderr or run.stdout)[-1000:]}")
        port, log = _free_port(), self.logs / "mariadbd.log"
        cmd = [
            "mariadbd", "--no-defaults", f"--datadir={data}", "--user=root",
            "--bind-address=127.0.0.1", f"--port={port}", f"--socket={self.mariadb / 'mariadbd.sock'}",
            f"--pid-file={self.pid_file('mariadbd')}", f"--log-error={log}", f"--init-file={grants}", *options,
        ]
        # mariadbd stays in the foreground: its own session, so that it outlives this process
        # (python tests/slurm_cluster.py start) and no terminal signal reaches it
        self._mariadbd = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._mariadbd.poll() is not None:
                raise Unavailable(f"mariadbd exited with {self._mariadbd.returncode}\n{self._log_tail('mariadbd')}")
            if log.exists() and "ready for connections" in log.read_text():
                return port
            time.sleep(0.1)
        raise Unavailable(f"mariadbd not ready after {timeout:.0f} s\n{self._log_tail('mariadbd')}")

    def _start_slurmdbd(self, password: str, db_port: int, timeout: float) -> None:
        # slurmdbd reads slurmdbd.conf from beside $SLURM_CONF; it must be private to SlurmUser
        dbd_conf = self.conf.parent / "slurmdbd.conf"
        dbd_conf.touch(mode=0o600)
        dbd_conf.chmod(0o600)
        dbd_conf.write_text(
            "\n".join(
                [
                    "AuthType=auth/munge",
                    f"AuthInfo=socket={self.munge / 'munge.socket'}",
                    "DbdHost=localhost",
                    f"DbdPort={self.dbd_port}",
                    "SlurmUser=root",
                    f"PidFile={self.pid_file('slurmdbd')}",
                    f"LogFile={self.logs / 'slurmdbd.log'}",
                    "StorageType=accounting_storage/mysql",
                    "StorageHost=127.0.0.1",
                    f"StoragePort={db_port}",
                    "StorageUser=slurm",
                    f"StoragePass={password}",
                    "StorageLoc=slurm_acct_db",
                    "",
                ]
            )
        )
        run = subprocess.run(["slurmdbd"], capture_output=True, text=True, env=self.env, timeout=60)
        if run.returncode != 0:
            raise Unavailable(f"slurmdbd did not start: {run.stderr[-500:]}\n{self._log_tail('slurmdbd')}")
        # it listens once its tables are made
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _listens(self.dbd_port):
                return
            if self.pid_file("slurmdbd").exists() and self._pid("slurmdbd") is None:
                raise Unavailable(f"slurmdbd exited\n{self._log_tail('slurmdbd')}")
            time.sleep(0.1)
        raise Unavailable(f"slurmdbd not listening after {timeout:.0f} s\n{self._log_tail('slurmdbd')}")

    def _pid(self, daemon: str) -> int | None:
        """The PID in the daemon's pid file, if that process still runs the daemon."""
        try:
            pid = int(self.pid_file(daemon).read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if self._runs(pid, daemon) else None

    def _wait_idle(self, timeout: float) -> None:
        deadline, state = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            run = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env)
            state = run.stdout.strip()
            if state == "idle":
                return
            time.sleep(0.2)
        raise Unavailable(f"the node is {state or 'unknown'!r}, not idle, after {timeout:.0f} s\n{self._log_tail('slurmd')}")

    def _log_tail(self, daemon: str) -> str:
        log = self.logs / f"{daemon}.log"
        return log.read_text()[-2000:] if log.exists() else f"(no {log})"

    # ------------------------------------------------------------------ use
    def squeue(self, *fields: str) -> list[dict[str, str]]:
        """Every job slurmctld still knows (finished ones for MinJobAge), as {field: value}
        for squeue --Format fields such as JobID, Name, State, Comment, tres-per-job."""
        fmt = ",".join(f"{f}:|" for f in fields)
        return self._records(["squeue", "-h", "-t", "all", "--Format", fmt], fields)

    def sacct(self, job_ids: list[str], *fields: str) -> list[dict[str, str]]:
        """What the accounting database holds on these jobs (allocations only), as
        {field: value} for sacct --format fields such as JobID, State, Account, JobName."""
        return self._records(["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", ",".join(fields)], fields)

    def _records(self, cmd: list[str], fields: tuple[str, ...]) -> list[dict[str, str]]:
        """A client's `|`-separated output, one line per job, as {field: value} (padding stripped)."""
        run = subprocess.run(cmd, capture_output=True, text=True, env=self.env, check=True, timeout=60)
        return [dict(zip(fields, (v.strip() for v in line.split("|")), strict=False)) for line in run.stdout.splitlines()]

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Cancel the cluster's jobs, then end each daemon we started, by its pid file."""
        if self._pid("slurmctld") and shutil.which("scancel"):
            subprocess.run(["scancel", "--user", pwd.getpwuid(os.getuid()).pw_name], env=self.env,
                           capture_output=True, timeout=30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self._active_jobs():
                time.sleep(0.2)
        for daemon in DAEMONS:
            self._end(daemon)
        if self._mariadbd is not None:  # our child: ended above by its pid file, or here (no pid file yet)
            if self._mariadbd.poll() is None:
                self._mariadbd.terminate()
            try:
                self._mariadbd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._mariadbd.kill()
                self._mariadbd.wait()

    def _active_jobs(self) -> bool:
        run = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=self.env, timeout=30)
        return run.returncode == 0 and bool(run.stdout.strip())

    def _end(self, daemon: str, timeout: float = 20) -> None:
        pid = self._pid(daemon)
        if pid is None:
            return  # not started, gone already, or the PID now belongs to another program
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._runs(pid, daemon):
            time.sleep(0.05)
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
    args = sys.argv[1:]
    accounting = "--accounting" in args
    args = [a for a in args if a != "--accounting"]
    if len(args) != 2 or args[0] not in ("start", "stop"):
        sys.exit(__doc__)
    cluster = LocalSlurm(Path(args[1]).resolve(), accounting=accounting)
    if args[0] == "start":
        cluster.start()
        if cluster.accounting_seconds is not None:
            print(f"# accounting (mariadbd, slurmdbd) up in {cluster.accounting_seconds:.1f} s", file=sys.stderr)
        print(f"export SLURM_CONF={cluster.conf} PATH={cluster.root / 'bin'}:$PATH")
    else:
        cluster.stop()

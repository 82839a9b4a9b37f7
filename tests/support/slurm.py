"""A real single-node Slurm cluster for the end-to-end tests (slurm-wlm and munge, Debian).

``slurm_cluster`` (a session fixture) starts ``munged``, ``slurmctld`` and ``slurmd`` as root
with every file (config, state, spool, logs, pid files, munge socket) in one temp dir, and
stops them at the end: jobs cancelled, ``scontrol shutdown``, then each daemon by its pid file.
Recipe (facts checked on Debian 12, slurm 22.05): proctrack/linuxproc, task/none,
jobacct_gather/none, no cgroup.conf, ``NodeName=<hostname -s> NodeAddr=127.0.0.1``, munged
with ``--force`` as root. The slurm commands find the config through ``SLURM_CONF``; a
throwaway sshd passes it to its sessions (``SetEnv``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.procs import pid_alive, stop_pid

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")
SETUP_HINT = "run .ci/setup-slurm.sh as root to install slurm-wlm and munge"
START_TIMEOUT = 60.0


def unavailable_reason() -> str | None:
    missing = [name for name in DAEMONS if shutil.which(name, path=_PATH) is None]
    if missing:
        return f"no {', '.join(missing)} ({SETUP_HINT})"
    if os.geteuid() != 0:
        return "a test Slurm cluster (munged, slurmd) needs root"
    if not Path("/etc/munge/munge.key").is_file():
        return f"no /etc/munge/munge.key ({SETUP_HINT})"
    return None


_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class SlurmCluster:
    root: Path
    conf: Path
    node: str
    cpus: int

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf), "PATH": _PATH}

    def run(self, *argv: str, timeout: float = 30.0) -> str:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, env=self.env, timeout=timeout, check=True
        )
        return result.stdout

    def queue(self) -> list[str]:
        """``squeue`` lines ``JOBID STATE USER`` for every job."""
        out = self.run("squeue", "-h", "-o", "%i %T %u")
        return [line.strip() for line in out.splitlines() if line.strip()]


def _conf(root: Path, node: str, cpus: int, memory: int) -> str:
    return "\n".join(
        [
            "ClusterName=sshjuptest",
            f"SlurmctldHost={node}",
            "SlurmUser=root",
            "AuthType=auth/munge",
            f"AuthInfo=socket={root}/munge/munge.socket.2",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "MpiDefault=none",
            "ReturnToService=2",
            "SchedulerType=sched/backfill",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "KillWait=5",
            "MinJobAge=2",
            f"SlurmctldPidFile={root}/slurmctld.pid",
            f"SlurmdPidFile={root}/slurmd.pid",
            f"StateSaveLocation={root}/state",
            f"SlurmdSpoolDir={root}/spool",
            f"SlurmctldLogFile={root}/slurmctld.log",
            f"SlurmdLogFile={root}/slurmd.log",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            f"NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN",
            f"PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().split()[0])
    return None


@contextlib.contextmanager
def running_cluster() -> Iterator[SlurmCluster]:
    root = Path(tempfile.mkdtemp(prefix="sjslurm"))
    root.chmod(0o755)  # the job's user reads slurm.conf and reaches the munge socket
    node = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    memory = max(256, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 2048)
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir()
    (root / "munge").chmod(0o755)
    conf = root / "slurm.conf"
    conf.write_text(_conf(root, node, cpus, memory))
    conf.chmod(0o644)
    cluster = SlurmCluster(root, conf, node, cpus)
    env = cluster.env
    pids: list[Path] = [root / "munged.pid", root / "slurmctld.pid", root / "slurmd.pid"]
    try:
        subprocess.run(
            [
                "munged",
                "--force",
                f"--socket={root}/munge/munge.socket.2",
                f"--pid-file={root}/munged.pid",
                f"--log-file={root}/munged.log",
                f"--seed-file={root}/munged.seed",
            ],
            env=env,
            capture_output=True,
            timeout=30,
            check=True,
        )
        subprocess.run(["slurmctld", "-i"], env=env, capture_output=True, timeout=30, check=True)
        subprocess.run(["slurmd"], env=env, capture_output=True, timeout=30, check=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(subprocess.SubprocessError):
                state = cluster.run("sinfo", "-h", "-N", "-o", "%T", timeout=10).strip()
                if state == "idle":
                    break
            if time.monotonic() > deadline:
                logs = "".join(
                    (root / f).read_text()[-2000:]
                    for f in ("slurmctld.log", "slurmd.log")
                    if (root / f).exists()
                )
                msg = (
                    f"the test Slurm node did not become idle within {START_TIMEOUT:.0f} s\n{logs}"
                )
                raise RuntimeError(msg)
            time.sleep(0.5)
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(["scancel", "--full", "-u", "sshjup-remote"], env=env, timeout=15)
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(["scontrol", "shutdown"], env=env, capture_output=True, timeout=15)
        for pid_file in reversed(pids):  # slurmd, slurmctld, then munged
            pid = _pid(pid_file)
            if pid is None:
                continue
            deadline = time.monotonic() + 10
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(pid):
                stop_pid(pid)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with running_cluster() as cluster:
        yield cluster

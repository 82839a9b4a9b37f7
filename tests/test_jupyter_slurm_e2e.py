"""End to end: ``sshjup jupyter start --slurm`` against a real single-node Slurm cluster.

The login node is the throwaway sshd (logging in as the unprivileged remote account, with
``SetEnv SLURM_CONF`` so its sessions find the test cluster); the compute node is this machine
(``NodeAddr=127.0.0.1``), running a real jupyter_server as a batch job. The cluster is one
session fixture (tests/support/slurm.py), started and stopped by PID / ``scontrol shutdown``.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from tests.support import remote_jupyter
from tests.support.memkeyring import MemoryKeyring
from tests.support.remote_jupyter import RemoteAccount, http_status, invoke, remote_user
from tests.support.slurm import SlurmCluster, slurm_cluster
from tests.support.sshd import SshServer

__all__ = ["slurm_cluster"]

pytestmark = pytest.mark.e2e


@pytest.fixture
def login_node(
    slurm_cluster: SlurmCluster,
    sshd_factory: Callable[..., SshServer],
    ssh_config: Path,
    tmp_path: Path,
) -> Iterator[RemoteAccount]:
    server = sshd_factory(
        login_user=remote_user(), extra_config=(f"SetEnv SLURM_CONF={slurm_cluster.conf}",)
    )
    with remote_jupyter.remote_account_on(server, ssh_config, tmp_path) as account:
        yield account
    for name in ("slurmjr", "slurmpend", "slurmend", "slurmcmd"):
        for leftover in (account.dirs.home / ".local" / "state" / "sshjup").glob(f"job-{name}*"):
            leftover.unlink()


def _account_processes() -> list[str]:
    out = subprocess.run(
        ["ps", "-u", remote_user(), "-o", "pid=,args="], capture_output=True, text=True, timeout=10
    )
    return [line for line in out.stdout.splitlines() if "jupyter" in line and "slurm" in line]


def _wait_queue_empty(cluster: SlurmCluster, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (queue := cluster.queue()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return queue


def test_jupyter_runs_as_a_slurm_job_and_answers_through_the_login_node(
    login_node: RemoteAccount, slurm_cluster: SlurmCluster, memory_keyring: MemoryKeyring
) -> None:
    h = login_node.add("slurmjr")
    cmd = str(h.dirs.command)
    started = invoke(
        "jupyter",
        "start",
        h.name,
        "--slurm",
        "--server",
        "--jupyter-cmd",
        cmd,
        "--time",
        "10",
        "--timeout",
        "120",
        "--json",
    )
    info: dict[str, Any] = json.loads(started.stdout)
    assert info["node"] == slurm_cluster.node
    assert info["address"] == "127.0.0.1"  # NodeAddr, as Slurm reports it
    assert f"submitted job {info['job_id']} on {h.alias}" in started.stderr
    assert "RUNNING on" in started.stderr
    token = memory_keyring.store[("sshjup", h.alias)]
    assert token not in started.stdout + started.stderr

    assert f"{info['job_id']} RUNNING {remote_user()}" in slurm_cluster.queue()
    base = f"http://127.0.0.1:{h.local_port}/api/status"
    assert http_status(f"{base}?token={token}") == 200
    assert http_status(base) == 403
    url = invoke("url", h.name).stdout.strip()
    assert http_status(url.replace("/?", "/api/status?")) == 200

    status = json.loads(invoke("jupyter", "status", h.name, "--json").stdout)
    assert {k: status[k] for k in ("job_id", "state", "node", "running")} == {
        "job_id": info["job_id"],
        "state": "RUNNING",
        "node": slurm_cluster.node,
        "running": True,
    }
    assert status["time_left"]  # e.g. "9:58"

    stopped = invoke("jupyter", "stop", h.name)
    assert stopped.stdout == f"Cancelled job {info['job_id']} and its forward.\n"
    assert _wait_queue_empty(slurm_cluster) == []
    deadline = time.monotonic() + 15
    while _account_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _account_processes() == []


def test_a_job_stuck_pending_times_out_with_slurms_reason(
    login_node: RemoteAccount, slurm_cluster: SlurmCluster, memory_keyring: MemoryKeyring
) -> None:
    h = login_node.add("slurmpend")
    result = CliRunner().invoke(
        cli,
        [
            "jupyter",
            "start",
            h.name,
            "--slurm",
            "--server",
            "--jupyter-cmd",
            str(h.dirs.command),
            "--timeout",
            "8",
            f"--sbatch-arg=--cpus-per-task={slurm_cluster.cpus + 4}",
        ],
    )
    assert result.exit_code == 8, result.output + result.stderr
    assert "PENDING" in result.stderr
    error = result.stderr[result.stderr.index("Error: ") :]
    assert "still PENDING after 8 s; Slurm's reason: " in error
    assert "it was cancelled" in error
    assert re.search(r"Slurm's reason: [A-Za-z]+;", error), error  # e.g. PartitionConfig
    assert _wait_queue_empty(slurm_cluster) == []


def test_a_job_that_ended_by_itself_is_reported_by_status_and_doctor(
    login_node: RemoteAccount, slurm_cluster: SlurmCluster, memory_keyring: MemoryKeyring
) -> None:
    h = login_node.add("slurmend")
    cmd = str(h.dirs.command)
    started = invoke(
        "jupyter", "start", h.name, "--slurm", "--server", "--jupyter-cmd", cmd, "--json"
    )
    job_id = json.loads(started.stdout)["job_id"]
    slurm_cluster.run("scancel", job_id)  # as the scheduler would at the time limit
    assert _wait_queue_empty(slurm_cluster) == []

    status = CliRunner().invoke(cli, ["jupyter", "status", h.name])
    assert status.exit_code == 1, status.output
    assert status.stdout.startswith(f"Job {job_id} has ended")
    doctor = CliRunner().invoke(cli, ["doctor", h.name, "--remote", "--json"])
    [job] = [c for c in json.loads(doctor.stdout)["checks"] if c["id"] == "job:slurmend"]
    assert (job["status"], job["details"]["state"]) == ("fail", "ENDED")
    assert "has ended by itself" in job["summary"]

    invoke("jupyter", "stop", h.name)  # forgets it
    assert CliRunner().invoke(cli, ["jupyter", "status", h.name]).exit_code == 1


def test_a_launch_command_submits_the_job_and_its_ready_line_is_followed(
    login_node: RemoteAccount, slurm_cluster: SlurmCluster, memory_keyring: MemoryKeyring
) -> None:
    """The --launch-command contract, with sbatch standing in for another scheduler."""
    h = login_node.add("slurmcmd")
    started = invoke(
        "jupyter",
        "start",
        h.name,
        "--server",
        "--jupyter-cmd",
        str(h.dirs.command),
        "--launch-command",
        "sbatch --parsable --output=/dev/null",
        "--json",
    )
    info = json.loads(started.stdout)
    assert "job " + info["job_id"] + ": UNKNOWN" in started.stderr  # no squeue for "other"
    token = memory_keyring.store[("sshjup", h.alias)]
    assert http_status(f"http://127.0.0.1:{h.local_port}/api/status?token={token}") == 200
    invoke("jupyter", "stop", h.name)  # forgets it; the job is the scheduler's to cancel
    assert f"{info['job_id']} RUNNING {remote_user()}" in slurm_cluster.queue()
    slurm_cluster.run("scancel", info["job_id"])
    assert _wait_queue_empty(slurm_cluster) == []

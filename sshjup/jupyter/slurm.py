"""Jupyter as a Slurm job (``sshjup jupyter start NAME --slurm``): submit, wait, forward, stop.

The scripts come from the pure sshjup/jupyter/batch.py and run on the login node through the
alias (``remote.run_script``: ``sh -s`` on ssh's stdin, no forwards). Once Jupyter serves on
the node, the local port is forwarded to NODE_ADDR:PORT through the alias's running master
(``ssh -O cancel`` of the block's own forward, then ``ssh -O forward``), so ``url``, ``open``
and kernels work as for a plain host. The job (id, node, address, port) is kept in
``$SSHJUP_HOME/jobs.json`` for ``status``, ``stop`` and ``doctor``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sshjup import proc
from sshjup.errors import RemoteCommandFailed, SshjupError, TunnelError
from sshjup.jupyter import batch, remote
from sshjup.jupyter.scripts import parse_markers
from sshjup.models import JupyterSpec, Target, validate_command_arg
from sshjup.records import asdict, dataclass
from sshjup.ssh import openssh
from sshjup.store import fileio, paths

ProgressFn = Callable[[str], None]
POLL_INTERVAL = 2.0


@dataclass(frozen=True)
class Job:
    """A submitted Jupyter job, as kept in jobs.json."""

    name: str
    job_id: str
    scheduler: str = "slurm"
    address: str | None = None
    port: int | None = None
    node: str = ""


def _jobs_path() -> Path:
    return paths.app_dir() / "jobs.json"


def load_jobs() -> dict[str, Job]:
    data = fileio.read_bytes(_jobs_path())
    if data is None:
        return {}
    try:
        raw: dict[str, Any] = json.loads(data)
        return {name: Job(**entry) for name, entry in raw.get("jobs", {}).items()}
    except (ValueError, TypeError):
        return {}


def _save_jobs(jobs: dict[str, Job]) -> None:
    body = {"version": 1, "jobs": {n: asdict(j) for n, j in sorted(jobs.items())}}
    fileio.atomic_write(_jobs_path(), (json.dumps(body, indent=2) + "\n").encode())


def get_job(name: str) -> Job | None:
    return load_jobs().get(name)


def _forget(name: str) -> None:
    jobs = load_jobs()
    if jobs.pop(name, None) is not None:
        _save_jobs(jobs)


# -- the master's forwards ------------------------------------------------------------------


def mux_forward(alias: str, ssh_config: Path, op: str, spec: str) -> str | None:
    """``ssh -O forward|cancel -L SPEC`` on the alias's master; ``None`` when ssh accepted it,
    else ssh's message.

    The master is addressed by the ControlPath ``ssh -G`` resolves for the alias (so this
    follows whatever the block says), with no config file otherwise: a mux client that reads
    the block would send the block's own ``LocalForward`` along with SPEC, and the master
    refuses that one (its port is taken), failing the whole request.
    """
    control_path = openssh.resolve(ssh_config, alias).get("controlpath")
    if not control_path or control_path == "none":
        return f"{alias} has no control socket (ControlPath)"
    argv = ["ssh", "-F", os.devnull, "-o", f"ControlPath={control_path}"]
    argv += ["-O", op, "-L", spec, "--", alias]
    cp = proc.run(argv, timeout=20.0)
    return None if cp.returncode == 0 else (cp.stderr.strip() or f"exit {cp.returncode}")


def _block_forward(target: Target) -> str:
    main = target.forwards[0]
    return f"{main.bind}:{main.local_port}:{main.destination}"


def _job_forward(target: Target, address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{target.forwards[0].bind}:{target.local_port}:{host}:{port}"


def _answers(port: int, timeout: float = 3.0) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/api/status", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # 403 without the token: it is Jupyter answering
    except (OSError, ValueError):
        return False


# -- start, status, stop --------------------------------------------------------------------


@dataclass(frozen=True)
class SlurmStart:
    """A Jupyter batch job that runs, and its forward."""

    job: Job
    elapsed: float


def submit(
    target: Target,
    ssh_config: Path,
    spec: JupyterSpec,
    token: str,
    *,
    time_limit: str | None = None,
    partition: str | None = None,
    sbatch_args: Sequence[str] = (),
    launch_command: str | None = None,
) -> Job:
    """Write the token file and submit the job on the login node; the job's id."""
    if launch_command is not None:
        words = launch_command.split()
        for word in words:
            validate_command_arg(word, "--launch-command")
        job_script = batch.command_job_script(spec, target.name)
        scheduler = "command"
    else:
        words = [
            "sbatch",
            *batch.sbatch_options(
                target.name, time_limit=time_limit, partition=partition, extra=sbatch_args
            ),
        ]
        job_script = batch.slurm_job_script(spec, target.name)
        scheduler = "slurm"
    script = batch.submit_script(spec, target.name, token, job_script, words)
    cp = remote.run_script(target.alias, ssh_config, script, secret=token)
    out = parse_markers(cp.stdout)
    job_id = out.values.get("job", "")
    if cp.returncode != 0 or not job_id:
        detail = out.blocks.get("error", "").strip() or cp.stderr.strip()
        msg = f"submitting the Jupyter job on {target.alias} failed: {detail or 'no message'}"
        raise RemoteCommandFailed(msg, hint="check the sbatch options and the partition")
    job = Job(target.name, job_id, scheduler)
    jobs = load_jobs()
    jobs[target.name] = job
    _save_jobs(jobs)
    return job


def poll(target: Target, ssh_config: Path, job: Job) -> batch.JobState:
    cp = remote.run_script(
        target.alias, ssh_config, batch.poll_script(job.job_id, target.name, job.scheduler)
    )
    return batch.parse_poll(cp.stdout)


def cancel(target: Target, ssh_config: Path, job: Job) -> None:
    remote.run_script(
        target.alias, ssh_config, batch.cancel_script(job.job_id, target.name, job.scheduler)
    )


def wait_and_forward(
    target: Target,
    ssh_config: Path,
    job: Job,
    *,
    timeout: float,
    progress: ProgressFn | None,
    tunnel_up: Callable[[], object],
    began: float,
) -> SlurmStart:
    """Wait for the job to run and Jupyter to serve; forward the local port to it."""
    deadline = began + timeout
    last = ""
    while True:
        st = poll(target, ssh_config, job)
        line = f"job {job.job_id}: {st.state or 'ended'}"
        if st.state == "PENDING" and st.reason:
            line += f" ({st.reason})"
        if st.state == "RUNNING":
            line += f" on {st.node}" + ("; Jupyter is up" if st.ready else "; waiting for Jupyter")
        if progress is not None and line != last:
            progress(f"{line} ({time.monotonic() - began:.0f} s)")
            last = line
        if st.error is not None:
            cancel(target, ssh_config, job)
            _forget(target.name)
            msg = f"the Jupyter job {job.job_id} on {target.alias} failed: {st.error}"
            raise RemoteCommandFailed(msg, hint="read the job's output in ~/.local/state/sshjup")
        if st.ready and st.address is not None and st.port is not None:
            break
        if st.state == "" or st.exited is not None:
            _forget(target.name)
            msg = f"the Jupyter job {job.job_id} on {target.alias} ended before Jupyter served"
            raise RemoteCommandFailed(msg, hint="read the job's output in ~/.local/state/sshjup")
        if time.monotonic() >= deadline:
            cancel(target, ssh_config, job)
            _forget(target.name)
            why = f"; Slurm's reason: {st.reason}" if st.reason and st.reason != "None" else ""
            msg = (
                f"the Jupyter job {job.job_id} on {target.alias} was still {st.state or '?'} "
                f"after {timeout:.0f} s{why}; it was cancelled"
            )
            raise RemoteCommandFailed(msg, hint="ask for less (--sbatch-arg), or more --timeout")
        time.sleep(POLL_INTERVAL)
    job = Job(job.name, job.job_id, job.scheduler, st.address, st.port, st.node)
    jobs = load_jobs()
    jobs[target.name] = job
    _save_jobs(jobs)
    try:
        _forward(target, ssh_config, st.address, st.port, tunnel_up)
        while not _answers(target.local_port):
            if time.monotonic() >= deadline:
                msg = (
                    f"Jupyter on {st.node} did not answer through the tunnel within "
                    f"{timeout:.0f} s; the job was cancelled"
                )
                hint = "compute nodes must accept connections from the login node"
                raise TunnelError(msg, hint=hint)
            time.sleep(0.5)
    except SshjupError:
        stop(target, ssh_config)
        raise
    if progress is not None:
        progress(
            f"Jupyter answers on 127.0.0.1:{target.local_port} (job {job.job_id} on {st.node})"
        )
    return SlurmStart(job, time.monotonic() - began)


def _forward(
    target: Target, ssh_config: Path, address: str, port: int, tunnel_up: Callable[[], object]
) -> None:
    """The local port, on the alias's master, to ADDRESS:PORT instead of the block's forward."""
    tunnel_up()
    mux_forward(target.alias, ssh_config, "cancel", _block_forward(target))
    error = mux_forward(target.alias, ssh_config, "forward", _job_forward(target, address, port))
    if error is not None:
        msg = f"ssh did not add the forward to {address}:{port} on {target.alias}'s master: {error}"
        raise TunnelError(msg, hint="the login node must allow TCP forwarding (AllowTcpForwarding)")


def stop(target: Target, ssh_config: Path) -> Job | None:
    """Cancel the job and the forward to it; ``None`` when no job is known."""
    job = get_job(target.name)
    if job is None:
        return None
    cancel(target, ssh_config, job)
    if job.address is not None and job.port is not None:
        mux_forward(target.alias, ssh_config, "cancel", _job_forward(target, job.address, job.port))
    _forget(target.name)
    return job


__all__ = [
    "Job",
    "SlurmStart",
    "cancel",
    "get_job",
    "load_jobs",
    "mux_forward",
    "poll",
    "stop",
    "submit",
    "wait_and_forward",
]

"""Doctor checks of the Jupyter side: the keyring, and (with ``--remote``) Jupyter on each host."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sshjup import hosts
from sshjup.doctor.check import Check, Progress
from sshjup.errors import SshjupError
from sshjup.models import Target

if TYPE_CHECKING:
    pass


REMOTE_TIMEOUT = 30.0


# --- the keyring -----------------------------------------------------------------------------


def check_keyring(targets: list[Target]) -> Check:
    from sshjup.store import tokens  # noqa: PLC0415 (imports keyring lazily itself)

    store = tokens.TokenStore()
    details: dict[str, Any] = {"backend": None, "tokens": {}}
    try:
        backend = store.backend()
    except SshjupError as err:
        details["backend"] = store.backend_name()
        summary = f"keyring: {err.message} (tunnels work; Jupyter tokens cannot be kept)"
        return Check("keyring", "warn", summary, err.hint, details)
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    details["backend"] = name
    stored: dict[str, bool] = {}
    try:
        for target in targets:
            stored[target.alias] = store.get(target.alias) is not None
    except SshjupError as err:
        details["tokens"] = stored
        return Check("keyring", "warn", f"keyring {name}: {err.message}", err.hint, details)
    details["tokens"] = stored
    have = [alias for alias, ok in stored.items() if ok]
    note = f"; tokens stored for {', '.join(have)}" if have else ""
    return Check("keyring", "pass", f"keyring backend {name} works{note}", None, details)


# --- the remote (--remote) -------------------------------------------------------------------


def _check_job(where: hosts.Where, target: Target) -> Check | None:
    """The batch job ``jupyter start --slurm`` left for this host, if any: still running?"""
    from sshjup.jupyter import slurm  # noqa: PLC0415

    job = slurm.get_job(target.name)
    if job is None:
        return None
    details: dict[str, Any] = {"host": target.name, "alias": target.alias, "job_id": job.job_id}
    try:
        st = slurm.poll(target, where.ssh_config, job)
    except SshjupError as err:
        return Check(f"job:{target.name}", "fail", err.message, err.hint, details)
    details |= {
        "state": st.state or "ENDED",
        "node": st.node or job.node,
        "time_left": st.time_left,
    }
    if st.state == "RUNNING":
        summary = (
            f"{target.alias}: Jupyter job {job.job_id} runs on {st.node} ({st.time_left} left)"
        )
        return Check(f"job:{target.name}", "pass", summary, None, details)
    if st.state:
        summary = f"{target.alias}: Jupyter job {job.job_id} is {st.state} ({st.reason})"
        return Check(f"job:{target.name}", "warn", summary, "wait, or stop it", details)
    summary = (
        f"{target.alias}: Jupyter job {job.job_id} has ended by itself (its time limit, or "
        "Jupyter exited); the tunnel reaches nothing"
    )
    fix = f"sshjup jupyter stop {target.name}, then start it again with --slurm"
    return Check(f"job:{target.name}", "fail", summary, fix, details)


def check_remote(where: hosts.Where, target: Target, progress: Progress | None) -> list[Check]:
    from sshjup.jupyter import remote  # noqa: PLC0415 (only with --remote)

    alias = target.alias
    base = {"host": target.name, "alias": alias}
    if progress is not None:
        progress(f"logging in to {alias} ...")
    try:
        cp = remote.run_script(alias, where.ssh_config, "exit 0\n", timeout=REMOTE_TIMEOUT)
    except SshjupError as err:
        return [Check(f"remote:{target.name}", "fail", err.message, err.hint, base)]
    if cp.returncode != 0:
        summary = f"{alias}: the remote shell failed (exit {cp.returncode})"
        return [
            Check(f"remote:{target.name}", "fail", summary, f"run `ssh {alias}` to see why", base)
        ]
    checks = [
        Check(f"remote:{target.name}", "pass", f"{alias}: the remote is reachable", None, base)
    ]
    job_check = _check_job(where, target)
    if job_check is not None:  # Jupyter runs on a compute node, not on the login node
        return [*checks, job_check]
    if progress is not None:
        progress(f"checking Jupyter on {alias} ...")
    try:
        info = remote.check_jupyter(alias, where.ssh_config, target.jupyter, timeout=REMOTE_TIMEOUT)
    except SshjupError as err:
        checks.append(Check(f"jupyter:{target.name}", "fail", err.message, err.hint, base))
        return checks
    version = info.app_version or info.server_version
    jdetails = base | {
        "kind": info.kind,
        "path": info.path,
        "server_version": info.server_version,
        "app_version": info.app_version,
    }
    summary = f"{alias}: Jupyter {info.kind} {version} is installed ({info.path})"
    checks.append(Check(f"jupyter:{target.name}", "pass", summary, None, jdetails))
    try:
        st = remote.status(
            alias,
            where.ssh_config,
            target.jupyter,
            target.remote_port,
            timeout=REMOTE_TIMEOUT,
            sock=target.remote_socket,
        )
    except SshjupError as err:
        checks.append(Check(f"server:{target.name}", "fail", err.message, err.hint, base))
        return checks
    # Never the tokens: ports and pids only.
    sdetails = base | {
        "remote_port": target.remote_port,
        "running": st.server is not None,
        "servers": [{"port": s.port, "pid": s.pid} for s in st.servers],
    }
    if st.server is not None:
        summary = f"{alias}: {st.server.describe()}"
        checks.append(Check(f"server:{target.name}", "pass", summary, None, sdetails))
    else:
        others = ", ".join(str(s.port) for s in st.servers)
        summary = f"{alias}: no Jupyter server on remote port {target.remote_port}" + (
            f" (yours run on {others})" if others else ""
        )
        fix = f"start it: `sshjup jupyter start {target.name}`"
        checks.append(Check(f"server:{target.name}", "warn", summary, fix, sdetails))
    return checks

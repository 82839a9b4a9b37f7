"""Jupyter on the remote: check, set up, start, stop and list it over ssh, through the alias.

Every remote command is one ``ssh [-F CONFIG] -o ... ALIAS sh -s`` whose script (built by the
pure sshjup/jupyter/scripts.py) arrives on ssh's standard input, through ``sshjup.proc.run`` with a
timeout. The options make the managed alias run a command instead of being a tunnel
(design.md, "The Host block"):

* ``SessionType=default``, ``ClearAllForwardings=yes``: run the command, and do not open the
  local forward (it would collide with a running tunnel, or the command would be ignored);
* ``ForkAfterAuthentication=no``, ``StdinNull=no``, ``RequestTTY=no``, ``RemoteCommand=none``,
  ``PermitLocalCommand=no``: the script is read from stdin, in the foreground, verbatim;
* ``ControlMaster=no``, ``ControlPath=none``: never become, or ride on, the tunnel's master;
* ``BatchMode=yes``: fail instead of prompting (sshjup's own prompts are the only ones).

``SessionType``, ``ForkAfterAuthentication`` and ``StdinNull`` exist from OpenSSH 8.7; for an
older client (``openssh.capabilities()``) they are left out, as they are from its Host block.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sshjup import proc
from sshjup.errors import Conflict, InvalidInput, RemoteCommandFailed, SshjupError, ToolMissing
from sshjup.jupyter.scripts import (
    ConfigMerge,
    RunningServer,
    ScriptOutput,
    check_extra_args,
    find_server,
    host_config_dir,
    list_script,
    live_servers,
    merge_server_config,
    parse_markers,
    poll_script,
    port_in_use,
    probe_script,
    resolve_socket_script,
    scrub,
    server_secrets,
    start_script,
    stop_script,
    write_config_script,
)
from sshjup.models import name_from_alias, validate_socket_path
from sshjup.records import dataclass, field
from sshjup.ssh import openssh
from sshjup.store import paths

if TYPE_CHECKING:
    from pathlib import Path

    from sshjup.models import JupyterSpec
    from sshjup.ssh.sshconfig import Capabilities

SSH_TIMEOUT = 60.0
ProgressFn = Callable[[str], None]

_INSTALL_HINTS = {
    "lab": "python3 -m pip install --user jupyterlab",
    "notebook": "python3 -m pip install --user 'notebook>=7'",
    "server": "python3 -m pip install --user jupyter_server",
}


# -- running a script -------------------------------------------------------------------------


def ssh_argv(
    alias: str,
    ssh_config: Path,
    *,
    caps: Capabilities | None = None,
    connect: Sequence[str] = (),
    control: Sequence[str] = ("ControlMaster=no", "ControlPath=none"),
    forwards: Sequence[str] = (),
) -> list[str]:
    """``ssh`` and options to run ``sh -s`` through ``alias`` without its forwards.

    ``-F`` is passed unless ``ssh_config`` is the file ssh reads anyway. ``caps``: what the
    local client parses (default: ``openssh.capabilities()``, from ``ssh -V``). ``connect``:
    more ``-o`` options (``HostName=...``), which win over the config (for a host whose
    block is not written yet). ``control``: the multiplexing options (default: never become,
    or ride on, a master). ``forwards``: ``-L`` specs for this connection itself; then the
    config's forwards are not cleared (ClearAllForwardings would clear these too) and a
    forward that fails only warns (the host's own Jupyter port may be the tunnel's).
    """
    if caps is None:
        caps = openssh.capabilities()
    argv = openssh.base_argv(ssh_config)
    clear = ["ExitOnForwardFailure=no"] if forwards else ["ClearAllForwardings=yes"]
    options = [
        *clear,
        *control,
        "BatchMode=yes",
        "RequestTTY=no",
        "RemoteCommand=none",
        "PermitLocalCommand=no",
    ]
    if caps.fork_after_authentication:
        options.insert(0, "ForkAfterAuthentication=no")
    if caps.session_type:  # SessionType and StdinNull came together (OpenSSH 8.7)
        options[:0] = ["SessionType=default", "StdinNull=no"]
    for option in [*options, *connect]:
        argv += ["-o", option]
    for spec in forwards:
        argv += ["-L", spec]
    return [*argv, "--", alias, "sh", "-s"]


def _tail(text: str, lines: int = 6, secret: str | None = None, stdout: str = "") -> str:
    """The last ``lines`` non-blank lines of remote text, scrubbed of ``secret``, of every
    token the server list in ``stdout`` holds, and of anything token-shaped (never quote
    remote output into an error without this)."""
    known = (secret, *server_secrets(stdout))
    kept = [line for line in scrub(text, known).strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


# What turns the tunnel alias into a plain command for a person to type (the hint above).
_AS_A_COMMAND = (
    "-o",
    "SessionType=default",
    "-o",
    "RemoteCommand=none",
    "-o",
    "ClearAllForwardings=yes",
)


def run_script(
    alias: str,
    ssh_config: Path,
    script: str,
    *,
    timeout: float = SSH_TIMEOUT,
    secret: str | None = None,
    connect: Sequence[str] = (),
) -> proc.Completed:
    """Run ``script`` with ``sh -s`` on the remote; ssh failures become RemoteCommandFailed.

    ``secret``: a value the script holds, removed from any text quoted in an error.
    ``connect``: extra ``-o`` options (see ``ssh_argv``).
    """
    argv = ssh_argv(alias, ssh_config, connect=connect)
    try:
        cp = proc.run(argv, input_text=script, timeout=timeout)
    except ToolMissing:
        raise
    except SshjupError as err:  # proc.run's timeout
        msg = f"ssh to {alias} did not finish within {timeout:.0f} s"
        raise RemoteCommandFailed(msg, hint="check the network and the remote host") from err
    if cp.returncode == 255:  # noqa: PLR2004 (ssh's own failure; our scripts never exit 255)
        detail = _tail(cp.stderr, 3, secret, cp.stdout) or "no message"
        msg = f"ssh could not run a command on {alias}: {detail}"
        check = paths.ssh_command(alias, ssh_config, *_AS_A_COMMAND)
        hint = (
            "sshjup logs in without prompting (BatchMode): load your key into ssh-agent or "
            "install it on the remote (ssh-copy-id), accept the host key once, then check with "
            f"`{check} true`"
        )
        raise RemoteCommandFailed(msg, hint=hint)
    return cp


def _fail(alias: str, what: str, cp: proc.Completed, secret: str | None) -> None:
    detail = _tail(cp.stderr, 6, secret, cp.stdout)
    msg = f"{what} on {alias} failed (exit {cp.returncode})" + (f":\n{detail}" if detail else "")
    raise RemoteCommandFailed(msg, hint=f"run `ssh {alias}` and look at the remote host")


# -- the remote Unix socket ------------------------------------------------------------------


@dataclass(frozen=True)
class SocketPath:
    """Where Jupyter's socket goes on the remote; ``exists``: its directory is there (0700)."""

    path: str
    exists: bool


def resolve_socket(
    alias: str,
    ssh_config: Path,
    name: str,
    requested: str | None,
    *,
    create: bool = True,
    connect: Sequence[str] = (),
    timeout: float = SSH_TIMEOUT,
) -> SocketPath:
    """Resolve ``--remote-socket [PATH]`` on the remote, once: an absolute path whose
    directory is private (made 0700 when missing; refused when others can open it).
    """
    script = resolve_socket_script(requested, name, create=create)
    cp = run_script(alias, ssh_config, script, timeout=timeout, connect=connect)
    out = parse_markers(cp.stdout)
    error = out.values.get("error", "")
    if error.startswith("socket-dir"):
        perms = error.partition(" ")[2] or "?"
        where = out.values.get("dir", "the directory")
        msg = (
            f"the socket's directory on {alias} can be opened by other accounts ({perms}); "
            "sshjup only puts Jupyter's socket in a directory of your own with mode 0700"
        )
        hint = (
            f"chmod 700 that directory on the remote ({where}), or give a path in a new "
            "directory: --remote-socket '~/.jupyter-sock/jupyter.sock'"
        )
        raise InvalidInput(msg, hint=hint)
    path = out.values.get("socket", "")
    if cp.returncode != 0 or not path.startswith("/"):
        _fail(alias, "resolving the remote socket path", cp, None)
    exists = "socket-dir-missing" not in out.flags
    return SocketPath(validate_socket_path(path, "remote socket"), exists)


# -- checking Jupyter -------------------------------------------------------------------------


@dataclass(frozen=True)
class JupyterInfo:
    """What runs on the remote: the launcher's path and the versions found."""

    kind: str
    path: str
    server_version: str
    app_version: str | None = None


def _missing_jupyter(alias: str, spec: JupyterSpec, program: str) -> RemoteCommandFailed:
    msg = f"Jupyter is not installed on {alias}: `{program}` is not on the remote PATH"
    hint = (
        f"install it on the remote ({_INSTALL_HINTS[spec.kind]}), or give the full path of "
        "`jupyter` in a venv or conda env with --jupyter-cmd PATH"
    )
    return RemoteCommandFailed(msg, hint=hint)


def _major(version: str) -> int | None:
    m = re.match(r"\s*(\d+)", version)
    return int(m.group(1)) if m else None


def _raise_for_remote_errors(
    alias: str, spec: JupyterSpec, cp: proc.Completed, out: ScriptOutput
) -> None:
    """Turn the scripts' ``missing-jupyter`` and ``error-APP`` answers into clear errors."""
    if "missing-jupyter" in out.values or cp.returncode == 3:  # noqa: PLR2004
        raise _missing_jupyter(alias, spec, out.values.get("missing-jupyter", "jupyter"))
    for app in ("server", spec.kind):
        if f"error-{app}" in out.blocks:
            label = {"server": "jupyter_server", "lab": "JupyterLab", "notebook": "Notebook"}[app]
            detail = _tail(out.blocks[f"error-{app}"], 3, None, cp.stdout)
            msg = f"{label} does not run on {alias}: `jupyter {app}` said: {detail}"
            hint = (
                f"install it on the remote ({_INSTALL_HINTS[app]}), or point --jupyter-cmd at "
                "the `jupyter` of an environment that has it"
            )
            raise RemoteCommandFailed(msg, hint=hint)


def _probe(
    alias: str,
    ssh_config: Path,
    spec: JupyterSpec,
    *,
    server_version: bool = True,
    read_config: bool = False,
    list_servers: bool = False,
    timeout: float = SSH_TIMEOUT,
) -> tuple[JupyterInfo, ScriptOutput]:
    script = probe_script(
        spec,
        server_version=server_version,
        read_config=read_config,
        list_servers=list_servers,
        config_dir=host_config_dir(alias) if read_config else None,
    )
    cp = run_script(alias, ssh_config, script, timeout=timeout)
    out = parse_markers(cp.stdout)
    _raise_for_remote_errors(alias, spec, cp, out)
    if cp.returncode != 0 or "jupyter" not in out.values:
        _fail(alias, "checking Jupyter", cp, None)
    versions: dict[str, str] = {}
    for line in cp.stdout.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[0] == "@@sshjup" and parts[1] == "version":  # noqa: PLR2004
            versions[parts[2]] = parts[3].strip()
    info = JupyterInfo(
        kind=spec.kind,
        path=out.values["jupyter"],
        server_version=versions.get("server", "?"),
        app_version=versions.get(spec.kind) if spec.kind != "server" else None,
    )
    if spec.kind == "notebook" and (_major(info.app_version or "") or 0) < 7:  # noqa: PLR2004
        msg = (
            f"Notebook {info.app_version} on {alias} is too old: sshjup needs Notebook 7 or "
            "newer (built on jupyter_server)"
        )
        hint = f"upgrade it on the remote ({_INSTALL_HINTS['notebook']}) or use --server"
        raise RemoteCommandFailed(msg, hint=hint)
    return info, out


def check_jupyter(
    alias: str, ssh_config: Path, spec: JupyterSpec, *, timeout: float = SSH_TIMEOUT
) -> JupyterInfo:
    """Check that the remote can run ``jupyter server`` and the spec's app (lab/notebook)."""
    return _probe(alias, ssh_config, spec, timeout=timeout)[0]


# -- jupyter setup ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupPlan:
    """What ``jupyter setup`` found and would write; ``written`` once it was applied."""

    info: JupyterInfo
    config_dir: str
    merge: ConfigMerge
    has_py_config: bool = False
    written: bool = False

    @property
    def path(self) -> str:
        return self.merge.path


def plan_setup(
    alias: str,
    ssh_config: Path,
    spec: JupyterSpec,
    port: int,
    *,
    password_hash: str | None = None,
    timeout: float = SSH_TIMEOUT,
    sock: str | None = None,
) -> SetupPlan:
    """Check Jupyter, read the remote config and merge sshjup's settings into it (no write).

    ``sock``: the host's remote socket; Jupyter is then set up to listen there, not on TCP.
    """
    info, out = _probe(alias, ssh_config, spec, read_config=True, timeout=timeout)
    config_dir = out.values.get("config-dir")
    if not config_dir:
        msg = f"could not find this host's Jupyter config directory on {alias}"
        raise RemoteCommandFailed(msg, hint="check that $HOME is set on the remote")
    old_text = out.blocks.get("config")
    path = f"{config_dir.rstrip('/')}/jupyter_server_config.json"
    merge = merge_server_config(old_text, port, password_hash=password_hash, path=path, sock=sock)
    return SetupPlan(info, config_dir, merge, has_py_config="config-py" in out.flags)


def apply_setup(
    alias: str, ssh_config: Path, plan: SetupPlan, *, timeout: float = SSH_TIMEOUT
) -> SetupPlan:
    """Write the plan's config, only if the remote file is still what the plan read.

    Raises ``Conflict`` when the file changed since ``plan_setup`` (plan again). The old
    file is kept as ``jupyter_server_config.json.sshjup.bak``. A plan without changes
    writes nothing.
    """
    if not plan.merge.changed:
        return plan
    script = write_config_script(plan.config_dir, plan.merge.old_text, plan.merge.new_text)
    cp = run_script(alias, ssh_config, script, timeout=timeout)
    out = parse_markers(cp.stdout)
    if "changed" in out.flags:
        msg = f"{plan.path} on {alias} changed while sshjup was looking at it; nothing was written"
        raise Conflict(msg, hint="run the command again to see the new difference")
    if cp.returncode != 0 or "written" not in out.values:
        _fail(alias, f"writing {plan.path}", cp, None)
    return SetupPlan(plan.info, plan.config_dir, plan.merge, plan.has_py_config, written=True)


def setup(
    alias: str,
    ssh_config: Path,
    spec: JupyterSpec,
    port: int,
    *,
    password_hash: str | None = None,
    dry_run: bool = False,
    replace: bool = False,
    timeout: float = SSH_TIMEOUT,
    sock: str | None = None,
) -> SetupPlan:
    """Plan, then write unless ``dry_run``. Settings the user already had with another value
    (``plan.merge.replaces``) are only replaced with ``replace=True``; otherwise ``Conflict``
    lists them. For an interactive "show the diff and ask", call ``plan_setup`` and
    ``apply_setup`` yourself.
    """
    plan = plan_setup(
        alias, ssh_config, spec, port, password_hash=password_hash, timeout=timeout, sock=sock
    )
    if dry_run or not plan.merge.changed:
        return plan
    if plan.merge.replaces and not replace:
        listed = "; ".join(c.describe() for c in plan.merge.replaces)
        msg = f"{plan.path} on {alias} already has other values: {listed}"
        raise Conflict(msg, hint="look at the difference with --dry-run, then confirm (--yes)")
    return apply_setup(alias, ssh_config, plan, timeout=timeout)


# -- start, stop, status ----------------------------------------------------------------------


@dataclass(frozen=True)
class StartResult:
    """The server that came up. ``token`` is the one that works (what the server reports)."""

    server: RunningServer
    log_path: str
    elapsed: float
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StopResult:
    """What stopping the remote Jupyter did."""

    server: RunningServer
    forced: bool  # SIGKILL was needed after the grace period


@dataclass(frozen=True)
class RemoteStatus:
    """The remote user's Jupyter servers, and the one on the host's remote port."""

    servers: tuple[RunningServer, ...]
    server: RunningServer | None


def _list(
    alias: str, ssh_config: Path, spec: JupyterSpec, timeout: float
) -> tuple[RunningServer, ...]:
    cp = run_script(alias, ssh_config, list_script(spec), timeout=timeout)
    out = parse_markers(cp.stdout)
    _raise_for_remote_errors(alias, spec, cp, out)
    if cp.returncode != 0 or "list" not in out.blocks:
        _fail(alias, "`jupyter server list`", cp, None)
    return tuple(live_servers(out))


def status(
    alias: str,
    ssh_config: Path,
    spec: JupyterSpec,
    port: int,
    *,
    timeout: float = SSH_TIMEOUT,
    sock: str | None = None,
) -> RemoteStatus:
    """What ``jupyter server list --json`` shows for the remote user (tokens included).

    ``server`` is the one on ``port``, or on the Unix socket ``sock`` when given.
    """
    servers = _list(alias, ssh_config, spec, timeout)
    return RemoteStatus(servers, find_server(servers, port, sock))


def _port_taken_by_jupyter(
    alias: str, port: int, server: RunningServer, sock: str | None = None
) -> RemoteCommandFailed:
    where = f"the socket {sock}" if sock is not None else f"remote port {port}"
    msg = f"{where} on {alias} is already used by {server.describe()}"
    from sshjup.models import name_from_alias  # noqa: PLC0415

    name = name_from_alias(alias)
    hint = (
        f"stop it with `sshjup jupyter stop {name}` if it is yours (or reach it with `sshjup open "
        f"{name}`), or give the host another remote port: "
        f"`sshjup edit {name} --remote-port auto`"
    )
    return RemoteCommandFailed(msg, hint=hint)


def start(
    alias: str,
    ssh_config: Path,
    spec: JupyterSpec,
    port: int,
    token: str,
    *,
    timeout: float = 60.0,
    progress: ProgressFn | None = None,
    poll_interval: float = 1.0,
    ssh_timeout: float = SSH_TIMEOUT,
    sock: str | None = None,
) -> StartResult:
    """Start Jupyter detached on the remote port with ``token``; wait until it is listed.

    Fails with ``RemoteCommandFailed`` (and never moves to another port) when the port is
    taken: by a Jupyter server of the remote user (found before starting), or by anything
    else (Jupyter exits saying so). ``progress`` gets a line about once a second while
    waiting. On timeout the started process is stopped again. With ``sock`` Jupyter listens
    on that Unix socket (0600, in a directory checked to be 0700) and on no TCP port.
    """
    check_extra_args(spec.args, name=name_from_alias(alias))
    # validates the token; the host's own settings (`jupyter setup`) first on the config path
    script = start_script(spec, port, token, sock, config_dir=host_config_dir(alias))
    began = time.monotonic()
    if progress is not None:
        progress(f"checking Jupyter on {alias}")
    _info, out = _probe(
        alias, ssh_config, spec, server_version=False, list_servers=True, timeout=ssh_timeout
    )
    existing = find_server(live_servers(out), port, sock)
    if existing is not None:
        raise _port_taken_by_jupyter(alias, port, existing, sock)

    cp = run_script(alias, ssh_config, script, timeout=ssh_timeout, secret=token)
    launched = parse_markers(cp.stdout)
    if launched.values.get("error") == "root-dir":
        msg = f"the root dir {spec.root_dir} does not exist on {alias}"
        raise RemoteCommandFailed(msg, hint="create it on the remote, or change --root-dir")
    _raise_for_socket_errors(alias, launched, sock)
    pid_text = launched.values.get("pid", "")
    if cp.returncode != 0 or not pid_text.isdigit():
        _fail(alias, "starting Jupyter", cp, token)
    pid = int(pid_text)
    log_path = launched.values.get("log", "")
    if progress is not None:
        progress(f"started Jupyter on {alias} (pid {pid}, log {log_path})")

    deadline = began + timeout
    where = f"socket {sock}" if sock is not None else f"remote port {port}"
    while True:
        tick = time.monotonic()
        if progress is not None:
            progress(f"waiting for Jupyter on {alias}, {where} ({tick - began:.0f} s)")
        cp = run_script(
            alias, ssh_config, poll_script(spec, port, pid), timeout=ssh_timeout, secret=token
        )
        polled = parse_markers(cp.stdout)
        _raise_for_remote_errors(alias, spec, cp, polled)
        server = find_server(live_servers(polled), port, sock)
        if server is not None:
            works = server.token if server.token else (None if server.password_mode else token)
            return StartResult(server, log_path, time.monotonic() - began, works)
        if polled.values.get("alive") == "0":
            log_tail = _tail(polled.blocks.get("log", ""), 8, token, cp.stdout)
            if sock is not None and "is already in use" in log_tail:
                msg = f"the socket {sock} on {alias} is already in use by another program"
                raise RemoteCommandFailed(msg, hint="stop what listens there, then start again")
            if sock is None and port_in_use(log_tail, port):
                msg = (
                    f"remote port {port} on {alias} is already in use by another program "
                    "(Jupyter does not move to another port)"
                )
                hint = (
                    "stop what listens there, or give the host another remote port: "
                    f"`sshjup edit {name_from_alias(alias)} --remote-port PORT`"
                )
                raise RemoteCommandFailed(msg, hint=hint)
            msg = f"Jupyter exited on {alias} before it served {where}"
            msg += f"; the end of {log_path}:\n{log_tail}" if log_tail else ""
            raise RemoteCommandFailed(msg, hint=f"read {log_path} on the remote")
        if time.monotonic() >= deadline:
            _stop_pid(alias, ssh_config, pid, ssh_timeout)
            msg = f"Jupyter did not come up on {alias} {where} within {timeout:.0f} s"
            hint = f"it was stopped again; read {log_path} on the remote, or allow more --timeout"
            raise RemoteCommandFailed(msg, hint=hint)
        time.sleep(max(0.0, poll_interval - (time.monotonic() - tick)))


def _raise_for_socket_errors(alias: str, out: ScriptOutput, sock: str | None) -> None:
    error = out.values.get("error", "")
    if sock is None or not error:
        return
    if error.startswith("socket-dir"):
        perms = error.partition(" ")[2] or "?"
        msg = (
            f"the directory of the socket {sock} on {alias} can be opened by other accounts "
            f"({perms}); Jupyter was not started"
        )
        hint = f"chmod 700 {out.values.get('dir', 'that directory')} on the remote"
        raise RemoteCommandFailed(msg, hint=hint)
    if error == "not-a-socket":
        msg = f"{sock} on {alias} exists and is not a socket; Jupyter was not started"
        raise RemoteCommandFailed(msg, hint="move that file away on the remote")
    if error == "mkdir":
        msg = f"could not create the directory of the socket {sock} on {alias}"
        raise RemoteCommandFailed(msg, hint="check that directory's parent on the remote")


def _stop_pid(
    alias: str, ssh_config: Path, pid: int, timeout: float, grace_seconds: int = 10
) -> bool:
    """SIGTERM, then SIGKILL after ``grace_seconds``; True when SIGKILL was needed."""
    cp = run_script(
        alias, ssh_config, stop_script(pid, grace_seconds=grace_seconds), timeout=timeout
    )
    out = parse_markers(cp.stdout)
    if "still-running" in out.flags or cp.returncode != 0:
        _fail(alias, f"stopping Jupyter (pid {pid})", cp, None)
    return "killed" in out.flags


def stop(
    alias: str,
    ssh_config: Path,
    spec: JupyterSpec,
    port: int,
    *,
    grace_seconds: int = 10,
    timeout: float = SSH_TIMEOUT,
    sock: str | None = None,
) -> StopResult | None:
    """Stop the remote user's Jupyter server on ``port`` (``None``: none was running).

    Finds its pid with ``jupyter server list --json``, sends SIGTERM (Jupyter shuts its kernels
    down and removes its runtime file), and SIGKILL after ``grace_seconds``.
    """
    if grace_seconds < 1:
        msg = "the grace period must be at least one second"
        raise InvalidInput(msg, hint="give a whole number of seconds")
    servers = _list(alias, ssh_config, spec, timeout)
    server = find_server(servers, port, sock)
    if server is None:
        return None
    forced = _stop_pid(alias, ssh_config, server.pid, timeout + grace_seconds, grace_seconds)
    return StopResult(server, forced)


__all__ = [
    "JupyterInfo",
    "ProgressFn",
    "RemoteStatus",
    "SetupPlan",
    "SocketPath",
    "StartResult",
    "StopResult",
    "apply_setup",
    "check_jupyter",
    "plan_setup",
    "resolve_socket",
    "run_script",
    "setup",
    "ssh_argv",
    "start",
    "status",
    "stop",
]

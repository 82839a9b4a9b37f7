"""Start, stop and check a managed tunnel through OpenSSH's own control socket.

The Host block sshjup writes (``SessionType none``, ``ForkAfterAuthentication yes``,
``ControlMaster auto``, ``ControlPersist yes``) makes plain ``ssh ALIAS`` open the tunnel in the
background. This module only drives what OpenSSH already offers:

* ``up``: run ``ssh ALIAS`` in the foreground until it has authenticated and forked, then wait
  until ``127.0.0.1:LOCAL_PORT`` accepts connections;
* ``status``: ``ssh -O check ALIAS`` ("Master running (pid=N)" on stderr, exit 0);
* ``down``: ``ssh -O exit ALIAS``, then wait until the local port is free.

No PID files and no process-name kills: the control socket is the handle. Network checks touch
only the loopback address. The library never prints: progress goes to a callback.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sshjup import proc
from sshjup.errors import InvalidInput, PortTaken, TunnelError
from sshjup.store import paths

LOOPBACK = "127.0.0.1"
CHECK_TIMEOUT = 15.0
_POLL = 0.1
_MASTER_RE = re.compile(r"Master running \(pid=(\d+)\)")
_ALIAS_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}")
_STDERR_MAX_LINES = 12
_STDERR_MAX_CHARS = 1500

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TunnelStatus:
    """What OpenSSH's control socket and the local port say about one tunnel."""

    alias: str
    running: bool  # `ssh -O check` reached a master for this alias
    pid: int | None  # the master's PID, as ssh reports it
    port_open: bool  # 127.0.0.1:local_port accepts a TCP connection
    detail: str  # one line for people
    local_port: int = 0


def ssh_argv(ssh_config: Path) -> list[str]:
    """``ssh``, plus ``-F PATH`` unless ``ssh_config`` is the file ssh reads by default."""
    argv = ["ssh"]
    if not paths.is_default_ssh_config(ssh_config):
        argv += ["-F", str(ssh_config)]
    return argv


def _check_alias(alias: str) -> str:
    if not _ALIAS_RE.fullmatch(alias):
        msg = f"{alias!r} is not a host alias sshjup can pass to ssh"
        raise InvalidInput(msg, hint="use the alias of a managed host, for example jup-gpu")
    return alias


def _check_port(port: int) -> int:
    if not 1 <= port <= 65535:  # noqa: PLR2004
        msg = f"local port {port} is outside 1-65535"
        raise InvalidInput(msg, hint="give the host a local port between 1024 and 65535")
    return port


# --- loopback port helpers -------------------------------------------------------------------


def port_accepts(port: int, *, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_in_use(port: int, *, host: str = LOOPBACK) -> bool:
    """True when ``host:port`` cannot be bound, the way ssh binds a LocalForward.

    ssh sets SO_REUSEADDR, so a port in TIME_WAIT is free for it, and so it is here.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def wait_for_port(
    port: int,
    *,
    timeout: float,
    host: str = LOOPBACK,
    progress: Progress | None = None,
) -> bool:
    """Poll until ``host:port`` accepts connections; False after ``timeout`` seconds.

    After the first second, ``progress`` hears about the wait about once a second.
    """
    start = time.monotonic()
    deadline = start + timeout
    next_note = start + 1.0
    while True:
        if port_accepts(port, host=host, timeout=min(0.5, max(timeout, 0.05))):
            return True
        now = time.monotonic()
        if now >= deadline:
            return False
        if progress is not None and now >= next_note:
            progress(f"waiting for {host}:{port} to accept connections ({now - start:.0f} s)")
            next_note = now + 1.0
        time.sleep(min(_POLL, max(deadline - now, 0.0)))


def wait_for_port_free(port: int, *, timeout: float, host: str = LOOPBACK) -> bool:
    """Poll until ``host:port`` can be bound again; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if not port_in_use(port, host=host):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)


# --- status / up / down --------------------------------------------------------------------


def _trim(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r", "").splitlines() if line.strip()]
    lines = lines[-_STDERR_MAX_LINES:]
    out = "\n".join(lines)
    return out[-_STDERR_MAX_CHARS:]


def _describe(
    alias: str, local_port: int, *, running: bool, pid: int | None, port_open: bool, ssh_says: str
) -> str:
    where = f"{LOOPBACK}:{local_port}"
    if running and port_open:
        return f"tunnel up: ssh master pid {pid}, {where} accepts connections"
    if running:
        return f"ssh master pid {pid} is running, but {where} does not accept connections"
    if "No ControlPath specified" in ssh_says:
        return f"cannot check: the ssh config gives {alias} no ControlPath"
    if port_open:
        return f"not running; {where} is in use by another program"
    if ssh_says and "No such file or directory" not in ssh_says:
        return f"not running ({ssh_says.splitlines()[-1]})"
    return "not running"


def status(alias: str, ssh_config: Path, local_port: int) -> TunnelStatus:
    """Ask the control socket (``ssh -O check ALIAS``) and the local port."""
    _check_alias(alias)
    _check_port(local_port)
    result = proc.run([*ssh_argv(ssh_config), "-O", "check", alias], timeout=CHECK_TIMEOUT)
    ssh_says = _trim(result.stderr)
    running = result.returncode == 0
    match = _MASTER_RE.search(result.stderr)
    pid = int(match.group(1)) if running and match else None
    port_open = port_accepts(local_port)
    detail = _describe(
        alias, local_port, running=running, pid=pid, port_open=port_open, ssh_says=ssh_says
    )
    return TunnelStatus(alias, running, pid, port_open, detail, local_port)


def _read_all(handle: IO[bytes]) -> str:
    handle.flush()
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")


def _run_foreground_ssh(argv: list[str], alias: str, timeout: float) -> tuple[int, str]:
    """Run ``ssh ALIAS`` until it forks into the background; its exit code and stderr.

    stdin is inherited, so a passphrase or host-key prompt can use the terminal. stdout goes
    to /dev/null and stderr to a temp file: the background ssh inherits both, so a pipe would
    never reach end-of-file.
    """
    with tempfile.TemporaryFile(prefix="sshjup-ssh-") as err:
        try:
            child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        except FileNotFoundError as exc:
            raise proc.missing(argv[0]) from exc
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Not forked yet, so this PID is the whole ssh: stop it by its PID.
            child.kill()
            child.wait()
            said = _trim(_read_all(err))
            msg = f"`ssh {alias}` did not finish connecting within {timeout:g} s"
            if said:
                msg += f":\n{said}"
            hint = (
                "check that the host is reachable and that the Host block has "
                "ForkAfterAuthentication yes (OpenSSH 8.7 or later); or give more time "
                "with --timeout"
            )
            raise TunnelError(msg, hint=hint) from None
        return code, _trim(_read_all(err))


def _stop_quietly(alias: str, ssh_config: Path) -> None:
    proc.run([*ssh_argv(ssh_config), "-O", "exit", alias], timeout=CHECK_TIMEOUT)


def up(
    alias: str,
    ssh_config: Path,
    local_port: int,
    *,
    timeout: float = 30.0,
    progress: Progress | None = None,
    extra_args: tuple[str, ...] = (),
) -> TunnelStatus:
    """Open the tunnel (plain ``ssh ALIAS``) unless it is already up; wait for the port.

    ``extra_args`` go before the alias: ``("-N", "-f")`` where the local OpenSSH is older than
    8.7 and the Host block could not say ``SessionType none`` / ``ForkAfterAuthentication``.
    """
    _check_alias(alias)
    _check_port(local_port)
    deadline = time.monotonic() + timeout
    before = status(alias, ssh_config, local_port)
    if before.running and before.port_open:
        return before
    if not before.running and port_in_use(local_port):
        msg = (
            f"{LOOPBACK}:{local_port} is already in use by another program, "
            f"so the tunnel {alias} cannot listen there"
        )
        hint = (
            f"stop the program that listens on port {local_port} "
            "(e.g. `ss -ltnp` shows it), or give this host another local port"
        )
        raise PortTaken(msg, hint=hint)

    code, said = _run_foreground_ssh([*ssh_argv(ssh_config), *extra_args, alias], alias, timeout)
    if code != 0:
        msg = f"ssh could not open the tunnel {alias} (exit {code})"
        if said:
            msg += f":\n{said}"
        debug = shlex.join([*ssh_argv(ssh_config), "-v", alias])
        raise TunnelError(msg, hint=f"run `{debug}` to see why")

    remaining = max(deadline - time.monotonic(), 1.0)
    if not wait_for_port(local_port, timeout=remaining, progress=progress):
        after = status(alias, ssh_config, local_port)
        if after.running and not before.running:
            _stop_quietly(alias, ssh_config)
        msg = (
            f"ssh connected for {alias}, but {LOOPBACK}:{local_port} did not accept "
            f"connections within {timeout:g} s ({after.detail})"
        )
        hint = f"check that the Host block has `LocalForward {LOOPBACK}:{local_port} ...`"
        raise TunnelError(msg, hint=hint)
    return status(alias, ssh_config, local_port)


def down(alias: str, ssh_config: Path, local_port: int, *, timeout: float = 10.0) -> TunnelStatus:
    """Stop the tunnel (``ssh -O exit ALIAS``); a tunnel that is not running is not an error."""
    _check_alias(alias)
    _check_port(local_port)
    before = status(alias, ssh_config, local_port)
    if not before.running:
        return before
    result = proc.run([*ssh_argv(ssh_config), "-O", "exit", alias], timeout=CHECK_TIMEOUT)
    deadline = time.monotonic() + timeout
    while True:
        now = status(alias, ssh_config, local_port)
        if not now.running and not port_in_use(local_port):
            return now
        if time.monotonic() >= deadline:
            break
        time.sleep(_POLL)
    if now.running:
        said = _trim(result.stderr)
        msg = f"the tunnel {alias} is still running after `ssh -O exit`"
        if said:
            msg += f":\n{said}"
        hint = f"stop the ssh master by its PID: kill {now.pid}" if now.pid else None
        raise TunnelError(msg, hint=hint)
    # The master is gone; whoever holds the port now is another program (see now.detail).
    return now


# --- forwards on the running master ---------------------------------------------------------


def _forward_op(op: str, ssh_config: Path, alias: str, spec: str) -> None:
    _check_alias(alias)
    result = proc.run([*ssh_argv(ssh_config), "-O", op, "-L", spec, alias], timeout=CHECK_TIMEOUT)
    if result.returncode != 0:
        said = _trim(result.stderr) or "no message"
        msg = f"`ssh -O {op} -L {spec} {alias}` failed: {said}"
        hint = f"check that the tunnel is up (`sshjup status`), or bring it up with `ssh {alias}`"
        raise TunnelError(msg, hint=hint)


def forward(ssh_config: Path, alias: str, spec: str) -> None:
    """Add a local forward (``-L spec``) to the alias's running master (``ssh -O forward``).

    The master is addressed through the alias, so whatever ControlPath its block has applies.
    """
    _forward_op("forward", ssh_config, alias, spec)


def cancel(ssh_config: Path, alias: str, spec: str) -> None:
    """Remove a forward added with :func:`forward` (``ssh -O cancel`` with the same spec)."""
    _forward_op("cancel", ssh_config, alias, spec)


__all__ = [
    "LOOPBACK",
    "cancel",
    "forward",
    "TunnelStatus",
    "down",
    "port_accepts",
    "port_in_use",
    "ssh_argv",
    "status",
    "up",
    "wait_for_port",
    "wait_for_port_free",
]

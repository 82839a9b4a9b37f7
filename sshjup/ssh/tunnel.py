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

import contextlib
import os
import re
import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sshjup import proc
from sshjup.errors import InvalidInput, PortTaken, TunnelError
from sshjup.records import dataclass, replace
from sshjup.store import paths

if TYPE_CHECKING:
    from sshjup.models import Forward

LOOPBACK = "127.0.0.1"
CHECK_TIMEOUT = 15.0
_POLL = 0.1
_MASTER_RE = re.compile(r"Master running \(pid=(\d+)\)")
_ALIAS_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}")
_STDERR_MAX_LINES = 12
_STDERR_MAX_CHARS = 1500

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ForwardState:
    """One LocalForward of the tunnel, and whether its local port accepts connections now."""

    bind: str
    local_port: int
    remote: str  # remote_host:remote_port
    accepting: bool

    @property
    def where(self) -> str:
        return f"{self.bind}:{self.local_port}"


@dataclass(frozen=True)
class TunnelStatus:
    """What OpenSSH's control socket and the local port say about one tunnel."""

    alias: str
    running: bool  # `ssh -O check` reached a master for this alias
    pid: int | None  # the master's PID, as ssh reports it
    port_open: bool  # 127.0.0.1:local_port accepts a TCP connection
    detail: str  # one line for people
    local_port: int = 0
    forwards: tuple[ForwardState, ...] = ()  # every forward asked about, the Jupyter one first

    @property
    def missing(self) -> tuple[ForwardState, ...]:
        """Forwards whose local port does not accept connections."""
        return tuple(f for f in self.forwards if not f.accepting)

    @property
    def serving(self) -> bool:
        """The master runs and every forward's local port accepts connections."""
        return self.running and self.port_open and not self.missing


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
    alias: str,
    local_port: int,
    *,
    running: bool,
    pid: int | None,
    port_open: bool,
    ssh_says: str,
    missing: tuple[ForwardState, ...] = (),
) -> str:
    where = f"{LOOPBACK}:{local_port}"
    if running and missing:
        gaps = ", ".join(f.where for f in missing)
        return (
            f"ssh master pid {pid} is running, but {gaps} does not accept connections "
            f"(`sshjup up {alias}` adds the missing forward)"
        )
    if running and port_open:
        return f"tunnel up: ssh master pid {pid}, {where} accepts connections"
    if running:
        return f"ssh master pid {pid} is running, but {where} does not accept connections"
    if "No ControlPath specified" in ssh_says:
        return f"cannot check: the ssh config gives {alias} no ControlPath"
    if port_open:
        return f"not running; {where} is in use by another program"
    last = ssh_says.splitlines()[-1] if ssh_says else ""
    if last.startswith("Control socket connect("):
        # OpenSSH's own words name the socket path; say what they mean instead.
        if "No such file or directory" in last:
            return "not running"
        if "Connection refused" in last:  # a master that ended without removing its socket
            return (
                f"not running (a stale control socket is left; the next `ssh {alias}` replaces it)"
            )
        return f"not running (its control socket cannot be reached: {last.rpartition(': ')[2]})"
    if last:
        return f"not running ({last})"
    return "not running"


def forward_spec(fwd: Forward) -> str:
    """The ``-L`` argument for a forward: ``bind:local_port:remote_host:remote_port``."""
    host = f"[{fwd.remote_host}]" if ":" in fwd.remote_host else fwd.remote_host
    return f"{fwd.bind}:{fwd.local_port}:{host}:{fwd.remote_port}"


def status(
    alias: str, ssh_config: Path, local_port: int, *, forwards: Sequence[Forward] = ()
) -> TunnelStatus:
    """Ask the control socket (``ssh -O check ALIAS``) and each forward's local port.

    ``forwards`` are the LocalForwards the tunnel should have (the first is ``local_port``'s);
    without them only ``local_port`` is probed.
    """
    _check_alias(alias)
    _check_port(local_port)
    result = proc.run([*ssh_argv(ssh_config), "-O", "check", alias], timeout=CHECK_TIMEOUT)
    ssh_says = _trim(result.stderr)
    running = result.returncode == 0
    match = _MASTER_RE.search(result.stderr)
    pid = int(match.group(1)) if running and match else None
    states = tuple(
        ForwardState(
            f.bind,
            f.local_port,
            f"{f.remote_host}:{f.remote_port}",
            port_accepts(f.local_port, host=f.bind),
        )
        for f in forwards
    )
    first = next((f for f in states if f.local_port == local_port), None)
    port_open = first.accepting if first is not None else port_accepts(local_port)
    missing = tuple(f for f in states if not f.accepting)
    detail = _describe(
        alias,
        local_port,
        running=running,
        pid=pid,
        port_open=port_open,
        ssh_says=ssh_says,
        missing=missing,
    )
    return TunnelStatus(alias, running, pid, port_open, detail, local_port, states)


def _control_path(alias: str, ssh_config: Path) -> str:
    """The alias's own control socket, as ``ssh -G`` resolves it."""
    from sshjup.ssh import openssh  # noqa: PLC0415

    resolved = openssh.resolve(
        ssh_config, alias, use_default=paths.is_default_ssh_config(ssh_config)
    )
    path = resolved.get("controlpath")
    if not resolved.ok or not path or path == "none":
        msg = f"cannot reach the tunnel {alias}: the ssh config gives it no ControlPath"
        raise TunnelError(msg, hint="run `sshjup doctor` to see why")
    return path


def _mux_spec(ssh_config: Path, alias: str, op: str, spec: str) -> proc.Completed:
    """``ssh -O OP -L SPEC`` on the alias's socket only, without reading the config.

    Read through the config, ``-O cancel`` would cancel the block's own LocalForwards too, and
    ``-O forward`` would ask for them again and fail (ssh sends every forward it knows of,
    OpenSSH 9.2), so the socket is named directly.
    """
    return _mux_on(_control_path(alias, ssh_config), alias, op, spec)


def _mux_on(socket_path: str, alias: str, op: str, spec: str) -> proc.Completed:
    argv = ["ssh", "-F", os.devnull, "-o", f"ControlPath={socket_path.replace('%', '%%')}"]
    return proc.run([*argv, "-O", op, "-L", spec, alias], timeout=CHECK_TIMEOUT)


def _mux(ssh_config: Path, alias: str, op: str, fwd: Forward) -> proc.Completed:
    return _mux_spec(ssh_config, alias, op, forward_spec(fwd))


def add_forwards(alias: str, ssh_config: Path, forwards: Sequence[Forward]) -> list[str]:
    """Ask the running master to listen on more forwards (``ssh -O forward -L ...``).

    Returns one line per forward added; the first that fails raises TunnelError.
    """
    _check_alias(alias)
    done = []
    for fwd in forwards:
        result = _mux(ssh_config, alias, "forward", fwd)
        if result.returncode != 0:
            said = _trim(result.stderr)
            msg = f"the running tunnel {alias} could not add the forward {forward_spec(fwd)}"
            if said:
                msg += f":\n{said}"
            hint = (
                f"if {fwd.bind}:{fwd.local_port} is in use by another program, stop it or "
                "choose another local port; `sshjup doctor` shows who holds it"
            )
            raise TunnelError(msg, hint=hint)
        done.append(
            f"{alias}: now forwarding {fwd.bind}:{fwd.local_port} -> "
            f"{fwd.remote_host}:{fwd.remote_port}"
        )
    return done


def cancel_forwards(alias: str, ssh_config: Path, forwards: Sequence[Forward]) -> list[str]:
    """Ask the running master to stop forwarding (``ssh -O cancel -L ...``); lines said.

    A forward the master does not have is reported, not an error.
    """
    _check_alias(alias)
    done = []
    for fwd in forwards:
        result = _mux(ssh_config, alias, "cancel", fwd)
        where = f"{fwd.bind}:{fwd.local_port}"
        if result.returncode == 0:
            done.append(f"{alias}: stopped forwarding {where}")
        else:
            said = _trim(result.stderr).splitlines()
            done.append(f"{alias}: {where} was not forwarded ({said[-1] if said else 'no answer'})")
    return done


def _read_all(handle: IO[bytes]) -> str:
    handle.flush()
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")


PROMPT_TIMEOUT = 300.0
_TERM_GRACE = 3.0
# What the kernel says a process blocked in read() on a terminal waits in (Linux): ssh's
# readpassphrase() at a passphrase or host-key prompt. In its network loop ssh waits in poll().
_TTY_WAITS = ("wait_woken", "n_tty_read")


def _waiting_in(pid: int) -> str:
    """The kernel function ``pid`` sleeps in (Linux ``/proc/PID/wchan``), or ""."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def at_prompt(pid: int) -> bool:
    """ssh (``pid``) is blocked reading the terminal: a prompt waits for the user."""
    return _waiting_in(pid) in _TTY_WAITS


def _save_tty() -> list[Any] | None:
    try:
        import termios  # noqa: PLC0415 (not on Windows)

        return termios.tcgetattr(0) if os.isatty(0) else None
    except (ImportError, OSError):
        return None


def _restore_tty(saved: list[Any] | None) -> None:
    if saved is None:
        return
    import termios  # noqa: PLC0415

    with contextlib.suppress(OSError):
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _terminate(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM, so ssh restores the terminal itself; SIGKILL only if it ignores that."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=_TERM_GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _why_not_connected(said: str, *, prompt: bool, waiting_in: str) -> tuple[str, str]:
    """What happened (for the message) and what to do (the hint), from ssh's last state."""
    if prompt:
        return (
            "ssh was waiting at a prompt in this terminal (a key passphrase or a host-key "
            "question) that nobody answered",
            "answer ssh's prompt within --prompt-timeout seconds, or load the key into the "
            "agent first (`ssh-add KEY`) and accept the host key once with plain `ssh ALIAS`",
        )
    if "connect" in waiting_in or not said:
        return (
            "the host did not answer (still connecting: unreachable, or a firewall drops the "
            "packets)",
            "check the host name and port, the network or VPN, and any ProxyJump; or give "
            "more time with --timeout",
        )
    return (
        "ssh connected but the login did not finish",
        "run `ssh -v ALIAS` to see where it stops; or give more time with --timeout",
    )


_EXIT_HINTS = (
    (
        "Permission denied",
        "the server refused the login (authentication failed): check the "
        "user and the key (IdentityFile), or load the key into ssh-agent",
    ),
    (
        "Host key verification failed",
        "the host key is not known or has changed: check it, "
        "then accept it once with plain `ssh` (or fix known_hosts)",
    ),
    ("Could not resolve hostname", "the host name does not resolve: check HostName"),
    ("Connection refused", "nothing listens on the host's ssh port: check Port and the server"),
    ("timed out", "the host is unreachable: check the network, VPN or ProxyJump"),
    ("No route to host", "the host is unreachable: check the network, VPN or ProxyJump"),
    (
        "Address already in use",
        "a local port of the tunnel is in use: `sshjup doctor` names the program",
    ),
)


def _exit_hint(said: str) -> str:
    """What ssh's last words mean, for the hint (pure)."""
    for needle, hint in _EXIT_HINTS:
        if needle in said:
            return hint
    return "read ssh's message above"


def _run_foreground_ssh(
    argv: list[str],
    alias: str,
    timeout: float,
    progress: Progress | None = None,
    prompt_timeout: float = PROMPT_TIMEOUT,
) -> tuple[int, str]:
    """Run ``ssh ALIAS`` until it forks into the background; its exit code and stderr.

    stdin is inherited, so a passphrase or host-key prompt can use the terminal. stdout goes
    to /dev/null and stderr to a temp file: the background ssh inherits both, so a pipe would
    never reach end-of-file. Time spent at a prompt is the user's: it counts against
    ``prompt_timeout``, not ``timeout``. On timeout or Ctrl-C ssh gets SIGTERM and the
    terminal's settings are put back.
    """
    saved = _save_tty()
    with tempfile.TemporaryFile(prefix="sshjup-ssh-") as err:
        try:
            child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        except FileNotFoundError as exc:
            raise proc.missing(argv[0]) from exc
        connecting = prompting = 0.0
        prompted = False
        last = time.monotonic()
        next_note = last + 1.0
        try:
            while (code := child.poll()) is None:
                time.sleep(_POLL)
                now = time.monotonic()
                prompt = at_prompt(child.pid)
                if prompt:
                    prompting += now - last
                    prompted = True
                else:
                    connecting += now - last
                last = now
                if connecting >= timeout or prompting >= prompt_timeout:
                    waiting_in = _waiting_in(child.pid)
                    _terminate(child)
                    _restore_tty(saved)
                    said = _trim(_read_all(err))
                    what, hint = _why_not_connected(said, prompt=prompt, waiting_in=waiting_in)
                    limit = prompt_timeout if prompt else timeout
                    msg = f"`ssh {alias}` did not finish connecting within {limit:g} s: {what}"
                    if said:
                        msg += f":\n{said}"
                    raise TunnelError(msg, hint=hint.replace("ALIAS", alias))
                # No progress line while ssh's prompt is on the terminal: it would overwrite it.
                if progress is not None and not prompted and now >= next_note:
                    progress(f"connecting to {alias} ({connecting:.0f} s)")
                    next_note = now + 1.0
        except KeyboardInterrupt:
            _terminate(child)
            _restore_tty(saved)
            raise
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
    forwards: Sequence[Forward] = (),
    restart: bool = False,
    prompt_timeout: float = PROMPT_TIMEOUT,
) -> TunnelStatus:
    """Open the tunnel (plain ``ssh ALIAS``) unless it is already up; wait for every port.

    A running master that lacks some of ``forwards`` gets them (``ssh -O forward``); with
    ``restart`` a running master is stopped first (the connection itself changed).
    ``extra_args`` go before the alias: ``("-N", "-f")`` where the local OpenSSH is older than
    8.7 and the Host block could not say ``SessionType none`` / ``ForkAfterAuthentication``.
    """
    _check_alias(alias)
    _check_port(local_port)
    before = status(alias, ssh_config, local_port, forwards=forwards)
    if before.running and restart:
        if progress is not None:
            progress(f"restarting {alias}: its connection settings changed")
        down(alias, ssh_config, local_port)
        before = status(alias, ssh_config, local_port, forwards=forwards)
    if before.running:
        if before.serving or not forwards:
            return before
        gaps = {m.local_port for m in before.missing}
        wanted = [f for f in forwards if f.local_port in gaps]
        add_forwards(alias, ssh_config, wanted)
        for fwd in wanted:
            wait_for_port(fwd.local_port, host=fwd.bind, timeout=min(timeout, 5.0))
        return status(alias, ssh_config, local_port, forwards=forwards)
    for port in sorted({local_port, *(f.local_port for f in forwards)}):
        if port_in_use(port):
            msg = (
                f"{LOOPBACK}:{port} is already in use by another program, "
                f"so the tunnel {alias} cannot listen there"
            )
            hint = (
                f"stop the program that listens on port {port} "
                "(e.g. `ss -ltnp` shows it), or give this host another local port"
            )
            raise PortTaken(msg, hint=hint)

    code, said = _run_foreground_ssh(
        [*ssh_argv(ssh_config), *extra_args, alias], alias, timeout, progress, prompt_timeout
    )
    if code != 0:
        msg = f"ssh could not open the tunnel {alias} (exit {code})"
        if said:
            msg += f":\n{said}"
        debug = shlex.join([*ssh_argv(ssh_config), "-v", alias])
        raise TunnelError(msg, hint=f"{_exit_hint(said)}; `{debug}` shows more")

    # The timeout counts from here: time at a passphrase or host-key prompt was the user's.
    deadline = time.monotonic() + timeout
    for port in [local_port, *(f.local_port for f in forwards if f.local_port != local_port)]:
        remaining = max(deadline - time.monotonic(), 1.0)
        if not wait_for_port(port, timeout=remaining, progress=progress):
            after = status(alias, ssh_config, local_port, forwards=forwards)
            if after.running and not before.running:
                _stop_quietly(alias, ssh_config)
            msg = (
                f"ssh connected for {alias}, but {LOOPBACK}:{port} did not accept "
                f"connections within {timeout:g} s ({after.detail})"
            )
            hint = f"check that the Host block has `LocalForward {LOOPBACK}:{port} ...`"
            raise TunnelError(msg, hint=hint)
    return status(alias, ssh_config, local_port, forwards=forwards)


def down(alias: str, ssh_config: Path, local_port: int, *, timeout: float = 10.0) -> TunnelStatus:
    """Stop the tunnel (``ssh -O exit ALIAS``); a tunnel that is not running is not an error."""
    _check_alias(alias)
    _check_port(local_port)
    before = status(alias, ssh_config, local_port)
    if not before.running:
        return replace(before, detail=f"{before.detail}; nothing to stop")
    result = proc.run([*ssh_argv(ssh_config), "-O", "exit", alias], timeout=CHECK_TIMEOUT)
    deadline = time.monotonic() + timeout
    stopped = f"stopped the ssh master (pid {before.pid})"
    while True:
        now = status(alias, ssh_config, local_port)
        if not now.running and not port_in_use(local_port):
            return replace(now, detail=f"{stopped}; {LOOPBACK}:{local_port} is free")
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
    return replace(now, detail=f"{stopped}; {now.detail}")


# --- forwards on the running master ---------------------------------------------------------


def _forward_op(op: str, ssh_config: Path, alias: str, spec: str) -> None:
    _check_alias(alias)
    result = _mux_spec(ssh_config, alias, op, spec)
    if result.returncode != 0:
        said = _trim(result.stderr) or "no message"
        msg = f"`ssh -O {op} -L {spec} {alias}` failed: {said}"
        hint = f"check that the tunnel is up (`sshjup status`), or bring it up with `ssh {alias}`"
        raise TunnelError(msg, hint=hint)


def forward(ssh_config: Path, alias: str, spec: str) -> None:
    """Add a local forward (``-L spec``, a TCP or Unix-socket destination) to the alias's
    running master (``ssh -O forward``), on the alias's own control socket."""
    _forward_op("forward", ssh_config, alias, spec)


def cancel(ssh_config: Path, alias: str, spec: str) -> None:
    """Remove a forward added with :func:`forward` (``ssh -O cancel`` with the same spec)."""
    _forward_op("cancel", ssh_config, alias, spec)


def forward_on(socket_path: str, alias: str, spec: str) -> None:
    """:func:`forward` on a master found by its socket (``sshjup kernel run``'s own master)."""
    _check_alias(alias)
    result = _mux_on(socket_path, alias, "forward", spec)
    if result.returncode != 0:
        said = _trim(result.stderr) or "no message"
        msg = f"`ssh -O forward -L {spec}` on sshjup's own connection to {alias} failed: {said}"
        hint = "a local port the front end chose is in use: start the kernel again"
        raise TunnelError(msg, hint=hint)


def control_path(alias: str, ssh_config: Path) -> str:
    """The alias's own control socket, as ``ssh -G`` resolves it (TunnelError without one)."""
    return _control_path(alias, ssh_config)


__all__ = [
    "LOOPBACK",
    "ForwardState",
    "cancel",
    "control_path",
    "forward",
    "forward_on",
    "TunnelStatus",
    "add_forwards",
    "cancel_forwards",
    "forward_spec",
    "down",
    "port_accepts",
    "port_in_use",
    "ssh_argv",
    "status",
    "up",
    "wait_for_port",
    "wait_for_port_free",
]

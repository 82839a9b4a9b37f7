"""``sshjup kernel run``: the launcher that a ``jup-NAME`` kernelspec runs for its front end.

The front end (jupyter_client's KernelManager: JupyterLab, nbclient, Zed...) writes a
connection file with the five local ports and the key, and runs the kernelspec's argv. The
launcher then:

1. reads that file (:func:`sshjup.jupyter.kernels.parse_frontend`);
2. picks the route (:func:`sshjup.jupyter.kernels.choose_route`, the Unix/Windows seam): the
   running tunnel's master, a private master of its own, or (Windows' OpenSSH, no
   ControlMaster) one ssh with ``-L`` forwards;
3. runs the remote wrapper (:func:`sshjup.jupyter.kernels.launch_script`) in one ssh session
   that stays in the foreground, sends it the key as a line on ssh's stdin (never an argv),
   and forwards the front end's ports to the kernel's Unix sockets;
4. relays SIGINT (an ``int`` line), and stops on SIGTERM/SIGHUP by closing ssh's stdin: the
   remote wrapper stops the kernel on EOF, which is also what happens when the launcher is
   killed (even by SIGKILL: the pipe closes with the process). It exits when the kernel does.

The ssh session is the one process it starts and owns (``proc.spawn``); forwards it adds to
the tunnel's master are cancelled on the way out. While it runs, the launch is recorded in
the state (``launches``: pid, route, forwards, the front end's ports; never the key), so
``sshjup kernel list`` shows it; the record of a launcher that died (SIGKILL) is removed, and
its forwards cancelled, by the next launcher for the host or by ``kernel stop NAME --all``.
``sshjup remove NAME`` ends a host's launchers (``kernelops.retire_launches``). Records keep
the ssh config they were made with (:func:`config_key`): an alias names a host only there.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sshjup import hosts, proc
from sshjup.errors import InvalidInput, NotFound, RemoteCommandFailed, SshjupError, TunnelError
from sshjup.jupyter import kernels, remote
from sshjup.models import validate_command_arg
from sshjup.records import dataclass
from sshjup.ssh import openssh, tunnel
from sshjup.store import fileio, paths, state

if TYPE_CHECKING:
    import subprocess

    from sshjup.models import Target
    from sshjup.ssh.sshconfig import Capabilities

START_TIMEOUT = 90.0
EXIT_GRACE = 15.0
MAX_CONNECTION_FILE = 64 * 1024
SHELL_DELAY = 0.5  # IOPub's forward first, then this long (ZMQ retries every 0.1 s), then shell

Log = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """One launch: the route, the session's argv, the forwards and the remote directory."""

    route: str
    alias: str
    argv: list[str]
    specs: list[str]
    remote_dir: str
    socket: str | None = None  # the "own" route: the private master's control socket


def plan(
    where: hosts.Where,
    target: Target,
    frontend: kernels.FrontEnd,
    *,
    caps: Capabilities,
    master_running: bool,
    launch_id: str,
    socket_dir: Path | None = None,
) -> Plan:
    """The launch for these facts (no process runs here: unit-tested with fake capabilities)."""
    route = kernels.choose_route(control_master=caps.control_master, master_running=master_running)
    remote_dir = kernels.launch_dir(launch_id)
    specs = kernels.launch_specs(frontend.ports, remote_dir)
    sock: str | None = None
    if route == "tunnel":  # ride on the tunnel's master (the config's ControlPath)
        argv = remote.ssh_argv(
            target.alias, where.ssh_config, caps=caps, control=("ControlMaster=no",)
        )
    elif route == "own":
        base = socket_dir if socket_dir is not None else paths.control_dir(where.ssh_config)[1]
        sock = str(base / f"sshjup-kr-{launch_id}")
        control = (
            "ControlMaster=yes",
            f"ControlPath={sock.replace('%', '%%')}",
            "ControlPersist=no",
        )
        argv = remote.ssh_argv(target.alias, where.ssh_config, caps=caps, control=control)
    else:  # direct: no multiplexing at all (Windows' OpenSSH)
        argv = remote.ssh_argv(target.alias, where.ssh_config, caps=caps, forwards=specs)
    return Plan(route, target.alias, argv, specs, remote_dir, sock)


def read_frontend(connection_file: Path) -> kernels.FrontEnd:
    try:
        data = fileio.read_bytes(connection_file, MAX_CONNECTION_FILE)
    except SshjupError as err:
        msg = f"cannot read the connection file {connection_file}: {err}"
        raise InvalidInput(msg, hint="the front end passes {connection_file}") from err
    if data is None:
        msg = f"the connection file {connection_file} does not exist"
        raise NotFound(msg, hint="the kernelspec's argv must end with {connection_file}")
    return kernels.parse_frontend(data.decode("utf-8", "replace"))


# -- the records of running launchers (state.json ``launches``) -----------------------------


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks) from Linux ``/proc/PID/stat``, or None."""
    try:
        text = Path(f"/proc/{int(pid)}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20:  # noqa: PLR2004 (field 22 of the line is the start time)
        return None
    return fields[0], fields[19]


def _own_start() -> str | None:
    """This process's start time where /proc tells it (it tells a reused PID apart)."""
    stat = _proc_stat(os.getpid())
    return None if stat is None else stat[1]


def launcher_alive(pid: int, start: str | None = None) -> bool | None:
    """Whether the launcher ``pid`` (started at ``start``, from ``/proc``) still runs.

    Where ``/proc`` exists it decides (gone, a zombie, or another process that got the PID:
    not alive); elsewhere on POSIX ``kill -0``. None where it cannot be told (Windows:
    ``os.kill`` would end the process there)."""
    if Path("/proc/self/stat").exists():
        stat = _proc_stat(pid)
        if stat is None or stat[0] in ("Z", "X", "x"):
            return False
        return start is None or stat[1] == start
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@dataclass(frozen=True)
class LaunchRecord:
    """A running ``sshjup kernel run``, as state.json keeps it (never the key)."""

    alias: str
    launch_id: str
    pid: int
    route: str
    specs: list[str]
    local_ports: dict[str, int]
    connection_file: str
    kernel_name: str | None
    started: float
    pid_start: str | None
    ssh_config: str | None = None  # (config_key; older records: None)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LaunchRecord:
        launch_id = kernels.check_launch_id(str(raw["launch_id"]))
        start = raw.get("pid_start")
        return cls(
            str(raw["alias"]),
            launch_id,
            int(raw["pid"]),
            str(raw.get("route", "tunnel")),  # (older records: only that route was recorded)
            [str(s) for s in raw.get("specs", [])],
            {str(k): int(v) for k, v in raw.get("local_ports", {}).items()},
            str(raw.get("connection_file", "")),
            None if raw.get("kernel_name") is None else str(raw["kernel_name"]),
            float(raw.get("started", 0.0)),
            None if start is None else str(start),
            None if raw.get("ssh_config") is None else str(raw["ssh_config"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "launch_id": self.launch_id,
            "pid": self.pid,
            "route": self.route,
            "specs": list(self.specs),
            "local_ports": dict(self.local_ports),
            "connection_file": self.connection_file,
            "kernel_name": self.kernel_name,
            "started": self.started,
            "pid_start": self.pid_start,
            "ssh_config": self.ssh_config,
        }

    def alive(self) -> bool | None:
        return launcher_alive(self.pid, self.pid_start)


def launch_records(alias: str | None = None) -> list[LaunchRecord]:
    return kernels.parse_records(state.load().launches, LaunchRecord.from_json, alias)


def config_key(where: hosts.Where) -> str:
    """The ssh config a kernel record belongs to, as records keep it: its real path (the
    records of every config share the one state file, and an alias names a host only within
    its config)."""
    try:
        return str(fileio.real_path(where.ssh_config.expanduser().absolute()))
    except OSError:  # pragma: no cover - no working directory (refused earlier: paths)
        return str(where.ssh_config)


def of_config(ssh_config: str | None, where: hosts.Where) -> bool:
    """Whether a record's ``ssh_config`` is ``where``'s (a record older than the field: yes)."""
    return ssh_config is None or ssh_config == config_key(where)


def drop_stale(
    where: hosts.Where, alias: str, launch_id: str | None = None, *, unknown: bool = False
) -> tuple[list[LaunchRecord], list[LaunchRecord]]:
    """Forget the records of ``alias``'s launchers that are gone (cancelling the forwards a
    killed one left on the tunnel's master); with ``unknown``, also those whose launcher
    cannot be told alive or gone (Windows). Returns (removed, kept)."""
    recs = [
        r
        for r in launch_records(alias)
        if (launch_id is None or r.launch_id == launch_id) and of_config(r.ssh_config, where)
    ]
    dead = [r for r in recs if r.alive() is False or (unknown and r.alive() is None)]
    for rec in dead:
        if rec.route == "tunnel":
            _cancel_tunnel(where, alias, rec.specs)
    if dead:
        ids = {r.launch_id for r in dead}
        state.update(lambda st: _drop(st, ids))
    return dead, [r for r in recs if r not in dead]


def _drop(st: state.State, ids: set[str]) -> None:
    st.launches[:] = [r for r in st.launches if str(r.get("launch_id")) not in ids]


def _record(
    where: hosts.Where,
    p: Plan,
    launch_id: str,
    frontend: kernels.FrontEnd,
    connection_file: Path,
    kernel: str | None,
) -> None:
    rec = LaunchRecord(
        p.alias,
        launch_id,
        os.getpid(),
        p.route,
        list(p.specs),
        dict(frontend.ports),
        str(connection_file.absolute()),
        kernel,
        time.time(),
        _own_start(),
        config_key(where),
    )
    state.update(lambda st: st.launches.append(rec.to_json()))


def forward_order(specs: list[str]) -> list[str]:
    """The order the forwards are added in: the shell channel (the first spec) last.

    Some front ends (jupyter console) take the first kernel_info reply on shell as "ready"
    and send code at once; with IOPub already forwarded by then, its output is not lost."""
    return [*specs[1:], *specs[:1]]


def _forward_tunnel(where: hosts.Where, p: Plan) -> None:
    done: list[str] = []
    try:
        for spec in forward_order(p.specs):
            if spec == p.specs[0]:
                time.sleep(SHELL_DELAY)
            tunnel.forward(where.ssh_config, p.alias, spec)
            done.append(spec)
    except TunnelError:
        _cancel_tunnel(where, p.alias, done)
        raise


def _cancel_tunnel(where: hosts.Where, alias: str, specs: list[str]) -> None:
    for spec in specs:
        with contextlib.suppress(SshjupError):
            tunnel.cancel(where.ssh_config, alias, spec)


# -- the session ------------------------------------------------------------------------------


def _reader(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
    lines.put(None)


def _wait_for(
    lines: queue.Queue[str | None], marker: str, child: subprocess.Popen[bytes], alias: str
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            msg = f"the kernel on {alias} did not start within {START_TIMEOUT:.0f} s"
            raise RemoteCommandFailed(msg, hint="see the messages above; check ipykernel") from None
        if line == marker:
            return
        if line is None:
            code = child.wait()
            msg = f"the kernel on {alias} did not start (ssh exit {code}); see the messages above"
            hint = (
                "check `sshjup status`, that the remote has ipykernel, or give the remote's "
                "jupyter with --jupyter-cmd PATH"
            )
            raise RemoteCommandFailed(msg, hint=hint)


class _Session:
    """The ssh session and its stdin: the lifeline, and the channel for interrupts."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        self.key_sent = False
        self._lock = threading.RLock()  # (a signal handler may send while main sends)

    def send(self, text: str) -> None:
        stdin = self.child.stdin
        if stdin is None or stdin.closed:
            return
        with self._lock, contextlib.suppress(OSError, ValueError):
            stdin.write(text.encode("utf-8"))
            stdin.flush()

    def close(self) -> None:
        stdin = self.child.stdin
        if stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def interrupt(self) -> None:
        if self.key_sent:
            self.send("int\n")

    def end(self, reader: threading.Thread | None) -> int:
        """Close stdin (the remote stops the kernel), wait; terminate only if ssh hangs."""
        self.close()
        try:
            code = self.child.wait(timeout=EXIT_GRACE)
        except Exception:
            self.child.terminate()
            try:
                code = self.child.wait(timeout=5)
            except Exception:
                self.child.kill()
                code = self.child.wait()
        if reader is not None:
            reader.join(timeout=2)
        if self.child.stdout is not None and (reader is None or not reader.is_alive()):
            with contextlib.suppress(OSError):
                self.child.stdout.close()
        return code


def _install_signals(session: _Session) -> dict[int, Any]:
    saved: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return saved

    def on_int(signo: int, frame: object) -> None:
        session.interrupt()

    def on_term(signo: int, frame: object) -> None:
        session.close()

    handlers: list[tuple[int, Callable[[int, Any], None]]] = [(signal.SIGINT, on_int)]
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            handlers.append((int(getattr(signal, name)), on_term))
    for signo, handler in handlers:
        saved[signo] = signal.signal(signo, handler)
    return saved


def _restore_signals(saved: dict[int, Any]) -> None:
    for signo, handler in saved.items():
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signo, handler)


def run(
    where: hosts.Where,
    name: str,
    connection_file: Path,
    *,
    kernel: str | None = None,
    jupyter_cmd: str | None = None,
    log: Log | None = None,
) -> int:
    """Run a remote kernel for the front end that wrote ``connection_file``, until it ends.

    Returns ssh's exit code (0 when the kernel exited or was stopped)."""
    say = log or (lambda _msg: None)
    target = hosts.get_target(where, name)
    if kernel is not None:
        kernels.check_spec(kernel)
    frontend = read_frontend(connection_file)
    if jupyter_cmd is not None:
        validate_command_arg(jupyter_cmd, "jupyter command")
    command = jupyter_cmd or target.jupyter.command or "jupyter"
    caps = openssh.capabilities()
    running = bool(
        caps.control_master
        and tunnel.status(target.alias, where.ssh_config, target.local_port).running
    )
    launch_id = secrets.token_hex(8)
    if caps.control_master and not running:
        fileio.ensure_dir(paths.control_dir(where.ssh_config)[1])
    p = plan(where, target, frontend, caps=caps, master_running=running, launch_id=launch_id)
    root = target.jupyter.root_dir
    script = kernels.launch_script(
        command,
        kernel,
        p.remote_dir,
        frontend.signature_scheme,
        cwd=root if root and root.startswith("/") else None,
    )
    say(f"sshjup: starting a kernel on {target.alias} ({p.route} route)")
    recorded = False
    drop_stale(where, target.alias)
    session: _Session | None = None
    reader: threading.Thread | None = None
    saved: dict[int, Any] = {}
    try:
        child = proc.spawn(p.argv)
        session = _Session(child)
        saved = _install_signals(session)
        lines: queue.Queue[str | None] = queue.Queue()
        assert child.stdout is not None  # noqa: S101 (spawn gives a pipe)
        reader = threading.Thread(target=_reader, args=(child.stdout, lines), daemon=True)
        reader.start()
        session.send(script)
        _wait_for(lines, kernels.SEND_KEY, child, target.alias)
        session.send(frontend.key + "\n")
        session.key_sent = True
        _wait_for(lines, kernels.READY, child, target.alias)
        # Forwards once the sockets exist (the front end's early connects are refused
        # locally, and ZMQ retries, instead of failing on the remote one by one).
        _record(where, p, launch_id, frontend, connection_file, kernel)
        recorded = True
        if p.route == "tunnel":
            _forward_tunnel(where, p)
        elif p.route == "own" and p.socket is not None:
            for spec in forward_order(p.specs):
                if spec == p.specs[0]:
                    time.sleep(SHELL_DELAY)
                tunnel.forward_on(p.socket, target.alias, spec)
        say(f"sshjup: kernel on {target.alias} ready")
        code = child.wait()
        say(f"sshjup: the kernel on {target.alias} ended")
        return code
    finally:
        # The handlers stay until the clean-up is done: a front end that finds the launcher
        # slow to exit sends SIGTERM (jupyter_client: after half its shutdown wait), and the
        # default action then would end it between the forwards' cancels and the record's
        # removal, leaving both behind. (Once ssh has ended, the handlers do nothing.)
        try:
            if session is not None:
                session.end(reader)
            if recorded:
                if p.route == "tunnel":
                    _cancel_tunnel(where, target.alias, p.specs)
                state.update(lambda st: _drop(st, {launch_id}))
        finally:
            _restore_signals(saved)


__all__ = [
    "LaunchRecord",
    "Plan",
    "config_key",
    "drop_stale",
    "of_config",
    "launch_records",
    "launcher_alive",
    "plan",
    "read_frontend",
    "run",
]

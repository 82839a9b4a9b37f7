"""Doctor checks of the running tunnel: its control socket and its local ports (who holds them)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sshjup import hosts, proc
from sshjup.doctor.check import SECTION_LINES, Check
from sshjup.errors import SshjupError
from sshjup.models import Target
from sshjup.records import dataclass
from sshjup.ssh import openssh, sshconfig
from sshjup.store import paths

if TYPE_CHECKING:
    from sshjup.ssh.tunnel import TunnelStatus
    from sshjup.store.inventory import Inventory


_SS_TIMEOUT = 5.0


# --- the control socket and the local port -----------------------------------------------------


def check_control(
    checks: list[Check],
    where: hosts.Where,
    doc: sshconfig.ConfigDoc,
    target: Target,
    resolved: openssh.Resolved,
    caps: sshconfig.Capabilities,
) -> TunnelStatus | None:
    check_id = f"control:{target.name}"
    details: dict[str, Any] = {"host": target.name, "alias": target.alias}
    if not caps.control_master:
        summary = f"{target.alias}: no control socket on this platform (ControlMaster)"
        checks.append(Check(check_id, "pass", summary, None, details))
        return None
    if not resolved.ok:
        return None
    control_path = resolved.get("controlpath")
    master = resolved.get("controlmaster")
    details.update({"control_path": control_path, "control_master": master})
    if not control_path or control_path == "none" or master not in ("auto", "autoask"):
        over = sshconfig.earlier_settings(doc, target.alias, ["ControlPath", "ControlMaster"])
        place = "; ".join(f"line {o.line}: `{o.keyword} {o.value}`" for o in over)
        summary = (
            f"{target.alias}: ssh resolves ControlMaster {master}, ControlPath {control_path}: "
            "`sshjup status` and `sshjup down` cannot reach the tunnel"
            + (f" ({place} of {where.ssh_config} sets it first)" if place else "")
        )
        fix = f"move {SECTION_LINES} above the block that sets ControlMaster/ControlPath"
        checks.append(Check(check_id, "warn", summary, fix, details))
        return None
    from sshjup.ssh import tunnel  # noqa: PLC0415 (only needed once the alias resolves)

    socket_dir = Path(control_path).parent
    if not socket_dir.is_dir():
        summary = (
            f"{target.alias}: the control socket directory {socket_dir} does not exist, so ssh "
            "cannot share or stop the tunnel"
        )
        fix = f"mkdir -m 700 {shlex.quote(str(socket_dir))}"
        checks.append(Check(check_id, "warn", summary, fix, details))
        return None
    try:
        st = tunnel.status(
            target.alias, where.ssh_config, target.local_port, forwards=target.forwards
        )
    except SshjupError as err:
        checks.append(Check(check_id, "warn", f"{target.alias}: {err.message}", err.hint, details))
        return None
    details.update({"running": st.running, "pid": st.pid, "port_open": st.port_open})
    socket_exists = Path(control_path).exists()
    details["socket_exists"] = socket_exists
    if st.serving:
        checks.append(Check(check_id, "pass", f"{target.alias}: {st.detail}", None, details))
    elif st.running:
        # `up` adds the forwards a running master lacks; it restarts only this alias's master.
        fix = f"add the missing forwards: `sshjup up {target.name}`"
        checks.append(Check(check_id, "warn", f"{target.alias}: {st.detail}", fix, details))
    elif socket_exists:
        summary = (
            f"{target.alias}: not running, but a stale control socket {control_path} is left "
            "(ssh then cannot become the master)"
        )
        fix = f"remove it: rm {shlex.quote(control_path)}"
        checks.append(Check(check_id, "warn", summary, fix, details))
    else:
        summary = (
            f"{target.alias}: tunnel not running (open it with "
            f"`{paths.ssh_command(target.alias, where.ssh_config)}`)"
        )
        checks.append(Check(check_id, "pass", summary, None, details))
    return st


@dataclass(frozen=True)
class Listener:
    """A process listening on a TCP port, as far as this machine lets us see it."""

    address: str
    port: int
    pid: int | None
    command: str | None


_SS_USER_RE = re.compile(r'\("([^"]*)",pid=(\d+),fd=\d+\)')


def parse_ss(text: str, port: int) -> list[Listener]:
    """Listeners on ``port`` from ``ss -H -ltnp`` output (pure)."""
    found: list[Listener] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5:  # noqa: PLR2004 (State Recv-Q Send-Q Local Peer [Process])
            continue
        local = fields[3]
        address, _, port_text = local.rpartition(":")
        if port_text != str(port):
            continue
        users = _SS_USER_RE.findall(line)
        if not users:
            found.append(Listener(address, port, None, None))
        for command, pid in users:
            found.append(Listener(address, port, int(pid), command))
    return found


def parse_proc_net_tcp(text: str, port: int) -> list[tuple[str, int]]:
    """(local address as hex, socket inode) of LISTEN sockets on ``port`` (pure)."""
    out: list[tuple[str, int]] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:  # noqa: PLR2004
            continue
        address, _, port_hex = fields[1].partition(":")
        if fields[3] != "0A":  # TCP_LISTEN
            continue
        try:
            if int(port_hex, 16) != port:
                continue
            out.append((address, int(fields[9])))
        except ValueError:
            continue
    return out


def _proc_listeners(port: int) -> list[Listener]:
    """Best effort from /proc: the sockets' inodes, then the processes holding them."""
    inodes: dict[int, str] = {}
    for name in ("tcp", "tcp6"):
        try:
            text = Path(f"/proc/net/{name}").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        for address, inode in parse_proc_net_tcp(text, port):
            inodes[inode] = address
    if not inodes:
        return []
    found: list[Listener] = []
    for pid, inode in _socket_owners(set(inodes)):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            comm = None
        found.append(Listener(inodes[inode], port, pid, comm))
        inodes.pop(inode, None)
    found.extend(Listener(address, port, None, None) for address in inodes.values())
    return found


def _socket_owners(inodes: set[int]) -> Iterator[tuple[int, int]]:
    try:
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                link = str(fd.readlink())
            except OSError:
                continue
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                yield pid, int(link[8:-1])


def port_owners(port: int) -> list[Listener]:
    """Who listens on ``port``: ``ss -ltnp`` if it exists, else /proc. Never raises."""
    try:
        if proc.which("ss") is not None:
            result = proc.run(["ss", "-H", "-ltnp", "sport", "=", f":{port}"], timeout=_SS_TIMEOUT)
            if result.returncode == 0:
                found = parse_ss(result.stdout, port)
                if any(f.pid is not None for f in found):
                    return found
        if Path("/proc/net/tcp").exists():
            return _proc_listeners(port)
    except (SshjupError, OSError, ValueError):
        return []
    return []


def check_local_ports(target: Target, st: TunnelStatus | None, inv: Inventory | None) -> Check:
    from sshjup.ssh import tunnel  # noqa: PLC0415

    check_id = f"port:{target.name}"
    ports: list[dict[str, Any]] = []
    busy: list[str] = []
    fixes: list[str] = []
    running_pid = st.pid if st is not None and st.running else None
    not_forwarded: list[str] = []
    for fwd in target.forwards:
        entry: dict[str, Any] = {
            "bind": fwd.bind,
            "port": fwd.local_port,
            "in_use": False,
            "by_tunnel": False,
            "owners": [],
        }
        ports.append(entry)
        if not tunnel.port_in_use(fwd.local_port, host=fwd.bind):
            if running_pid is not None:  # the master runs, but this forward is not there
                not_forwarded.append(f"{fwd.bind}:{fwd.local_port}")
            continue
        entry["in_use"] = True
        owners = port_owners(fwd.local_port)
        entry["owners"] = [{"pid": o.pid, "command": o.command} for o in owners]
        pids = {o.pid for o in owners if o.pid is not None}
        if running_pid is not None and (not pids or running_pid in pids):
            entry["by_tunnel"] = True
            continue
        who = (
            ", ".join(f"{o.command or '?'} (pid {o.pid})" for o in owners if o.pid is not None)
            or "another program (run `ss -ltnp` as root to see which)"
        )
        busy.append(f"{fwd.bind}:{fwd.local_port} is in use by {who}")
        free = hosts.suggest_free_port(inv, fwd.local_port) if inv is not None else None
        stop = f"stop {who}" if pids else "stop the program that listens there"
        if fwd == target.forwards[0]:
            other = f"`sshjup edit {target.name} --local-port {free}`"
        else:
            other = f"`sshjup edit {target.name} --forward ...` with another local port"
        fixes.append(f"{stop}, or give {target.alias} another local port: {other}")
    details = {"host": target.name, "ports": ports}
    if not_forwarded and not busy:
        summary = (
            f"{target.alias}: the running tunnel does not forward {', '.join(not_forwarded)} "
            "(added after it started?)"
        )
        fix = f"add it to the running tunnel: `sshjup up {target.name}`"
        return Check(check_id, "fail", summary, fix, details)
    if busy:
        summary = f"{target.alias}: {'; '.join(busy)}, so `ssh {target.alias}` fails"
        return Check(check_id, "fail", summary, "; ".join(fixes), details)
    listed = ", ".join(f"{p['bind']}:{p['port']}" for p in ports)
    if all(p["by_tunnel"] for p in ports):
        summary = f"{target.alias}: {listed} in use by the running tunnel"
    else:
        summary = f"{target.alias}: local port{'s' * (len(ports) > 1)} {listed} free"
    return Check(check_id, "pass", summary, None, details)

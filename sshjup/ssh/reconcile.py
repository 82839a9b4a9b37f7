"""Bring running tunnels in step with a change of the inventory (issue 8).

``hosts._change`` calls :func:`stop_removed` before it writes (a removed alias can no longer be
addressed afterwards) and :func:`follow` after: forwards added or removed reach the running
master (``ssh -O forward`` / ``ssh -O cancel``); a changed connection (host, user, port, key,
jump) cannot be changed under a running master, so it is restarted when asked (``restart``) or
reported, and ``sshjup up`` restarts it later.

A tunnel is looked at only when its own control socket exists, so a change to hosts that are
not running starts no ssh at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sshjup.errors import SshjupError
from sshjup.models import Target
from sshjup.records import dataclass, field
from sshjup.ssh import sshconfig, tunnel

CONNECTION_FIELDS = ("hostname", "user", "port", "identity_file", "proxy_jump")


@dataclass
class Followed:
    """What reaching the running tunnels did: lines for people, warnings, restarts owed."""

    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    restart_pending: dict[str, int] = field(default_factory=dict)  # alias -> master pid


def connection_changes(old: Target, new: Target) -> list[str]:
    """The connection settings that differ (pure)."""
    return [f for f in CONNECTION_FIELDS if getattr(old, f) != getattr(new, f)]


def _running(ssh_config: Path, socket_dir: Path, target: Target) -> tunnel.TunnelStatus | None:
    if not (socket_dir / sshconfig.control_socket_name(target.alias)).exists():
        return None
    st = tunnel.status(target.alias, ssh_config, target.local_port)
    return st if st.running else None


def stop_removed(
    ssh_config: Path,
    socket_dir: Path,
    before: Mapping[str, Target],
    after: Mapping[str, Target],
) -> list[str]:
    """Stop the running tunnel of every host that the change removes; lines said."""
    said = []
    for name, old in before.items():
        if name in after or _running(ssh_config, socket_dir, old) is None:
            continue
        st = tunnel.down(old.alias, ssh_config, old.local_port)
        said.append(f"{old.alias}: {st.detail}")
    return said


def follow(
    ssh_config: Path,
    socket_dir: Path,
    before: Mapping[str, Target],
    after: Mapping[str, Target],
    *,
    restart: bool = False,
    extra_args: tuple[str, ...] = (),
) -> Followed:
    """After the write: bring each running tunnel of a changed host in step."""
    out = Followed()
    for name, new in after.items():
        old = before.get(name)
        if old is None or old == new:
            continue
        st = _running(ssh_config, socket_dir, old)
        if st is None:
            continue
        changed = connection_changes(old, new)
        try:
            if restart:
                up = tunnel.up(
                    new.alias,
                    ssh_config,
                    new.local_port,
                    forwards=new.forwards,
                    restart=True,
                    extra_args=extra_args,
                )
                out.lines.append(f"{new.alias}: restarted; {up.detail}")
            elif changed:
                out.restart_pending[new.alias] = st.pid or 0
                out.warnings.append(
                    f"{new.alias} is running with the old {', '.join(changed)}; it must restart "
                    f"to use the new settings: `sshjup up {name}` restarts it (or edit with "
                    "--restart)"
                )
            else:
                gone = [f for f in old.forwards if f not in new.forwards]
                added = [f for f in new.forwards if f not in old.forwards]
                out.lines.extend(tunnel.cancel_forwards(new.alias, ssh_config, gone))
                out.lines.extend(tunnel.add_forwards(new.alias, ssh_config, added))
        except SshjupError as err:
            hint = f" ({err.hint})" if err.hint else ""
            out.warnings.append(f"{new.alias}: {err.message}{hint}")
    return out


__all__ = ["CONNECTION_FIELDS", "Followed", "connection_changes", "follow", "stop_removed"]

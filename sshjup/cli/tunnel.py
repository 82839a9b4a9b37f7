"""``sshjup up``, ``down`` and ``status``: the background tunnel, through its control socket.

A thin click layer over :mod:`sshjup.hosts` (``tunnel_up``/``tunnel_down``/``tunnel_status``);
only click is imported at module level (see sshjup/cli/options.py).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from sshjup.cli.options import (
    complete_names,
    echo_json,
    end_progress,
    json_option,
    locate,
    progress,
    ssh_config_option,
)


def _render_tunnel(st: Any, *, as_json: bool) -> None:
    """One tunnel's state after `up` or `down`: a line for people, or the JSON object."""
    if as_json:
        echo_json(_status_json(st))
        return
    click.echo(f"{st.alias}: {st.detail}")


def _status_json(st: Any) -> dict[str, Any]:
    return {
        "alias": st.alias,
        "running": st.running,
        "pid": st.pid,
        "local_port": st.local_port,
        "port_open": st.port_open,
        "detail": st.detail,
    }


@click.command()
@click.argument("name", shell_complete=complete_names)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the tunnel.")
@json_option
@ssh_config_option
def up(name: str, timeout: float, as_json: bool, ssh_config: str | None) -> None:
    """Open the tunnel in the background and wait until its local port answers.

    The same as `ssh jup-NAME`, plus the wait. Running it twice is harmless. Kernels started
    with `sshjup kernel start` are forwarded again.

    \b
    Example:
      sshjup up gpu && open http://127.0.0.1:8888
    """
    from sshjup import hosts  # noqa: PLC0415
    from sshjup.store import state  # noqa: PLC0415

    where = locate(ssh_config)
    try:
        st = hosts.tunnel_up(where, name, timeout=timeout, progress=progress)
    finally:
        end_progress()
    if state.load().kernels:  # kernels from `sshjup kernel start`: forward them again
        from sshjup.jupyter import kernelops  # noqa: PLC0415

        for note in kernelops.reattach(where, name):
            click.echo(note, err=True)
    _render_tunnel(st, as_json=as_json)


@click.command()
@click.argument("name", shell_complete=complete_names)
@json_option
@ssh_config_option
def down(name: str, as_json: bool, ssh_config: str | None) -> None:
    """Close the tunnel (through its control socket: `ssh -O exit jup-NAME`).

    \b
    Example:
      sshjup down gpu
    """
    from sshjup import hosts  # noqa: PLC0415

    _render_tunnel(hosts.tunnel_down(locate(ssh_config), name), as_json=as_json)


@click.command()
@click.argument("name", required=False, shell_complete=complete_names)
@json_option
@ssh_config_option
def status(name: str | None, as_json: bool, ssh_config: str | None) -> None:
    """Show whether each tunnel (or NAME's) is up: control socket and local port.

    Exits 0 when every tunnel asked about is up, 1 otherwise.

    \b
    Example:
      sshjup status
      sshjup status gpu --json
    """
    from sshjup import hosts  # noqa: PLC0415

    statuses = hosts.tunnel_status(locate(ssh_config), name)
    if as_json:
        echo_json([_status_json(s) for s in statuses])
    else:
        if not statuses:
            click.echo("No managed tunnels yet. Add one with: sshjup add HOST")
        for st in statuses:
            click.echo(
                f"{st.alias:<20} {'up' if st.running and st.port_open else 'down':<5} {st.detail}"
            )
    if any(not (s.running and s.port_open) for s in statuses):
        sys.exit(1)

"""``sshjup up``, ``down`` and ``status``: the background tunnel, through its control socket.

A thin click layer over :mod:`sshjup.hosts` (``tunnel_up``/``tunnel_down``/``tunnel_status``);
only click is imported at module level (see sshjup/cli/options.py).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from sshjup.cli.options import (
    complete_names,
    echo,
    echo_json,
    end_progress,
    json_option,
    locate,
    progress,
    ssh_config_option,
)

if TYPE_CHECKING:
    from sshjup.models import Target


def _render_tunnel(st: Any, *, as_json: bool) -> None:
    """One tunnel's state after `up` or `down`: a line for people, or the JSON object."""
    if as_json:
        echo_json(_status_json(st))
        return
    echo(f"{st.alias}: {st.detail}")


def _status_json(st: Any) -> dict[str, Any]:
    return {
        "alias": st.alias,
        "running": st.running,
        "pid": st.pid,
        "local_port": st.local_port,
        "port_open": st.port_open,
        "forwards": [
            {
                "bind": f.bind,
                "local_port": f.local_port,
                "remote": f.remote,
                "accepting": f.accepting,
            }
            for f in st.forwards
        ],
        "detail": st.detail,
    }


@click.command()
@click.argument("name", shell_complete=complete_names)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    help="Seconds to wait for the tunnel, counted after login (prompts are not counted).",
)
@click.option(
    "--prompt-timeout",
    default=300.0,
    show_default=True,
    help="Seconds ssh may wait at a passphrase or host-key prompt.",
)
@click.option("--restart", is_flag=True, help="Stop a running tunnel first, then open it again.")
@json_option
@ssh_config_option
def up(
    name: str,
    timeout: float,
    prompt_timeout: float,
    restart: bool,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Open the tunnel in the background and wait until its local ports answer.

    The same as `ssh jup-NAME`, plus the wait. Running it twice is harmless. A
    running tunnel gets the forwards it lacks (after `sshjup edit`), and is
    restarted when its host, user, port, key or jump changed since it started. Kernels
    started with `sshjup kernel start` are forwarded again.

    \b
    Example:
      sshjup up gpu && open http://127.0.0.1:8888
    """
    from sshjup import hosts  # noqa: PLC0415
    from sshjup.store import state  # noqa: PLC0415

    where = locate(ssh_config)
    try:
        st = hosts.tunnel_up(
            where,
            name,
            timeout=timeout,
            progress=progress,
            restart=restart,
            prompt_timeout=prompt_timeout,
        )
    finally:
        end_progress()
    if state.load().kernels:  # kernels from `sshjup kernel start`: forward them again
        from sshjup.jupyter import kernelops  # noqa: PLC0415

        for note in kernelops.reattach(where, name):
            echo(note, err=True)
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

    Exits 0 when every tunnel asked about is up with all its forwards, 1 otherwise
    ("part": the master runs but a forward's local port does not answer).

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
            echo("No managed tunnels yet. Add one with: sshjup add HOST")
        for st in statuses:
            state = "up" if st.serving else "part" if st.running else "down"
            echo(f"{st.alias:<20} {state:<5} {st.detail}")
    if any(not s.serving for s in statuses):
        sys.exit(1)


@click.command()
@click.argument("names", nargs=-1, required=True, shell_complete=complete_names)
@ssh_config_option
def keep(names: tuple[str, ...], ssh_config: str | None) -> None:
    """Keep tunnels up: open each, notice a dead one, open it again (with backoff).

    Runs in the foreground (for a terminal or a service manager: see
    `sshjup service`) and never prompts (BatchMode): a tunnel that needs a
    passphrase or a host-key answer is reported and left alone. One log line
    per change. SIGTERM or Ctrl-C closes the tunnels it opened and exits 0.
    Kernels started with `sshjup kernel start` are forwarded again each time
    their tunnel comes back.

    \b
    Example:
      sshjup keep gpu
      sshjup keep gpu lab
    """
    import time  # noqa: PLC0415

    from sshjup import hosts  # noqa: PLC0415

    def log(line: str) -> None:
        echo(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}")
        sys.stdout.flush()

    where = locate(ssh_config)

    def reattach(target: Target) -> list[str]:
        from sshjup.store import state  # noqa: PLC0415

        if not any(k.get("alias") == target.alias for k in state.load().kernels):
            return []
        from sshjup.jupyter import kernelops  # noqa: PLC0415

        return kernelops.reattach(where, target.name)

    sys.exit(hosts.keep_tunnels(where, list(names), log, on_up=reattach))

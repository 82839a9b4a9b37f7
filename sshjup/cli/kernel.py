"""``sshjup kernel start|list|attach|stop``: remote kernels for editors that take a connection
file (molten-nvim, jupyter-vim, Spyder, qtconsole, emacs-jupyter, ``jupyter console``).

A thin click layer over :mod:`sshjup.jupyter.kernelops`; docs/editors.md has the recipes.
"""

from __future__ import annotations

import click

from sshjup.cli.options import complete_names, echo_json, json_option, locate, ssh_config_option


@click.group()
def kernel() -> None:
    """Kernels on the remote, reached through the tunnel (a local connection file).

    \b
    Example:
      sshjup kernel start gpu         # prints the connection file
      jupyter console --existing kernel-jup-gpu-ID.json
      sshjup kernel stop gpu --all
    """


@kernel.command(name="start")
@click.argument("name", shell_complete=complete_names)
@click.option(
    "--kernel", "spec", default=None, help="The remote kernelspec [default: its default]."
)
@click.option(
    "--jupyter-cmd", default=None, help="The remote `jupyter` to use (remembered for the host)."
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the tunnel.")
@json_option
@ssh_config_option
def kernel_start(
    name: str,
    spec: str | None,
    jupyter_cmd: str | None,
    timeout: float,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Start a kernel on the remote (detached, ZMQ over Unix sockets) and forward it.

    Prints the path of the local connection file (0600, in the Jupyter runtime dir).

    \b
    Example:
      sshjup kernel start gpu --kernel python3
    """
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    rec = kernelops.start(
        locate(ssh_config), name, kernel=spec, jupyter_cmd=jupyter_cmd, timeout=timeout
    )
    if as_json:
        echo_json({**rec.to_json(), "transport": "ipc"})
    else:
        click.echo(rec.connection_file)


@kernel.command(name="list")
@click.argument("name", required=False, shell_complete=complete_names)
@json_option
@ssh_config_option
def kernel_list(name: str | None, as_json: bool, ssh_config: str | None) -> None:
    """List the remote kernels sshjup started: alive or not, their files, their forwards.

    \b
    Example:
      sshjup kernel list gpu --json
    """
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    infos = kernelops.list_kernels(locate(ssh_config), name)
    if as_json:
        echo_json([i.to_json() for i in infos])
        return
    if not infos:
        click.echo("No kernels started by sshjup. Start one with: sshjup kernel start NAME")
    for i in infos:
        alive = {True: "alive", False: "gone", None: "unknown"}[i.alive]
        fwd = "forwarded" if i.forwarded else "not forwarded"
        click.echo(
            f"{i.record.alias:<16} {i.record.kernel_id}  {alive:<7} {fwd:<13} "
            f"{i.record.connection_file}"
        )


@kernel.command(name="attach")
@click.argument("name", shell_complete=complete_names)
@click.argument("kernel_id", required=False)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the tunnel.")
@ssh_config_option
def kernel_attach(name: str, kernel_id: str | None, timeout: float, ssh_config: str | None) -> None:
    """Forward NAME's kernels again (after the tunnel went down and came back).

    \b
    Example:
      sshjup up gpu && sshjup kernel attach gpu
    """
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    for rec in kernelops.attach(locate(ssh_config), name, kernel_id, timeout=timeout):
        click.echo(rec.connection_file)


@kernel.command(name="stop")
@click.argument("name", shell_complete=complete_names)
@click.argument("kernel_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Stop every kernel of NAME.")
@ssh_config_option
def kernel_stop(name: str, kernel_id: str | None, all_: bool, ssh_config: str | None) -> None:
    """Stop a kernel: shutdown request, then a signal; remove its files and forwards.

    \b
    Example:
      sshjup kernel stop gpu --all
    """
    from sshjup.errors import InvalidInput  # noqa: PLC0415
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    if bool(kernel_id) == all_:
        msg = "give either a kernel id or --all"
        raise InvalidInput(msg, hint=f"see `sshjup kernel list {name}`")
    for rec in kernelops.stop(locate(ssh_config), name, None if all_ else kernel_id):
        click.echo(f"Stopped kernel {rec.kernel_id} on {rec.alias}.")


__all__ = ["kernel"]

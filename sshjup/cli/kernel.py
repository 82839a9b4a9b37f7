"""``sshjup kernel start|list|attach|stop``: remote kernels for editors that take a connection
file (molten-nvim, jupyter-vim, Spyder, qtconsole, emacs-jupyter, ``jupyter console``).

A thin click layer over :mod:`sshjup.jupyter.kernelops`; docs/editors.md has the recipes.
"""

from __future__ import annotations

import click

from sshjup.cli.options import (
    complete_names,
    echo,
    echo_json,
    json_option,
    locate,
    ssh_config_option,
)


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
        echo(rec.connection_file)


@kernel.command(name="list")
@click.argument("name", required=False, shell_complete=complete_names)
@json_option
@ssh_config_option
def kernel_list(name: str | None, as_json: bool, ssh_config: str | None) -> None:
    """List the remote kernels sshjup started: alive or not, their files, their forwards.

    Kernels that front ends started through a jup-NAME kernelspec are listed too, as
    launcher kernels (their front end owns them): the launcher's pid and route, and
    "stale" when the launcher is gone.

    \b
    Example:
      sshjup kernel list gpu --json
    """
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    where = locate(ssh_config)
    infos = kernelops.list_kernels(where, name)
    launches = kernelops.list_launches(where, name)
    if as_json:
        echo_json([i.to_json() for i in infos] + [i.to_json() for i in launches])
        return
    if not infos and not launches:
        echo("No kernels started by sshjup. Start one with: sshjup kernel start NAME")
    for i in infos:
        alive = {True: "alive", False: "gone", None: "unknown"}[i.alive] if i.managed else "removed"
        fwd = "forwarded" if i.forwarded else "not forwarded"
        echo(
            f"{i.record.alias:<16} {i.record.kernel_id}  {alive:<7} {fwd:<13} "
            f"{i.record.connection_file}"
        )
    for ln in launches:
        alive = {True: "alive", False: "stale", None: "unknown"}[ln.alive]
        alive = alive if ln.managed else "removed"
        fwd = "forwarded" if ln.forwarded else "not forwarded"
        echo(
            f"{ln.record.alias:<16} {ln.record.launch_id}  {alive:<7} {fwd:<13} "
            f"launcher pid {ln.record.pid}, {ln.record.route} route (its front end owns it)"
        )
    from sshjup.store.paths import sshjup_command  # noqa: PLC0415

    removed = sorted(
        {i.record.alias for i in infos if not i.managed}
        | {ln.record.alias for ln in launches if not ln.managed}
    )
    for alias in removed:
        stop = sshjup_command(
            where.ssh_config, "kernel", "stop", alias.removeprefix("jup-"), "--all"
        )
        echo(
            f"removed: {alias} is no longer a managed host, and these records of its kernels "
            f"are left; `{stop}` ends what is left of them and removes the records",
            err=True,
        )
    stale = sorted(
        {ln.record.alias for ln in launches if ln.alive is False and ln.managed} - set(removed)
    )
    for alias in stale:
        stop = sshjup_command(
            where.ssh_config, "kernel", "stop", alias.removeprefix("jup-"), "--all"
        )
        echo(
            f"stale: a launcher of {alias} is gone; `{stop}` (or the next launcher) removes "
            "its record",
            err=True,
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
        echo(rec.connection_file)


@kernel.command(name="stop")
@click.argument("name", shell_complete=complete_names)
@click.argument("kernel_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Stop every kernel of NAME.")
@ssh_config_option
def kernel_stop(name: str, kernel_id: str | None, all_: bool, ssh_config: str | None) -> None:
    """Stop a kernel: shutdown request, then a signal; remove its files and forwards.

    --all also removes the records of launcher kernels whose launcher is gone; a running
    launcher kernel is left to the front end that owns it.

    \b
    Example:
      sshjup kernel stop gpu --all
    """
    from sshjup.errors import InvalidInput  # noqa: PLC0415
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    if bool(kernel_id) == all_:
        msg = "give either a kernel id or --all"
        raise InvalidInput(msg, hint=f"see `sshjup kernel list {name}`")
    where = locate(ssh_config)
    if all_ and kernelops.is_removed(where, name):  # (its records are left: end and forget)
        retired = kernelops.forget_removed(where, name)
        for line in retired.done:
            echo(line)
        for line in retired.warnings:
            echo(line, err=True)
        return
    if kernel_id:
        gone = kernelops.stop_launch(where, name, kernel_id)
        if gone is not None:
            echo(f"Removed the record of kernel {gone.launch_id} on {gone.alias} (stale).")
            return
    for rec in kernelops.stop(where, name, None if all_ else kernel_id):
        echo(f"Stopped kernel {rec.kernel_id} on {rec.alias}.")
    if all_:
        removed, left = kernelops.forget_launches(where, name)
        for ln in removed:
            echo(f"Removed the record of kernel {ln.launch_id} on {ln.alias} (stale).")
        from sshjup.store.paths import sshjup_command  # noqa: PLC0415

        for ln in left:
            if ln.alive() is None:  # (Windows: a launcher cannot be told alive or gone)
                stop = sshjup_command(where.ssh_config, "kernel", "stop", name, ln.launch_id)
                tail = f"`{stop}` removes it if it is gone"
                echo(f"left the record of kernel {ln.launch_id} on {ln.alias}: {tail}", err=True)
                continue
            echo(
                f"left kernel {ln.launch_id} on {ln.alias} running: a front end owns it "
                f"(launcher pid {ln.pid}); shut it down there",
                err=True,
            )


@kernel.command(name="run")
@click.argument("name", shell_complete=complete_names)
@click.option(
    "--connection-file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The connection file the front end wrote ({connection_file} in a kernelspec).",
)
@click.option(
    "--kernel", "spec", default=None, help="The remote kernelspec [default: its default]."
)
@click.option("--jupyter-cmd", default=None, help="The remote `jupyter` to use.")
@ssh_config_option
def kernel_run(
    name: str,
    connection_file: str,
    spec: str | None,
    jupyter_cmd: str | None,
    ssh_config: str | None,
) -> None:
    """The launcher a jup-NAME kernelspec runs: a remote kernel for one front end.

    Uses the front end's ports and key, stays in the foreground, relays SIGINT and exits
    when the kernel does; when it ends (even killed), the remote kernel ends too.
    `sshjup kernelspec install NAME` writes the kernelspec that runs it.

    \b
    Example:
      sshjup kernel run gpu --connection-file /tmp/kernel-abc.json
    """
    from pathlib import Path  # noqa: PLC0415

    from sshjup.jupyter import launcher  # noqa: PLC0415

    def log(message: str) -> None:
        echo(message, err=True)

    code = launcher.run(
        locate(ssh_config),
        name,
        Path(connection_file),
        kernel=spec,
        jupyter_cmd=jupyter_cmd,
        log=log,
    )
    raise SystemExit(0 if code in (0, None) else 1)


@click.group()
def kernelspec() -> None:
    """A local kernelspec jup-NAME that editors launch (Zed, JupyterLab, nbclient).

    \b
    Example:
      sshjup kernelspec install gpu
      jupyter console --kernel jup-gpu
      sshjup kernelspec uninstall gpu
    """


@kernelspec.command(name="install")
@click.argument("name", shell_complete=complete_names)
@click.option(
    "--kernel", "spec", default=None, help="The remote kernelspec [default: its default]."
)
@click.option("--display-name", default=None, help="The name editors show.")
@click.option("--jupyter-cmd", default=None, help="The remote `jupyter` the launcher uses.")
@click.option(
    "--language", default="python", show_default=True, help="The kernel's language, for editors."
)
@click.option(
    "--interrupt-mode",
    type=click.Choice(["message", "signal"]),
    default="message",
    show_default=True,
    help="How the front end interrupts: an interrupt_request, or SIGINT (relayed).",
)
@json_option
@ssh_config_option
def kernelspec_install(
    name: str,
    spec: str | None,
    display_name: str | None,
    jupyter_cmd: str | None,
    language: str,
    interrupt_mode: str,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Install the kernelspec jup-NAME in the Jupyter data dir (its launcher is sshjup).

    \b
    Example:
      sshjup kernelspec install gpu --kernel python3 --display-name "GPU box"
    """
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    res = kernelops.install_kernelspec(
        locate(ssh_config),
        name,
        kernel=spec,
        display_name=display_name,
        jupyter_cmd=jupyter_cmd,
        language=language,
        interrupt_mode=interrupt_mode,
    )
    if as_json:
        echo_json(res.to_json())
    else:
        echo(f"installed kernelspec {res.name} in {res.directory}")


@kernelspec.command(name="uninstall")
@click.argument("name", shell_complete=complete_names)
@ssh_config_option
def kernelspec_uninstall(name: str, ssh_config: str | None) -> None:
    """Remove the kernelspec jup-NAME that `kernelspec install` wrote.

    \b
    Example:
      sshjup kernelspec uninstall gpu
    """
    from sshjup.jupyter import kernelops  # noqa: PLC0415

    echo(f"removed {kernelops.uninstall_kernelspec(locate(ssh_config), name)}")


__all__ = ["kernel", "kernelspec"]

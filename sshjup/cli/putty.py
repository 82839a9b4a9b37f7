"""``sshjup putty list|export``: PuTTY saved sessions, a thin click layer.

Only click is imported at module level; the library is imported when a command runs.
"""

from __future__ import annotations

import click

from sshjup.cli.options import complete_names, echo, json_option, locate, ssh_config_option


@click.group()
def putty() -> None:
    """PuTTY saved sessions that open the same tunnel as `ssh jup-NAME`.

    `sshjup add/edit/remove/apply` keep them in step (on Windows, or for a host
    added or edited with --putty).

    \b
    Example:
      sshjup putty list
      sshjup putty export gpu --reg gpu.reg
    """


@putty.command(name="list")
@json_option
@ssh_config_option
def list_sessions(as_json: bool, ssh_config: str | None) -> None:
    """List the PuTTY sessions sshjup manages and whether each matches the inventory.

    States: in-sync, out-of-date (run `sshjup apply` or `edit`), hand-edited (changed in
    PuTTY since sshjup wrote it), missing, foreign (a session of that name sshjup did not
    create), off (PuTTY turned off for this host).

    \b
    Example:
      sshjup putty list --json
    """
    from sshjup import hosts  # noqa: PLC0415

    rows = hosts.putty_sessions(locate(ssh_config))
    if as_json:
        import json  # noqa: PLC0415 (only --json needs it; --help stays fast)

        echo(json.dumps(rows, indent=2))
        return
    if not rows:
        echo("No managed tunnels yet. Add one with: sshjup add HOST")
        return
    width = max(len(r["session"]) for r in rows)
    for row in rows:
        echo(f"{row['session']:<{width}}  {row['state']:<12}  {row['location'] or '-'}")


@putty.command(name="export")
@click.argument("names", nargs=-1, required=True, shell_complete=complete_names)
@click.option(
    "--reg",
    "reg_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The .reg file to write (UTF-16LE, for regedit on Windows).",
)
@click.option(
    "--ppk",
    "ppk_paths",
    multiple=True,
    metavar="NAME=WINDOWS_PATH",
    help="Where the .ppk key is on the Windows machine (repeatable).",
)
@ssh_config_option
def export_reg(
    names: tuple[str, ...], reg_file: str, ppk_paths: tuple[str, ...], ssh_config: str | None
) -> None:
    """Write a .reg file with the sessions of NAME..., for a Windows machine.

    Double-click it there (or `reg import FILE`) to get the sessions jup-NAME in PuTTY.
    Host keys are pinned from your known_hosts.

    \b
    Example:
      sshjup putty export gpu lab --reg tunnels.reg --ppk gpu=C:/Users/alice/.ssh/gpu.ppk
    """
    from sshjup import hosts  # noqa: PLC0415
    from sshjup.errors import InvalidInput  # noqa: PLC0415

    ppk: dict[str, str] = {}
    for item in ppk_paths:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            msg = f"--ppk: {item!r} is not NAME=WINDOWS_PATH"
            raise InvalidInput(msg, hint="for example --ppk gpu=C:/Users/alice/.ssh/gpu.ppk")
        ppk[name] = path
    from pathlib import Path  # noqa: PLC0415 (pathlib costs --help about 3 ms)

    warnings = hosts.putty_export(locate(ssh_config), list(names), Path(reg_file), ppk)
    for warning in warnings:
        echo(f"Warning: {warning}", err=True)
    echo(f"Wrote {reg_file} ({len(names)} session(s)); import it on Windows with regedit.")


__all__ = ["putty"]

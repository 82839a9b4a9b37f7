"""``sshjup service install|uninstall|status NAME``: ``sshjup keep NAME`` at every login.

A thin click layer over :mod:`sshjup.services.install` (renderers in
:mod:`sshjup.services.render`); only click is imported at module level.
"""

from __future__ import annotations

import sys

import click

from sshjup.cli.options import complete_names, locate, ssh_config_option

_PLATFORM = click.option(
    "--platform",
    type=click.Choice(["linux", "macos", "windows"]),
    help="Render for this platform [default: this machine's]: systemd, launchd, Task Scheduler.",
)


@click.group()
def service() -> None:
    """A per-user service that runs `sshjup keep NAME` at login.

    A systemd user unit on Linux, a launchd agent on macOS, a Task Scheduler
    task on Windows. See docs/keeping-tunnels-up.md.

    \b
    Example:
      sshjup service install gpu
      sshjup service status gpu
    """


@service.command()
@click.argument("name", shell_complete=complete_names)
@_PLATFORM
@click.option("--dry-run", is_flag=True, help="Print the service file and commands; write nothing.")
@click.option("--no-enable", is_flag=True, help="Write the file only; do not load or start it.")
@ssh_config_option
def install(
    name: str, platform: str | None, dry_run: bool, no_enable: bool, ssh_config: str | None
) -> None:
    """Write the service for NAME and start it (now and at every login).

    \b
    Example:
      sshjup service install gpu --dry-run
      sshjup service install gpu
    """
    from sshjup import hosts  # noqa: PLC0415
    from sshjup.services import install as services  # noqa: PLC0415

    target = hosts.get_target(locate(ssh_config), name)  # NotFound (4) for an unknown NAME
    plan = services.plan(target.name, platform)
    if dry_run:
        click.echo(f"# {plan.path}")
        click.echo(plan.text, nl=False)
        for argv in plan.load:
            click.echo(f"# then: {' '.join(argv)}")
        return
    for line in services.install(plan, enable=not no_enable):
        click.echo(line)


@service.command()
@click.argument("name")
@_PLATFORM
@click.option("--no-disable", is_flag=True, help="Remove the file only; do not stop the service.")
def uninstall(name: str, platform: str | None, no_disable: bool) -> None:
    """Stop NAME's service and remove its file.

    \b
    Example:
      sshjup service uninstall gpu
    """
    from sshjup.models import name_from_alias  # noqa: PLC0415
    from sshjup.services import install as services  # noqa: PLC0415

    plan = services.plan(name_from_alias(name), platform)
    for line in services.uninstall(plan, disable=not no_disable):
        click.echo(line)


@service.command()
@click.argument("name")
@_PLATFORM
def status(name: str, platform: str | None) -> None:
    """Show whether NAME's service is installed, and what the service manager says.

    Exits 0 when the file is installed, 1 when not.

    \b
    Example:
      sshjup service status gpu
    """
    from sshjup.models import name_from_alias  # noqa: PLC0415
    from sshjup.services import install as services  # noqa: PLC0415

    installed, lines = services.status(services.plan(name_from_alias(name), platform))
    for line in lines:
        click.echo(line)
    if not installed:
        sys.exit(1)

"""``sshjup add``, ``edit``, ``remove``, ``list``, ``show``, ``apply`` and ``export``.

A thin click layer over :mod:`sshjup.hosts`, the façade for config changes; only click is
imported at module level (see sshjup/cli/options.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sshjup.cli.adding import (
    Printer,
    add_host,
    apply_file,
    auto_ports,
    render_change,
    retiring,
    warn_missing_key,
)
from sshjup.cli.options import (
    complete_names,
    echo,
    echo_json,
    json_option,
    locate,
    ssh_config_option,
    warn,
)

if TYPE_CHECKING:
    from sshjup.hosts import ChangeResult, Where
    from sshjup.models import Target

F = TypeVar("F", bound=Callable[..., Any])


def _change_options(func: F) -> F:
    func = click.option("--dry-run", is_flag=True, help="Print the diff; write nothing.")(func)
    func = click.option("--force", is_flag=True, help="Overwrite a hand edit of sshjup's section.")(
        func
    )
    func = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(func)
    return json_option(ssh_config_option(func))


def _target_options(func: F) -> F:
    options = [
        click.option("--user", help="Remote user name."),
        click.option("--port", help="ssh port on the remote (default: ssh's own, 22)."),
        click.option("--identity-file", help="Private key to log in with (IdentityFile)."),
        click.option("--proxy-jump", help="Jump host(s): [user@]host[:port],... (ProxyJump)."),
        click.option(
            "--local-port",
            help="Local port of the Jupyter forward, or `auto`: the first free one from 8888 up "
            "that no managed host uses [default: 8888].",
        ),
        click.option(
            "--remote-port",
            help="Remote port Jupyter listens on, or `auto`: the first from 8889 up that no "
            "other managed host on the same remote uses [default: 8889].",
        ),
        click.option(
            "--putty/--no-putty",
            default=None,
            help="Also keep a PuTTY saved session jup-NAME [default: on Windows only; "
            "remembered per host].",
        ),
        click.option(
            "--forward",
            "forwards",
            multiple=True,
            help="Extra forward LOCAL:REMOTE (repeatable), e.g. 6006:6006 for TensorBoard.",
        ),
        click.option(
            "--remote-socket",
            is_flag=False,
            flag_value="",
            default=None,
            metavar="[PATH]",
            help="Run Jupyter on a Unix socket (0600, in a 0700 directory) on the remote instead "
            "of a TCP port; PATH is resolved on the remote [default: "
            "~/.local/share/sshjup/run/jupyter-NAME.sock]. Not with PuTTY (--no-putty).",
        ),
        click.option(
            "--companion/--no-companion",
            default=None,
            help="Also write a plain `Host NAME` (the same host without the tunnel) for a shell, "
            "commands, scp, sftp and editors [default: off; remembered per host].",
        ),
        click.option(
            "--ssh-option",
            "ssh_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Another ssh client option for the Host block (repeatable), e.g. "
            "ConnectTimeout=10; keywords from an allow-list (docs/ssh-config.md).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


_OUT = Printer(click.echo)  # (every line through printable, JSON as it is)


def _render_change(result: ChangeResult, *, as_json: bool) -> None:
    render_change(_OUT, result, as_json=as_json)


def _warn_missing_key(identity_file: str | None) -> None:
    warn_missing_key(_OUT, identity_file)


@click.command()
@click.argument("host")
@click.option("--name", help="Name of the tunnel; the ssh alias is jup-NAME [default: from HOST].")
@_target_options
@_change_options
def add(
    host: str,
    name: str | None,
    user: str | None,
    port: str | None,
    identity_file: str | None,
    proxy_jump: str | None,
    local_port: str | None,
    remote_port: str | None,
    putty: bool | None,
    forwards: tuple[str, ...],
    remote_socket: str | None,
    companion: bool | None,
    ssh_options: tuple[str, ...],
    dry_run: bool,
    force: bool,
    yes: bool,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Add a Jupyter tunnel: a `Host jup-NAME` block in the ssh config.

    HOST is [user@]hostname[:port], or an alias already in the ssh config (then its
    HostName, User, Port, IdentityFile and ProxyJump are taken from `ssh -G HOST`).
    jup-NAME is for the tunnel only; `--companion` also writes a plain `Host NAME` for a
    shell, files and editors (when HOST is an alias already, use HOST for those).

    \b
    Example:
      sshjup add gpu.example.org --user alice --companion
      sshjup add alice@10.0.0.5:2222 --name lab --forward 6006:6006
      sshjup add mybox --dry-run
      sshjup add login.hpc.example.org --name hpc --remote-socket --no-putty
    """
    where = locate(ssh_config)

    def resolve_socket(target: Target) -> Target:
        assert remote_socket is not None  # noqa: S101 (only passed when given)
        return _with_remote_socket(where, target, remote_socket, dry_run=dry_run)

    add_host(
        _OUT,
        where,
        host,
        name=name,
        user=user,
        port=port,
        identity_file=identity_file,
        proxy_jump=proxy_jump,
        local_port=local_port,
        remote_port=remote_port,
        putty=putty,
        forwards=forwards,
        ssh_options=ssh_options,
        companion=companion,
        dry_run=dry_run,
        force=force,
        as_json=as_json,
        resolve_socket=None if remote_socket is None else resolve_socket,
    )


def _with_remote_socket(where: Where, target: Target, requested: str, *, dry_run: bool) -> Target:
    """Resolve ``--remote-socket [PATH]`` on the remote (over ssh) before anything is written."""
    from sshjup.hosts import check_putty_sockets  # noqa: PLC0415
    from sshjup.jupyter import service  # noqa: PLC0415
    from sshjup.models import Forward  # noqa: PLC0415

    main = target.forwards[0]
    probe = Forward(main.local_port, main.remote_port, remote_socket="/sshjup-check.sock")
    check_putty_sockets([target.with_changes(forwards=(probe, *target.forwards[1:]))])
    click.echo(f"Resolving the socket path on {target.hostname} over ssh...", err=True)
    return service.resolve_remote_socket(where, target, requested or None, create=not dry_run)


@click.command()
@click.argument("name", shell_complete=complete_names)
@click.option("--hostname", help="New remote host name or address.")
@_target_options
@click.option("--clear-forwards", is_flag=True, help="Remove the extra forwards.")
@click.option(
    "--restart",
    is_flag=True,
    help="Restart the running tunnel now (needed when host, user, port, key or jump change).",
)
@click.option(
    "--no-remote-socket",
    is_flag=True,
    help="Go back to a TCP port on the remote (the host's remote port).",
)
@click.option("--clear-ssh-options", is_flag=True, help="Remove the --ssh-option settings.")
@_change_options
def edit(
    name: str,
    hostname: str | None,
    user: str | None,
    port: str | None,
    identity_file: str | None,
    proxy_jump: str | None,
    local_port: str | None,
    remote_port: str | None,
    putty: bool | None,
    forwards: tuple[str, ...],
    remote_socket: str | None,
    companion: bool | None,
    no_remote_socket: bool,
    clear_forwards: bool,
    restart: bool,
    ssh_options: tuple[str, ...],
    clear_ssh_options: bool,
    dry_run: bool,
    force: bool,
    yes: bool,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Change a managed tunnel; only the options given change.

    `--forward` and `--ssh-option` replace the extra forwards and the ssh options;
    an empty value ("") for --user,
    --port, --identity-file or --proxy-jump removes that setting.

    A running tunnel follows: forwards are added or cancelled on it at once;
    a new host, user, port, key or jump needs a restart (`--restart`, or the
    next `sshjup up NAME`).

    \b
    Example:
      sshjup edit gpu --local-port 8890
      sshjup edit gpu --forward 6006:6006 --forward 8265:8265
      sshjup edit gpu --remote-socket --no-putty
    """
    from sshjup import hosts  # noqa: PLC0415
    from sshjup.models import Forward, parse_ssh_option, validate_port  # noqa: PLC0415
    from sshjup.records import replace  # noqa: PLC0415

    where = locate(ssh_config)
    _warn_missing_key(identity_file)
    current = hosts.get_target(where, name)
    changes: dict[str, Any] = {}
    if hostname is not None:
        changes["hostname"] = hostname
    for key, value in (
        ("user", user),
        ("identity_file", identity_file),
        ("proxy_jump", proxy_jump),
    ):
        if value is not None:
            changes[key] = value or None
    if port is not None:
        changes["port"] = validate_port(port, "--port") if port else None
    main = current.forwards[0]
    local_port, remote_port = auto_ports(
        where, current.name, hostname or current.hostname, local_port, remote_port
    )
    if local_port is not None or remote_port is not None:
        main = Forward(
            validate_port(local_port, "--local-port") if local_port else main.local_port,
            validate_port(remote_port, "--remote-port") if remote_port else main.remote_port,
            remote_socket=main.remote_socket,
        )
    if remote_socket is not None and no_remote_socket:
        msg = "--remote-socket and --no-remote-socket contradict each other"
        raise click.UsageError(msg)
    if no_remote_socket:
        main = replace(main, remote_socket=None)
    extra = list(current.forwards[1:])
    if clear_forwards:
        extra = []
    if forwards:
        extra = [Forward.parse(f) for f in forwards]
    changes["forwards"] = (main, *extra)
    if clear_ssh_options:
        changes["ssh_options"] = ()
    if ssh_options:
        changes["ssh_options"] = tuple(parse_ssh_option(o) for o in ssh_options)
    if putty is not None:
        changes["putty"] = putty
    if companion is not None:
        changes["companion"] = companion
    edited = current.with_changes(**changes)  # refuse a bad value before any file is touched
    if remote_socket is not None:
        edited = _with_remote_socket(where, edited, remote_socket, dry_run=dry_run)
        changes["forwards"] = edited.forwards
    result = hosts.edit_target(where, name, changes, dry_run=dry_run, force=force, restart=restart)
    _render_change(result, as_json=as_json)


@click.command()
@click.argument("name", shell_complete=complete_names)
@_change_options
def remove(
    name: str, dry_run: bool, force: bool, yes: bool, as_json: bool, ssh_config: str | None
) -> None:
    """Remove a managed tunnel; the last one takes sshjup's section with it.

    A running tunnel is stopped first, and so are the host's remote kernels (those of
    `kernel start`, and those front ends run through its kernelspec).

    \b
    Example:
      sshjup remove gpu
    """
    from sshjup import hosts  # noqa: PLC0415

    where = locate(ssh_config)
    result = retiring(
        where,
        lambda dry: hosts.remove_target(where, name, dry_run=dry, force=force),
        dry_run=dry_run,
    )
    _render_change(result, as_json=as_json)


def _target_json(target: Target) -> dict[str, Any]:
    return {
        "name": target.name,
        "alias": target.alias,
        "hostname": target.hostname,
        "user": target.user,
        "port": target.port,
        "identity_file": target.identity_file,
        "proxy_jump": target.proxy_jump,
        "local_port": target.local_port,
        "remote_port": target.remote_port,
        "remote_socket": target.remote_socket,
        "forwards": [f.spec() for f in target.forwards[1:]],
        "ssh_options": dict(target.ssh_options),
        "companion": target.companion_alias,
    }


@click.command(name="list")
@json_option
@ssh_config_option
def list_(as_json: bool, ssh_config: str | None) -> None:
    """List the managed tunnels.

    \b
    Example:
      sshjup list
      sshjup list --json
    """
    from sshjup import hosts  # noqa: PLC0415

    targets = hosts.list_targets(locate(ssh_config))
    if as_json:
        echo_json([_target_json(t) for t in targets])
        return
    if not targets:
        echo("No managed tunnels yet. Add one with: sshjup add HOST")
        return
    rows = [("NAME", "ALIAS", "HOST", "USER", "PORT", "JUPYTER", "MORE FORWARDS")]
    rows += [
        (
            t.name,
            t.alias,
            t.hostname,
            t.user or "-",
            str(t.port or "-"),
            f"{t.local_port}->{t.remote_socket or t.remote_port}",
            ",".join(f.spec() for f in t.forwards[1:]) or "-",
        )
        for t in targets
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@click.command()
@click.argument("name", shell_complete=complete_names)
@json_option
@ssh_config_option
def show(name: str, as_json: bool, ssh_config: str | None) -> None:
    """Show a tunnel's Host block and what `ssh -G` resolves for it.

    \b
    Example:
      sshjup show gpu
    """
    from sshjup import hosts  # noqa: PLC0415

    shown = hosts.show_target(locate(ssh_config), name)
    resolved = shown.resolved
    keys = (
        "hostname",
        "user",
        "port",
        "sessiontype",
        "forkafterauthentication",
        "exitonforwardfailure",
        "controlpath",
    )
    if as_json:
        data = _target_json(shown.target) | {
            "block": shown.block,
            "resolved": {k: resolved.get(k) for k in keys}
            | {"localforward": list(resolved.local_forwards)},
            "resolved_ok": resolved.ok,
            "problems": shown.problems,
        }
        echo_json(data)
        return
    echo(shown.block, nl=False)
    echo(f"\nWhat `ssh -G {shown.target.alias}` resolves:")
    if resolved.ok:
        for key in keys:
            if resolved.get(key) is not None:
                echo(f"  {key} {resolved.get(key)}")
        for fwd in resolved.local_forwards:
            echo(f"  localforward {fwd}")
    for problem in shown.problems:
        warn(problem)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--prune", is_flag=True, help="Also remove managed hosts the file does not list.")
@_change_options
def apply(
    file: str,
    prune: bool,
    dry_run: bool,
    force: bool,
    yes: bool,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Make the managed tunnels match an inventory file (YAML, see `sshjup export`).

    Shows the plan first; `--dry-run` stops there. Removals (`--prune`) are asked about,
    defaulting to no; without a terminal to ask, they need `--yes` (exit 2 otherwise).

    \b
    Example:
      sshjup export > tunnels.yaml      # keep it in your dotfiles
      sshjup apply tunnels.yaml --dry-run
      sshjup apply tunnels.yaml --prune
    """

    def confirm(plan: ChangeResult) -> None:
        if not click.confirm("Apply this plan?", default=not plan.removed):
            raise click.Abort

    apply_file(
        _OUT,
        locate(ssh_config),
        file,
        prune=prune,
        dry_run=dry_run,
        force=force,
        yes=yes,
        as_json=as_json,
        terminal=sys.stdin.isatty(),
        confirm=confirm,
    )


@click.command()
@ssh_config_option
def export(ssh_config: str | None) -> None:
    """Print the inventory as YAML (for `sshjup apply` on another machine).

    \b
    Example:
      sshjup export > ~/dotfiles/sshjup.yaml
    """
    from sshjup import hosts  # noqa: PLC0415

    echo(hosts.export_inventory(locate(ssh_config)), nl=False)

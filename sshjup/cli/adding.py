"""What ``sshjup add`` and ``sshjup apply`` do once their options are parsed, and how a
change is printed.

Click-free: the click commands (:mod:`sshjup.cli.hosts`) and the fast path that parses
``sshjup add HOST [options]`` and ``sshjup apply FILE [options]`` without click
(:mod:`sshjup.cli.fast`) both run :func:`add_host` and :func:`apply_file`, with a
:class:`Printer` that writes through ``click.echo`` or through
:func:`~sshjup.cli.output.plain_write`. The library is imported inside each function.
"""

from __future__ import annotations

from collections.abc import Callable

from sshjup.cli.output import printable

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any

    from sshjup.hosts import ChangeResult, Where
    from sshjup.models import Target

Write = Callable[..., None]  # (text: str, *, err: bool = False, nl: bool = True) -> None


class Printer:
    """Where a command's output goes: ``write`` puts text on stdout (``err``: stderr) as it is;
    :meth:`echo` escapes it first (every line of sshjup's own output)."""

    __slots__ = ("write",)

    def __init__(self, write: Write) -> None:
        self.write = write

    def echo(self, text: object = "", *, err: bool = False, nl: bool = True) -> None:
        self.write(printable(text), err=err, nl=nl)

    def warn(self, message: str) -> None:
        self.echo(f"Warning: {message}", err=True)

    def json(self, data: Any) -> None:
        import json  # noqa: PLC0415 (only --json needs it; --help stays fast)

        self.write(json.dumps(data, indent=2))


def locate(ssh_config: str | None, group_ssh_config: str | None = None) -> Where:
    """The files to work on: the command's ``--ssh-config``, else the group's, else the default."""
    from sshjup.hosts import Where  # noqa: PLC0415

    return Where.locate(ssh_config if ssh_config is not None else group_ssh_config)


def render_change(
    out: Printer, result: ChangeResult, *, as_json: bool, plain: str | None = None
) -> None:
    """Print what a change did; ``plain`` (after an add) says what to use for a shell."""
    if as_json:
        out.json(result.to_json())
        return
    for warning in result.warnings:
        out.warn(warning)
    if result.dry_run:
        for line in [*result.putty, *result.tunnel]:  # (tunnel: the kernels a removal stops)
            out.echo(line)
        out.echo(result.diff or f"No change: {result.ssh_config} is already up to date.", nl=False)
        if result.diff:
            return
        out.echo()
        return
    if not result.changed:
        out.echo(f"Already up to date: {result.ssh_config} (nothing written).")
        return
    parts = []
    for label, names in (
        ("added", result.added),
        ("updated", result.updated),
        ("removed", result.removed),
    ):
        if names:
            parts.append(f"{label} {', '.join('jup-' + n for n in names)}")
    # No host changed: either the section was rewritten (a hand edit overwritten with --force,
    # a new OpenSSH) or only the inventory or a PuTTY session was brought in step.
    summary = "; ".join(parts) or (
        "rewrote sshjup's section" if result.config_changed else "updated"
    )
    out.echo(f"{summary.capitalize()} in {result.ssh_config}.")
    for line in result.putty:
        if not line.startswith(" "):  # the per-value changes are for --dry-run
            out.echo(line)
    for line in result.tunnel:
        out.echo(line)
    if result.verified:
        out.echo(f"Checked with ssh -G: {', '.join(result.verified)}.")
    if result.added and not result.removed:
        from sshjup.models import ALIAS_PREFIX  # noqa: PLC0415
        from sshjup.store.paths import ssh_command  # noqa: PLC0415

        alias = ALIAS_PREFIX + result.added[0]
        if plain is not None:
            out.echo(plain)
        out.echo(f"Open the tunnel with: {ssh_command(alias, result.ssh_config)}")


def warn_missing_key(out: Printer, identity_file: str | None) -> None:
    """``--identity-file`` of a file that is not there: say so now, not at the first login."""
    if not identity_file:
        return
    from pathlib import Path  # noqa: PLC0415 (pathlib costs --help about 3 ms)

    from sshjup.models import validate_key_path  # noqa: PLC0415
    from sshjup.store import paths  # noqa: PLC0415

    validate_key_path(identity_file, "identity_file")  # a bad value is refused, never echoed

    path = identity_file
    if path == "~" or path.startswith("~/"):  # as ssh expands it: the password database's home
        path = str(paths.ssh_home()) + path[1:]
    if not Path(path).expanduser().is_file():
        out.warn(
            f"--identity-file {identity_file}: no such file here; ssh cannot log in with it "
            "until it exists (check the path, or create the key with ssh-keygen)"
        )


AUTO = "auto"
_MAX_AUTO_TRIES = 1000


def auto_ports(
    where: Where, name: str, hostname: str, local_port: str | None, remote_port: str | None
) -> tuple[str | None, str | None]:
    """Resolve ``--local-port auto`` and ``--remote-port auto`` to numbers (as strings).

    Local: the first port from 8888 up that no other managed host forwards from and that
    nothing on this machine listens on. Remote: the first from 8889 up that no other managed
    host on the same remote host uses (two tunnels to one account otherwise fight over it).
    """
    if AUTO not in (local_port, remote_port):
        return local_port, remote_port
    from sshjup import hosts  # noqa: PLC0415
    from sshjup.errors import PortTaken  # noqa: PLC0415
    from sshjup.models import DEFAULT_LOCAL_PORT, DEFAULT_REMOTE_PORT  # noqa: PLC0415

    others = [t for t in hosts.list_targets(where) if t.name != name]
    if local_port == AUTO:
        used = {f.local_port for t in others for f in t.forwards}
        local_port = next(
            (
                str(p)
                for p in range(DEFAULT_LOCAL_PORT, DEFAULT_LOCAL_PORT + _MAX_AUTO_TRIES)
                if p not in used and hosts.local_port_free(p)
            ),
            None,
        )
        if local_port is None:
            msg = f"no free local port from {DEFAULT_LOCAL_PORT} to {DEFAULT_LOCAL_PORT + 999}"
            raise PortTaken(msg, hint="give one with --local-port PORT")
    if remote_port == AUTO:
        used = {t.remote_port for t in others if t.hostname == hostname}
        remote_port = str(next(p for p in range(DEFAULT_REMOTE_PORT, 65536) if p not in used))
    return local_port, remote_port


def build_target(
    name: str,
    hostname: str,
    *,
    user: str | None,
    port: str | int | None,
    identity_file: str | None,
    proxy_jump: str | None,
    local_port: str | None,
    remote_port: str | None,
    forwards: tuple[str, ...],
    putty: bool | None = None,
    ssh_options: tuple[str, ...] = (),
    companion: bool = False,
) -> Target:
    from sshjup.models import (  # noqa: PLC0415
        DEFAULT_LOCAL_PORT,
        DEFAULT_REMOTE_PORT,
        Forward,
        Target,
        parse_ssh_option,
        validate_port,
    )

    main_forward = Forward(
        validate_port(local_port, "--local-port") if local_port is not None else DEFAULT_LOCAL_PORT,
        validate_port(remote_port, "--remote-port")
        if remote_port is not None
        else DEFAULT_REMOTE_PORT,
    )
    return Target(
        name=name,
        hostname=hostname,
        forwards=(main_forward, *(Forward.parse(f) for f in forwards)),
        user=user,
        port=validate_port(port, "--port") if port is not None else None,
        identity_file=identity_file,
        proxy_jump=proxy_jump,
        putty=putty,
        ssh_options=tuple(parse_ssh_option(o) for o in ssh_options),
        companion=companion,
    )


def add_host(
    out: Printer,
    where: Where,
    host: str,
    *,
    name: str | None = None,
    user: str | None = None,
    port: str | None = None,
    identity_file: str | None = None,
    proxy_jump: str | None = None,
    local_port: str | None = None,
    remote_port: str | None = None,
    putty: bool | None = None,
    forwards: tuple[str, ...] = (),
    ssh_options: tuple[str, ...] = (),
    companion: bool | None = None,
    dry_run: bool = False,
    force: bool = False,
    as_json: bool = False,
    resolve_socket: Callable[[Target], Target] | None = None,
) -> None:
    """``sshjup add``: ``resolve_socket`` resolves ``--remote-socket`` (click path only)."""
    from sshjup import hosts  # noqa: PLC0415
    from sshjup.models import derive_name, validate_name  # noqa: PLC0415

    warn_missing_key(out, identity_file)
    defaults = hosts.alias_defaults(where, host)
    # Without --name, the name comes from HOST as typed: `sshjup add mybox` gives jup-mybox even
    # when mybox's HostName is 10.0.0.5 (a plain host name gives the same either way).
    plain = "@" not in host and ":" not in host
    name = (
        validate_name(name, "--name")
        if name is not None
        else derive_name(host if plain else defaults.host.hostname)
    )
    if companion and defaults.alias is not None:
        from sshjup.errors import InvalidInput  # noqa: PLC0415

        msg = f"--companion: {defaults.alias} is already an alias in your ssh config"
        raise InvalidInput(
            msg, hint=f"use `ssh {defaults.alias}` for files and commands, without --companion"
        )
    local_port, remote_port = auto_ports(
        where, name, defaults.host.hostname, local_port, remote_port
    )
    target = build_target(
        name,
        defaults.host.hostname,
        user=user if user is not None else defaults.host.user,
        port=port if port is not None else defaults.host.port,
        identity_file=identity_file if identity_file is not None else defaults.identity_file,
        proxy_jump=proxy_jump if proxy_jump is not None else defaults.proxy_jump,
        local_port=local_port,
        remote_port=remote_port,
        forwards=forwards,
        putty=putty,
        ssh_options=ssh_options,
        companion=bool(companion),
    )
    if resolve_socket is not None:
        target = resolve_socket(target)
    result = hosts.add_target(where, target, dry_run=dry_run, force=force)
    render_change(out, result, as_json=as_json, plain=plain_line(target, defaults.alias, where))


def plain_line(target: Target, alias: str | None, where: Where) -> str:
    """After an add: what to use for a shell, files and editors (never the tunnel alias)."""
    from sshjup.ssh.sshconfig import plain_ssh_command  # noqa: PLC0415
    from sshjup.store.paths import ssh_command  # noqa: PLC0415

    if target.companion:
        return f"For a shell, files and editors: {ssh_command(target.name, where.ssh_config)}"
    if alias is not None:
        return f"For a shell, files and editors: {ssh_command(alias, where.ssh_config)}"
    return (
        f"For a shell, files and editors: {plain_ssh_command(target)} (or a plain alias "
        f"{target.name}: `sshjup edit {target.name} --companion`)"
    )


def apply_file(
    out: Printer,
    where: Where,
    file: str,
    *,
    prune: bool = False,
    dry_run: bool = False,
    force: bool = False,
    yes: bool = False,
    as_json: bool = False,
    terminal: bool = False,
    confirm: Callable[[ChangeResult], None] | None = None,
) -> None:
    """``sshjup apply FILE``. ``terminal``: standard input is a terminal, so a plan that
    changes something is shown and ``confirm`` asked about it (it raises to say no); the fast
    path takes only the runs that ask nothing (``confirm`` None)."""
    from pathlib import Path  # noqa: PLC0415 (pathlib costs --help about 3 ms)

    from sshjup import hosts  # noqa: PLC0415

    desired = hosts.load_inventory_file(Path(file))
    interactive = terminal and not as_json
    if prune and not yes and not dry_run and not interactive:
        plan = hosts.apply_inventory(where, desired, prune=True, dry_run=True, force=force)
        if plan.removed:
            _refuse_removals(plan, file)

    def change(dry: bool) -> ChangeResult:
        return hosts.apply_inventory(where, desired, prune=prune, dry_run=dry, force=force)

    def run_it() -> ChangeResult:  # (only --prune removes hosts: their kernels end with them)
        return retiring(where, change, dry_run=False) if prune else change(False)

    if not dry_run and (yes or as_json or not terminal):
        # No question to ask: plan and apply in one pass (one read, one write of the config).
        result = run_it()
        if not result.changed:
            result.dry_run = True  # reported like the plan it was: "No change: ..."
        elif not as_json:
            print_plan(out, result)
        render_change(out, result, as_json=as_json)
        return
    plan = retiring(where, change, dry_run=True) if prune and dry_run else change(True)
    if dry_run or not plan.changed:
        render_change(out, plan, as_json=as_json)
        return
    if not as_json:
        print_plan(out, plan)
        # A plan that removes tunnels defaults to no: Enter alone must not delete anything.
        if not yes and terminal:
            assert confirm is not None  # noqa: S101 (the fast path leaves questions to click)
            confirm(plan)
    result = run_it()
    render_change(out, result, as_json=as_json)


def retiring(
    where: Where, change: Callable[[bool], ChangeResult], *, dry_run: bool
) -> ChangeResult:
    """Run a change that may remove hosts; their kernels end with them.

    The plan comes first (a refused change stops nothing). The kernels ``kernel start``
    started are stopped before the change (through the alias, while it still names the
    host); launcher kernels after it (their front end's restart then finds no host). What
    was done goes into the result's ``tunnel`` lines and ``warnings`` (with ``dry_run``:
    what would be)."""
    from sshjup.models import ALIAS_PREFIX  # noqa: PLC0415

    if not _any_kernel_records():  # (the common case: one pass, as before)
        return change(dry_run)
    plan = change(True)
    aliases = [ALIAS_PREFIX + n for n in plan.removed] if plan.changed else []
    if not aliases:
        return plan if dry_run else change(False)
    from sshjup.jupyter import kernelops  # noqa: PLC0415 (only when there are kernels)

    done: list[kernelops.Retired] = []
    result = plan
    if dry_run:
        for alias in aliases:
            done += [kernelops.retire_kernels(where, alias, dry_run=True)]
            done += [kernelops.retire_launches(where, alias, dry_run=True)]
    else:
        done = [kernelops.retire_kernels(where, alias) for alias in aliases]
        result = change(False)
        done += [kernelops.retire_launches(where, ALIAS_PREFIX + n) for n in result.removed]
    for retired in done:
        result.tunnel.extend(retired.done)
        result.warnings.extend(retired.warnings)
    return result


def _any_kernel_records() -> bool:
    """Whether the state holds any kernel record at all (then kernelops is imported)."""
    from sshjup.store import state  # noqa: PLC0415

    st = state.load()
    return bool(st.kernels or st.launches)


def _refuse_removals(plan: ChangeResult, file: str) -> None:
    import shlex  # noqa: PLC0415

    from sshjup.errors import InvalidInput  # noqa: PLC0415

    removed = ", ".join("jup-" + n for n in plan.removed)
    msg = (
        f"apply --prune would remove {removed}, and there is no terminal to ask: "
        "removals need --yes; nothing was changed"
    )
    raise InvalidInput(
        msg,
        hint=f"check the plan with `sshjup apply {shlex.quote(file)} --prune --dry-run`, "
        "then run it again with --yes",
    )


def print_plan(out: Printer, plan: ChangeResult) -> None:
    """What a change adds, updates and removes, a line per host."""
    lines = [
        f"  {label:<6} jup-{name}"
        for label, names in (
            ("add", plan.added),
            ("update", plan.updated),
            ("remove", plan.removed),
        )
        for name in names
    ]
    if lines:  # (one write, not one a line: 1,000 hosts are 1,000 flushes)
        out.echo("\n".join(lines))


__all__ = [
    "Printer",
    "add_host",
    "apply_file",
    "auto_ports",
    "build_target",
    "locate",
    "plain_line",
    "print_plan",
    "render_change",
    "retiring",
    "warn_missing_key",
]

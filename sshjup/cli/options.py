"""What every command module shares: the common options, NAME completion and the output helpers.

Only click is imported here: the library is imported inside each function, so importing this
package (which ``sshjup.cli`` does at start-up) keeps ``sshjup --help`` fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from sshjup.cli.output import printable

if TYPE_CHECKING:
    from sshjup.hosts import Where

F = TypeVar("F", bound=Callable[..., Any])


class _ConfigPath(click.Path):
    """click.Path, but a path the file system cannot take (a NUL byte, a lone surrogate) is a
    usage error (exit 2), not a traceback from ``os.stat``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except ValueError:  # (UnicodeEncodeError is one)
            self.fail(f"the path {value!r} cannot be used on this system", param, ctx)


# One instance for every command's --ssh-config: each click.Path asks gettext for its name.
_CONFIG_FILE = _ConfigPath(dir_okay=False)


def ssh_config_option(func: F) -> F:
    """``--ssh-config PATH``, the same on every command that reads the ssh config."""
    return click.option(
        "--ssh-config",
        type=_CONFIG_FILE,
        default=None,
        help="The ssh config to use [default: $SSHJUP_SSH_CONFIG, else ~/.ssh/config].",
    )(func)


def json_option(func: F) -> F:
    """``--json``: machine-readable output (shapes in docs/json.md)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def complete_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Complete a NAME argument with the managed host names (``jup-NAME`` too). Never raises.

    Reads only the inventory (or, without one, sshjup's section of the ssh config); runs no
    process, so a TAB press stays instant.
    """
    try:
        from sshjup import hosts  # noqa: PLC0415 (only when the shell asks)
        from sshjup.models import ALIAS_PREFIX  # noqa: PLC0415

        ssh_config = ctx.params.get("ssh_config") if ctx is not None else None
        if ssh_config is None and ctx is not None:
            root = ctx.find_root()
            ssh_config = root.params.get("ssh_config") or group_ssh_config(ctx)
        targets = hosts.list_targets(hosts.Where.locate(ssh_config))
        if incomplete.startswith(ALIAS_PREFIX):
            words = [(t.alias, t.hostname) for t in targets]
        else:
            words = [(t.name, t.hostname) for t in targets]
        return [CompletionItem(w, help=h) for w, h in words if w.startswith(incomplete)]
    except Exception:  # completion must never break the shell
        return []


def group_ssh_config(ctx: click.Context | None = None) -> str | None:
    """``--ssh-config`` given before the command (``sshjup --ssh-config F add ...``)."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return None
    obj = ctx.find_root().obj
    return obj.get("ssh_config") if isinstance(obj, dict) else None


def locate(ssh_config: str | None) -> Where:
    """The files to work on: the command's ``--ssh-config``, else the group's, else the default."""
    from sshjup.hosts import Where  # noqa: PLC0415

    return Where.locate(ssh_config if ssh_config is not None else group_ssh_config())


def echo(text: object = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` through :func:`printable`: what every command prints goes through it."""
    click.echo(printable(text), err=err, nl=nl)


def echo_json(data: Any) -> None:
    import json  # noqa: PLC0415 (only --json needs it; --help stays fast)

    click.echo(json.dumps(data, indent=2))


def warn(message: str) -> None:
    echo(f"Warning: {message}", err=True)


def progress(message: str) -> None:
    """A progress line on stderr for waits longer than a second (overwritten on a terminal)."""
    if sys.stderr.isatty():
        click.echo(f"\r{printable(message)}\033[K", err=True, nl=False)
    else:
        echo(message, err=True)


def end_progress() -> None:
    """Clear the progress line (on a terminal)."""
    if sys.stderr.isatty():
        click.echo("\r\033[K", err=True, nl=False)


__all__ = [
    "complete_names",
    "echo",
    "echo_json",
    "end_progress",
    "group_ssh_config",
    "json_option",
    "locate",
    "printable",
    "progress",
    "ssh_config_option",
    "warn",
]

"""``sshjup doctor`` and ``sshjup completion``: a thin click layer over sshjup.doctor.

Only click is imported at module level (see sshjup/cli/options.py).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from sshjup.cli.options import complete_names, echo, json_option, printable, ssh_config_option

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_SSHJUP_COMPLETE"
_LABELS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}
_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red"}


def use_colour() -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _progress(message: str) -> None:
    echo(message, err=True)


@click.command()
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("--remote", is_flag=True, help="Also log in and check Jupyter on the remote.")
@json_option
@ssh_config_option
def doctor(name: str | None, remote: bool, as_json: bool, ssh_config: str | None) -> None:
    """Check everything a tunnel needs, and say how to fix what is wrong.

    One line per check (PASS, WARN or FAIL), with the fix under each one that does
    not pass. Exits 0 when nothing fails (warnings allowed), 1 when a check fails.
    See docs/troubleshooting.md for every check.

    \b
    Example:
      sshjup doctor
      sshjup doctor gpu --remote
      sshjup doctor --json | jq '.checks[] | select(.status != "pass")'
    """
    from sshjup import doctor as lib  # noqa: PLC0415 (keeps --help fast)
    from sshjup.hosts import Where  # noqa: PLC0415

    checks = lib.run_checks(
        Where.locate(ssh_config),
        name,
        remote=remote,
        progress=None if as_json else _progress,
    )
    if as_json:
        import json  # noqa: PLC0415 (only --json needs it; --help stays fast)

        click.echo(json.dumps(lib.report_json(checks), indent=2))
    else:
        _print_checks(checks)
    if any(c.status == "fail" for c in checks):
        sys.exit(1)


def _print_checks(checks: list[Any]) -> None:
    colour = use_colour()
    for check in checks:
        label = _LABELS[check.status]
        if colour:
            label = click.style(label, fg=_COLOURS[check.status], bold=True)
        click.echo(f"{label}  {printable(check.summary)}", color=colour)
        if check.status != "pass" and check.fix:
            click.echo(f"      fix: {printable(check.fix)}", color=colour)
    counts = {s: sum(1 for c in checks if c.status == s) for s in _LABELS}
    click.echo(
        f"\n{counts['pass']} passed, {counts['warn']} warning(s), {counts['fail']} failed",
        color=colour,
    )


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    Host names complete from the inventory.

    \b
    Example:
      sshjup completion bash > ~/.local/share/bash-completion/completions/sshjup
      sshjup completion zsh > "${fpath[1]}/_sshjup"
      sshjup completion fish > ~/.config/fish/completions/sshjup.fish
    """
    from click.shell_completion import get_completion_class  # noqa: PLC0415

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click knows all three
        msg = f"click has no completion for {shell}"
        raise click.UsageError(msg)
    root = ctx.find_root().command
    click.echo(cls(root, {}, "sshjup", COMPLETE_VAR).source())


__all__ = ["COMPLETE_VAR", "SHELLS", "completion", "doctor", "use_colour"]

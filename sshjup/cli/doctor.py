"""``sshjup doctor`` and ``sshjup completion``: a thin click layer over sshjup.doctor.

Only click is imported at module level (see sshjup/cli/options.py).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from click.shell_completion import CompletionItem, ShellComplete, add_completion_class

from sshjup.cli.options import (
    complete_names,
    echo,
    json_option,
    locate,
    printable,
    ssh_config_option,
)

SHELLS = ("bash", "zsh", "fish", "powershell")
COMPLETE_VAR = "_SSHJUP_COMPLETE"


class PowerShellComplete(ShellComplete):
    """PowerShell (Windows PowerShell 5.1 and pwsh 7), which click does not ship.

    The script registers a native argument completer: it hands the command line up to the
    cursor (``COMP_WORDS``) and the word being completed (``COMP_CWORD``) to sshjup, which
    answers one ``type<TAB>value<TAB>help`` line per candidate.
    """

    name = "powershell"
    source_template = """\
Register-ArgumentCompleter -Native -CommandName %(prog_name)s -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $line = $commandAst.ToString()
    $upTo = [Math]::Min($line.Length, $cursorPosition - $commandAst.Extent.StartOffset)
    $env:COMP_WORDS = $line.Substring(0, [Math]::Max(0, $upTo))
    $env:COMP_CWORD = $wordToComplete
    $env:%(complete_var)s = "powershell_complete"
    try {
        %(prog_name)s | ForEach-Object {
            $kind, $value, $help = $_ -split "`t", 3
            if (-not $help) { $help = $value }
            [System.Management.Automation.CompletionResult]::new(
                $value, $value, 'ParameterValue', $help)
        }
    } finally {
        Remove-Item Env:COMP_WORDS, Env:COMP_CWORD, Env:%(complete_var)s -ErrorAction Ignore
    }
}
"""

    def get_completion_args(self) -> tuple[list[str], str]:
        from click.shell_completion import split_arg_string  # noqa: PLC0415

        words = split_arg_string(os.environ.get("COMP_WORDS", ""))
        incomplete = os.environ.get("COMP_CWORD", "")
        args = words[1:]
        if incomplete and args and args[-1] == incomplete:
            args = args[:-1]
        return args, incomplete

    def format_completion(self, item: CompletionItem) -> str:
        return f"{item.type}\t{item.value}\t{item.help or ''}"


add_completion_class(PowerShellComplete)
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

    checks = lib.run_checks(
        locate(ssh_config),
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
    """Print the shell completion script for SHELL (bash, zsh, fish or powershell).

    Host names complete from the inventory.

    \b
    Example:
      sshjup completion bash > ~/.local/share/bash-completion/completions/sshjup
      sshjup completion zsh > "${fpath[1]}/_sshjup"
      sshjup completion fish > ~/.config/fish/completions/sshjup.fish
      sshjup completion powershell >> $PROFILE
    """
    from click.shell_completion import get_completion_class  # noqa: PLC0415

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click knows all three
        msg = f"click has no completion for {shell}"
        raise click.UsageError(msg)
    root = ctx.find_root().command
    click.echo(cls(root, {}, "sshjup", COMPLETE_VAR).source())


__all__ = ["COMPLETE_VAR", "SHELLS", "PowerShellComplete", "completion", "doctor", "use_colour"]

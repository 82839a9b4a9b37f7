"""The lazy click group (sshjup/cli/app.py) is the eager one, without importing every command.

Its table (``COMMANDS``: name -> module, attribute, the first paragraph of the help) must give
the names, the order and the short help the real commands give, ``--help`` must print the same
bytes as a group that holds every command, the shell must complete the same command names,
and a command must import only its own module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sshjup.cli.app import COMMANDS, LazyCommands, SshjupGroup, cli

ROOT = Path(__file__).resolve().parent.parent
COMMAND_MODULES = sorted({module for module, _, _ in COMMANDS.values()})
# The console script, and the sshjup modules imported by the end of the run (at exit).
SCRIPT = (
    "import atexit, json, os, sys\n"
    "atexit.register(lambda: open(os.environ['MARK'], 'w').write(json.dumps(sorted(\n"
    "    m for m in sys.modules if m.startswith('sshjup.')))))\n"
    "from sshjup.cli import main\n"
    "sys.argv[0] = 'sshjup'\n"
    "main()\n"
)


def eager_group() -> SshjupGroup:
    """The same group with every command imported and registered, as app.py used to build it."""
    commands = {name: cli.commands[name] for name in COMMANDS}
    return SshjupGroup(
        name=cli.name,
        commands=commands,
        params=cli.params,
        callback=cli.callback,
        help=cli.help,
        context_settings=cli.context_settings,
    )


def test_the_table_names_each_command_by_its_own_name_in_click_order() -> None:
    eager = eager_group()
    ctx = click.Context(eager)
    assert list(COMMANDS) == eager.list_commands(ctx) == sorted(COMMANDS)
    for name, (module, attribute, _) in COMMANDS.items():
        command = getattr(sys.modules[module], attribute)
        assert command is cli.commands[name]
        assert command.name == name, f"{module}.{attribute} is named {command.name!r}"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_table_short_help_is_the_commands(name: str) -> None:
    real = cli.commands[name]
    first_paragraph = COMMANDS[name][2]
    assert real.help is not None
    assert real.help.partition("\n\n")[0].strip() == first_paragraph
    assert real.short_help is None  # (a short_help would bypass the table's text)
    assert not real.hidden
    assert not real.deprecated
    stand_in = click.Command(name, help=first_paragraph)
    for limit in range(101):
        assert stand_in.get_short_help_str(limit) == real.get_short_help_str(limit), limit


@pytest.mark.parametrize("width", [50, 60, 72, 80, 100, 120])
@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--ssh-config", "x", "--help"]])
def test_help_is_byte_identical_to_the_eager_groups(width: int, argv: list[str]) -> None:
    runner = CliRunner()
    lazy = runner.invoke(cli, argv, prog_name="sshjup", terminal_width=width)
    eager = runner.invoke(eager_group(), argv, prog_name="sshjup", terminal_width=width)
    assert lazy.exit_code == eager.exit_code == 0
    assert lazy.stdout_bytes == eager.stdout_bytes
    assert b"  url " in lazy.stdout_bytes


@pytest.mark.parametrize("argv", [["lisst"], ["url"], ["--bogus"], ["kernel"], ["list", "-x"]])
def test_usage_errors_are_the_eager_groups(argv: list[str]) -> None:
    runner = CliRunner()
    lazy = runner.invoke(cli, argv, prog_name="sshjup")
    eager = runner.invoke(eager_group(), argv, prog_name="sshjup")
    assert lazy.exit_code == eager.exit_code
    assert lazy.exit_code != 0 or argv == ["kernel"]
    assert (lazy.stdout_bytes, lazy.stderr_bytes) == (eager.stdout_bytes, eager.stderr_bytes)


def test_a_fresh_group_lists_commands_without_importing_them() -> None:
    commands = LazyCommands(COMMANDS)
    group = SshjupGroup(name="sshjup", commands=commands, help=cli.help)
    result = CliRunner().invoke(group, ["--help"], prog_name="sshjup")
    assert result.exit_code == 0
    assert commands.loaded == {}
    assert list(commands) == list(COMMANDS)
    assert len(commands) == len(COMMANDS)
    assert "nope" not in commands
    with pytest.raises(KeyError):
        commands["nope"]


def test_a_command_added_later_is_listed_and_run() -> None:
    commands = LazyCommands(COMMANDS)
    group = SshjupGroup(name="sshjup", commands=commands)

    @click.command()
    def zzz() -> None:
        """A later command."""
        click.echo("zzz ran")

    group.add_command(zzz)
    runner = CliRunner()
    assert "zzz" in list(commands)
    assert len(commands) == len(COMMANDS) + 1
    assert "A later command." in runner.invoke(group, ["--help"]).stdout
    assert runner.invoke(group, ["zzz"]).stdout == "zzz ran\n"
    del commands["zzz"]
    assert "zzz" not in commands


def _complete(group: click.Group, words: str) -> list[tuple[str, str]]:
    from click.shell_completion import ShellComplete

    comp = ShellComplete(group, {}, "sshjup", "_SSHJUP_COMPLETE")
    args = words.split()
    incomplete = "" if not words or words.endswith(" ") else args.pop()
    return [(c.value, c.help or "") for c in comp.get_completions(args, incomplete)]


@pytest.mark.parametrize("words", ["", "u", "k", "ke", "-", "--", "--ssh-config x ", "zz"])
def test_shell_completion_of_command_names_is_the_eager_groups(words: str) -> None:
    lazy = _complete(cli, words)
    assert lazy == _complete(eager_group(), words)
    if words in ("", "u"):
        assert "url" in [value for value, _ in lazy]


def _run(
    argv: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[str, list[str]]:
    mark = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        env={**os.environ, "PYTHONPATH": str(ROOT), "MARK": str(mark), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(mark.read_text())


def _commands(modules: list[str]) -> list[str]:
    return [m for m in modules if m in COMMAND_MODULES]


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    out, imported = _run(["--help"], tmp_path)
    assert "Commands:" in out
    assert _commands(imported) == []
    assert "sshjup.hosts" not in imported


def test_list_imports_only_its_own_command_module(tmp_path: Path, ssh_config: Path) -> None:
    _run(["add", "box0", "--no-putty"], tmp_path)
    out, imported = _run(["list"], tmp_path)
    assert out.startswith("NAME ")
    assert "jup-box0" in out
    assert _commands(imported) == ["sshjup.cli.hosts"]
    # With an inventory, list reads only it: no config parser, OpenSSH or PuTTY modules.
    for heavy in ("sshjup.ssh.sshconfig", "sshjup.ssh.openssh", "sshjup.putty.managed"):
        assert heavy not in imported


def test_url_imports_only_its_own_command_module(tmp_path: Path, ssh_config: Path) -> None:
    _run(["add", "box0", "--no-putty"], tmp_path)
    out, imported = _run(
        ["url", "--no-check", "box0"], tmp_path, {"SSHJUP_TOKEN": "0123456789abcdef" * 2}
    )
    assert out.startswith("http://127.0.0.1:")
    assert _commands(imported) == ["sshjup.cli.jupyter"]
    for heavy in ("sshjup.ssh.sshconfig", "sshjup.putty.managed", "sshjup.jupyter.scripts"):
        assert heavy not in imported


def test_the_shell_completes_command_names_without_importing_them(tmp_path: Path) -> None:
    env = {"_SSHJUP_COMPLETE": "bash_complete", "COMP_WORDS": "sshjup ke", "COMP_CWORD": "1"}
    out, imported = _run([], tmp_path, env)
    assert out.splitlines() == ["plain,keep", "plain,kernel", "plain,kernelspec"]
    assert _commands(imported) == []

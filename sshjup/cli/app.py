"""The click group: every command, and the one place where an ``SshjupError`` becomes an
exit code.

One module per command group: :mod:`~sshjup.cli.hosts` (add, edit, remove, list, show, apply,
export), :mod:`~sshjup.cli.tunnel` (up, down, status), :mod:`~sshjup.cli.jupyter` (jupyter,
open, url, token), :mod:`~sshjup.cli.kernel` (kernel, kernelspec),
:mod:`~sshjup.cli.putty`, :mod:`~sshjup.cli.doctor` (doctor, completion);
:mod:`~sshjup.cli.options` holds what they share.

The group is lazy: :data:`COMMANDS` names each command's module, attribute and the first
paragraph of its help, so ``sshjup --help`` lists the commands (and the shell completes their
names) without importing any command module, and ``sshjup url`` imports only
:mod:`~sshjup.cli.jupyter`. tests/test_cli_lazy_group.py checks the table against the commands
and ``--help`` against an eager group's. Each command imports the library when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, MutableMapping
from gettext import gettext
from typing import TYPE_CHECKING, Any

import click

from sshjup import __version__
from sshjup.cli.options import ssh_config_option

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

# Every top-level command: name -> (module, attribute, the first paragraph of its help), in the
# order `--help` lists them (click's: sorted). Only the module of the command that runs is
# imported. tests/test_cli_lazy_group.py fails when this table and the commands drift apart.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "add": (
        "sshjup.cli.hosts",
        "add",
        "Add a Jupyter tunnel: a `Host jup-NAME` block in the ssh config.",
    ),
    "apply": (
        "sshjup.cli.hosts",
        "apply",
        "Make the managed tunnels match an inventory file (YAML, see `sshjup export`).",
    ),
    "completion": (
        "sshjup.cli.doctor",
        "completion",
        "Print the shell completion script for SHELL (bash, zsh, fish or powershell).",
    ),
    "doctor": (
        "sshjup.cli.doctor",
        "doctor",
        "Check everything a tunnel needs, and say how to fix what is wrong.",
    ),
    "down": (
        "sshjup.cli.tunnel",
        "down",
        "Close the tunnel (through its control socket: `ssh -O exit jup-NAME`).",
    ),
    "edit": ("sshjup.cli.hosts", "edit", "Change a managed tunnel; only the options given change."),
    "export": (
        "sshjup.cli.hosts",
        "export",
        "Print the inventory as YAML (for `sshjup apply` on another machine).",
    ),
    "jupyter": (
        "sshjup.cli.jupyter",
        "jupyter",
        "Set up, start, stop and check Jupyter on the remote (over ssh, without the tunnel).",
    ),
    "keep": (
        "sshjup.cli.tunnel",
        "keep",
        "Keep tunnels up: open each, notice a dead one, open it again (with backoff).",
    ),
    "kernel": (
        "sshjup.cli.kernel",
        "kernel",
        "Kernels on the remote, reached through the tunnel (a local connection file).",
    ),
    "kernelspec": (
        "sshjup.cli.kernel",
        "kernelspec",
        "A local kernelspec jup-NAME that editors launch (Zed, JupyterLab, nbclient).",
    ),
    "list": ("sshjup.cli.hosts", "list_", "List the managed tunnels."),
    "open": (
        "sshjup.cli.jupyter",
        "open_command",
        "Bring the tunnel up if needed and open Jupyter in the browser, with the token.",
    ),
    "putty": (
        "sshjup.cli.putty",
        "putty",
        "PuTTY saved sessions that open the same tunnel as `ssh jup-NAME`.",
    ),
    "remove": (
        "sshjup.cli.hosts",
        "remove",
        "Remove a managed tunnel; the last one takes sshjup's section with it.",
    ),
    "service": (
        "sshjup.cli.service",
        "service",
        "A per-user service that runs `sshjup keep NAME` at login.",
    ),
    "show": (
        "sshjup.cli.hosts",
        "show",
        "Show a tunnel's Host block and what `ssh -G` resolves for it.",
    ),
    "status": (
        "sshjup.cli.tunnel",
        "status",
        "Show whether each tunnel (or NAME's) is up: control socket and local port.",
    ),
    "token": (
        "sshjup.cli.jupyter",
        "token",
        "Keep a Jupyter token in the keyring (service sshjup, user jup-NAME).",
    ),
    "up": (
        "sshjup.cli.tunnel",
        "up",
        "Open the tunnel in the background and wait until its local ports answer.",
    ),
    "url": (
        "sshjup.cli.jupyter",
        "url_command",
        'Print the local URL with the token, for an editor\'s "existing Jupyter server" box.',
    ),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's ``commands``: the names come from a table, a command's module is imported
    when the command is first looked up. A command added later (``add_command``) is kept as
    given."""

    def __init__(self, table: dict[str, tuple[str, str, str]]) -> None:
        self.table = dict(table)
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        command = self.loaded.get(name)
        if command is None:
            module, attribute, _ = self.table[name]  # (KeyError: no such command)
            __import__(module)
            command = getattr(sys.modules[module], attribute)
            if not isinstance(command, click.Command):
                msg = f"{module}.{attribute} is not a click command"
                raise TypeError(msg)
            self.loaded[name] = command
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        found = self.loaded.pop(name, None) is not None
        if self.table.pop(name, None) is None and not found:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self.table
        yield from (name for name in self.loaded if name not in self.table)

    def __len__(self) -> int:
        return len(self.table) + sum(1 for name in self.loaded if name not in self.table)

    def __contains__(self, name: object) -> bool:
        return name in self.table or name in self.loaded

    def stand_in(self, name: str) -> click.Command:
        """The command if it is loaded, else a stand-in with its name and short help only
        (what ``--help`` and the shell completion of command names read)."""
        command = self.loaded.get(name)
        if command is not None:
            return command
        return click.Command(name, help=self.table[name][2])


# Commands that only read files and print: after them the console script ends the process
# without the interpreter's teardown (sshjup.cli.main), like the fast path of `add`.
READ_ONLY_COMMANDS = frozenset({"completion", "export", "list", "show", "url"})


class SshjupGroup(click.Group):
    """Maps every ``SshjupError`` to its exit code and a message with the fix, in one place.

    With :class:`LazyCommands` as its commands, it lists them (``--help``, shell completion)
    from the table without importing them, exactly as click lists loaded commands."""

    resolved: frozenset[str] = frozenset()  # the command names resolved in this process

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        self.resolved |= {name or ""}
        return name, command, rest

    def ran_only_reads(self) -> bool:
        """Whether every command this group ran (none for --help, --version or a usage error)
        only reads and prints (:data:`READ_ONLY_COMMANDS`)."""
        return self.resolved <= READ_ONLY_COMMANDS

    def invoke(self, ctx: click.Context) -> Any:
        from sshjup.errors import SshjupError  # noqa: PLC0415 (keeps --help fast)

        try:
            return super().invoke(ctx)
        except SshjupError as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise _ExitWith(err) from err
        except KeyboardInterrupt:
            # Ctrl-C: exit 130 like a shell (128 + SIGINT), not click's "Aborted!" and 1.
            raise _Interrupted from None
        except click.Abort as err:
            if isinstance(err.__context__, KeyboardInterrupt):  # Ctrl-C at a click prompt
                raise _Interrupted from None
            raise

    def _stand_ins(
        self, ctx: click.Context, incomplete: str = ""
    ) -> list[tuple[str, click.Command]]:
        """(name, command or its stand-in) of each visible command whose name starts so."""
        commands = self.commands
        assert isinstance(commands, LazyCommands)  # noqa: S101 (the callers check)
        found = [
            (name, commands.stand_in(name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and name in commands
        ]
        return [(name, command) for name, command in found if not command.hidden]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, from the table: no command module is imported."""
        if not isinstance(self.commands, LazyCommands):
            super().format_commands(ctx, formatter)
            return
        commands = self._stand_ins(ctx)
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
            with formatter.section(gettext("Commands")):  # (click's words, translated alike)
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names (with their short help) from the table, then the group's options."""
        if not isinstance(self.commands, LazyCommands):
            return super().shell_complete(ctx, incomplete)
        from click.shell_completion import CompletionItem  # noqa: PLC0415

        results = [
            CompletionItem(name, help=command.get_short_help_str())
            for name, command in self._stand_ins(ctx, incomplete)
        ]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results


class _Interrupted(click.ClickException):
    exit_code = 130

    def __init__(self) -> None:
        super().__init__("interrupted (Ctrl-C)")

    def show(self, file: Any = None) -> None:
        click.echo(f"\n{self.format_message()}", err=True)


class _ExitWith(click.ClickException):
    def __init__(self, err: Any) -> None:
        from sshjup.cli.output import error_text  # noqa: PLC0415

        super().__init__(error_text(err))
        self.exit_code = err.exit_code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: Any = None) -> None:
        from sshjup.cli.options import echo  # noqa: PLC0415

        echo(f"Error: {self.format_message()}", err=True)


@click.group(
    cls=SshjupGroup,
    commands=LazyCommands(COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="sshjup")
@click.option("--debug", is_flag=True, envvar="SSHJUP_DEBUG", help="Show tracebacks.")
@ssh_config_option
@click.pass_context
def cli(ctx: click.Context, debug: bool, ssh_config: str | None) -> None:
    """Jupyter on a remote machine, through a tunnel that plain `ssh jup-NAME` opens.

    \b
    Example:
      sshjup add gpu.example.org --user alice     # once
      ssh jup-gpu                                 # tunnel up, nothing else to type
      open http://127.0.0.1:8888
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["ssh_config"] = ssh_config  # `sshjup --ssh-config F COMMAND`: for every command


__all__ = ["cli"]

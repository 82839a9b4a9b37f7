"""The click group: every command, and the one place where an ``SshjupError`` becomes an
exit code.

One module per command group: :mod:`~sshjup.cli.hosts` (add, edit, remove, list, show, apply,
export), :mod:`~sshjup.cli.tunnel` (up, down, status), :mod:`~sshjup.cli.jupyter` (jupyter,
open, url, token), :mod:`~sshjup.cli.kernel` (kernel, kernelspec),
:mod:`~sshjup.cli.putty`, :mod:`~sshjup.cli.doctor` (doctor, completion);
:mod:`~sshjup.cli.options` holds what they share.

Only click is imported at start-up; each command imports the library when it runs, so
``sshjup --help`` stays as fast as click itself.
"""

from __future__ import annotations

from typing import Any

import click

from sshjup import __version__
from sshjup.cli.options import ssh_config_option


class SshjupGroup(click.Group):
    """Maps every ``SshjupError`` to its exit code and a message with the fix, in one place."""

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


@click.group(cls=SshjupGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


from sshjup.cli.doctor import completion, doctor  # noqa: E402
from sshjup.cli.hosts import add, apply, edit, export, list_, remove, show  # noqa: E402
from sshjup.cli.jupyter import jupyter, open_command, token, url_command  # noqa: E402
from sshjup.cli.kernel import kernel, kernelspec  # noqa: E402
from sshjup.cli.putty import putty  # noqa: E402
from sshjup.cli.service import service  # noqa: E402
from sshjup.cli.tunnel import down, keep, status, up  # noqa: E402

for command in (add, edit, remove, list_, show, apply, export, up, down, status, keep):
    cli.add_command(command)
cli.add_command(doctor)
cli.add_command(completion)
cli.add_command(putty)
cli.add_command(service)
cli.add_command(jupyter)
cli.add_command(token)
cli.add_command(open_command)
cli.add_command(url_command)
cli.add_command(kernel)
cli.add_command(kernelspec)


__all__ = ["cli"]

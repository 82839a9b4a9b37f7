"""The command line: parse, call the library, render. Nothing else lives here.

One module per command group: :mod:`~sshjup.cli.hosts` (add, edit, remove, list, show, apply,
export), :mod:`~sshjup.cli.tunnel` (up, down, status), :mod:`~sshjup.cli.jupyter` (jupyter,
open, url, token), :mod:`~sshjup.cli.kernel` (kernel), :mod:`~sshjup.cli.putty`,
:mod:`~sshjup.cli.doctor` (doctor, completion); :mod:`~sshjup.cli.options` holds what they
share, :mod:`~sshjup.cli.app` the click group (``cli``) and the one place where an
``SshjupError`` becomes an exit code.

:func:`main`, the console script, first offers argv to :mod:`~sshjup.cli.fast`, which runs the
common ``sshjup add HOST [options]`` without importing click (same output, errors and exit
codes); everything else goes to click. ``sshjup.cli.cli`` is the click group, imported on
first use.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any

    from sshjup.cli.app import cli


def main() -> None:
    """Console-script entry point."""
    from sshjup.cli import fast  # noqa: PLC0415

    code = fast.run(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from sshjup.cli.app import cli  # noqa: PLC0415

    cli(prog_name="sshjup")


def __getattr__(name: str) -> Any:
    if name == "cli":  # (`from sshjup.cli import cli`: the click group, loaded when asked for)
        from sshjup.cli.app import cli  # noqa: PLC0415

        return cli
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = ["cli", "main"]

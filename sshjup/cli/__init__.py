"""The command line: parse, call the library, render. Nothing else lives here.

One module per command group: :mod:`~sshjup.cli.hosts` (add, edit, remove, list, show, apply,
export), :mod:`~sshjup.cli.tunnel` (up, down, status), :mod:`~sshjup.cli.jupyter` (jupyter,
open, url, token), :mod:`~sshjup.cli.kernel` (kernel, kernelspec), :mod:`~sshjup.cli.putty`,
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
    """Console-script entry point: runs one command and ends the process."""
    from sshjup.cli import fast  # noqa: PLC0415

    code = fast.run(sys.argv[1:])
    if code is not None:
        _end(code)
    from sshjup.cli.app import cli  # noqa: PLC0415

    cli(prog_name="sshjup")


def _end(code: int) -> None:
    """Exit with ``code`` once the fast path is done. Its output is flushed and every file it
    opened is closed, so when nothing was registered to run at exit (coverage, a test harness)
    the process ends at once: the interpreter's teardown (freeing every module) would cost
    ``sshjup add`` about 6 ms for nothing."""
    import atexit  # noqa: PLC0415

    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    callbacks = getattr(atexit, "_ncallbacks", None)
    if callbacks is not None and callbacks() == 0 and not sys.flags.inspect:
        import os  # noqa: PLC0415

        os._exit(code)
    sys.exit(code)


def __getattr__(name: str) -> Any:
    if name == "cli":  # (`from sshjup.cli import cli`: the click group, loaded when asked for)
        from sshjup.cli.app import cli  # noqa: PLC0415

        return cli
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = ["cli", "main"]

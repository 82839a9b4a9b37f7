"""The command line: parse, call the library, render. Nothing else lives here.

One module per command group: :mod:`~sshjup.cli.hosts` (add, edit, remove, list, show, apply,
export), :mod:`~sshjup.cli.tunnel` (up, down, status), :mod:`~sshjup.cli.jupyter` (jupyter,
open, url, token), :mod:`~sshjup.cli.kernel` (kernel, kernelspec), :mod:`~sshjup.cli.putty`,
:mod:`~sshjup.cli.doctor` (doctor, completion); :mod:`~sshjup.cli.options` holds what they
share, :mod:`~sshjup.cli.app` the click group (``cli``) and the one place where an
``SshjupError`` becomes an exit code.

:func:`main`, the console script, first offers argv to :mod:`~sshjup.cli.fast`, which runs the
common ``sshjup add HOST [options]`` and ``sshjup apply FILE [options]`` without importing
click (same output, errors and exit codes); everything else goes to click.
``sshjup.cli.cli`` is the click group, imported on first use. After the fast path, and after
a command that only reads and prints (``list``, ``url``, ``show``, ``export``,
``completion``, ``--help``), the process ends without the interpreter's teardown.
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

    try:
        cli(prog_name="sshjup")
    except SystemExit as done:
        # A command that only reads and prints (or none: --help, --version, a usage error)
        # ends like the fast path: the interpreter's teardown costs `sshjup url` ~10 ms. Only
        # on streams click writes to as they are (else its own wrapper would hold the output).
        from sshjup.cli.output import plain_streams  # noqa: PLC0415

        status = done.code
        if (status is None or type(status) is int) and cli.ran_only_reads() and plain_streams():
            _end(status or 0)
        raise


def _end(code: int) -> None:
    """Exit with ``code`` once the fast path (or a command that only reads) is done. Its
    output is flushed and every file it opened is closed, so when nothing was registered to
    run at exit (coverage, a test harness) and no other thread runs, the process ends at once:
    the interpreter's teardown (freeing every module) would cost ``sshjup add`` about 6 ms and
    ``sshjup url`` about 10 ms for nothing."""
    import atexit  # noqa: PLC0415

    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # (a closed pipe: the interpreter's own exit reports it)
        sys.exit(code)
    callbacks = getattr(atexit, "_ncallbacks", None)
    threading = sys.modules.get("threading")
    others = threading is not None and threading.active_count() > 1  # (joined at exit)
    if callbacks is not None and callbacks() == 0 and not sys.flags.inspect and not others:
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

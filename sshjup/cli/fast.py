"""``sshjup add HOST [options]`` and ``sshjup apply FILE [options]`` without click: the common
shapes of the commands that change the config.

Importing click and building the command tree costs 30-45 ms, as much as the one ``ssh -G``
that ``add`` must run (bench/README.md). :func:`run` takes argv as the console script gets
it; when it has a shape below it parses it here and runs the same code as the click command
(:func:`sshjup.cli.adding.add_host`, :func:`~sshjup.cli.adding.apply_file`), with the same
output, errors and exit codes. For anything else it returns ``None`` and click runs the
command as always:

* ``add`` first (no group option before it), then exactly one HOST that does not start
  with ``-``, and only these options, each at most once (``--forward`` and ``--ssh-option``
  repeatable), as ``--opt VALUE`` or ``--opt=VALUE``: ``--name``, ``--user``, ``--port``,
  ``--identity-file``, ``--proxy-jump``, ``--local-port``, ``--remote-port``, ``--forward``,
  ``--ssh-option``, ``--ssh-config``, and the flags ``--putty``/``--no-putty``,
  ``--companion``/``--no-companion``, ``--dry-run``, ``--force``, ``--yes``/``-y``, ``--json``;
* or ``apply`` first, then exactly one FILE that does not start with ``-`` and that click's
  path check lets through unchanged, ``--ssh-config`` and the flags ``--prune``,
  ``--dry-run``, ``--force``, ``--yes``/``-y``, ``--json``; and no plan to confirm: standard
  input is no terminal, or one of ``--dry-run``, ``--yes``, ``--json`` is given;
* no VALUE that starts with ``-``, no ``--``, no ``-h``/``--help``, no ``--remote-socket``;
* no ``SSHJUP_DEBUG`` and no shell completion request in the environment, standard streams
  that ``click.echo`` would write to as they are (:func:`~sshjup.cli.output.plain_streams`),
  and an ``--ssh-config`` that click's path check lets through unchanged.

tests/test_cli_fast_add.py runs each shape both ways and compares the bytes.
"""

from __future__ import annotations

import os
import sys

from sshjup.cli.output import plain_streams, plain_write

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from collections.abc import Callable

    from sshjup.cli.adding import Printer
    from sshjup.hosts import Where

_VALUES = {
    "--name": "name",
    "--user": "user",
    "--port": "port",
    "--identity-file": "identity_file",
    "--proxy-jump": "proxy_jump",
    "--local-port": "local_port",
    "--remote-port": "remote_port",
    "--ssh-config": "ssh_config",
}
_REPEATED = {"--forward": "forwards", "--ssh-option": "ssh_options"}
_FLAGS = {
    "--dry-run": ("dry_run", True),
    "--force": ("force", True),
    "--yes": ("yes", True),
    "-y": ("yes", True),
    "--json": ("as_json", True),
    "--putty": ("putty", True),
    "--no-putty": ("putty", False),
    "--companion": ("companion", True),
    "--no-companion": ("companion", False),
}


def parse_add(args: list[str]) -> dict[str, object] | None:
    """The keyword arguments of the ``add`` command for ``args`` (argv after the program
    name), or ``None`` when they are not of the shape this module takes."""
    parsed = _parse(args, "add", _VALUES, _REPEATED, _FLAGS)
    if parsed is None:
        return None
    params, hosts = parsed
    if len(hosts) != 1:
        return None
    params["host"] = hosts[0]
    return params


# apply's options: the ones it shares with add, and --prune.
_APPLY_VALUES = {"--ssh-config": _VALUES["--ssh-config"]}
_APPLY_FLAGS = {
    "--prune": ("prune", True),
    **{flag: _FLAGS[flag] for flag in ("--dry-run", "--force", "--yes", "-y", "--json")},
}


def parse_apply(args: list[str]) -> dict[str, object] | None:
    """The keyword arguments of the ``apply`` command for ``args``, or ``None``."""
    parsed = _parse(args, "apply", _APPLY_VALUES, {}, _APPLY_FLAGS)
    if parsed is None:
        return None
    params, files = parsed
    if len(files) != 1:
        return None
    params["file"] = files[0]
    return params


def _parse(
    args: list[str],
    command: str,
    values: dict[str, str],
    repeated_values: dict[str, str],
    flags: dict[str, tuple[str, bool]],
) -> tuple[dict[str, object], list[str]] | None:
    """The options (keyword arguments) and the arguments of ``command`` in ``args``, or None
    when they are not of the shape this module takes."""
    if len(args) < 2 or args[0] != command:  # noqa: PLR2004
        return None
    params: dict[str, object] = {}
    repeated: dict[str, list[str]] = {dest: [] for dest in repeated_values.values()}
    positional: list[str] = []
    rest = iter(args[1:])
    for token in rest:
        if not token.startswith("-"):
            positional.append(token)
            continue
        option, eq, value = token.partition("=")
        if option in flags:
            dest, flag = flags[option]
            if eq or dest in params:
                return None
            params[dest] = flag
            continue
        found = values.get(option) or repeated_values.get(option)
        if found is None:  # --help, --remote-socket, --, a typo: click says what it is
            return None
        dest = found
        if not eq:
            value = next(rest, "-")  # (a missing value is refused below)
        if value.startswith("-"):
            return None
        if option in repeated_values:
            repeated[dest].append(value)
        elif dest in params:
            return None
        else:
            params[dest] = value
    params.update({dest: tuple(values) for dest, values in repeated.items()})
    return params, positional


def _path_as_click_takes_it(path: str) -> bool:
    """``--ssh-config PATH``: True when click's ``Path(dir_okay=False)`` returns it unchanged
    (missing, or a readable file that is no directory); else click reports it."""
    import stat  # noqa: PLC0415

    try:
        st = os.stat(path)  # noqa: PTH116 (no pathlib on this path: start-up time)
    except OSError:
        return True
    except ValueError:  # a NUL byte: click's message
        return False
    return not stat.S_ISDIR(st.st_mode) and os.access(path, os.R_OK)


def run(args: list[str]) -> int | None:
    """Run ``sshjup add`` or ``sshjup apply`` without click when ``args`` has the shape it
    takes: the exit code. ``None``: not that shape (nothing was done; click runs it)."""
    params = parse_add(args)
    command = _add
    if params is None:
        params, command = parse_apply(args), _apply
    if params is None:
        return None
    if "SSHJUP_DEBUG" in os.environ or "_SSHJUP_COMPLETE" in os.environ or not plain_streams():
        return None
    ssh_config = params.pop("ssh_config", None)
    assert ssh_config is None or isinstance(ssh_config, str)  # noqa: S101
    if ssh_config is not None and not _path_as_click_takes_it(ssh_config):
        return None
    if command is _apply:
        file = params["file"]
        assert isinstance(file, str)  # noqa: S101
        if not _path_as_click_takes_it(file):
            return None
        terminal = sys.stdin is None or sys.stdin.isatty()
        asks = not (params.get("dry_run") or params.get("yes") or params.get("as_json"))
        if terminal and asks:  # (a plan to confirm on a terminal: click asks)
            return None
        params["terminal"] = terminal
    # One short command: the cyclic garbage collector would only walk the objects that imports
    # create (about 4 ms); reference counting frees the large texts as before.
    import gc  # noqa: PLC0415

    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(command, params, ssh_config)
    finally:
        if collecting:
            gc.enable()


def _add(out: Printer, where: Where, params: dict[str, object]) -> None:
    from sshjup.cli.adding import add_host  # noqa: PLC0415

    params.pop("yes", None)  # (add asks nothing)
    add_host(out, where, **params)  # type: ignore[arg-type]


def _apply(out: Printer, where: Where, params: dict[str, object]) -> None:
    from sshjup.cli.adding import apply_file  # noqa: PLC0415

    apply_file(out, where, **params)  # type: ignore[arg-type]


def _run(
    command: Callable[[Printer, Where, dict[str, object]], None],
    params: dict[str, object],
    ssh_config: str | None,
) -> int:
    from sshjup.cli.adding import Printer, locate  # noqa: PLC0415
    from sshjup.cli.output import error_text  # noqa: PLC0415
    from sshjup.errors import SshjupError  # noqa: PLC0415

    out = Printer(plain_write)
    try:
        try:
            command(out, locate(ssh_config), params)
        except SshjupError as err:  # as the click group (sshjup.cli.app._ExitWith)
            out.echo(f"Error: {error_text(err)}", err=True)
            return err.exit_code
        except KeyboardInterrupt:  # as the click group: exit 130, like a shell
            plain_write("\ninterrupted (Ctrl-C)", err=True)
            return 130
        except EOFError:  # (as click's main)
            plain_write("", err=True)
            plain_write("Aborted!", err=True)
            return 1
    except OSError as err:
        import errno  # noqa: PLC0415

        if err.errno != errno.EPIPE:
            raise
        # As click's main: a closed pipe (`sshjup add ... | head -0`) ends quietly, exit 1.
        from click.utils import _PacifyFlushWrapper  # noqa: PLC0415

        sys.stdout = _PacifyFlushWrapper(sys.stdout)
        sys.stderr = _PacifyFlushWrapper(sys.stderr)
        return 1
    return 0


__all__ = ["parse_add", "parse_apply", "run"]

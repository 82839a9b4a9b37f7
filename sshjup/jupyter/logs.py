"""``sshjup jupyter logs``: the remote Jupyter's log (0600, written by ``jupyter start``).

One small script reads the log over ssh (the same way as every remote command: ``sh -s``
through the alias, forwards cleared); ``--follow`` asks again every few seconds for what was
added since. Whatever the log holds goes to a terminal: :func:`terminal_safe` shows control
characters (escape sequences, bells, carriage returns) as ``\\x1b``-style text instead.
"""

from __future__ import annotations

import unicodedata

from sshjup import hosts
from sshjup.errors import NotFound, RemoteCommandFailed
from sshjup.jupyter import remote
from sshjup.jupyter.scripts import LOG_DIR_DISPLAY, MARK, log_path_expr
from sshjup.models import validate_port
from sshjup.records import dataclass

_KEEP = {"\n", "\t"}


def terminal_safe(text: str) -> str:
    """``text`` with every control or format character but newline and tab made visible."""
    if text.isprintable() or all(ch.isprintable() or ch in _KEEP for ch in text):
        return text
    out = []
    for ch in text:
        if ch in _KEEP or (ch.isprintable() and unicodedata.category(ch) not in {"Cf"}):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")  # noqa: PLR2004
    return "".join(out)


def logs_script(port: int, *, lines: int | None, offset: int | None) -> str:
    """Print ``@@sshjup size N`` and the log's last ``lines`` lines, or all after ``offset``."""
    if offset is not None:
        read = f'tail -c +{int(offset) + 1} "$log"'
    else:
        read = f'tail -n {int(lines or 50)} "$log"'
    return (
        "\n".join(
            [
                "set -u",
                f"log={log_path_expr(validate_port(port, 'remote port'))}",
                f'if [ ! -f "$log" ]; then echo "{MARK} nolog"; exit 0; fi',
                f'echo "{MARK} size $(wc -c < "$log" | tr -d " ")"',
                read,
            ]
        )
        + "\n"
    )


@dataclass(frozen=True)
class LogChunk:
    """A piece of the remote Jupyter's log."""

    text: str  # as read (not yet made terminal-safe)
    size: int  # the log's size when read: the next offset
    restarted: bool = False  # the log is shorter than the offset: a new `jupyter start`


def read(
    where: hosts.Where, name: str, *, lines: int | None = 50, offset: int | None = None
) -> LogChunk:
    """The last ``lines`` lines of NAME's remote Jupyter log, or what follows ``offset``."""
    target = hosts.get_target(where, name)
    port = target.remote_port
    cp = remote.run_script(
        target.alias, where.ssh_config, logs_script(port, lines=lines, offset=offset)
    )
    head, _, rest = cp.stdout.partition("\n")
    if head == f"{MARK} nolog":
        msg = (
            f"no Jupyter log on {target.alias} for remote port {port} "
            f"({LOG_DIR_DISPLAY}/jupyter-{port}.log)"
        )
        raise NotFound(msg, hint=f"start Jupyter with `sshjup jupyter start {target.name}`")
    if cp.returncode != 0 or not head.startswith(f"{MARK} size "):
        msg = f"reading the Jupyter log on {target.alias} failed (exit {cp.returncode})"
        raise RemoteCommandFailed(msg, hint=f"run `ssh {target.alias}` and look at the remote")
    size = int(head.removeprefix(f"{MARK} size ").strip() or 0)
    if offset is not None and size < offset:  # truncated by a new start: read it from the top
        return LogChunk(read(where, name, lines=None, offset=0).text, size, restarted=True)
    return LogChunk(rest, size)


__all__ = ["LogChunk", "logs_script", "read", "terminal_safe"]

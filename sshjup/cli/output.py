"""The text every command prints passes through here: :func:`printable`, and the plain writer
of the click-free ``add`` path (:mod:`sshjup.cli.fast`).

No click here: ``sshjup add`` runs without importing it (see bench/README.md).
"""

from __future__ import annotations

import codecs
import re
import sys

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any


# C0 controls but tab and newline, DEL, C1 controls (CSI is also U+009B), and the Unicode
# format controls that reorder or hide text (bidi overrides, zero-width, line separators).
_UNSAFE_CHARS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
_UNSAFE: list[re.Pattern[str]] = []  # (compiled when first needed: most text is plain ASCII)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"  # noqa: PLR2004


def printable(text: object) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\u202e``): the one helper
    that stands between remote or file text (root_dir, hostnames, versions, log lines, diffs,
    comments) and the terminal, so no OSC or CSI sequence reaches it, TTY or not."""
    text = str(text)
    if text.isascii() and text.isprintable():  # (most text: no search at all)
        return text
    if not _UNSAFE:
        _UNSAFE.append(re.compile(_UNSAFE_CHARS))
    return _UNSAFE[0].sub(_escape, text)


def error_text(err: Any) -> str:
    """An ``SshjupError`` as the CLI shows it after ``Error: ``: the message, then the hint."""
    text = str(err)
    if err.hint:
        text += f"\nHint: {err.hint}"
    return text


def plain_streams() -> bool:
    """True when ``click.echo`` would write to ``sys.stdout`` and ``sys.stderr`` as they are:
    text streams with an encoding that is not ASCII, off Windows (there click wraps the
    console). Only then does the click-free path run."""
    if sys.platform == "win32":
        return False
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if stream is None or not encoding or not hasattr(stream, "buffer"):
            return False
        try:
            if codecs.lookup(encoding).name == "ascii":  # (click re-wraps such a stream)
                return False
        except LookupError:
            return False
        if getattr(stream, "errors", None) is None:
            return False
    return True


def plain_echo(text: object = "", *, err: bool = False, nl: bool = True) -> None:
    """What ``click.echo(printable(text))`` does on the streams :func:`plain_streams` accepts
    (its ANSI stripping finds nothing: :func:`printable` escaped every ESC)."""
    plain_write(printable(text), err=err, nl=nl)


def plain_write(text: str, *, err: bool = False, nl: bool = True) -> None:
    """``click.echo(text)`` on those streams: the text, a newline, a flush."""
    stream = sys.stderr if err else sys.stdout
    out = text + "\n" if nl else text
    if out:
        stream.write(out)
    stream.flush()


__all__ = ["error_text", "plain_echo", "plain_streams", "plain_write", "printable"]

"""Session names as PuTTY stores them: registry key names (Windows) and file names (Unix).

PuTTY escapes a session name differently on each platform (facts from PuTTY 0.78's source):

* Windows, ``escape_registry_key``: ``%XX`` for space, ``\\``, ``*``, ``?``, ``%``, control
  characters, bytes above ``~``, and a ``.`` at position 0. Everything else (``/ : ( ) @ , =``
  ...) stays as it is.
* Unix, ``make_session_filename``: ``%XX`` for every byte outside ``A-Z a-z 0-9 + - . @ _``.

Both write **uppercase** hex, and both decoders only understand uppercase. Non-ASCII names are
refused up front: Windows stores them in the ANSI code page and Unix in UTF-8, so the same name
would be two different sessions (and PuTTY 0.78 reads the registry through the ANSI API).
Pure functions, no I/O.
"""

from __future__ import annotations

import string

from sshjup.errors import InvalidInput

DEFAULT_SETTINGS = "Default Settings"
MAX_SESSION_NAME = 200

_UNIX_SAFE = frozenset(string.ascii_letters + string.digits + "+-.@_")
_WINDOWS_SPECIAL = frozenset(" \\*?%")
_HEX_UPPER = frozenset("0123456789ABCDEF")


# Where PuTTY keeps its settings in the Windows registry (under HKEY_CURRENT_USER).
PUTTY_KEY = r"Software\SimonTatham\PuTTY"
SESSIONS_KEY = PUTTY_KEY + r"\Sessions"


def validate_session_name(name: str) -> str:
    """Refuse names PuTTY cannot store faithfully on both platforms; return ``name``.

    Allowed: 1-200 printable ASCII characters (space included). Refused: the empty name (PuTTY
    maps it to "Default Settings"), control characters, DEL and anything non-ASCII.
    """
    if not name:
        msg = 'PuTTY session name: the empty name is PuTTY\'s "Default Settings"'
        raise InvalidInput(msg, hint="give the session a name")
    if len(name) > MAX_SESSION_NAME:
        msg = f"PuTTY session name: {name[:40]!r}... is longer than {MAX_SESSION_NAME} characters"
        raise InvalidInput(msg, hint="use a shorter name")
    for ch in name:
        if not ch.isascii():
            msg = (
                f"PuTTY session name: {name!r} contains the non-ASCII character {ch!r}; "
                "PuTTY stores it differently on Windows (ANSI code page) and Unix (UTF-8)"
            )
            raise InvalidInput(msg, hint="use ASCII letters, digits, '.', '_' and '-' only")
        if not ch.isprintable():
            msg = f"PuTTY session name: {name!r} contains the control character {ch!r}"
            raise InvalidInput(msg, hint="remove the control character from the name")
    return name


def registry_key_name(name: str) -> str:
    """The key under ``...\\PuTTY\\Sessions`` for session ``name`` (``escape_registry_key``)."""
    validate_session_name(name)
    out: list[str] = []
    for i, ch in enumerate(name):
        code = ord(ch)
        if ch in _WINDOWS_SPECIAL or code < 0x20 or code > 0x7E or (ch == "." and i == 0):  # noqa: PLR2004
            out.append(f"%{code:02X}")
        else:
            out.append(ch)
    return "".join(out)


def unix_session_filename(name: str) -> str:
    """The file under PuTTY's ``sessions/`` directory for session ``name``."""
    validate_session_name(name)
    return "".join(ch if ch in _UNIX_SAFE else f"%{ord(ch):02X}" for ch in name)


def _unescape(text: str, encoding: str) -> str:
    """Undo ``%XX`` (uppercase hex, as PuTTY writes it); anything else stays literal."""
    raw = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%" and i + 2 < len(text) and set(text[i + 1 : i + 3]) <= _HEX_UPPER:
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
            continue
        raw.extend(ch.encode(encoding, errors="replace"))
        i += 1
    return raw.decode(encoding, errors="replace")


def name_from_registry_key(key: str) -> str:
    """The session name for a registry key name (``unescape_registry_key``).

    Bytes above 0x7F were in the ANSI code page; cp1252 is assumed to show them.
    """
    return _unescape(key, "cp1252")


def name_from_unix_filename(filename: str) -> str:
    """The session name for a file in PuTTY's ``sessions/`` directory."""
    return _unescape(filename, "utf-8")


__all__ = [
    "DEFAULT_SETTINGS",
    "PUTTY_KEY",
    "SESSIONS_KEY",
    "name_from_registry_key",
    "name_from_unix_filename",
    "registry_key_name",
    "unix_session_filename",
    "validate_session_name",
]

"""A ``.reg`` file of PuTTY sessions, for a Windows machine (pure renderer, no I/O).

The format is what ``regedit /e`` writes: the header ``Windows Registry Editor Version 5.00``,
UTF-16LE with the byte order mark ``FF FE``, CRLF line ends, full key paths
(``HKEY_CURRENT_USER\\...``, never ``HKCU``), strings as ``"Name"="value"`` with ``\\`` and
``"`` escaped by a backslash, numbers as ``"Name"=dword:%08x``, and a blank line after each
key (so the file ends with an empty line). Double-click it, or ``reg import FILE``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sshjup.errors import InvalidInput
from sshjup.putty.escape import SESSIONS_KEY, registry_key_name
from sshjup.putty.settings import SettingValue, check_settings

REG_HEADER = "Windows Registry Editor Version 5.00"
ROOT = "HKEY_CURRENT_USER"


def reg_string(text: str) -> str:
    """A quoted .reg string: ``\\`` -> ``\\\\`` and ``"`` -> ``\\"``; nothing else is needed."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def reg_value(value: SettingValue) -> str:
    """The right-hand side of a value line: a quoted string or ``dword:0000001f``."""
    if isinstance(value, bool):
        msg = f"a .reg value must be a string or an integer, not {value!r}"
        raise InvalidInput(msg, hint="this is a bug in the caller")
    if isinstance(value, int):
        return f"dword:{value & 0xFFFFFFFF:08x}"
    return reg_string(value)


def session_key(name: str) -> str:
    """The full key path of a session: ``HKEY_CURRENT_USER\\...\\Sessions\\<escaped>``."""
    return f"{ROOT}\\{SESSIONS_KEY}\\{registry_key_name(name)}"


def render_reg_text(
    sessions: Mapping[str, Mapping[str, SettingValue]], *, replace: bool = False
) -> str:
    """The text of the .reg file (CRLF line ends, no BOM).

    With ``replace`` each session key is deleted first (``[-KEY]``), so values left over from
    an older session of the same name on that machine do not survive the import.
    """
    lines = [REG_HEADER, ""]
    for name, settings in sessions.items():
        check_settings(name, settings)
        key = session_key(name)
        if replace:
            lines += [f"[-{key}]", ""]
        lines.append(f"[{key}]")
        lines.extend(f"{reg_string(vname)}={reg_value(value)}" for vname, value in settings.items())
        lines.append("")
    return "\r\n".join(lines) + "\r\n"


def render_reg(
    sessions: Mapping[str, Mapping[str, SettingValue]], *, replace: bool = False
) -> bytes:
    """The bytes of the .reg file: UTF-16LE with a BOM (what regedit itself writes)."""
    return b"\xff\xfe" + render_reg_text(sessions, replace=replace).encode("utf-16-le")


__all__ = ["REG_HEADER", "reg_string", "reg_value", "render_reg", "render_reg_text", "session_key"]

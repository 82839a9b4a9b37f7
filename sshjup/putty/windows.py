"""PuTTY's saved sessions in the Windows registry, behind one small seam.

Sessions are keys under ``HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions``, named by
:func:`~sshjup.putty.escape.registry_key_name`. PuTTY writes strings as ``REG_SZ`` and numbers
and booleans as ``REG_DWORD``, and its readers are strict: a ``PortNumber`` stored as a string
is silently ignored. Every registry access goes through a :class:`RegistryBackend`;
:class:`WinregBackend` is the real one (``winreg`` is imported only on Windows, inside it) and
the tests use a dict-backed fake, so everything here runs on Linux.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sshjup.errors import PuttyStoreError
from sshjup.putty.escape import (
    PUTTY_KEY,
    SESSIONS_KEY,
    name_from_registry_key,
    registry_key_name,
)
from sshjup.putty.settings import Settings, SettingValue, check_settings
from sshjup.putty.store import SessionStore

# winreg's constants, repeated here so this module imports on every platform.
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_DWORD = 4

_T = TypeVar("_T")


class RegistryBackend(Protocol):
    """The only registry operations sshjup needs; paths are relative to HKEY_CURRENT_USER."""

    def key_exists(self, path: str) -> bool: ...

    def list_subkeys(self, path: str) -> list[str]:
        """Names of the key's subkeys; ``[]`` when the key does not exist."""
        ...

    def read_values(self, path: str) -> dict[str, tuple[int, Any]] | None:
        """``{value name: (type, data)}``, or ``None`` when the key does not exist."""
        ...

    def create_key(self, path: str) -> None:
        """Create the key and any missing parents (``RegCreateKeyEx``)."""
        ...

    def set_value(self, path: str, name: str, reg_type: int, data: Any) -> None: ...

    def delete_value(self, path: str, name: str) -> None: ...

    def delete_key(self, path: str) -> None:
        """Delete a key that has no subkeys."""
        ...


class WinregBackend:  # pragma: no cover - exercised on Windows only
    """The real registry through ``winreg`` (HKEY_CURRENT_USER only)."""

    def __init__(self) -> None:
        if sys.platform != "win32":
            msg = "the Windows registry is only available on Windows"
            raise PuttyStoreError(msg, hint="use the PuTTY session files (or a .reg export)")
        import winreg  # noqa: PLC0415 (Windows-only module)

        self._winreg: Any = winreg

    def _open(self, path: str, access: int) -> Any:
        wr = self._winreg
        return wr.OpenKey(wr.HKEY_CURRENT_USER, path, 0, access)

    def key_exists(self, path: str) -> bool:
        try:
            self._open(path, self._winreg.KEY_READ).Close()
        except FileNotFoundError:
            return False
        return True

    def list_subkeys(self, path: str) -> list[str]:
        wr = self._winreg
        try:
            key = self._open(path, wr.KEY_READ)
        except FileNotFoundError:
            return []
        names: list[str] = []
        with key:
            index = 0
            while True:
                try:
                    names.append(wr.EnumKey(key, index))
                except OSError:
                    return names
                index += 1

    def read_values(self, path: str) -> dict[str, tuple[int, Any]] | None:
        wr = self._winreg
        try:
            key = self._open(path, wr.KEY_READ)
        except FileNotFoundError:
            return None
        values: dict[str, tuple[int, Any]] = {}
        with key:
            index = 0
            while True:
                try:
                    name, data, reg_type = wr.EnumValue(key, index)
                except OSError:
                    return values
                values[name] = (reg_type, data)
                index += 1

    def create_key(self, path: str) -> None:
        wr = self._winreg
        wr.CreateKeyEx(wr.HKEY_CURRENT_USER, path, 0, wr.KEY_WRITE).Close()

    def set_value(self, path: str, name: str, reg_type: int, data: Any) -> None:
        wr = self._winreg
        with self._open(path, wr.KEY_SET_VALUE) as key:
            wr.SetValueEx(key, name, 0, reg_type, data)

    def delete_value(self, path: str, name: str) -> None:
        wr = self._winreg
        with self._open(path, wr.KEY_SET_VALUE) as key:
            wr.DeleteValue(key, name)

    def delete_key(self, path: str) -> None:
        wr = self._winreg
        wr.DeleteKey(wr.HKEY_CURRENT_USER, path)


def session_key_path(name: str) -> str:
    """``Software\\SimonTatham\\PuTTY\\Sessions\\<escaped name>`` (under HKEY_CURRENT_USER)."""
    return SESSIONS_KEY + "\\" + registry_key_name(name)


def putty_key_exists(backend: RegistryBackend) -> bool:
    """Has PuTTY (or anything) created ``HKCU\\Software\\SimonTatham\\PuTTY``?"""
    return backend.key_exists(PUTTY_KEY)


def _to_registry(value: SettingValue) -> tuple[int, Any]:
    if isinstance(value, int):
        # PuTTY stores ints through a DWORD; negative numbers wrap as in C.
        return REG_DWORD, value & 0xFFFFFFFF
    return REG_SZ, value


def _from_registry(reg_type: int, data: Any) -> SettingValue | None:
    if reg_type == REG_SZ and isinstance(data, str):
        return data
    if reg_type == REG_DWORD and isinstance(data, int):
        return data - 2**32 if data >= 2**31 else data
    return None  # PuTTY ignores any other type (REG_EXPAND_SZ included)


class RegistryStore(SessionStore):
    """PuTTY sessions in ``HKCU\\Software\\SimonTatham\\PuTTY\\Sessions``."""

    def __init__(self, backend: RegistryBackend) -> None:
        self.backend = backend
        self.description = "the Windows registry (HKEY_CURRENT_USER\\" + SESSIONS_KEY + ")"

    def location(self, name: str) -> str:
        return "HKEY_CURRENT_USER\\" + session_key_path(name)

    def list_sessions(self) -> list[str]:
        return sorted(name_from_registry_key(k) for k in self.backend.list_subkeys(SESSIONS_KEY))

    def read(self, name: str) -> Settings | None:
        raw = self._call("read", name, lambda: self.backend.read_values(session_key_path(name)))
        if raw is None:
            return None
        values: Settings = {}
        for value_name, (reg_type, data) in raw.items():
            value = _from_registry(reg_type, data)
            if value is not None:
                values[value_name] = value
        return values

    def write(self, name: str, settings: Mapping[str, SettingValue]) -> None:
        check_settings(name, settings)
        path = session_key_path(name)

        def _write() -> None:
            self.backend.create_key(path)
            old = self.backend.read_values(path) or {}
            for value_name, value in settings.items():
                reg_type, data = _to_registry(value)
                self.backend.set_value(path, value_name, reg_type, data)
            for value_name in old:
                if value_name not in settings:
                    self.backend.delete_value(path, value_name)

        self._call("write", name, _write)

    def delete(self, name: str) -> bool:
        path = session_key_path(name)

        def _delete() -> bool:
            if not self.backend.key_exists(path):
                return False
            self.backend.delete_key(path)
            return True

        return self._call("delete", name, _delete)

    def _call(self, action: str, name: str, func: Callable[[], _T]) -> _T:
        try:
            return func()
        except OSError as err:
            msg = f"cannot {action} the PuTTY session {name!r} in the registry: {err}"
            raise PuttyStoreError(msg, hint="check that regedit can open " + SESSIONS_KEY) from err


__all__ = [
    "PUTTY_KEY",
    "REG_DWORD",
    "REG_EXPAND_SZ",
    "REG_SZ",
    "SESSIONS_KEY",
    "RegistryBackend",
    "RegistryStore",
    "WinregBackend",
    "putty_key_exists",
    "session_key_path",
]

"""Where PuTTY keeps saved sessions, behind one interface.

* Windows: the registry, ``HKCU\\Software\\SimonTatham\\PuTTY\\Sessions\\<escaped name>``
  (:class:`~sshjup.putty.windows.RegistryStore`).
* Everything else: one file per session in the directory PuTTY itself would use
  (:class:`~sshjup.putty.unix.FileStore`), found by the rules of PuTTY's ``unix/storage.c``:
  ``$PUTTYSESSIONS``; else ``$PUTTYDIR/sessions``; else ``$XDG_CONFIG_HOME/putty/sessions``
  (``~/.config/putty/sessions``) when that ``putty`` directory exists; else
  ``~/.putty/sessions``. Once ``~/.config/putty`` exists PuTTY ignores ``~/.putty`` entirely.

A store holds plain values: ``str`` and ``int`` (the registry keeps the type, a session file
does not, so :meth:`SessionStore.normalize` says how a value reads back).
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sshjup.putty.escape import DEFAULT_SETTINGS

if TYPE_CHECKING:  # (kept off the import of store_exists, which `sshjup add` makes)
    from sshjup.putty.settings import Settings, SettingValue


class SessionStore(ABC):
    """PuTTY's saved sessions on this machine (or a test's fake of them)."""

    #: a short description for messages, e.g. "the PuTTY session files in ~/.putty/sessions"
    description: str = "PuTTY's saved sessions"

    @abstractmethod
    def list_sessions(self) -> list[str]:
        """Every session name (decoded), sorted; "Default Settings" included if it exists."""

    @abstractmethod
    def read(self, name: str) -> Settings | None:
        """The session's values, or ``None`` when there is no such session."""

    @abstractmethod
    def write(self, name: str, settings: Mapping[str, SettingValue]) -> None:
        """Make the session hold exactly ``settings`` (values not given are removed)."""

    @abstractmethod
    def delete(self, name: str) -> bool:
        """Remove the session; ``False`` when it did not exist."""

    @abstractmethod
    def location(self, name: str) -> str:
        """Where the session lives, for messages (a file path or a registry key)."""

    def normalize(self, settings: Mapping[str, SettingValue]) -> Settings:
        """``settings`` as :meth:`read` would return them after :meth:`write`."""
        return dict(settings)

    def read_defaults(self) -> Settings:
        """The user's "Default Settings" values (empty when there are none)."""
        return self.read(DEFAULT_SETTINGS) or {}


def settings_digest(settings: Mapping[str, SettingValue]) -> str:
    """A stable digest of a session's content (names, types and values; order ignored)."""
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    items = sorted(
        (key, "i" if isinstance(value, int) else "s", str(value)) for key, value in settings.items()
    )
    data = json.dumps(items, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- the directory PuTTY uses on Unix ------------------------------------------------------


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


def putty_dir() -> Path:
    """PuTTY's own directory on Unix (``make_filename(INDEX_DIR)`` in ``unix/storage.c``)."""
    explicit = _env("PUTTYDIR")
    if explicit:
        return Path(explicit)
    home = Path(os.path.expanduser("~"))
    xdg = Path(_env("XDG_CONFIG_HOME") or home / ".config") / "putty"
    if xdg.is_dir():
        return xdg
    return home / ".putty"


def sessions_dir() -> Path:
    """The directory of PuTTY's session files on Unix."""
    explicit = _env("PUTTYSESSIONS")
    if explicit:
        return Path(explicit)
    return putty_dir() / "sessions"


def get_store(explicit_dir: Path | None = None) -> SessionStore:
    """The store PuTTY itself uses here: the registry on Windows, else session files.

    ``explicit_dir`` forces a :class:`FileStore` in that directory (on any platform).
    """
    from sshjup.putty.unix import FileStore  # noqa: PLC0415 (avoid an import cycle)

    if explicit_dir is not None:
        return FileStore(explicit_dir)
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        from sshjup.putty.windows import RegistryStore, WinregBackend  # noqa: PLC0415

        return RegistryStore(WinregBackend())
    return FileStore(sessions_dir())


def store_exists() -> bool:
    """Is PuTTY's session store present on this machine (used for the ``--putty`` default)?

    Windows: the key ``HKCU\\Software\\SimonTatham\\PuTTY`` exists (PuTTY has been run).
    Elsewhere: the sessions directory or PuTTY's directory exists.
    """
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        from sshjup.putty.windows import WinregBackend, putty_key_exists  # noqa: PLC0415

        return putty_key_exists(WinregBackend())
    if _env("PUTTYSESSIONS"):
        return sessions_dir().is_dir()
    return putty_dir().is_dir()


__all__ = [
    "SessionStore",
    "get_store",
    "putty_dir",
    "sessions_dir",
    "settings_digest",
    "store_exists",
]

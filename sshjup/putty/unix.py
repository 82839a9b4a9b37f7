"""PuTTY's session files on Unix (``unix/storage.c``): one ``Key=value`` file per session.

Format facts (PuTTY 0.78, verified with plink): each line is split at the first ``=``; the key
is not trimmed; the value ends at the first ``\\r`` or ``\\n``; lines without ``=`` are
ignored; when a key appears twice the **first** one wins; a UTF-8 BOM breaks the first line.
PuTTY writes ``%s=%s\\n`` and ``%s=%d\\n`` with no escaping, so a value cannot hold a newline.

Writes go through :func:`sshjup.store.fileio.atomic_write` (file 0600, directory 0700) without a
``.sshjup.bak`` backup: PuTTY lists every regular file in ``sessions/`` as a saved session,
so a backup file there would show up in PuTTY's session list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sshjup.errors import PuttyStoreError
from sshjup.putty.escape import name_from_unix_filename, unix_session_filename
from sshjup.putty.settings import Settings, SettingValue, check_settings
from sshjup.putty.store import SessionStore
from sshjup.store.fileio import (
    BACKUP_SUFFIX,
    MAX_SMALL_FILE_BYTES,
    atomic_write,
    delete_file,
    read_bytes,
)

_TEMP_SUFFIX = ".sshjup-tmp"


def parse_session_file(data: bytes) -> Settings:
    """The values of a session file, read the way PuTTY reads them (first key wins)."""
    text = data.decode("utf-8", errors="surrogateescape")
    values: Settings = {}
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.split("\r", 1)[0]
        values.setdefault(key, value)
    return values


def render_session_file(settings: Mapping[str, SettingValue]) -> bytes:
    """``Key=value\\n`` lines in the given order, as PuTTY's ``write_setting_*`` writes them."""
    lines = [f"{key}={value}\n" for key, value in settings.items()]
    return "".join(lines).encode("utf-8", errors="surrogateescape")


class FileStore(SessionStore):
    """Session files in one directory (PuTTY's ``sessions/``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.description = f"the PuTTY session files in {self.directory}"

    def path(self, name: str) -> Path:
        return self.directory / unix_session_filename(name)

    def _inside(self, name: str) -> Path:
        """The session's file; a symlink leading out of the directory (dangling or not) is
        refused, so sshjup never reads, writes or deletes a file elsewhere through it."""
        path = self.path(name)
        if not path.is_symlink():
            return path
        target = Path(os.path.realpath(path))
        home = Path(os.path.realpath(self.directory))
        if target.parent != home:
            msg = (
                f"the PuTTY session file {path} is a symlink to {target}, outside "
                f"{self.directory}; sshjup does not follow it"
            )
            hint = "remove the symlink (or replace it with the session file itself)"
            raise PuttyStoreError(msg, hint=hint)
        return path

    def location(self, name: str) -> str:
        return str(self.path(name))

    def list_sessions(self) -> list[str]:
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        except OSError as err:
            msg = f"cannot list {self.directory}: {err.strerror}"
            raise PuttyStoreError(msg, hint="check the directory's permissions") from err
        names = []
        for entry in entries:
            if not entry.is_file() or entry.name.endswith((_TEMP_SUFFIX, BACKUP_SUFFIX)):
                continue
            names.append(name_from_unix_filename(entry.name))
        return sorted(names)

    def read(self, name: str) -> Settings | None:
        data = read_bytes(self._inside(name), MAX_SMALL_FILE_BYTES)
        return None if data is None else parse_session_file(data)

    def normalize(self, settings: Mapping[str, SettingValue]) -> Settings:
        # A file has no types: an int reads back as its decimal text.
        return parse_session_file(render_session_file(settings))

    def write(self, name: str, settings: Mapping[str, SettingValue]) -> None:
        check_settings(name, settings)
        self._ensure_dirs()
        atomic_write(self._inside(name), render_session_file(settings), backup=False)

    def delete(self, name: str) -> bool:
        path = self._inside(name)
        if read_bytes(path, MAX_SMALL_FILE_BYTES) is None:
            return False
        delete_file(path, backup=False)
        return True

    def _ensure_dirs(self) -> None:
        """Create the directory (and its parent, PuTTY's own directory) with mode 0700."""
        for directory in (self.directory.parent, self.directory):
            if directory.is_dir():
                continue
            try:
                directory.mkdir(mode=0o700, parents=True)
            except FileExistsError:
                continue
            except OSError as err:
                msg = f"cannot create {directory}: {err.strerror}"
                raise PuttyStoreError(msg, hint="check the permissions of its parent") from err
            directory.chmod(0o700)  # mkdir's mode is masked by the umask


__all__ = ["FileStore", "parse_session_file", "render_session_file"]

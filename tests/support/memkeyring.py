"""An in-memory keyring backend for tests (never the real keyring, never a file).

Use the ``memory_keyring`` fixture pattern: ``prev = keyring.get_keyring();
keyring.set_keyring(MemoryKeyring()); ...; keyring.set_keyring(prev)``. For a subprocess, set
``PYTHON_KEYRING_BACKEND=tests.support.memkeyring.MemoryKeyring`` (the store then lives and
dies with that process).
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A dict-backed keyring: ``store[(service, username)] = secret``."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise PasswordDeleteError(username) from None


__all__ = ["MemoryKeyring"]

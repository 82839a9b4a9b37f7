"""One exception hierarchy for the whole library; the CLI maps it to exit codes in one place.

Every error carries a message that names the problem and a ``hint`` that names the fix.
The exit codes are documented in docs/exit-codes.md, and a test checks the two agree.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import ClassVar


class SshjupError(Exception):
    """Base class: a failure the user can act on. Exit code 1."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInput(SshjupError):
    """A value on the command line, in an inventory file or reported by ssh is not allowed."""

    exit_code = 2


class InventoryError(InvalidInput):
    """The inventory file is not valid YAML or does not match the schema."""


class NotARegularFile(InvalidInput):
    """A file sshjup reads or writes is a device, FIFO, socket or directory, or too large."""


class Conflict(SshjupError):
    """The change would clash with something that exists (alias, port, hand edit)."""

    exit_code = 3


class HostExists(Conflict):
    """The alias is already defined outside sshjup's section."""


class PortTaken(Conflict):
    """Another managed host (or another program) already uses the local port."""


class HandEdited(Conflict):
    """The managed section (or a PuTTY session) was changed by hand since sshjup wrote it."""


class ConcurrentEdit(Conflict):
    """Another program changed the file between sshjup reading it and renaming the new one."""


class NotFound(SshjupError):
    """No managed host by that name."""

    exit_code = 4


class ConfigParseError(SshjupError):
    """The ssh config cannot be read safely (damaged managed section, unreadable file)."""

    exit_code = 5


class VerificationFailed(SshjupError):
    """`ssh -G` does not accept the file sshjup would write; nothing was written."""

    exit_code = 5


class ToolMissing(SshjupError):
    """A program sshjup needs (ssh, puttygen, plink) is not installed or failed to run."""

    exit_code = 6


class PuttyStoreError(SshjupError):
    """The PuTTY session store cannot be read or written."""

    exit_code = 6


class SecretStoreUnavailable(SshjupError):
    """No working keyring backend."""

    exit_code = 7


class SecretStoreError(SshjupError):
    """The keyring refused to store, read or delete a secret."""

    exit_code = 7


class RemoteCommandFailed(SshjupError):
    """A command sshjup ran on the remote over ssh failed."""

    exit_code = 8


class TunnelError(SshjupError):
    """The tunnel did not come up, or could not be stopped."""

    exit_code = 9


class JupyterUnreachable(SshjupError):
    """No Jupyter answers through the tunnel (`open` and `url` check before they give a URL)."""

    exit_code = 11


class LockTimeout(SshjupError):
    """Another sshjup run held the lock for too long."""

    exit_code = 10


__all__ = [
    "ConcurrentEdit",
    "ConfigParseError",
    "Conflict",
    "HandEdited",
    "HostExists",
    "InvalidInput",
    "InventoryError",
    "JupyterUnreachable",
    "LockTimeout",
    "NotARegularFile",
    "NotFound",
    "PortTaken",
    "PuttyStoreError",
    "RemoteCommandFailed",
    "SecretStoreError",
    "SecretStoreUnavailable",
    "SshjupError",
    "ToolMissing",
    "TunnelError",
    "VerificationFailed",
]
